//! Choosing the road to a resolved host: local process or SSH.

use std::sync::Arc;

use super::Remote;
use super::local::LocalRemote;
use super::ssh::SshRemote;
use crate::config::resolve::ResolvedHost;

/// The remote for a host. Does not connect: the first operation does.
pub fn open(host: &ResolvedHost) -> Arc<dyn Remote> {
    match &host.ssh {
        Some(target) => Arc::new(SshRemote::new(target.clone())),
        None => Arc::new(LocalRemote::new(host.name.clone())),
    }
}
