//! What an inventory says, before opsctl interprets it: groups (parents, vars,
//! priority), hosts (groups, vars), and where each thing was written, with
//! Ansible's rules for membership and variable precedence.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::Warning;
use crate::config::Diagnostic;

/// Index of the `all` group, which every group descends from.
pub const ALL: usize = 0;
/// Index of `ungrouped`: hosts that belong to no other group.
pub const UNGROUPED: usize = 1;

/// A variable's value, as far as opsctl needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// A string marked `!unsafe`: never a template.
    Unsafe(String),
    /// A list or a mapping.
    Nested,
    /// A secret (by its name, or vault-encrypted): its text is never kept.
    Secret,
}

impl Value {
    /// The value as Ansible would turn it into a string (`True`, `22`, ...).
    pub fn text(&self) -> Option<String> {
        match self {
            Value::Str(s) | Value::Unsafe(s) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Value::Null | Value::Nested | Value::Secret => None,
        }
    }

    /// A Jinja template (`{{ }}`, `{% %}`, `{# #}`), which only Ansible can evaluate.
    pub fn is_template(&self) -> bool {
        matches!(self, Value::Str(s) if s.contains("{{") || s.contains("{%") || s.contains("{#"))
    }
}

/// Where something was written: a source file, its line, and a byte span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    pub source: usize,
    /// 1-based.
    pub line: usize,
    pub span: Range<usize>,
}

#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct VarDef {
    pub value: Value,
    pub at: Loc,
}

pub type Vars = HashMap<String, VarDef>;

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub parents: Vec<usize>,
    /// Variables from the inventory file.
    pub vars: Vars,
    /// Variables from `group_vars/`, which Ansible ranks above the inventory's.
    pub file_vars: Vars,
    /// `ansible_group_priority`: among groups of one depth, higher wins.
    pub priority: i64,
    /// Where a `[name]`/`[name:children]` section or a YAML entry declared it.
    pub declared: Option<Loc>,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// Groups the host was put in directly (ancestors come through the groups).
    pub groups: Vec<usize>,
    pub vars: Vars,
    /// Variables from `host_vars/`.
    pub file_vars: Vars,
    /// Where the host first appears.
    pub first: Loc,
}

/// Whose variable it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Group(usize),
    Host(usize),
}

/// Which layer a variable comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Inventory,
    VarsFile,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub sources: Vec<Source>,
    pub groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    pub hosts: Vec<Host>,
    host_index: HashMap<String, usize>,
    pub warnings: Vec<Warning>,
    pub errors: Vec<Diagnostic>,
    reported: HashSet<(usize, usize, String)>,
    /// Definitions of variables that are not `ansible_*` connection settings.
    pub other_vars: usize,
    pub other_secrets: usize,
}

/// How opsctl treats a variable, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    /// Becomes a host field (address, port, user, identity file, transport, jump).
    Mapped,
    /// Never copied or printed.
    Secret,
    /// An Ansible setting opsctl has no equivalent for; the reason says why.
    Unmapped(&'static str),
    /// Not an Ansible setting (an application's variable).
    Other,
}

pub const MAPPED: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_connection",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
];

pub fn classify(name: &str) -> VarKind {
    let lower = name.to_ascii_lowercase();
    if MAPPED.contains(&lower.as_str()) {
        return VarKind::Mapped;
    }
    if [
        "pass",
        "secret",
        "token",
        "credential",
        "api_key",
        "apikey",
        "private_key",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        return VarKind::Secret;
    }
    let Some(setting) = lower.strip_prefix("ansible_") else {
        return VarKind::Other;
    };
    let reason = if ["become", "sudo", "su_", "su"]
        .iter()
        .any(|p| setting.starts_with(p))
    {
        "opsctl does not escalate privileges (become)"
    } else if setting == "python_interpreter" {
        "opsctl runs no Python on hosts"
    } else if setting.contains("host_key_checking") {
        "opsctl always checks host keys (profile `ssh.known_hosts = \"accept-new\"` learns new ones)"
    } else if setting.starts_with("ssh_")
        || setting.starts_with("scp_")
        || setting.starts_with("sftp_")
    {
        "put SSH options in ~/.ssh/config, which opsctl reads"
    } else {
        "opsctl has no equivalent"
    };
    VarKind::Unmapped(reason)
}

