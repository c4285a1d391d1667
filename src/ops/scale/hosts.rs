//! The hosts a scale target lives on: `hosts` in their order, then the hosts with
//! one of its `roles`, each once; `--host` narrows them.

use crate::config::resolve;
use crate::config::ssh_lookup::SshConfigCache;
use crate::config::{Profile, ScaleTarget};
use crate::ops::deploy::AppHost;

pub fn target_hosts(
    profile: &Profile,
    target: &ScaleTarget,
    only: &[String],
) -> Result<Vec<AppHost>, String> {
    let mut names: Vec<&str> = target.hosts.iter().map(String::as_str).collect();
    for h in &profile.hosts {
        if h.roles.iter().any(|r| target.roles.contains(r)) && !names.contains(&h.name.as_str()) {
            names.push(&h.name);
        }
    }
    for o in only {
        if !names.contains(&o.as_str()) {
            return Err(format!(
                "`{o}` is not a host of the scale target {} (its hosts: {})",
                target.name,
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
                "the scale target {} names `{name}`, which is not a host of the profile",
                target.name
            ));
        };
        let host = resolve::resolve_entry(profile, entry, &lookup).map_err(|e| e.to_string())?;
        out.push(AppHost {
            path: profile
                .app
                .as_ref()
                .map(|a| a.path_on(&host.name))
                .unwrap_or_default(),
            address: host.address.clone(),
            remote: host.remote(),
            name: host.name,
        });
    }
    if out.is_empty() {
        return Err(format!("the scale target {} has no hosts", target.name));
    }
    Ok(out)
}

/// The profile's target of that name, or what the names are.
pub fn find<'p>(profile: &'p Profile, name: &str) -> Result<&'p ScaleTarget, String> {
    profile
        .scale
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| {
            if profile.scale.is_empty() {
                format!(
                    "the profile `{}` has no [[scale]] targets; see the README's \"Scale\"",
                    profile.name
                )
            } else {
                format!(
                    "no scale target `{name}` (the profile's: {})",
                    profile
                        .scale
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        })
}
