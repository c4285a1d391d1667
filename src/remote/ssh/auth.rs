//! Public-key authentication: keys held by ssh-agent first, then identity files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use russh::client::{AuthResult, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey};

use super::handler::ClientHandler;
use crate::remote::{RemoteError, SshTarget};

/// Authenticates `handle` as `target.user`, or says which keys were offered and why none worked.
pub(crate) async fn authenticate(
    handle: &mut Handle<ClientHandler>,
    target: &SshTarget,
    agent_socket: Option<&Path>,
) -> Result<(), RemoteError> {
    let mut attempt = Attempt::default();
    let user = target.user.as_str();

    // The public halves of the identity files, so `identities_only` can pick agent keys.
    let file_publics: Vec<Option<PublicKey>> = target
        .identity_files
        .iter()
        .map(|p| public_half(p))
        .collect();

    if let Some(mut agent) = connect_agent(agent_socket).await {
        match agent.request_identities().await {
            Ok(identities) => {
                for identity in identities {
                    let AgentIdentity::PublicKey { key, comment } = identity else {
                        continue;
                    };
                    if target.identities_only
                        && !file_publics
                            .iter()
                            .flatten()
                            .any(|p| p.key_data() == key.key_data())
                    {
                        continue;
                    }
                    let hash = attempt.rsa_hash(handle, &key).await;
                    attempt.tried.push(format!(
                        "agent key {} {}{}",
                        key.algorithm(),
                        key.fingerprint(HashAlg::Sha256),
                        if comment.is_empty() {
                            String::new()
                        } else {
                            format!(" ({comment})")
                        }
                    ));
                    attempt.offered.push(key.clone());
                    match handle
                        .authenticate_publickey_with(user, key, hash, &mut agent)
                        .await
                    {
                        Ok(result) => {
                            if attempt.record(result) {
                                return Ok(());
                            }
                        }
                        Err(e) => {
                            tracing::debug!("agent could not sign: {e}");
                            if handle.is_closed() {
                                return Err(attempt.failure(target));
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::debug!("ssh-agent listed no keys: {e}"),
        }
    }

    for (path, public) in target.identity_files.iter().zip(&file_publics) {
        if let Some(public) = public
            && attempt
                .offered
                .iter()
                .any(|k| k.key_data() == public.key_data())
        {
            // Already offered through the agent, which holds the same key.
            continue;
        }
        if !path.exists() {
            tracing::debug!("identity file {} does not exist; skipped", path.display());
            continue;
        }
        let key = match russh::keys::load_secret_key(path, None) {
            Ok(key) => key,
            Err(russh::keys::Error::KeyIsEncrypted) => {
                attempt.encrypted.push(display_path(path));
                continue;
            }
            Err(e) => {
                attempt
                    .unreadable
                    .push(format!("{}: {e}", display_path(path)));
                continue;
            }
        };
        let public = key.public_key().clone();
        let hash = attempt.rsa_hash(handle, &public).await;
        attempt.tried.push(format!(
            "key file {} ({})",
            display_path(path),
            public.algorithm()
        ));
        attempt.offered.push(public);
        let result = handle
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(|e| RemoteError::Disconnected {
                host: target.label.clone(),
                reason: format!("during authentication: {e}"),
            })?;
        if attempt.record(result) {
            return Ok(());
        }
    }
    Err(attempt.failure(target))
}

#[derive(Default)]
struct Attempt {
    tried: Vec<String>,
    offered: Vec<PublicKey>,
    encrypted: Vec<String>,
    unreadable: Vec<String>,
    server_methods: Option<String>,
    /// The server's RSA signature preference, asked once.
    rsa_hash: Option<Option<HashAlg>>,
}

impl Attempt {
    /// Whether `result` is a success; remembers what the server still accepts.
    fn record(&mut self, result: AuthResult) -> bool {
        match result {
            AuthResult::Success => true,
            AuthResult::Failure {
                remaining_methods, ..
            } => {
                let names: Vec<&str> = remaining_methods.iter().map(<&str>::from).collect();
                self.server_methods = Some(names.join(","));
                false
            }
        }
    }

    async fn rsa_hash(
        &mut self,
        handle: &Handle<ClientHandler>,
        key: &PublicKey,
    ) -> Option<HashAlg> {
        if !matches!(key.algorithm(), Algorithm::Rsa { .. }) {
            return None;
        }
        if let Some(hash) = self.rsa_hash {
            return hash;
        }
        // A server that names no rsa-sha2 algorithm gets SHA-512, which every OpenSSH
        // since 7.2 accepts; legacy ssh-rsa (SHA-1) is never offered by us.
        let hash = match handle.best_supported_rsa_hash().await {
            Ok(Some(Some(hash))) => Some(hash),
            _ => Some(HashAlg::Sha512),
        };
        self.rsa_hash = Some(hash);
        hash
    }

    fn failure(&self, target: &SshTarget) -> RemoteError {
        let mut reason = String::new();
        if self.tried.is_empty() {
            reason.push_str("no key to offer");
        } else {
            reason.push_str("server refused ");
            reason.push_str(&self.tried.join(", "));
        }
        if let Some(methods) = &self.server_methods {
            reason.push_str(&format!("; server accepts: {methods}"));
        }
        for path in &self.encrypted {
            reason.push_str(&format!(
                "; key {path} is encrypted: load it into ssh-agent with ssh-add"
            ));
        }
        for e in &self.unreadable {
            reason.push_str(&format!("; cannot read key {e}"));
        }
        if self.tried.is_empty() && self.encrypted.is_empty() && self.unreadable.is_empty() {
            reason.push_str(
                " (no ssh-agent keys and no identity file found: start ssh-agent and ssh-add a key, \
                 or set ssh.identity_files in the profile)",
            );
        }
        RemoteError::Auth {
            user: target.user.clone(),
            host: target.label.clone(),
            reason,
        }
    }
}

async fn connect_agent(socket: Option<&Path>) -> Option<AgentClient<tokio::net::UnixStream>> {
    let socket = socket?;
    match AgentClient::connect_uds(socket).await {
        Ok(agent) => Some(agent),
        Err(e) => {
            tracing::debug!("cannot reach ssh-agent at {}: {e}", socket.display());
            None
        }
    }
}

/// The agent socket named by `SSH_AUTH_SOCK`, if set.
pub(crate) fn agent_from_env() -> Option<PathBuf> {
    std::env::var_os("SSH_AUTH_SOCK")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

/// The public key next to a private key file (`FILE.pub`), or from an unencrypted key.
fn public_half(path: &Path) -> Option<PublicKey> {
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    if let Ok(key) = russh::keys::load_public_key(Path::new(&pub_path)) {
        return Some(key);
    }
    russh::keys::load_secret_key(path, None)
        .ok()
        .map(|k| k.public_key().clone())
}

/// A path as the user would write it: the home directory shown as `~`.
pub(crate) fn display_path(path: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && let Ok(rest) = path.strip_prefix(&home)
    {
        return format!("~/{}", rest.display());
    }
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_shown_as_tilde() {
        let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
            return;
        };
        let p = Path::new(&home).join(".ssh/id_ed25519");
        assert_eq!(display_path(&p), "~/.ssh/id_ed25519");
        assert_eq!(display_path(Path::new("/etc/key")), "/etc/key");
    }
}