impl Default for Inventory {
    fn default() -> Self {
        Self::new()
    }
}

impl Inventory {
    pub fn new() -> Self {
        let mut inv = Inventory {
            sources: Vec::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            hosts: Vec::new(),
            host_index: HashMap::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            reported: HashSet::new(),
            other_vars: 0,
            other_secrets: 0,
        };
        for name in ["all", "ungrouped"] {
            let idx = inv.group(name);
            inv.groups[idx].declared = Some(Loc {
                source: 0,
                line: 0,
                span: 0..0,
            });
        }
        inv
    }

    pub fn add_source(&mut self, name: &str, text: &str) -> usize {
        self.sources.push(Source {
            name: name.to_string(),
            text: text.to_string(),
        });
        self.sources.len() - 1
    }

    pub fn group_id(&self, name: &str) -> Option<usize> {
        self.group_index.get(name).copied()
    }

    pub fn host_id(&self, name: &str) -> Option<usize> {
        self.host_index.get(name).copied()
    }

    /// The group named `name`, created (undeclared) when new.
    pub fn group(&mut self, name: &str) -> usize {
        if let Some(i) = self.group_index.get(name) {
            return *i;
        }
        self.groups.push(Group {
            name: name.to_string(),
            parents: Vec::new(),
            vars: Vars::new(),
            file_vars: Vars::new(),
            priority: 1,
            declared: None,
        });
        let idx = self.groups.len() - 1;
        self.group_index.insert(name.to_string(), idx);
        idx
    }

    pub fn declare(&mut self, group: usize, at: Loc) {
        if self.groups[group].declared.is_none() {
            self.groups[group].declared = Some(at);
        }
    }

