//! From a profile (and ssh_config) to concrete hosts: how to reach each one and
//! what to watch on it. Precedence for SSH settings: the host's own entry, then
//! the profile's `[ssh]` defaults, then OpenSSH's configuration, then defaults.

use std::path::PathBuf;
use std::time::Duration;

use super::load::{effective_jump, expand_tilde, home_dir};
use super::profile::{HostEntry, KnownHostsPolicy, LogSource, Profile, Transport};
use super::ssh_config::{LocalIdentity, ProxyCommandError, ProxyTokens, expand_proxy_command};
use super::target::{TargetError, parse_target};
use crate::remote::SshTarget;

/// Hops a jump chain may have (`ProxyJump a,b,...`, bastions with bastions). More is
/// a loop in the configuration, not a network.
pub const MAX_HOPS: usize = 8;

/// Why a host cannot be turned into something to connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("jump host {spec}: {source}")]
    JumpTarget { spec: String, source: TargetError },
    #[error("{host}: the jump chain has more than {MAX_HOPS} hops; is there a loop?")]
    TooManyHops { host: String },
    #[error("{host}: {source}")]
    ProxyCommand {
        host: String,
        source: ProxyCommandError,
    },
}

/// What OpenSSH's configuration says about one alias (see `ssh_config`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SshConfigView {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: bool,
    pub proxy_jump: Option<String>,
    pub proxy_command: Option<String>,
    pub user_known_hosts_files: Vec<PathBuf>,
    pub global_known_hosts_files: Vec<PathBuf>,
    pub host_key_alias: Option<String>,
}

/// Looks an alias up in OpenSSH's configuration (`ssh -G`); `None` when not available.
pub type SshConfigLookup<'a> = &'a dyn Fn(&str, Option<&str>, Option<u16>) -> Option<SshConfigView>;

/// A lookup that knows nothing (ssh_config disabled).
pub fn no_ssh_config(_: &str, _: Option<&str>, _: Option<u16>) -> Option<SshConfigView> {
    None
}

/// One host, ready to be reached.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedHost {
    pub name: String,
    /// Shown in tables: the address as the profile gives it (or the name).
    pub address: String,
    pub roles: Vec<String>,
    /// Units watched: the profile's, then the host's own, without repeats.
    pub services: Vec<String>,
    pub logs: Vec<LogSource>,
    pub transport: Transport,
    /// Set when `transport` is SSH.
    pub ssh: Option<SshTarget>,
    pub command_timeout: Duration,
}

impl ResolvedHost {
    /// The road to this host (does not connect yet).
    pub fn remote(&self) -> std::sync::Arc<dyn crate::remote::Remote> {
        crate::remote::open(&self.name, self.ssh.as_ref())
    }
}

fn local_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            // SAFETY: getuid has no preconditions.
            let uid = unsafe { libc::getuid() };
            if uid == 0 { Some("root".into()) } else { None }
        })
        .unwrap_or_else(|| "root".into())
}

fn default_user_known_hosts() -> Vec<PathBuf> {
    home_dir()
        .map(|h| vec![h.join(".ssh/known_hosts"), h.join(".ssh/known_hosts2")])
        .unwrap_or_default()
}

fn default_identities() -> Vec<PathBuf> {
    home_dir()
        .map(|h| {
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|f| h.join(".ssh").join(f))
                .collect()
        })
        .unwrap_or_default()
}

/// Inputs that differ between a profile host and a command-line target.
struct Want<'a> {
    label: &'a str,
    alias: &'a str,
    user: Option<&'a str>,
    port: Option<u16>,
    identity_files: Option<&'a [String]>,
    policy: Option<KnownHostsPolicy>,
    /// `Some(None)`: explicitly direct; `None`: not said (ssh_config may say).
    jump: Option<Option<&'a str>>,
}

