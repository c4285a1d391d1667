//! Profiles and settings: types, loading with precise errors, the embedded
//! `local` profile, SSH configuration and known_hosts.

pub mod diagnostic;
pub mod host_key_policy;
pub mod known_hosts;
pub mod load;
pub mod profile;
pub mod redact;
pub mod resolve;
pub mod ssh_config;
pub mod ssh_lookup;
pub mod target;

pub use diagnostic::Diagnostic;
pub use load::{LoadError, LoadedProfile, ProfileSource, load, parse_profile};
pub use profile::*;
