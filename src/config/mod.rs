//! Profiles and settings: types, loading with precise errors, the embedded
//! `local` profile, ssh_config. Turns them into targets that `remote` reaches
//! (host-key checking lives with the SSH code, in `remote::ssh`).

pub mod app;
pub mod diagnostic;
pub mod inventory;
pub mod load;
pub mod profile;
pub mod resolve;
pub mod scale;
pub mod secrets;
pub mod ssh_config;
pub mod ssh_lookup;
pub mod target;
pub mod warm;

pub use app::{AppSettings, RestartStrategy};
pub use diagnostic::Diagnostic;
pub use load::{LoadError, LoadedProfile, ProfileSource, load, parse_profile};
pub use profile::*;
pub use scale::{ScaleKind, ScaleTarget};
