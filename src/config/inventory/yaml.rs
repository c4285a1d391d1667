//! Ansible's YAML inventory format, read the way its `yaml` plugin reads it: the
//! top-level keys are groups (usually just `all`); a group is a mapping with
//! `hosts` (host pattern -> host vars), `vars` and `children` (groups, nested the
//! same way). Also the `group_vars/` and `host_vars/` files next to an inventory.

use saphyr::{LoadableYamlNode, MarkedYaml, Marker, Scalar, YamlData};

use super::model::{Inventory, Layer, Loc, Target, Value};
use super::ranges::expand_host_pattern;

/// Reads a YAML inventory (source `source` of `inv`, whose text is `text`).
pub fn parse(inv: &mut Inventory, source: usize, text: &str) {
    let ctx = Ctx::new(source, text);
    let root = match load(inv, &ctx, text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            let at = ctx.whole_file();
            inv.error(&at, "the YAML inventory is empty");
            return;
        }
        Err(()) => return,
    };
    let YamlData::Mapping(groups) = &root.data else {
        let at = ctx.loc(&root);
        inv.error(
            &at,
            "a YAML inventory is a mapping of groups (`all:` with `hosts:`, `vars:`, `children:`)",
        );
        return;
    };
    if let Some((key, value)) = groups
        .iter()
        .find(|(k, _)| scalar_text(k).as_deref() == Some("plugin"))
        && truthy(value)
    {
        let plugin = scalar_text(value).unwrap_or_default();
        let at = ctx.loc(key);
        inv.error(
            &at,
            format!(
                "this is the configuration of the inventory plugin `{plugin}`, a dynamic inventory: \
                 opsctl imports static INI or YAML inventories"
            ),
        );
        if let Some(d) = inv.errors.last_mut() {
            d.hint = Some(
                "export it first: ansible-inventory -i FILE --list --yaml --output inventory.yml, \
                 then import inventory.yml"
                    .to_string(),
            );
        }
        return;
    }
    for (key, value) in groups {
        let at = ctx.loc(key);
        match scalar_text(key) {
            Some(name) => {
                group(inv, &ctx, &name, Some(value), at);
            }
            None => inv.error(&at, "a group name must be a string"),
        }
    }
}

/// Reads a `group_vars/` or `host_vars/` file: a mapping of variables.
pub fn parse_vars(inv: &mut Inventory, source: usize, text: &str, target: Target) {
    let ctx = Ctx::new(source, text);
    let root = match load(inv, &ctx, text) {
        Ok(Some(root)) => root,
        Ok(None) | Err(()) => return,
    };
    match &root.data {
        YamlData::Mapping(vars) => {
            for (key, value) in vars {
                let at = ctx.loc(key);
                match scalar_text(key) {
                    Some(name) => inv.set_var(target, &name, to_value(value), at, Layer::VarsFile),
                    None => inv.error(&at, "a variable name must be a string"),
                }
            }
        }
        YamlData::Value(Scalar::Null) | YamlData::BadValue => {}
        _ => {
            let at = ctx.loc(&root);
            inv.error(&at, "a vars file is a mapping of variable names to values");
        }
    }
}

/// Whether `text` reads as YAML whose top level is a mapping: how a file without
/// a telling extension is recognised (Ansible tries YAML before INI).
pub fn is_yaml_mapping(text: &str) -> bool {
    matches!(
        MarkedYaml::load_from_str(text).as_deref(),
        Ok([root]) if matches!(root.data, YamlData::Mapping(_))
    )
}

fn load<'t>(inv: &mut Inventory, ctx: &Ctx, text: &'t str) -> Result<Option<MarkedYaml<'t>>, ()> {
    match MarkedYaml::load_from_str(text) {
        Ok(mut docs) => {
            if docs.len() > 1 {
                let at = ctx.loc(&docs[1]);
                inv.error(
                    &at,
                    "a second YAML document (after `---`): an inventory is one document",
                );
                return Err(());
            }
            Ok(docs.pop().filter(|d| !matches!(d.data, YamlData::BadValue)))
        }
        Err(e) => {
            let at = ctx.at_marker(e.marker(), 1);
            inv.error(&at, format!("invalid YAML: {}", e.info()));
            Err(())
        }
    }
}

