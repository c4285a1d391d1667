//! The console's views, in tab order. Tabs, number keys, `:NAME` in the palette,
//! help and the bottom bar all come from this list: a new view is one file in
//! `views/` and one line here.

use super::view::{View, ViewSpec};
use super::views::{audit, deploy, fleet, host, queries, scale};
use crate::config::Profile;

/// A registered view: what is known of it statically, and how to build it.
pub struct Entry {
    pub spec: &'static ViewSpec,
    pub build: fn(&Profile) -> Box<dyn View>,
}

pub const VIEWS: &[Entry] = &[
    Entry {
        spec: &fleet::SPEC,
        build: fleet::build,
    },
    Entry {
        spec: &host::SPEC,
        build: host::build,
    },
    Entry {
        spec: &queries::SPEC,
        build: queries::build,
    },
    Entry {
        spec: &audit::SPEC,
        build: audit::build,
    },
    Entry {
        spec: &deploy::SPEC,
        build: deploy::build,
    },
    Entry {
        spec: &scale::SPEC,
        build: scale::build,
    },
];

/// One instance of every view, in tab order.
pub fn build_all(profile: &Profile) -> Vec<Box<dyn View>> {
    VIEWS.iter().map(|e| (e.build)(profile)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_names_are_unique_and_tabs_have_number_keys() {
        let mut names: Vec<&str> = VIEWS.iter().map(|e| e.spec.context.as_str()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "{names:?}");
        assert!(n <= 9, "number keys go up to 9");
        assert!(!names.contains(&"global"));
    }

    #[test]
    fn every_view_binds_only_keys_it_declares_hints_for() {
        // The bottom bar is generated from the hints: each hinted action must be
        // declared by the view or be a global one.
        let km = crate::console::keymap::Keymap::default();
        for e in VIEWS {
            for hint in e.spec.hints {
                for &a in hint.actions {
                    assert!(
                        km.key_for(e.spec.context, a).is_some(),
                        "{}: hint for unbound `{}`",
                        e.spec.context.as_str(),
                        a.name()
                    );
                }
            }
        }
    }
}