    /// Makes `child` a child of `parent`, refusing loops as Ansible does.
    pub fn add_child(&mut self, parent: usize, child: usize, at: &Loc) {
        let (p, c) = (&self.groups[parent].name, &self.groups[child].name);
        let message = if child == ALL {
            Some(format!(
                "`all` cannot be a child group (of `{p}`): every group is already in `all`"
            ))
        } else if parent == child {
            Some(format!("group `{c}` cannot be a child of itself"))
        } else if self.is_ancestor(child, parent) {
            Some(format!(
                "adding `{c}` as a child of `{p}` makes a loop: `{c}` is already an ancestor of `{p}`"
            ))
        } else {
            None
        };
        if let Some(message) = message {
            let d = self.diagnostic(at, message);
            self.errors.push(d);
            return;
        }
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
        }
    }

    /// Whether `a` is `b` or one of its ancestors.
    fn is_ancestor(&self, a: usize, b: usize) -> bool {
        let mut stack = vec![b];
        let mut seen = HashSet::new();
        while let Some(g) = stack.pop() {
            if g == a {
                return true;
            }
            if seen.insert(g) {
                stack.extend(&self.groups[g].parents);
            }
        }
        false
    }

    /// Adds the host to `group`, creating it when new. Returns its index and whether
    /// it was new.
    pub fn add_host(&mut self, name: &str, group: usize, at: Loc) -> (usize, bool) {
        let (idx, new) = match self.host_index.get(name) {
            Some(i) => (*i, false),
            None => {
                self.hosts.push(Host {
                    name: name.to_string(),
                    groups: Vec::new(),
                    vars: Vars::new(),
                    file_vars: Vars::new(),
                    first: at,
                });
                let idx = self.hosts.len() - 1;
                self.host_index.insert(name.to_string(), idx);
                (idx, true)
            }
        };
        if !self.hosts[idx].groups.contains(&group) {
            self.hosts[idx].groups.push(group);
        }
        (idx, new)
    }

    /// Sets a variable, reporting what opsctl will not import (once per place).
    pub fn set_var(&mut self, target: Target, name: &str, value: Value, at: Loc, layer: Layer) {
        let kind = classify(name);
        let value = match (kind, &value) {
            (VarKind::Secret, _) | (_, Value::Secret) => Value::Secret,
            _ => value,
        };
        if let (Target::Group(g), "ansible_group_priority") = (target, name) {
            match value.text().and_then(|t| t.trim().parse::<i64>().ok()) {
                Some(p) => self.groups[g].priority = p,
                None => {
                    let d = self.diagnostic(&at, "ansible_group_priority must be a whole number");
                    self.errors.push(d);
                }
            }
            return;
        }
        let ansible = name.to_ascii_lowercase().starts_with("ansible_");
        match kind {
            _ if value == Value::Secret && (ansible || kind != VarKind::Secret) => {
                self.report(&at, name, format!("not imported: secret `{name}`"));
            }
            VarKind::Secret => self.count_other(&at, name, true),
            VarKind::Unmapped(reason) => {
                self.report(&at, name, format!("not imported: `{name}`: {reason}"));
            }
            VarKind::Other => self.count_other(&at, name, false),
            VarKind::Mapped => {
                if matches!(
                    name.to_ascii_lowercase().as_str(),
                    "ansible_ssh_common_args" | "ansible_ssh_extra_args"
                ) && let Err(why) = jump_from_ssh_args(&value)
                {
                    self.report(&at, name, format!("not imported: `{name}`: {why}"));
                }
            }
        }
        let def = VarDef { value, at };
        let vars = match (target, layer) {
            (Target::Group(g), Layer::Inventory) => &mut self.groups[g].vars,
            (Target::Group(g), Layer::VarsFile) => &mut self.groups[g].file_vars,
            (Target::Host(h), Layer::Inventory) => &mut self.hosts[h].vars,
            (Target::Host(h), Layer::VarsFile) => &mut self.hosts[h].file_vars,
        };
        vars.insert(name.to_string(), def);
    }

    fn count_other(&mut self, at: &Loc, name: &str, secret: bool) {
        if self.reported.insert((at.source, at.line, name.to_string())) {
            self.other_vars += 1;
            if secret {
                self.other_secrets += 1;
            }
        }
    }

    /// A warning at `at`, once per place and variable.
    pub fn report(&mut self, at: &Loc, key: &str, message: String) {
        if self.reported.insert((at.source, at.line, key.to_string())) {
            let w = self.warning(at, message);
            self.warnings.push(w);
        }
    }

    /// A host or group name must not be a `key=value`: that is a variable in the
    /// wrong place (and maybe a secret, so it is not shown).
    pub fn check_name(&mut self, what: &str, name: &str, at: &Loc) -> bool {
        if !name.contains('=') {
            return true;
        }
        let shown = mask_secrets(name);
        self.error(
            at,
            format!(
                "`{shown}` is not a {what} name: a variable goes after a host name or in a \
                 [group:vars] section (INI), or under `vars:` (YAML)"
            ),
        );
        false
    }

    pub fn warn(&mut self, at: &Loc, message: impl Into<String>) {
        let w = self.warning(at, message.into());
        self.warnings.push(w);
    }

    pub fn error(&mut self, at: &Loc, message: impl Into<String>) {
        let d = self.diagnostic(at, message);
        self.errors.push(d);
    }

    fn warning(&self, at: &Loc, message: String) -> Warning {
        Warning {
            file: self.source_name(at.source).to_string(),
            line: at.line,
            message,
        }
    }

    pub fn source_name(&self, source: usize) -> &str {
        self.sources
            .get(source)
            .map_or("<inventory>", |s| s.name.as_str())
    }

    /// A diagnostic at `at`, showing its line with secret values masked.
    pub fn diagnostic(&self, at: &Loc, message: impl Into<String>) -> Diagnostic {
        let name = self.source_name(at.source);
        let Some(src) = self.sources.get(at.source).filter(|_| at.line > 0) else {
            return Diagnostic::whole_file(name, message);
        };
        let text = &src.text;
        let start = at.span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        let line = mask_secrets(&text[line_start..line_end]);
        // Masking may shorten the line: keep the caret within it.
        let from = (start - line_start).min(line.len());
        let to = at
            .span
            .end
            .saturating_sub(line_start)
            .min(line.len())
            .max(from);
        let span = from..to;
        let mut d = Diagnostic::at(name, &line, span, message);
        d.line = at.line;
        d
    }

    /// Ansible's reconciliation: a host in no group is `ungrouped`; a host in
    /// another group is not.
    pub fn reconcile(&mut self) {
        for host in &mut self.hosts {
            let other = host.groups.iter().any(|g| *g != ALL && *g != UNGROUPED);
            if other {
                host.groups.retain(|g| *g != UNGROUPED && *g != ALL);
            } else if !host.groups.contains(&UNGROUPED) {
                host.groups.retain(|g| *g != ALL);
                host.groups.push(UNGROUPED);
            }
        }
    }

    /// Depth of each group below `all` (0); a group without parents is a child of `all`.
    pub fn depths(&self) -> Vec<usize> {
        let mut depth: Vec<Option<usize>> = vec![None; self.groups.len()];
        depth[ALL] = Some(0);
        for g in 0..self.groups.len() {
            self.depth_of(g, &mut depth, 0);
        }
        depth.into_iter().map(|d| d.unwrap_or(1)).collect()
    }

    fn depth_of(&self, g: usize, memo: &mut [Option<usize>], guard: usize) -> usize {
        if let Some(d) = memo[g] {
            return d;
        }
        // Loops are refused by add_child; the guard only bounds a bug.
        if guard > self.groups.len() {
            return 1;
        }
        let d = self.groups[g]
            .parents
            .iter()
            .map(|p| self.depth_of(*p, memo, guard + 1) + 1)
            .max()
            .unwrap_or(1);
        memo[g] = Some(d);
        d
    }

    /// Every group the host belongs to, directly or through parents (`all` included).
    pub fn host_groups(&self, h: usize) -> Vec<usize> {
        let mut seen = vec![false; self.groups.len()];
        let mut stack: Vec<usize> = self.hosts[h].groups.clone();
        stack.push(ALL);
        while let Some(g) = stack.pop() {
            if !std::mem::replace(&mut seen[g], true) {
                stack.extend(&self.groups[g].parents);
            }
        }
        (0..self.groups.len()).filter(|g| seen[*g]).collect()
    }

    /// The host's groups other than `all` in Ansible's merge order: by depth, then
    /// priority, then name (later ones win).
    pub fn merge_order(&self, groups: &[usize], depths: &[usize]) -> Vec<usize> {
        let mut order: Vec<usize> = groups.iter().copied().filter(|g| *g != ALL).collect();
        order.sort_by(|a, b| {
            let (ga, gb) = (&self.groups[*a], &self.groups[*b]);
            (depths[*a], ga.priority, &ga.name).cmp(&(depths[*b], gb.priority, &gb.name))
        });
        order
    }

    /// The definition of `name` that wins for host `h`, Ansible's precedence from
    /// the top: host_vars/ files, the inventory's host vars, group_vars/ files of the
    /// host's groups (then of `all`), the inventory's group vars (then `all`'s).
    pub fn effective<'a>(&'a self, h: usize, order: &[usize], name: &str) -> Option<&'a VarDef> {
        let host = &self.hosts[h];
        host.file_vars
            .get(name)
            .or_else(|| host.vars.get(name))
            .or_else(|| {
                order
                    .iter()
                    .rev()
                    .find_map(|g| self.groups[*g].file_vars.get(name))
            })
            .or_else(|| self.groups[ALL].file_vars.get(name))
            .or_else(|| {
                order
                    .iter()
                    .rev()
                    .find_map(|g| self.groups[*g].vars.get(name))
            })
            .or_else(|| self.groups[ALL].vars.get(name))
    }
}

