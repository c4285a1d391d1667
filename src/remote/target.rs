//! Everything needed to open an SSH connection to one host, fully resolved
//! (profile + ssh_config + command line), so the SSH layer reads no configuration.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub struct SshTarget {
    /// The name the user knows the host by (profile host name or command-line target).
    pub label: String,
    /// What to connect to: IP address or DNS name.
    pub hostname: String,
    pub port: u16,
    pub user: String,
    /// Private keys to try, in order, after the agent (unless `identities_only`).
    pub identity_files: Vec<PathBuf>,
    /// Use only `identity_files`, not every key the agent offers.
    pub identities_only: bool,
    /// Name looked up in known_hosts (OpenSSH's HostKeyAlias, else the hostname).
    pub known_hosts_name: String,
    /// known_hosts files checked, in order (user files first, then global ones).
    pub known_hosts_files: Vec<PathBuf>,
    /// Where `accept-new` appends a learned key.
    pub learn_file: PathBuf,
    pub policy: KnownHostsPolicy,
    /// A bastion reached first; this host is then reached through it (direct-tcpip).
    /// The bastion may have a bastion of its own (a `ProxyJump a,b` chain).
    pub jump: Option<Box<SshTarget>>,
    /// OpenSSH's `ProxyCommand`, tokens already expanded: the SSH session runs
    /// over this local command's stdin and stdout (SSM, cloudflared, corkscrew,
    /// `ssh -W`). Unused when `jump` is set.
    pub proxy_command: Option<String>,
    pub connect_timeout: Duration,
    pub keepalive: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KnownHostsPolicy {
    /// An unknown host is refused, with its fingerprint and the command to add it.
    #[default]
    Strict,
    /// An unknown host is learned (appended to known_hosts); a changed key is still refused.
    AcceptNew,
}