fn group(
    inv: &mut Inventory,
    ctx: &Ctx,
    name: &str,
    data: Option<&MarkedYaml>,
    at: Loc,
) -> Option<usize> {
    if !inv.check_name("group", name, &at) {
        return None;
    }
    let data = data.filter(|d| !is_null(d));
    if let Some(d) = data
        && !matches!(d.data, YamlData::Mapping(_))
    {
        inv.warn(
            &at,
            format!(
                "skipping `{name}`: not a group (a group is a mapping with hosts, vars and children)"
            ),
        );
        return None;
    }
    let g = inv.group(name);
    inv.declare(g, at);
    let Some(YamlData::Mapping(sections)) = data.map(|d| &d.data) else {
        return Some(g);
    };
    for (key, value) in sections {
        let key_at = ctx.loc(key);
        let section = scalar_text(key).unwrap_or_default();
        if !matches!(section.as_str(), "vars" | "children" | "hosts") {
            inv.warn(
                &key_at,
                format!(
                    "skipping unexpected key `{section}` in group `{name}`: only hosts, vars and \
                     children are read"
                ),
            );
            continue;
        }
        // A plain string stands for a one-entry mapping (`hosts: web1`).
        let entries: Vec<(Option<String>, Loc, Option<&MarkedYaml>)> = match &value.data {
            _ if is_null(value) => continue,
            YamlData::Mapping(m) => m
                .iter()
                .map(|(k, v)| (scalar_text(k), ctx.loc(k), Some(v)))
                .collect(),
            YamlData::Value(Scalar::String(s)) => vec![(Some(s.to_string()), ctx.loc(value), None)],
            _ => {
                inv.error(
                    &key_at,
                    format!("`{section}` of group `{name}` must be a mapping"),
                );
                continue;
            }
        };
        for (entry, entry_at, entry_value) in entries {
            let Some(entry) = entry else {
                inv.error(&entry_at, format!("an entry of `{section}` must be a name"));
                continue;
            };
            match section.as_str() {
                "vars" => {
                    let v = entry_value.map_or(Value::Null, to_value);
                    inv.set_var(Target::Group(g), &entry, v, entry_at, Layer::Inventory);
                }
                "children" => {
                    if let Some(child) = group(inv, ctx, &entry, entry_value, entry_at.clone()) {
                        inv.add_child(g, child, &entry_at);
                    }
                }
                _ => hosts(inv, ctx, g, &entry, entry_value, entry_at),
            }
        }
    }
    Some(g)
}

fn hosts(
    inv: &mut Inventory,
    ctx: &Ctx,
    group: usize,
    pattern: &str,
    vars: Option<&MarkedYaml>,
    at: Loc,
) {
    if !inv.check_name("host", pattern, &at) {
        return;
    }
    let (names, port) = match expand_host_pattern(pattern) {
        Ok(x) => x,
        Err(e) => {
            inv.error(&at, format!("host pattern `{pattern}`: {e}"));
            return;
        }
    };
    if names.is_empty() {
        inv.warn(&at, format!("host pattern `{pattern}` expands to no hosts"));
    }
    let vars = vars.filter(|v| !is_null(v));
    let vars = match vars.map(|v| &v.data) {
        None => None,
        Some(YamlData::Mapping(m)) => Some(m),
        Some(_) => {
            inv.error(
                &at,
                format!("the vars of host `{pattern}` must be a mapping (`{pattern}:` then `key: value` lines)"),
            );
            return;
        }
    };
    for name in &names {
        let (h, new) = inv.add_host(name, group, at.clone());
        if let Some(p) = port {
            if new {
                inv.set_var(
                    Target::Host(h),
                    "ansible_port",
                    Value::Int(i64::from(p)),
                    at.clone(),
                    Layer::Inventory,
                );
            } else {
                inv.warn(
                    &at,
                    format!(
                        "port :{p} of `{name}` ignored: Ansible takes a host's port only where the \
                         host first appears; use ansible_port: {p}"
                    ),
                );
            }
        }
        for (k, v) in vars.into_iter().flatten() {
            let var_at = ctx.loc(k);
            match scalar_text(k) {
                Some(var) => {
                    inv.set_var(Target::Host(h), &var, to_value(v), var_at, Layer::Inventory)
                }
                None => inv.error(&var_at, "a variable name must be a string"),
            }
        }
    }
}

