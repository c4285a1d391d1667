//! Cache warming: `opsctl warm` and the console's `:warm`. Sources ([`source`]:
//! sitemaps read as a stream, URL lists) feed a runner ([`run`]) that sends each
//! URL to every cache node with each browser encoding, in a stampede-safe order
//! ([`order`]), bounded in concurrency and rate; [`change`] makes it a change on
//! the one road (plan, consent, audit) with an optional verify pass.

pub mod cache;
pub mod change;
pub mod client;
pub mod lastmod;
pub mod order;
pub mod run;
pub mod scope;
pub mod sitemap;
pub mod source;
pub mod stats;

pub use change::{Request, Warm, WarmError, WarmReport};
pub use stats::{NoObserver, Phase, WarmObserver, WarmStats};
