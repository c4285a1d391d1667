//! Choosing the road to a host: local process or SSH.

use std::sync::Arc;

use super::Remote;
use super::SshTarget;
use super::local::LocalRemote;
use super::ssh::SshRemote;

/// The remote for a host named `name`: over SSH to `ssh`, or this machine when
/// there is no SSH target. Does not connect: the first operation does.
pub fn open(name: &str, ssh: Option<&SshTarget>) -> Arc<dyn Remote> {
    match ssh {
        Some(target) => Arc::new(SshRemote::new(target.clone())),
        None => Arc::new(LocalRemote::new(name.to_string())),
    }
}