fn ssh_target(
    profile: &Profile,
    want: Want,
    lookup: SshConfigLookup,
    depth: usize,
) -> Result<SshTarget, ResolveError> {
    if depth > MAX_HOPS {
        return Err(ResolveError::TooManyHops {
            host: want.label.to_string(),
        });
    }
    let ssh = &profile.ssh;
    let user_hint = want.user.or(ssh.user.as_deref());
    let view = if ssh.use_ssh_config {
        lookup(want.alias, user_hint, want.port).unwrap_or_default()
    } else {
        SshConfigView::default()
    };
    let hostname = view
        .hostname
        .clone()
        .unwrap_or_else(|| want.alias.to_string());
    let port = want.port.or(view.port).unwrap_or(22);
    let user = user_hint
        .map(str::to_string)
        .or(view.user.clone())
        .unwrap_or_else(local_user);
    let identity_files: Vec<PathBuf> = match want.identity_files {
        Some(files) => files.iter().map(|f| expand_tilde(f)).collect(),
        None if !ssh.identity_files.is_empty() => {
            ssh.identity_files.iter().map(|f| expand_tilde(f)).collect()
        }
        None if !view.identity_files.is_empty() => view.identity_files.clone(),
        None => default_identities(),
    };
    let identities_only =
        want.identity_files.is_some() || !ssh.identity_files.is_empty() || view.identities_only;
    let mut known_hosts_files: Vec<PathBuf> = ssh
        .known_hosts_files
        .iter()
        .map(|f| expand_tilde(f))
        .collect();
    let user_files = if view.user_known_hosts_files.is_empty() {
        default_user_known_hosts()
    } else {
        view.user_known_hosts_files.clone()
    };
    // A profile that names its own known_hosts files (e.g. the sandbox) is not
    // mixed with the user's files, so a test never depends on ~/.ssh.
    if known_hosts_files.is_empty() {
        known_hosts_files.extend(user_files.iter().cloned());
        if view.global_known_hosts_files.is_empty() {
            known_hosts_files.push(PathBuf::from("/etc/ssh/ssh_known_hosts"));
            known_hosts_files.push(PathBuf::from("/etc/ssh/ssh_known_hosts2"));
        } else {
            known_hosts_files.extend(view.global_known_hosts_files.iter().cloned());
        }
    }
    let learn_file = known_hosts_files
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("known_hosts"));
    // A jump chain or a ProxyCommand: the profile's explicit word wins (`jump = ""`
    // means directly, without either), then ssh_config's, where ProxyJump wins.
    let jump_spec: Option<String> = match want.jump {
        Some(j) => j.map(str::to_string),
        None => view.proxy_jump.clone().filter(|j| j != "none"),
    };
    let jump = match jump_spec {
        None => None,
        Some(spec) => Some(Box::new(jump_target(profile, &spec, lookup, depth + 1)?)),
    };
    let proxy_command = match (&jump, want.jump, &view.proxy_command) {
        (None, None, Some(template)) => Some(
            expand_proxy_command(
                template,
                &ProxyTokens {
                    alias: want.alias,
                    hostname: &hostname,
                    port,
                    user: &user,
                },
                &LocalIdentity::current(),
            )
            .map_err(|source| ResolveError::ProxyCommand {
                host: want.label.to_string(),
                source,
            })?,
        ),
        _ => None,
    };
    Ok(SshTarget {
        label: want.label.to_string(),
        known_hosts_name: view
            .host_key_alias
            .clone()
            .unwrap_or_else(|| hostname.clone()),
        hostname,
        port,
        user,
        identity_files,
        identities_only,
        known_hosts_files,
        learn_file,
        policy: want.policy.unwrap_or(ssh.known_hosts),
        jump,
        proxy_command,
        connect_timeout: Duration::from_secs_f64(ssh.connect_timeout_secs),
        keepalive: Duration::from_secs_f64(ssh.keepalive_secs),
    })
}

