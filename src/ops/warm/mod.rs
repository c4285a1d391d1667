//! Cache warming (issue 14, "Warm"): the pure cores so far. A streaming sitemap
//! reader, `<lastmod>` dates, the scope of URLs a warm may touch, the
//! stampede-safe order of a URL's requests, cache-result classification, the
//! live counters and their snapshot for a progress panel, and the HTTP client
//! per cache node. The runner, the change and `opsctl warm` are not built yet.

pub mod cache;
pub mod client;
pub mod lastmod;
pub mod order;
pub mod scope;
pub mod sitemap;
pub mod stats;

pub use stats::{NoObserver, Phase, WarmObserver, WarmStats};
