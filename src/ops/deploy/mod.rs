//! Deploys and rollbacks, Capistrano style: every host keeps `releases/<id>`,
//! `shared/`, a `current` symlink switched atomically, and `revisions.log`.
//! A deploy prepares the release on every host first (nothing serving changes),
//! then switches hosts batch by batch behind a health gate; a failure anywhere
//! puts every host back on the release it started with.

pub mod fleet;
pub mod gate;
pub mod layout;
pub mod push;
pub mod releases;
pub mod restart;
pub mod revision;
pub mod rollback;
pub mod rolling;
pub mod run;
pub mod traffic;

pub use fleet::{AppHost, app_hosts};
pub use releases::{FleetReleases, HostReleases, Release};
pub use rollback::Rollback;
pub use run::Deploy;
