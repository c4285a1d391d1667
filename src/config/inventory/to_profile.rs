//! From an inventory to opsctl hosts: each host's winning variables (Ansible's
//! precedence) become its address, port, user, identity file, transport and jump
//! host; its roles are all its groups (parents included), broadest first. Values opsctl cannot use are errors at the
//! line that set them.

use super::model::{ALL, Inventory, UNGROUPED, Value, VarDef, jump_from_ssh_args};

/// A host for the profile (the fields of a profile's `[[hosts]]` that an inventory
/// can set), and where the inventory first names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportedHost {
    pub name: String,
    /// `ansible_connection=local`: reached without SSH.
    pub local: bool,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_file: Option<String>,
    pub jump: Option<String>,
    pub roles: Vec<String>,
    /// `inventory.ini:12`.
    pub origin: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Ssh,
    Local,
}

/// The hosts of a reconciled inventory; problems go to `inv.errors`/`inv.warnings`.
pub fn hosts(inv: &mut Inventory) -> Vec<ImportedHost> {
    let depths = inv.depths();
    let mut out = Vec::new();
    for h in 0..inv.hosts.len() {
        let groups = inv.host_groups(h);
        let order = inv.merge_order(&groups, &depths);
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let entry = {
            let inv: &Inventory = inv;
            let host = &inv.hosts[h];
            let name = host.name.as_str();
            let var = |names: &[&'static str]| winning(inv, h, &order, names);
            let mut text = |names: &[&'static str]| -> Option<(String, &VarDef)> {
                let (var_name, def) = var(names)?;
                match text_of(name, var_name, def) {
                    Ok(t) => Some((t, def)),
                    Err((message, hint)) => {
                        let mut d = inv.diagnostic(&def.at, message);
                        d.hint = hint;
                        errors.push(d);
                        None
                    }
                }
            };
            let transport = match text(&["ansible_connection"]) {
                None => Some(Transport::Ssh),
                Some((c, def)) => match c.as_str() {
                    "local" | "ansible.builtin.local" => Some(Transport::Local),
                    "ssh"
                    | "smart"
                    | "paramiko"
                    | "paramiko_ssh"
                    | "ansible.builtin.ssh"
                    | "ansible.builtin.paramiko_ssh" => Some(Transport::Ssh),
                    other => {
                        warnings.push((
                            def.at.clone(),
                            format!(
                                "host `{name}` not imported: ansible_connection `{other}` is \
                                 neither SSH nor local, the two ways opsctl reaches a host"
                            ),
                        ));
                        None
                    }
                },
            };
            let address = text(&["ansible_host", "ansible_ssh_host"]).map(|(a, _)| a);
            let user = text(&["ansible_user", "ansible_ssh_user"]).map(|(u, _)| u);
            let key =
                text(&["ansible_ssh_private_key_file", "ansible_private_key_file"]).map(|(k, _)| k);
            let port = match var(&["ansible_port", "ansible_ssh_port"]) {
                None => None,
                Some((var_name, def)) => match port_of(var_name, &def.value) {
                    Ok(p) => p,
                    Err(message) => {
                        errors.push(inv.diagnostic(&def.at, message));
                        None
                    }
                },
            };
            if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                let mut d = inv.diagnostic(
                    &host.first,
                    format!("host name `{name}` has spaces: opsctl host names are single words"),
                );
                d.hint = Some("a YAML host key with spaces is one host name, not several".into());
                errors.push(d);
            }
            let jump = ["ansible_ssh_common_args", "ansible_ssh_extra_args"]
                .iter()
                .filter_map(|n| inv.effective(h, &order, n))
                .find_map(|d| jump_from_ssh_args(&d.value).ok().flatten());
            // Broadest first, most specific last: the order Ansible merges them in.
            let roles: Vec<String> = order
                .iter()
                .filter(|g| **g != ALL && **g != UNGROUPED)
                .map(|g| inv.groups[*g].name.clone())
                .collect();
            transport.map(|transport| {
                let remote = transport == Transport::Ssh;
                ImportedHost {
                    name: name.to_string(),
                    local: !remote,
                    address: address.filter(|_| remote),
                    port: port.filter(|_| remote),
                    user: user.filter(|_| remote),
                    identity_file: key.filter(|_| remote),
                    jump: jump.filter(|_| remote),
                    roles,
                    origin: String::new(),
                }
            })
        };
        let first = inv.hosts[h].first.clone();
        inv.errors.extend(errors);
        for (at, message) in warnings {
            inv.warn(&at, message);
        }
        if let Some(mut host) = entry {
            host.origin = format!("{}:{}", inv.source_name(first.source), first.line);
            out.push(host);
        }
    }
    out
}

/// The first of `names` (aliases, preferred first) that is set and not null for host `h`.
fn winning<'a>(
    inv: &'a Inventory,
    h: usize,
    order: &[usize],
    names: &[&'static str],
) -> Option<(&'static str, &'a VarDef)> {
    names
        .iter()
        .filter_map(|n| inv.effective(h, order, n).map(|d| (*n, d)))
        .find(|(_, d)| d.value != Value::Null)
}