fn is_null(node: &MarkedYaml) -> bool {
    matches!(
        node.data,
        YamlData::Value(Scalar::Null) | YamlData::BadValue
    )
}

fn truthy(node: &MarkedYaml) -> bool {
    match &node.data {
        YamlData::Value(Scalar::Null) | YamlData::BadValue => false,
        YamlData::Value(Scalar::Boolean(b)) => *b,
        YamlData::Value(Scalar::String(s)) => !s.is_empty(),
        YamlData::Value(Scalar::Integer(i)) => *i != 0,
        _ => true,
    }
}

/// A scalar as a string (keys are group names, host patterns and variable names).
fn scalar_text(node: &MarkedYaml) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(if *b { "True" } else { "False" }.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        YamlData::Tagged(_, inner) => scalar_text(inner),
        _ => None,
    }
}

fn to_value(node: &MarkedYaml) -> Value {
    match &node.data {
        YamlData::Value(Scalar::Null) | YamlData::BadValue | YamlData::Alias(_) => Value::Null,
        YamlData::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => Value::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => Value::Str(f.to_string()),
        YamlData::Value(Scalar::String(s)) => Value::Str(s.to_string()),
        YamlData::Representation(s, _, _) => Value::Str(s.to_string()),
        YamlData::Sequence(_) | YamlData::Mapping(_) => Value::Nested,
        YamlData::Tagged(tag, inner) => match (tag.handle.as_str(), tag.suffix.as_str()) {
            ("!", "vault") => Value::Secret,
            ("!", "unsafe") => Value::Unsafe(scalar_text(inner).unwrap_or_default()),
            _ => to_value(inner),
        },
    }
}

/// Turns saphyr's markers (line, column in characters) into byte locations.
struct Ctx<'t> {
    source: usize,
    text: &'t str,
    line_starts: Vec<usize>,
}

