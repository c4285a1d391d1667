//! Changes to production, all on one road: a [`plan::Plan`] (the exact steps,
//! shown before anything runs), refused at one choke point under `read_only`,
//! confirmed as the environment requires ([`consent`]), locked where two
//! operators could collide, executed with progress, and audited ([`audit`]).
//! [`engine::apply`] is that road; every change (cancelling a query, a deploy,
//! a rollback, scaling, warming, breaking a lock) is a [`engine::Change`].

pub mod audit;
pub mod consent;
pub mod deploy;
pub mod engine;
pub mod interrupt;
pub mod lock;
pub mod lock_break;
pub mod plan;
pub mod query_signal;
pub mod scale;
pub mod warm;

pub use audit::{AuditLog, AuditRecord, Outcome};
pub use consent::{Consent, Refusal};
pub use engine::{Applied, Change, ChangeError, OpsContext, Progress, apply};
pub use plan::{Plan, Step};
