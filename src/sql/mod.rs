//! Pure SQL and slow-log engines: fingerprinting, log parsers and the digest.
//!
//! Nothing here touches a host or the console: every function works over bytes so the
//! live query views can reuse the fingerprints and statistics.

pub mod digest;
pub mod fingerprint;
pub mod slowlog;
