#![no_main]
//! The parser never panics on arbitrary bytes, whole or cut into chunks at the
//! boundaries it reports, and every event's line lies inside the input.

use libfuzzer_sys::fuzz_target;
use opsctl::sql::slowlog::{ChunkInfo, Counters, Issues, LogFormat};

fuzz_target!(|data: &[u8]| {
    let fmt = LogFormat::PgJson;
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let mut issues = Issues::default();
    let mut counters = Counters::default();
    let info = ChunkInfo { first_line: 1, last: true, ..ChunkInfo::default() };
    fmt.parse_chunk(data, &info, &mut issues, &mut counters, &mut |e| assert!(e.line >= 1 && e.line <= lines));
    if let Some(b) = fmt.last_boundary(data) {
        assert!(b > 0 && b <= data.len());
        let first = ChunkInfo { first_line: 1, last: false, ..ChunkInfo::default() };
        fmt.parse_chunk(&data[..b], &first, &mut issues, &mut counters, &mut |_| {});
        let carry = fmt.carry_after(&data[..b], &first.carry);
        let second = ChunkInfo { first_line: 1, last: true, carry };
        fmt.parse_chunk(&data[b..], &second, &mut issues, &mut counters, &mut |_| {});
    }
});
