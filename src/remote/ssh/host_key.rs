//! Host-key verification as the SSH layer sees it: one call, yes or an explanation.
//!
//! TODO(knownhosts): replace the body of [`verify`] with
//! `crate::config::known_hosts::verify_host_key` once that branch lands; this
//! stand-in knows plain `host` / `[host]:port` lines only (no hashes, wildcards or
//! markers), which is just enough to run the SSH layer against the sandbox.

use std::io::Write;
use std::path::Path;

use russh::keys::{HashAlg, PublicKey};

use crate::config::KnownHostsPolicy;
use crate::remote::SshTarget;

/// The name a host has in known_hosts: `host` on port 22, else `[host]:port`.
pub(crate) fn known_hosts_label(name: &str, port: u16) -> String {
    if port == 22 {
        name.to_string()
    } else {
        format!("[{name}]:{port}")
    }
}

/// Accepts `key` for `target`, learns it under accept-new, or says why not.
pub(crate) fn verify(target: &SshTarget, key: &PublicKey) -> Result<(), String> {
    let label = known_hosts_label(&target.known_hosts_name, target.port);
    let fingerprint = key.fingerprint(HashAlg::Sha256);
    for file in &target.known_hosts_files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let mut fields = line.split_whitespace();
            let (Some(hosts), Some(algo), Some(b64)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            if hosts.starts_with('#') || hosts.starts_with('@') || hosts.starts_with('|') {
                continue;
            }
            if !hosts.split(',').any(|h| h == label) {
                continue;
            }
            let Ok(known) = russh::keys::parse_public_key_base64(b64) else {
                continue;
            };
            if known.key_data() == key.key_data() {
                return Ok(());
            }
            if known.algorithm() == key.algorithm() {
                return Err(format!(
                    "HOST KEY CHANGED for {label}: the server sent {algo} key {fingerprint}, \
                     but {}:{} holds a different one. This may be an attack; if the key was \
                     changed on purpose, remove the old line with: ssh-keygen -R '{label}' -f {}",
                    file.display(),
                    i + 1,
                    file.display()
                ));
            }
        }
    }
    match target.policy {
        KnownHostsPolicy::Strict => Err(format!(
            "host key for {label} is not known ({} {fingerprint}); checked {}. \
             Verify the fingerprint, then add it with: ssh-keyscan -p {} {} >> {}",
            key.algorithm(),
            files_list(target),
            target.port,
            target.hostname,
            target.learn_file.display()
        )),
        KnownHostsPolicy::AcceptNew => learn(&target.learn_file, &label, key).map_err(|e| {
            format!(
                "cannot record the key of {label} in {}: {e}",
                target.learn_file.display()
            )
        }),
    }
}

fn files_list(target: &SshTarget) -> String {
    if target.known_hosts_files.is_empty() {
        return "no known_hosts files".to_string();
    }
    target
        .known_hosts_files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn learn(file: &Path, label: &str, key: &PublicKey) -> std::io::Result<()> {
    let line = key
        .to_openssh()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    // to_openssh() appends the key's comment; known_hosts wants "name algo base64".
    let mut parts = line.split_whitespace();
    let (Some(algo), Some(b64)) = (parts.next(), parts.next()) else {
        return Err(std::io::Error::other("cannot encode the key"));
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    writeln!(f, "{label} {algo} {b64}")?;
    tracing::info!("learned host key of {label} into {}", file.display());
    Ok(())
}