/// A jump host: a profile host name, else an alias or `[user@]host[:port]`. A chain
/// `a,b,c` (as OpenSSH's ProxyJump) is reached hop by hop: `c` through `b`, `b`
/// through `a`; the first hop as its own configuration says.
fn jump_target(
    profile: &Profile,
    spec: &str,
    lookup: SshConfigLookup,
    depth: usize,
) -> Result<SshTarget, ResolveError> {
    let (before, last) = match spec.rsplit_once(',') {
        Some((before, last)) => (Some(before.trim()), last.trim()),
        None => (None, spec.trim()),
    };
    if let Some(entry) = profile.hosts.iter().find(|h| h.name == last) {
        let jump = match before {
            Some(b) => Some(Some(b)),
            None => entry_jump(profile, entry),
        };
        return ssh_target(profile, want_for_entry(entry, jump), lookup, depth);
    }
    let (user, host, port) = parse_target(last).map_err(|source| ResolveError::JumpTarget {
        spec: spec.to_string(),
        source,
    })?;
    ssh_target(
        profile,
        Want {
            label: last,
            alias: &host,
            user: user.as_deref(),
            port,
            identity_files: None,
            policy: None,
            // The first hop: its ssh_config may say how to reach it.
            jump: before.map(Some),
        },
        lookup,
        depth,
    )
}

/// How a profile host's entry says it is reached: `jump = ""` directly, a jump
/// host (its own or the profile's), or not said (ssh_config decides).
fn entry_jump<'a>(profile: &'a Profile, entry: &'a HostEntry) -> Option<Option<&'a str>> {
    match (entry.jump.as_deref(), effective_jump(profile, entry)) {
        (Some(""), _) => Some(None),
        (_, Some(j)) => Some(Some(j)),
        (_, None) => None,
    }
}

fn want_for_entry<'a>(entry: &'a HostEntry, jump: Option<Option<&'a str>>) -> Want<'a> {
    Want {
        label: &entry.name,
        alias: entry.address.as_deref().unwrap_or(&entry.name),
        user: entry.user.as_deref(),
        port: entry.port,
        identity_files: entry.identity_files.as_deref(),
        policy: entry.known_hosts,
        jump,
    }
}

