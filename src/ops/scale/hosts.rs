//! The hosts a scale target lives on: `hosts` in their order, then the hosts with
//! one of its `roles`, each once; `--host` narrows them.

use crate::config::{Profile, ScaleTarget};
use crate::ops::deploy::{self, AppHost};

pub fn target_hosts(
    profile: &Profile,
    target: &ScaleTarget,
    only: &[String],
) -> Result<Vec<AppHost>, String> {
    deploy::fleet::hosts_of(
        profile,
        &target.hosts,
        &target.roles,
        &format!("the scale target {}", target.name),
        only,
        // The app's path there: where a relative gunicorn pid file lives.
        &|h| {
            profile
                .app
                .as_ref()
                .map(|a| a.path_on(h))
                .unwrap_or_default()
        },
    )
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
