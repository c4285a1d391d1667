//! The russh client handler: where the server's host key is judged.
//!
//! russh turns a refused key into a bare `Error::UnknownKey`, so the handler keeps
//! the refusal's explanation in shared state for the connector to report.

use std::sync::{Arc, Mutex};

use russh::client::Handler;
use russh::keys::PublicKeyOrCertificate;

use super::host_key;
use super::host_key_policy::{HostKeyProblem, HostKeyRefusal};
use crate::remote::SshTarget;

/// Where a refused host key's explanation waits for the connector.
pub(crate) type RefusalSlot = Arc<Mutex<Option<HostKeyRefusal>>>;

pub(crate) struct ClientHandler {
    target: Arc<SshTarget>,
    refusal: RefusalSlot,
}

impl ClientHandler {
    /// A handler for `target`, and the slot where a host-key refusal is explained.
    pub(crate) fn new(target: Arc<SshTarget>) -> (Self, RefusalSlot) {
        let refusal = Arc::new(Mutex::new(None));
        let handler = ClientHandler {
            target,
            refusal: Arc::clone(&refusal),
        };
        (handler, refusal)
    }

    fn refuse(&self, why: HostKeyRefusal) -> bool {
        tracing::warn!(host = %self.target.label, "host key refused: {why}");
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(why);
        }
        false
    }
}

impl Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                match host_key::verify(&self.target, key) {
                    Ok(()) => Ok(true),
                    Err(why) => Ok(self.refuse(why)),
                }
            }
            // We never offer certificate host-key algorithms, so a certificate here
            // means a misbehaving server.
            PublicKeyOrCertificate::Certificate(_) => Ok(self.refuse(HostKeyRefusal::new(
                HostKeyProblem::Unusable,
                format!(
                    "{} presented a host certificate; opsctl checks plain host keys only",
                    self.target.label
                ),
            ))),
        }
    }
}