impl<'t> Ctx<'t> {
    fn new(source: usize, text: &'t str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Ctx {
            source,
            text,
            line_starts,
        }
    }

    fn byte(&self, m: &Marker) -> usize {
        let Some(start) = m
            .line()
            .checked_sub(1)
            .and_then(|l| self.line_starts.get(l))
        else {
            return self.text.len();
        };
        let line = &self.text[*start..];
        *start
            + line
                .char_indices()
                .nth(m.col())
                .map_or(line.len(), |(i, _)| i)
    }

    fn at_marker(&self, m: &Marker, len: usize) -> Loc {
        let start = self.byte(m);
        Loc {
            source: self.source,
            line: m.line().max(1),
            span: start..(start + len).min(self.text.len()),
        }
    }

    fn loc(&self, node: &MarkedYaml) -> Loc {
        let start = self.byte(&node.span.start);
        let end = self.byte(&node.span.end).max(start);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        // Within the node's first line; at least one character when there is one.
        let end = end.min(line_end);
        let end = if end > start {
            end
        } else {
            (start + 1).min(line_end)
        };
        Loc {
            source: self.source,
            line: node.span.start.line().max(1),
            span: start..end,
        }
    }

    fn whole_file(&self) -> Loc {
        Loc {
            source: self.source,
            line: 0,
            span: 0..0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{ALL, UNGROUPED};
    use super::*;

    fn read(text: &str) -> Inventory {
        let mut inv = Inventory::new();
        let src = inv.add_source("inv.yml", text);
        parse(&mut inv, src, text);
        inv
    }

    #[test]
    fn groups_children_hosts_and_vars() {
        let inv = read(
            "all:\n  hosts:\n    mail.example.com:\n  vars:\n    ansible_user: ops\n  children:\n    \
             webservers:\n      hosts:\n        foo.example.com:\n          ansible_port: 2222\n    \
             dbservers:\n      hosts:\n        one.example.com:\n",
        );
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        assert_eq!(
            inv.groups[ALL].vars["ansible_user"].value,
            Value::Str("ops".into())
        );
        assert_eq!(inv.groups[ALL].vars["ansible_user"].at.line, 5);
        let web = inv.group_id("webservers").unwrap();
        let foo = inv.host_id("foo.example.com").unwrap();
        assert_eq!(inv.hosts[foo].groups, [web]);
        assert_eq!(inv.hosts[foo].vars["ansible_port"].value, Value::Int(2222));
        assert_eq!(inv.hosts[foo].vars["ansible_port"].at.line, 10);
        assert_eq!(inv.groups[web].parents, [ALL]);
        let mut inv = inv;
        inv.reconcile();
        let mail = inv.host_id("mail.example.com").unwrap();
        assert_eq!(inv.hosts[mail].groups, [UNGROUPED]);
    }

    #[test]
    fn a_plain_string_stands_for_one_host() {
        let inv = read("all:\n  children:\n    web:\n      hosts: web1\n");
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        assert!(inv.host_id("web1").is_some());
    }

    #[test]
    fn plugin_configurations_are_refused() {
        let inv = read("plugin: amazon.aws.aws_ec2\nregions:\n  - eu-west-1\n");
        assert_eq!(inv.errors.len(), 1);
        assert!(
            inv.errors[0].message.contains("amazon.aws.aws_ec2"),
            "{}",
            inv.errors[0]
        );
        assert_eq!(inv.errors[0].line, 1);
    }

    #[test]
    fn vault_values_are_secrets_and_unsafe_is_not_a_template() {
        let inv = read(
            "all:\n  vars:\n    db_key: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      6162\n    \
             motd: !unsafe '{{ not a template }}'\n  hosts:\n    h1:\n",
        );
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        assert_eq!(inv.groups[ALL].vars["db_key"].value, Value::Secret);
        let motd = &inv.groups[ALL].vars["motd"].value;
        assert_eq!(motd, &Value::Unsafe("{{ not a template }}".into()));
        assert!(!motd.is_template());
        assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
        assert!(inv.warnings[0].message.contains("secret `db_key`"));
        assert_eq!(inv.warnings[0].line, 3);
    }

    #[test]
    fn bad_structure_is_reported_with_its_line() {
        let inv = read("all:\n  hosts:\n    - web1\n");
        assert_eq!(inv.errors.len(), 1, "{:?}", inv.errors);
        assert_eq!(inv.errors[0].line, 2);
        let inv = read("all:\n  hostz:\n    web1:\n");
        assert_eq!(inv.warnings.len(), 1);
        assert!(inv.warnings[0].message.contains("`hostz`"));
        let inv = read("all:\n  hosts:\n    web1: [\n");
        assert_eq!(inv.errors.len(), 1);
        assert!(
            inv.errors[0].message.starts_with("invalid YAML"),
            "{}",
            inv.errors[0]
        );
        let inv = read("all:\n  hosts:\n    web1:\n    web1:\n");
        assert_eq!(inv.errors.len(), 1);
        assert_eq!(inv.errors[0].line, 4, "{}", inv.errors[0]);
    }

    #[test]
    fn mappings_are_told_from_ini() {
        assert!(is_yaml_mapping("all:\n  hosts:\n    a:\n"));
        assert!(!is_yaml_mapping("[web]\nhost1\nhost2\n"));
        assert!(!is_yaml_mapping("host1\nhost2 ansible_port=22\n"));
        assert!(!is_yaml_mapping("host1:2222\n"));
    }
}
