//! Changing capacity: a gunicorn master's workers, a systemd template's instances,
//! an nginx upstream's backends (drained before they are removed). Each change is
//! a [`change::Scale`] on the one road of [`crate::ops::engine`]; [`status`] reads
//! what each host has now, for plans, `opsctl scale status` and the Scale tab.

pub mod change;
pub mod delta;
pub mod gunicorn;
pub mod hosts;
pub mod nginx;
pub mod status;
pub mod systemd;
pub mod upstream;

pub use change::{Request, Scale};
pub use delta::Delta;
pub use status::{HostCount, TargetStatus};