fn services_for(profile: &Profile, extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in profile.health.services.iter().chain(extra) {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Resolves one profile host.
pub fn resolve_entry(
    profile: &Profile,
    entry: &HostEntry,
    lookup: SshConfigLookup,
) -> Result<ResolvedHost, ResolveError> {
    let ssh = match entry.transport {
        Transport::Local => None,
        Transport::Ssh => {
            let jump = entry_jump(profile, entry);
            Some(ssh_target(profile, want_for_entry(entry, jump), lookup, 0)?)
        }
    };
    Ok(ResolvedHost {
        name: entry.name.clone(),
        address: entry.address.clone().unwrap_or_else(|| entry.name.clone()),
        roles: entry.roles.clone(),
        services: services_for(profile, &entry.services),
        logs: entry
            .logs
            .clone()
            .unwrap_or_else(|| profile.health.logs.clone()),
        transport: entry.transport,
        ssh,
        command_timeout: Duration::from_secs_f64(profile.ssh.command_timeout_secs),
    })
}

/// Resolves every host of the profile, in profile order.
pub fn resolve_all(
    profile: &Profile,
    lookup: SshConfigLookup,
) -> Result<Vec<ResolvedHost>, ResolveError> {
    profile
        .hosts
        .iter()
        .map(|h| resolve_entry(profile, h, lookup))
        .collect()
}

/// Resolves command-line targets: profile host names, else ssh_config aliases or
/// `[user@]host[:port]` reached with the profile's SSH defaults.
pub fn resolve_targets(
    profile: &Profile,
    targets: &[String],
    lookup: SshConfigLookup,
) -> Result<Vec<ResolvedHost>, ResolveError> {
    let mut out = Vec::new();
    for t in targets {
        if let Some(entry) = profile.hosts.iter().find(|h| &h.name == t) {
            out.push(resolve_entry(profile, entry, lookup)?);
            continue;
        }
        let (user, host, port) = parse_target(t)?;
        let target = ssh_target(
            profile,
            Want {
                label: t,
                alias: &host,
                user: user.as_deref(),
                port,
                identity_files: None,
                policy: None,
                jump: profile.ssh.jump.as_deref().map(Some),
            },
            lookup,
            0,
        )?;
        out.push(ResolvedHost {
            name: t.clone(),
            address: host.clone(),
            roles: Vec::new(),
            services: profile.health.services.clone(),
            logs: profile.health.logs.clone(),
            transport: Transport::Ssh,
            ssh: Some(target),
            command_timeout: Duration::from_secs_f64(profile.ssh.command_timeout_secs),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_profile;

    fn profile(text: &str) -> Profile {
        parse_profile(text, "t.toml").unwrap()
    }

    #[test]
    fn host_overrides_profile_defaults() {
        let p = profile(
            r#"name = "t"
[ssh]
user = "deploy"
identity_files = ["/keys/a"]
use_ssh_config = false
[[hosts]]
name = "web1"
address = "10.0.0.1"
port = 2200
user = "admin"
identity_files = ["/keys/b"]
known_hosts = "accept-new"
"#,
        );
        let h = resolve_entry(&p, &p.hosts[0], &no_ssh_config).unwrap();
        let s = h.ssh.unwrap();
        assert_eq!(s.hostname, "10.0.0.1");
        assert_eq!(s.port, 2200);
        assert_eq!(s.user, "admin");
        assert_eq!(s.identity_files, vec![PathBuf::from("/keys/b")]);
        assert!(s.identities_only);
        assert_eq!(s.policy, KnownHostsPolicy::AcceptNew);
    }

    #[test]
    fn profile_beats_ssh_config_which_beats_defaults() {
        let p = profile("name = \"t\"\n[ssh]\nuser = \"deploy\"\n[[hosts]]\nname = \"web1\"\n");
        let lookup = |alias: &str, _: Option<&str>, _: Option<u16>| {
            assert_eq!(alias, "web1");
            Some(SshConfigView {
                hostname: Some("web1.internal".into()),
                user: Some("ignored".into()),
                port: Some(2022),
                host_key_alias: Some("web1-key".into()),
                ..Default::default()
            })
        };
        let s = resolve_entry(&p, &p.hosts[0], &lookup)
            .unwrap()
            .ssh
            .unwrap();
        assert_eq!(s.hostname, "web1.internal");
        assert_eq!(s.user, "deploy");
        assert_eq!(s.port, 2022);
        assert_eq!(s.known_hosts_name, "web1-key");
    }

    #[test]
    fn jump_through_profile_bastion() {
        let p = profile(
            r#"name = "t"
[ssh]
jump = "bastion"
use_ssh_config = false
[[hosts]]
name = "bastion"
address = "b.example.com"
jump = ""
[[hosts]]
name = "web1"
address = "10.0.0.1"
"#,
        );
        let hosts = resolve_all(&p, &no_ssh_config).unwrap();
        assert!(hosts[0].ssh.as_ref().unwrap().jump.is_none());
        let jump = hosts[1].ssh.as_ref().unwrap().jump.as_ref().unwrap();
        assert_eq!(jump.hostname, "b.example.com");
        assert_eq!(jump.label, "bastion");
    }

    #[test]
    fn profile_known_hosts_files_replace_the_users() {
        let p = profile(
            "name = \"t\"\n[ssh]\nknown_hosts_files = [\"/sandbox/known_hosts\"]\n[[hosts]]\nname = \"a\"\n",
        );
        let s = resolve_entry(&p, &p.hosts[0], &no_ssh_config)
            .unwrap()
            .ssh
            .unwrap();
        assert_eq!(
            s.known_hosts_files,
            vec![PathBuf::from("/sandbox/known_hosts")]
        );
        assert_eq!(s.learn_file, PathBuf::from("/sandbox/known_hosts"));
    }

    #[test]
    fn ad_hoc_targets_and_profile_names() {
        let p = profile("name = \"t\"\n[[hosts]]\nname = \"web1\"\naddress = \"10.0.0.1\"\n");
        let hosts = resolve_targets(
            &p,
            &["web1".into(), "ops@10.9.9.9:2222".into()],
            &no_ssh_config,
        )
        .unwrap();
        assert_eq!(hosts[0].address, "10.0.0.1");
        let s = hosts[1].ssh.as_ref().unwrap();
        assert_eq!(
            (s.user.as_str(), s.hostname.as_str(), s.port),
            ("ops", "10.9.9.9", 2222)
        );
    }

    #[test]
    fn services_merge_without_repeats() {
        let p = profile(
            "name = \"t\"\n[health]\nservices = [\"ssh\", \"cron\"]\n[[hosts]]\nname = \"a\"\ntransport = \"local\"\nservices = [\"nginx\", \"ssh\"]\n",
        );
        let h = resolve_entry(&p, &p.hosts[0], &no_ssh_config).unwrap();
        assert_eq!(h.services, vec!["ssh", "cron", "nginx"]);
        assert!(h.ssh.is_none());
    }

    fn hops(mut t: &SshTarget) -> Vec<String> {
        let mut out = vec![t.label.clone()];
        while let Some(j) = &t.jump {
            out.push(j.label.clone());
            t = j;
        }
        out
    }

    #[test]
    fn jump_chains_are_reached_hop_by_hop() {
        let p = profile(
            r#"name = "t"
[ssh]
use_ssh_config = false
[[hosts]]
name = "outer"
address = "203.0.113.1"
jump = ""
[[hosts]]
name = "db1"
address = "10.0.2.5"
jump = "outer,ops@10.0.1.1:2222"
"#,
        );
        let s = resolve_entry(&p, &p.hosts[1], &no_ssh_config)
            .unwrap()
            .ssh
            .unwrap();
        // db1 through 10.0.1.1, which is reached through outer, which is direct.
        assert_eq!(hops(&s), ["db1", "ops@10.0.1.1:2222", "outer"]);
        let inner = s.jump.as_ref().unwrap();
        assert_eq!((inner.user.as_str(), inner.port), ("ops", 2222));
        assert_eq!(inner.jump.as_ref().unwrap().hostname, "203.0.113.1");
        // ssh_config's ProxyJump chains the same way.
        let p = profile("name = \"t\"\n[[hosts]]\nname = \"web1\"\n");
        let lookup = |alias: &str, _: Option<&str>, _: Option<u16>| {
            Some(SshConfigView {
                proxy_jump: (alias == "web1").then(|| "a,b".to_string()),
                ..Default::default()
            })
        };
        let s = resolve_entry(&p, &p.hosts[0], &lookup)
            .unwrap()
            .ssh
            .unwrap();
        assert_eq!(hops(&s), ["web1", "b", "a"]);
    }

    #[test]
    fn a_loop_through_ssh_config_is_refused() {
        let p = profile("name = \"t\"\n[[hosts]]\nname = \"web1\"\n");
        let lookup = |alias: &str, _: Option<&str>, _: Option<u16>| {
            Some(SshConfigView {
                proxy_jump: Some(if alias == "a" { "b" } else { "a" }.to_string()),
                ..Default::default()
            })
        };
        let e = resolve_entry(&p, &p.hosts[0], &lookup).unwrap_err();
        assert!(matches!(e, ResolveError::TooManyHops { .. }), "{e}");
    }

    #[test]
    fn proxy_command_comes_from_ssh_config_unless_the_profile_says_otherwise() {
        let lookup = |_: &str, _: Option<&str>, _: Option<u16>| {
            Some(SshConfigView {
                hostname: Some("10.0.0.7".into()),
                user: Some("deploy".into()),
                port: Some(2200),
                proxy_command: Some("ssh -W %h:%p bastion".into()),
                ..Default::default()
            })
        };
        let p = profile("name = \"t\"\n[[hosts]]\nname = \"web1\"\n");
        let s = resolve_entry(&p, &p.hosts[0], &lookup)
            .unwrap()
            .ssh
            .unwrap();
        assert_eq!(
            s.proxy_command.as_deref(),
            Some("ssh -W 10.0.0.7:2200 bastion")
        );
        assert!(s.jump.is_none());
        // `jump = ""`: directly, no proxy either.
        let p = profile("name = \"t\"\n[[hosts]]\nname = \"web1\"\njump = \"\"\n");
        let s = resolve_entry(&p, &p.hosts[0], &lookup)
            .unwrap()
            .ssh
            .unwrap();
        assert_eq!(s.proxy_command, None);
        // A jump host named in the profile wins over ssh_config's ProxyCommand.
        let p = profile("name = \"t\"\n[[hosts]]\nname = \"web1\"\njump = \"gw\"\n");
        let s = resolve_entry(&p, &p.hosts[0], &lookup)
            .unwrap()
            .ssh
            .unwrap();
        assert_eq!(s.proxy_command, None);
        assert_eq!(hops(&s), ["web1", "gw"]);
    }
}