/// Replaces the value after a secret-looking key on a source line with `***`
/// (`key=value`, `key: value`, or `key value` with the separator forgotten), so
/// that a diagnostic can show the line.
pub fn mask_secrets(line: &str) -> String {
    let word_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find(word_char) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !word_char(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        out.push_str(word);
        rest = &rest[end..];
        if classify(word) != VarKind::Secret {
            continue;
        }
        // A closing quote of a quoted key, then the separator (if any).
        let after_key = rest.trim_start_matches(['"', '\'']);
        let spaced = after_key.trim_start();
        let (sep, value) = match spaced.chars().next() {
            Some(c @ ('=' | ':')) => (Some(c), spaced[1..].trim_start()),
            _ => (None, spaced),
        };
        if value.is_empty() || (sep.is_none() && spaced.len() == after_key.len()) {
            continue;
        }
        out.push_str(&rest[..rest.len() - value.len()]);
        // YAML values run to the end of the line; INI values to the next unquoted space.
        let end = if sep == Some(':') {
            value.len()
        } else {
            unquoted_end(value)
        };
        out.push_str("***");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

/// The end of a value: the first whitespace, `,` or `}` outside quotes.
fn unquoted_end(value: &str) -> usize {
    let mut quote = None;
    for (i, c) in value.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_whitespace() || c == ',' || c == '}' => return i,
            None => {}
        }
    }
    value.len()
}

