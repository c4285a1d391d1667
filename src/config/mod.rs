//! Profiles and settings: types, loading with precise errors, the embedded
//! `local` profile, SSH configuration and known_hosts.

pub mod host_key_policy;
pub mod known_hosts;
pub mod profile;
pub mod ssh_config;
pub mod target;

pub use profile::*;
