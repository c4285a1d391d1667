//! Host-key verification as the SSH layer sees it: the known_hosts policy of
//! [`super::host_key_policy`], and the key types to ask the server for.

use std::borrow::Cow;

use russh::keys::{Algorithm, PublicKey};

use super::host_key_policy::{self, HostKeyRefusal};
use crate::remote::SshTarget;

/// Accepts `key` for `target` (learning it under accept-new), or says why not.
pub(crate) fn verify(target: &SshTarget, key: &PublicKey) -> Result<(), HostKeyRefusal> {
    host_key_policy::verify_host_key(target, key).map(|_| ())
}

/// Host-key algorithms to offer, the already-known types first (as OpenSSH does), so a
/// server with several host keys presents the one we know rather than looking "changed".
pub(crate) fn preferred_algorithms(target: &SshTarget) -> Cow<'static, [Algorithm]> {
    let defaults = russh::Preferred::DEFAULT.key;
    let known = host_key_policy::preferred_host_key_algorithms(target);
    if known.is_empty() {
        return defaults;
    }
    let mut order: Vec<Algorithm> = known.into_iter().filter(|a| defaults.contains(a)).collect();
    for a in defaults.iter() {
        if !order.contains(a) {
            order.push(a.clone());
        }
    }
    Cow::Owned(order)
}