/// What `ansible_ssh_common_args` / `ansible_ssh_extra_args` means for opsctl: a
/// jump host when the arguments are only `-J HOST` or `-o ProxyJump=HOST`; anything
/// else cannot be applied.
pub fn jump_from_ssh_args(value: &Value) -> Result<Option<String>, String> {
    let text = match value {
        Value::Null => return Ok(None),
        _ if value.is_template() => {
            return Err("a Jinja template, which only Ansible can evaluate".to_string());
        }
        v => v
            .text()
            .ok_or_else(|| "not a string of ssh arguments".to_string())?,
    };
    let tokens = super::pyvalue::shlex_split(&text).map_err(|e| e.to_string())?;
    let unsupported = || {
        "only -J HOST or -o ProxyJump=HOST is understood; put other ssh options in \
         ~/.ssh/config, which opsctl reads"
            .to_string()
    };
    let mut jump = None;
    let mut it = tokens.iter();
    while let Some(t) = it.next() {
        let value = if t == "-J" {
            it.next().cloned()
        } else if let Some(v) = t.strip_prefix("-J") {
            Some(v.to_string())
        } else if t == "-o" {
            it.next().and_then(|o| proxy_jump_option(o))
        } else if let Some(o) = t.strip_prefix("-o") {
            proxy_jump_option(o)
        } else {
            None
        };
        match value {
            Some(v) if !v.is_empty() => jump = Some(v),
            _ => return Err(unsupported()),
        }
    }
    Ok(jump.filter(|j| !j.eq_ignore_ascii_case("none")))
}

