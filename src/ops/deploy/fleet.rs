//! The hosts an app runs on, in deploy order, each with its road and its path.

use std::sync::Arc;

use crate::config::resolve::{self, ResolveError};
use crate::config::ssh_lookup::SshConfigCache;
use crate::config::{AppSettings, Profile};
use crate::remote::Remote;

/// One host of the app.
#[derive(Clone)]
pub struct AppHost {
    pub name: String,
    /// The address the health gate reaches it at.
    pub address: String,
    pub remote: Arc<dyn Remote>,
    /// The app's directory there.
    pub path: String,
}

impl std::fmt::Debug for AppHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppHost")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("path", &self.path)
            .finish()
    }
}

/// The app's hosts: `hosts` in their order, then hosts with one of `roles` in
/// profile order, each once. `only` narrows them to the named hosts.
pub fn app_hosts(
    profile: &Profile,
    app: &AppSettings,
    only: &[String],
) -> Result<Vec<AppHost>, String> {
    hosts_of(
        profile,
        &app.hosts,
        &app.roles,
        &format!("the app {}", app.name),
        only,
        &|h| app.path_on(h),
    )
}

/// The profile hosts named in `named`, then those with one of `roles`, each once,
/// narrowed to `only`; each with `path_of` its name as the app's path there.
/// `what` names whose hosts they are in messages (`the app shop`).
/// The hosts `named`, then those of the profile with one of `roles`, each once,
/// in that order.
pub fn host_names<'a>(profile: &'a Profile, named: &'a [String], roles: &[String]) -> Vec<&'a str> {
    let mut names: Vec<&str> = named.iter().map(String::as_str).collect();
    for h in &profile.hosts {
        if h.roles.iter().any(|r| roles.contains(r)) && !names.contains(&h.name.as_str()) {
            names.push(&h.name);
        }
    }
    names
}

pub fn hosts_of(
    profile: &Profile,
    named: &[String],
    roles: &[String],
    what: &str,
    only: &[String],
    path_of: &dyn Fn(&str) -> String,
) -> Result<Vec<AppHost>, String> {
    let names = host_names(profile, named, roles);
    for o in only {
        if !names.contains(&o.as_str()) {
            return Err(format!(
                "`{o}` is not a host of {what} (its hosts: {})",
                names.join(", ")
            ));
        }
    }
    let cache = SshConfigCache::for_profile(profile);
    let lookup = |a: &str, u: Option<&str>, p: Option<u16>| cache.get(a, u, p);
    let mut out = Vec::new();
    for name in names {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let Some(entry) = profile.hosts.iter().find(|h| h.name == name) else {
            return Err(format!(
                "{what} names `{name}`, which is not a host of the profile"
            ));
        };
        let host = resolve::resolve_entry(profile, entry, &lookup)
            .map_err(|e: ResolveError| e.to_string())?;
        out.push(AppHost {
            path: path_of(&host.name),
            address: host.address.clone(),
            remote: host.remote(),
            name: host.name,
        });
    }
    if out.is_empty() {
        return Err(format!("{what} has no hosts"));
    }
    Ok(out)
}

/// The lock of the app's changes: on its first host.
pub fn lock_on_first(hosts: &[AppHost]) -> Option<crate::ops::lock::LockSpec> {
    hosts.first().map(|h| crate::ops::lock::LockSpec {
        host: h.name.clone(),
        remote: h.remote.clone(),
        app_path: h.path.clone(),
    })
}

/// The audit logs in the app's directory on each of its hosts.
pub fn host_logs(hosts: &[AppHost]) -> Vec<crate::ops::audit::HostLog> {
    hosts
        .iter()
        .map(|h| crate::ops::audit::HostLog {
            host: h.name.clone(),
            remote: h.remote.clone(),
            app_path: h.path.clone(),
        })
        .collect()
}
