//! Ansible's INI inventory format, read the way its `ini` plugin reads it:
//! hosts before any section are `ungrouped`; `[group]` lists hosts (with inline
//! `key=value` vars), `[group:vars]` one `key=value` per line, `[group:children]`
//! child groups. A group must be declared by `[group]` or `[group:children]`
//! somewhere in the file (in any order) for `:vars` or a parent to name it.

use super::model::{Inventory, Layer, Loc, Target, UNGROUPED};
use super::pyvalue::{literal_eval, shlex_split};
use super::ranges::expand_host_pattern;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Vars,
    Children,
    /// A section of an unknown type: its lines are not read.
    Skip,
}

/// Reads `text` (source `source` of `inv`) into the inventory; problems go to
/// `inv.errors` and `inv.warnings`.
pub fn parse(inv: &mut Inventory, source: usize, text: &str) {
    let mut group = UNGROUPED;
    let mut state = State::Hosts;
    // `[g:vars]` sections and `[p:children]` entries, checked at the end.
    let mut vars_sections: Vec<(usize, Loc)> = Vec::new();
    let mut children: Vec<(usize, usize, Loc)> = Vec::new();
    let mut offset = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line_start = offset;
        offset += raw.len() + 1;
        let line_no = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let at = |from: usize, len: usize| Loc {
            source,
            line: line_no,
            span: line_start + indent + from..line_start + indent + from + len,
        };
        let whole = at(0, line.len());
        if let Some(header) = section(line) {
            let (name, kind) = match header {
                Header::Section(name, kind) => (name, kind),
                Header::Invalid => {
                    inv.error(
                        &whole,
                        "invalid section header: write `[group]`, `[group:vars]` or \
                         `[group:children]`, without spaces",
                    );
                    continue;
                }
            };
            if !inv.check_name("group", name, &whole) {
                state = State::Skip;
                continue;
            }
            let g = inv.group(name);
            state = match kind {
                None | Some("hosts") => State::Hosts,
                Some("vars") => State::Vars,
                Some("children") => State::Children,
                Some(other) => {
                    inv.error(
                        &whole,
                        format!(
                            "section [{name}:{other}] has unknown type `{other}`: \
                             use [{name}], [{name}:vars] or [{name}:children]"
                        ),
                    );
                    // Skip the section's lines rather than misreading them.
                    state = State::Skip;
                    continue;
                }
            };
            if state == State::Vars {
                vars_sections.push((g, whole.clone()));
            } else {
                inv.declare(g, whole.clone());
            }
            group = g;
            continue;
        }
        match state {
            State::Hosts => host_line(inv, group, line, &at, &whole),
            State::Vars => match line.split_once('=') {
                Some((k, v)) => {
                    inv.set_var(
                        Target::Group(group),
                        k.trim(),
                        literal_eval(v.trim()),
                        at(0, line.len()),
                        Layer::Inventory,
                    );
                }
                None => inv.error(&whole, "expected key=value in a :vars section"),
            },
            State::Skip => {}
            State::Children => match group_name(line) {
                Some(child) => {
                    let loc = at(0, child.len());
                    if !inv.check_name("group", child, &loc) {
                        continue;
                    }
                    let c = inv.group(child);
                    inv.add_child(group, c, &loc);
                    children.push((group, c, loc));
                }
                None => inv.error(&whole, "expected a group name (one per line)"),
            },
        }
    }
    for (g, at) in vars_sections {
        if inv.groups[g].declared.is_none() {
            let name = inv.groups[g].name.clone();
            inv.error(
                &at,
                format!("section [{name}:vars] is for group `{name}`, which is never defined"),
            );
            if let Some(d) = inv.errors.last_mut() {
                d.hint = Some(format!("add a [{name}] or [{name}:children] section"));
            }
        }
    }
    for (parent, child, at) in children {
        if inv.groups[child].declared.is_none() {
            let (p, c) = (
                inv.groups[parent].name.clone(),
                inv.groups[child].name.clone(),
            );
            inv.error(
                &at,
                format!("section [{p}:children] includes `{c}`, which is never defined"),
            );
            if let Some(d) = inv.errors.last_mut() {
                d.hint = Some(format!("add a [{c}] section listing its hosts"));
            }
        }
    }
}

enum Header<'a> {
    /// `[name]` or `[name:kind]`.
    Section(&'a str, Option<&'a str>),
    /// Looks like a header (`[...]`) but is not one.
    Invalid,
}