fn proxy_jump_option(option: &str) -> Option<String> {
    let (key, value) = option
        .split_once('=')
        .or_else(|| option.split_once(char::is_whitespace))?;
    key.trim()
        .eq_ignore_ascii_case("proxyjump")
        .then(|| value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize) -> Loc {
        Loc {
            source: 0,
            line,
            span: 0..0,
        }
    }

    #[test]
    fn secrets_are_masked_on_shown_lines() {
        assert_eq!(
            mask_secrets("web1 ansible_host=10.0.0.1 ansible_password=hunter2 ansible_user=x"),
            "web1 ansible_host=10.0.0.1 ansible_password=*** ansible_user=x"
        );
        assert_eq!(
            mask_secrets("    ansible_become_pass: \"s3 cr3t\""),
            "    ansible_become_pass: ***"
        );
        assert_eq!(mask_secrets("db_password='a b' x=1"), "db_password=*** x=1");
        assert_eq!(mask_secrets("ansible_password pw9"), "ansible_password ***");
        assert_eq!(
            mask_secrets("{ansible_ssh_pass: x, a: 1}"),
            "{ansible_ssh_pass: ***"
        );
        assert_eq!(mask_secrets("the password"), "the password");
        assert_eq!(
            mask_secrets("ansible_host: 10.0.0.1"),
            "ansible_host: 10.0.0.1"
        );
    }

    #[test]
    fn names_are_classified() {
        assert_eq!(classify("ansible_host"), VarKind::Mapped);
        assert_eq!(classify("ansible_ssh_private_key_file"), VarKind::Mapped);
        for secret in [
            "ansible_password",
            "ansible_ssh_pass",
            "ansible_become_pass",
            "db_password",
            "api_token",
        ] {
            assert_eq!(classify(secret), VarKind::Secret, "{secret}");
        }
        assert!(
            matches!(classify("ansible_become"), VarKind::Unmapped(r) if r.contains("escalate"))
        );
        assert!(matches!(
            classify("ansible_python_interpreter"),
            VarKind::Unmapped(_)
        ));
        assert_eq!(classify("http_port"), VarKind::Other);
    }

    #[test]
    fn secret_values_are_never_kept() {
        let mut inv = Inventory::new();
        let h = inv.add_host("web1", UNGROUPED, at(3)).0;
        inv.set_var(
            Target::Host(h),
            "ansible_ssh_pass",
            Value::Str("hunter2".into()),
            at(3),
            Layer::Inventory,
        );
        assert_eq!(inv.hosts[h].vars["ansible_ssh_pass"].value, Value::Secret);
        assert_eq!(inv.warnings.len(), 1);
        assert!(
            inv.warnings[0]
                .message
                .contains("not imported: secret `ansible_ssh_pass`")
        );
        assert!(!format!("{inv:?}").contains("hunter2"));
    }

    #[test]
    fn child_groups_override_parents_and_hosts_override_groups() {
        let mut inv = Inventory::new();
        let usa = inv.group("usa");
        let south = inv.group("southeast");
        let atl = inv.group("atlanta");
        inv.add_child(usa, south, &at(1));
        inv.add_child(south, atl, &at(2));
        let h = inv.add_host("host1", atl, at(3)).0;
        let set = |inv: &mut Inventory, t, v: &str| {
            inv.set_var(
                t,
                "ansible_user",
                Value::Str(v.into()),
                at(4),
                Layer::Inventory,
            )
        };
        set(&mut inv, Target::Group(ALL), "from-all");
        set(&mut inv, Target::Group(usa), "from-usa");
        set(&mut inv, Target::Group(south), "from-southeast");
        inv.reconcile();
        let depths = inv.depths();
        let order = inv.merge_order(&inv.host_groups(h), &depths);
        let user = |inv: &Inventory| {
            inv.effective(h, &order, "ansible_user")
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(user(&inv), Value::Str("from-southeast".into()));
        set(&mut inv, Target::Host(h), "from-host");
        assert_eq!(user(&inv), Value::Str("from-host".into()));
    }

    #[test]
    fn loops_are_refused() {
        let mut inv = Inventory::new();
        let a = inv.group("a");
        let b = inv.group("b");
        inv.add_child(a, b, &at(1));
        inv.add_child(b, a, &at(2));
        inv.add_child(a, a, &at(3));
        assert_eq!(inv.errors.len(), 2);
        assert!(inv.errors[0].message.contains("loop"), "{}", inv.errors[0]);
    }

    #[test]
    fn ssh_args_give_a_jump_host_or_an_explanation() {
        let s = |t: &str| Value::Str(t.to_string());
        assert_eq!(
            jump_from_ssh_args(&s("-J bastion")),
            Ok(Some("bastion".into()))
        );
        assert_eq!(
            jump_from_ssh_args(&s("-o ProxyJump=ops@bastion.example.com:2222")),
            Ok(Some("ops@bastion.example.com:2222".into()))
        );
        assert_eq!(jump_from_ssh_args(&s("-oProxyJump=none")), Ok(None));
        assert!(jump_from_ssh_args(&s("-o ProxyCommand=\"ssh -W %h:%p b\"")).is_err());
        assert!(jump_from_ssh_args(&s("-J {{ bastion }}")).is_err());
    }
}