type Problem = (String, Option<String>);

/// The text of a host field's variable, or why opsctl cannot use it.
fn text_of(host: &str, var: &str, def: &VarDef) -> Result<String, Problem> {
    let value = &def.value;
    if value.is_template() {
        return Err((
            format!(
                "`{var}` of host `{host}` is a Jinja template, which only Ansible can evaluate"
            ),
            Some(format!(
                "write the value itself for opsctl, e.g. in host_vars/{host}.yml"
            )),
        ));
    }
    let text = match value {
        Value::Secret => {
            return Err((
                format!("`{var}` of host `{host}` is vault-encrypted: opsctl cannot decrypt it"),
                None,
            ));
        }
        Value::Nested => {
            return Err((
                format!("`{var}` of host `{host}` must be a single value, not a list or mapping"),
                None,
            ));
        }
        v => v.text().unwrap_or_default(),
    };
    if text.trim().is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let hint = text.contains(" #").then(|| {
            "Ansible keeps a `# comment` in a :vars value that is not a quoted string: \
             put the comment on a line of its own"
                .to_string()
        });
        return Err((
            format!("`{var}` of host `{host}` is `{text}`, which has spaces or is empty"),
            hint,
        ));
    }
    Ok(text)
}

fn port_of(var: &str, value: &Value) -> Result<Option<u16>, String> {
    if value.is_template() {
        return Err(format!(
            "`{var}` is a Jinja template, which only Ansible can evaluate: write the port number"
        ));
    }
    let n = match value {
        Value::Null => return Ok(None),
        Value::Int(n) => Some(*n),
        Value::Str(s) | Value::Unsafe(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    n.and_then(|n| u16::try_from(n).ok())
        .filter(|p| *p != 0)
        .map(Some)
        .ok_or_else(|| match value.text() {
            Some(t) => format!("`{var}` is `{t}`, not a port (1-65535)"),
            None => format!("`{var}` is not a port (1-65535)"),
        })
}

/// The profile as TOML: a header saying where it came from, then one `[[hosts]]`
/// per host with only the fields the inventory set.
pub fn render_toml(profile_name: &str, inventory: &str, hosts: &[ImportedHost]) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let list = |items: &[String]| {
        let items: Vec<String> = items.iter().map(|s| q(s)).collect();
        format!("[{}]", items.join(", "))
    };
    let mut out = String::new();
    out.push_str(&format!(
        "# Imported from the Ansible inventory {inventory} by `opsctl config import ansible`.\n\
         # Secrets and variables opsctl has no use for were left out (see the warnings).\n"
    ));
    out.push_str(&format!("name = {}\n", q(profile_name)));
    out.push_str("environment = \"development\"\n");
    for h in hosts {
        out.push_str(&format!("\n[[hosts]]  # {}\n", h.origin));
        out.push_str(&format!("name = {}\n", q(&h.name)));
        if h.local {
            out.push_str("transport = \"local\"\n");
        }
        if let Some(a) = &h.address {
            out.push_str(&format!("address = {}\n", q(a)));
        }
        if let Some(p) = h.port {
            out.push_str(&format!("port = {p}\n"));
        }
        if let Some(u) = &h.user {
            out.push_str(&format!("user = {}\n", q(u)));
        }
        if let Some(k) = &h.identity_file {
            out.push_str(&format!(
                "identity_files = {}\n",
                list(std::slice::from_ref(k))
            ));
        }
        if let Some(j) = &h.jump {
            out.push_str(&format!("jump = {}\n", q(j)));
        }
        if !h.roles.is_empty() {
            out.push_str(&format!("roles = {}\n", list(&h.roles)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::model::{Layer, Loc, Target};
    use super::*;

    fn at(line: usize) -> Loc {
        Loc {
            source: 0,
            line,
            span: 0..0,
        }
    }

    fn inventory() -> Inventory {
        let mut inv = Inventory::new();
        inv.add_source("inv.ini", "");
        inv
    }

    fn set(inv: &mut Inventory, t: Target, k: &str, v: Value) {
        inv.set_var(t, k, v, at(1), Layer::Inventory);
    }

    #[test]
    fn variables_become_host_fields_and_groups_roles() {
        let mut inv = inventory();
        let web = inv.group("web");
        let prod = inv.group("prod");
        inv.add_child(prod, web, &at(1));
        let h = inv.add_host("web1", web, at(2)).0;
        set(
            &mut inv,
            Target::Host(h),
            "ansible_host",
            Value::Str("10.0.1.11".into()),
        );
        set(
            &mut inv,
            Target::Host(h),
            "ansible_port",
            Value::Str("2222".into()),
        );
        set(
            &mut inv,
            Target::Group(prod),
            "ansible_user",
            Value::Str("deploy".into()),
        );
        set(
            &mut inv,
            Target::Group(ALL),
            "ansible_ssh_private_key_file",
            Value::Str("~/.ssh/prod".into()),
        );
        set(
            &mut inv,
            Target::Group(ALL),
            "ansible_ssh_common_args",
            Value::Str("-J bastion".into()),
        );
        inv.reconcile();
        let hosts = hosts(&mut inv);
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        let e = &hosts[0];
        assert_eq!(e.address.as_deref(), Some("10.0.1.11"));
        assert_eq!(e.port, Some(2222));
        assert_eq!(e.user.as_deref(), Some("deploy"));
        assert_eq!(e.identity_file.as_deref(), Some("~/.ssh/prod"));
        assert_eq!(e.jump.as_deref(), Some("bastion"));
        assert_eq!(e.roles, ["prod", "web"]);
        assert_eq!(hosts[0].origin, "inv.ini:2");
    }

    #[test]
    fn templates_in_host_fields_are_errors() {
        let mut inv = inventory();
        let h = inv.add_host("web1", UNGROUPED, at(2)).0;
        set(
            &mut inv,
            Target::Host(h),
            "ansible_host",
            Value::Str("{{ lookup('env', 'IP') }}".into()),
        );
        set(
            &mut inv,
            Target::Host(h),
            "ansible_port",
            Value::Str("{{ p }}".into()),
        );
        inv.reconcile();
        hosts(&mut inv);
        assert_eq!(inv.errors.len(), 2, "{:?}", inv.errors);
        assert!(inv.errors[0].message.contains("Jinja"));
    }

    #[test]
    fn an_overridden_template_is_no_error() {
        let mut inv = inventory();
        let web = inv.group("web");
        let h = inv.add_host("web1", web, at(2)).0;
        set(
            &mut inv,
            Target::Group(web),
            "ansible_host",
            Value::Str("{{ x }}".into()),
        );
        set(
            &mut inv,
            Target::Host(h),
            "ansible_host",
            Value::Str("10.0.0.1".into()),
        );
        inv.reconcile();
        let hosts = hosts(&mut inv);
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        assert_eq!(hosts[0].address.as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn local_and_unreachable_connections() {
        let mut inv = inventory();
        let a = inv.add_host("localhost", UNGROUPED, at(1)).0;
        let b = inv.add_host("win1", UNGROUPED, at(2)).0;
        set(
            &mut inv,
            Target::Host(a),
            "ansible_connection",
            Value::Str("local".into()),
        );
        set(
            &mut inv,
            Target::Host(b),
            "ansible_connection",
            Value::Str("winrm".into()),
        );
        inv.reconcile();
        let hosts = hosts(&mut inv);
        assert_eq!(hosts.len(), 1);
        assert!(hosts[0].local);
        assert!(
            inv.warnings
                .iter()
                .any(|w| w.message.contains("`win1` not imported"))
        );
    }

    #[test]
    fn bad_ports_and_addresses_are_errors() {
        let mut inv = inventory();
        let h = inv.add_host("web1", UNGROUPED, at(2)).0;
        set(&mut inv, Target::Host(h), "ansible_port", Value::Int(70000));
        set(
            &mut inv,
            Target::Host(h),
            "ansible_host",
            Value::Str("10.0.0.1 # db".into()),
        );
        inv.reconcile();
        hosts(&mut inv);
        assert_eq!(inv.errors.len(), 2, "{:?}", inv.errors);
        assert!(
            inv.errors
                .iter()
                .any(|e| e.hint.as_deref().is_some_and(|h| h.contains("comment")))
        );
    }

    #[test]
    fn rendered_toml_is_a_valid_profile() {
        let host = ImportedHost {
            name: "web\"1".into(),
            address: Some("10.0.0.1".into()),
            port: Some(2222),
            roles: vec!["web".into(), "prod".into()],
            user: Some("deploy".into()),
            identity_file: Some("~/.ssh/k".into()),
            jump: Some("bastion".into()),
            origin: "inv.ini:3".into(),
            ..ImportedHost::default()
        };
        let local = ImportedHost {
            name: "localhost".into(),
            local: true,
            origin: "inv.ini:4".into(),
            ..ImportedHost::default()
        };
        let text = render_toml("inv", "inv.ini", &[host, local]);
        let p = crate::config::parse_profile(&text, "out.toml").unwrap();
        assert_eq!(p.name, "inv");
        let h = &p.hosts[0];
        assert_eq!(h.name, "web\"1");
        assert_eq!(h.address.as_deref(), Some("10.0.0.1"));
        assert_eq!(h.port, Some(2222));
        assert_eq!(h.user.as_deref(), Some("deploy"));
        assert_eq!(h.identity_files, Some(vec!["~/.ssh/k".to_string()]));
        assert_eq!(h.jump.as_deref(), Some("bastion"));
        assert_eq!(h.roles, ["web", "prod"]);
        assert_eq!(p.hosts[1].transport, crate::config::Transport::Local);
        assert!(text.contains("[[hosts]]  # inv.ini:3"), "{text}");
    }
}