/// `[name]`, `[name:kind]` with an optional `# comment`; `None` for a line that is
/// no header (a host such as `[2001:db8::1]:22`).
fn section(line: &str) -> Option<Header<'_>> {
    let rest = line.strip_prefix('[')?;
    let looks_like = line.ends_with(']');
    let parsed = (|| {
        let name_len = rest
            .find(|c: char| c == ':' || c == ']' || c.is_whitespace())
            .unwrap_or(rest.len());
        if name_len == 0 {
            return None;
        }
        let name = &rest[..name_len];
        let mut after = &rest[name_len..];
        let mut kind = None;
        if let Some(k) = after.strip_prefix(':') {
            let len = k
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(k.len());
            if len == 0 {
                return None;
            }
            kind = Some(&k[..len]);
            after = &k[len..];
        }
        let tail = after.strip_prefix(']')?.trim_start();
        (tail.is_empty() || tail.starts_with('#')).then_some((name, kind))
    })();
    match parsed {
        Some((name, kind)) => Some(Header::Section(name, kind)),
        None if looks_like => Some(Header::Invalid),
        // e.g. `[2001:db8::1]:22`: a host line.
        None => None,
    }
}

fn group_name(line: &str) -> Option<&str> {
    let len = line
        .find(|c: char| c == ':' || c == ']' || c.is_whitespace())
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(len);
    let rest = rest.trim_start();
    (!name.is_empty() && (rest.is_empty() || rest.starts_with('#'))).then_some(name)
}

