//! ssh_config lookups for a whole profile: `ssh -G` is one process per host, so
//! the profile's hosts are resolved in parallel up front and remembered.

use std::collections::HashMap;
use std::sync::Mutex;

use super::profile::{Profile, Transport};
use super::resolve::SshConfigView;
use super::ssh_config::{self, SshConfigResolved};

type Key = (String, Option<String>, Option<u16>);

/// How many `ssh -G` processes run at once.
const PARALLEL: usize = 8;

pub struct SshConfigCache {
    enabled: bool,
    options: ssh_config::ResolveOptions,
    known: Mutex<HashMap<Key, Option<SshConfigView>>>,
}

impl SshConfigCache {
    /// A cache for `profile`, with every SSH host (and the jump host) already looked up.
    pub fn for_profile(profile: &Profile) -> SshConfigCache {
        let cache = SshConfigCache {
            enabled: profile.ssh.use_ssh_config,
            options: ssh_config::ResolveOptions {
                config_file: profile
                    .ssh
                    .config_file
                    .as_deref()
                    .map(super::load::expand_tilde),
                ..ssh_config::ResolveOptions::default()
            },
            known: Mutex::new(HashMap::new()),
        };
        if !cache.enabled {
            return cache;
        }
        let mut keys: Vec<Key> = profile
            .hosts
            .iter()
            .filter(|h| h.transport == Transport::Ssh)
            .map(|h| {
                (
                    h.address.clone().unwrap_or_else(|| h.name.clone()),
                    h.user.clone().or_else(|| profile.ssh.user.clone()),
                    h.port,
                )
            })
            .collect();
        keys.sort();
        keys.dedup();
        let chunk = keys.len().div_ceil(PARALLEL).max(1);
        let options = &cache.options;
        let found: Vec<(Key, Option<SshConfigView>)> = std::thread::scope(|s| {
            let workers: Vec<_> = keys
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|k| (k.clone(), lookup(&k.0, k.1.as_deref(), k.2, options)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        if let Ok(mut known) = cache.known.lock() {
            known.extend(found);
        }
        cache
    }

    /// What ssh_config says about `alias` (looked up now if not already known).
    pub fn get(&self, alias: &str, user: Option<&str>, port: Option<u16>) -> Option<SshConfigView> {
        if !self.enabled {
            return None;
        }
        let key = (alias.to_string(), user.map(str::to_string), port);
        if let Some(hit) = self.known.lock().ok().and_then(|k| k.get(&key).cloned()) {
            return hit;
        }
        let view = lookup(alias, user, port, &self.options);
        if let Ok(mut known) = self.known.lock() {
            known.insert(key, view.clone());
        }
        view
    }
}

fn lookup(
    alias: &str,
    user: Option<&str>,
    port: Option<u16>,
    options: &ssh_config::ResolveOptions,
) -> Option<SshConfigView> {
    match ssh_config::resolve_with(alias, user, port, options) {
        Ok(r) => Some(view(r)),
        Err(e) => {
            tracing::warn!(host = alias, error = %e, "ssh_config lookup failed; using profile settings only");
            None
        }
    }
}

fn view(r: SshConfigResolved) -> SshConfigView {
    SshConfigView {
        hostname: Some(r.hostname),
        user: Some(r.user),
        port: Some(r.port),
        identity_files: r.identity_files,
        identities_only: r.identities_only,
        proxy_jump: r.proxy_jump,
        proxy_command: r.proxy_command,
        user_known_hosts_files: r.user_known_hosts_files,
        global_known_hosts_files: r.global_known_hosts_files,
        host_key_alias: r.host_key_alias,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_profile;

    #[test]
    fn disabled_cache_knows_nothing() {
        let p = parse_profile(
            "name = \"t\"\n[ssh]\nuse_ssh_config = false\n[[hosts]]\nname = \"a\"\n",
            "t",
        )
        .unwrap();
        let cache = SshConfigCache::for_profile(&p);
        assert!(cache.get("a", None, None).is_none());
    }
}