fn host_line(
    inv: &mut Inventory,
    group: usize,
    line: &str,
    at: &dyn Fn(usize, usize) -> Loc,
    whole: &Loc,
) {
    let tokens = match shlex_split(line) {
        Ok(t) => t,
        Err(e) => {
            inv.error(whole, format!("cannot read host line: {e}"));
            return;
        }
    };
    let Some((pattern, vars)) = tokens.split_first() else {
        return;
    };
    let pattern_at = at(0, line.find(char::is_whitespace).unwrap_or(line.len()));
    if pattern.trim() == "---" {
        inv.error(
            &pattern_at,
            "`---` starts a YAML document: name the file .yml or .yaml to import it as YAML",
        );
        return;
    }
    if !inv.check_name("host", pattern, &pattern_at) {
        return;
    }
    let (hosts, port) = match expand_host_pattern(pattern) {
        Ok(x) => x,
        Err(e) => {
            inv.error(&pattern_at, format!("host pattern `{pattern}`: {e}"));
            return;
        }
    };
    if pattern.trim_end().ends_with(':') && port.is_none() {
        inv.error(
            &pattern_at,
            format!("host pattern `{pattern}` ends in `:`, which is reserved for a port"),
        );
        return;
    }
    if hosts.is_empty() {
        inv.warn(
            &pattern_at,
            format!("host pattern `{pattern}` expands to no hosts"),
        );
    }
    let mut parsed = Vec::new();
    let mut search_from = 0;
    for t in vars {
        let Some((k, v)) = t.split_once('=') else {
            // Named only when it is not a value a secret-looking word introduces.
            let got = if super::model::mask_secrets(line).contains(t.as_str()) {
                format!(", got `{t}`")
            } else {
                String::new()
            };
            inv.error(
                whole,
                format!("expected key=value after the host name{got}"),
            );
            return;
        };
        let key_pos = match line[search_from..].find(&format!("{k}=")) {
            Some(p) => {
                search_from += p + k.len() + 1;
                search_from - k.len() - 1
            }
            None => 0,
        };
        parsed.push((k.to_string(), literal_eval(v), at(key_pos, k.len().max(1))));
    }
    for name in &hosts {
        let (h, new) = inv.add_host(name, group, pattern_at.clone());
        if let Some(p) = port {
            if new {
                inv.set_var(
                    Target::Host(h),
                    "ansible_port",
                    super::model::Value::Int(i64::from(p)),
                    pattern_at.clone(),
                    Layer::Inventory,
                );
            } else {
                let first = inv.hosts[h].first.clone();
                let first = format!("{}:{}", inv.source_name(first.source), first.line);
                inv.warn(
                    &pattern_at,
                    format!(
                        "port :{p} of `{name}` ignored: Ansible takes a host's port only where the \
                         host first appears ({first}); use ansible_port={p}"
                    ),
                );
            }
        }
        for (k, v, loc) in &parsed {
            inv.set_var(Target::Host(h), k, v.clone(), loc.clone(), Layer::Inventory);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{ALL, Value};
    use super::*;

    fn read(text: &str) -> Inventory {
        let mut inv = Inventory::new();
        let src = inv.add_source("inv.ini", text);
        parse(&mut inv, src, text);
        inv
    }

    fn host_var(inv: &Inventory, host: &str, var: &str) -> Value {
        let h = inv.host_id(host).unwrap();
        inv.hosts[h].vars[var].value.clone()
    }

    #[test]
    fn hosts_groups_children_and_vars() {
        let inv = read(
            "mail.example.com\n\n[webservers]\nfoo.example.com\nbar.example.com ansible_port=2222\n\n\
             [dbservers:children]\nprimary\n\n[primary]\none.example.com\n\n[dbservers:vars]\nntp=x\n",
        );
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        let mail = inv.host_id("mail.example.com").unwrap();
        assert_eq!(inv.hosts[mail].groups, [UNGROUPED]);
        let web = inv.group_id("webservers").unwrap();
        assert_eq!(
            inv.hosts[inv.host_id("foo.example.com").unwrap()].groups,
            [web]
        );
        assert_eq!(
            host_var(&inv, "bar.example.com", "ansible_port"),
            Value::Int(2222)
        );
        let db = inv.group_id("dbservers").unwrap();
        let primary = inv.group_id("primary").unwrap();
        assert_eq!(inv.groups[primary].parents, [db]);
        assert!(inv.groups[db].vars.contains_key("ntp"));
    }

    #[test]
    fn ranges_and_ports_in_host_patterns() {
        let inv = read("[web]\nwww[01:03].example.com:2200 ansible_user=deploy\n");
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        for n in [
            "www01.example.com",
            "www02.example.com",
            "www03.example.com",
        ] {
            assert_eq!(host_var(&inv, n, "ansible_port"), Value::Int(2200));
            assert_eq!(
                host_var(&inv, n, "ansible_user"),
                Value::Str("deploy".into())
            );
        }
    }

    #[test]
    fn values_in_vars_sections_are_python_literals_or_text() {
        let inv = read("[all:vars]\nhttp_port=8080 # all members\nansible_user = 'ops'\nx=a b\n");
        let vars = &inv.groups[ALL].vars;
        assert_eq!(vars["http_port"].value, Value::Int(8080));
        assert_eq!(vars["ansible_user"].value, Value::Str("ops".into()));
        assert_eq!(vars["x"].value, Value::Str("a b".into()));
        assert_eq!(vars["x"].at.line, 4);
    }

    #[test]
    fn undefined_groups_are_errors_at_their_line() {
        let inv = read("[web:vars]\na=1\n[all:children]\nnowhere\n");
        assert_eq!(inv.errors.len(), 2, "{:?}", inv.errors);
        assert_eq!(inv.errors[0].line, 1);
        assert!(inv.errors[0].message.contains("[web:vars]"));
        assert_eq!(inv.errors[1].line, 4);
        assert!(inv.errors[1].message.contains("`nowhere`"));
    }

    #[test]
    fn children_may_be_declared_after_their_parent() {
        let inv =
            read("[usa:children]\nsoutheast\n[southeast:children]\natlanta\n[atlanta]\nhost1\n");
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        let h = inv.host_id("host1").unwrap();
        let names: Vec<&str> = inv
            .host_groups(h)
            .iter()
            .map(|g| inv.groups[*g].name.as_str())
            .collect();
        assert_eq!(names, ["all", "usa", "southeast", "atlanta"]);
    }

    #[test]
    fn bad_lines_are_errors_with_their_line() {
        for (text, line, what) in [
            ("[web]\nhost1 novalue\n", 2, "expected key=value"),
            ("[web ]\n", 1, "invalid section header"),
            ("[web:hostz]\n", 1, "unknown type"),
            ("[web]\nh[1:x]\n", 2, "host pattern"),
            ("[web]\nh a='open\n", 2, "no closing quotation"),
            ("[web:vars]\njustakey\n[web]\n", 2, "expected key=value"),
            ("---\nall:\n", 1, "YAML"),
        ] {
            let inv = read(text);
            let e = inv
                .errors
                .first()
                .unwrap_or_else(|| panic!("no error for {text:?}"));
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(what), "{text:?}: {e}");
        }
    }

    #[test]
    fn ipv6_host_with_port_is_not_a_section() {
        let inv = read("[v6]\n[2001:db8::1]:2222\n");
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        assert_eq!(
            host_var(&inv, "2001:db8::1", "ansible_port"),
            Value::Int(2222)
        );
    }

    #[test]
    fn a_later_port_for_a_known_host_is_ignored_with_a_warning() {
        let inv = read("[a]\nweb1\n[b]\nweb1:2222\n");
        assert!(!inv.hosts[0].vars.contains_key("ansible_port"));
        assert_eq!(inv.warnings.len(), 1);
        assert!(
            inv.warnings[0].message.contains("inv.ini:2"),
            "{}",
            inv.warnings[0]
        );
    }
}
