//! Grouping events into classes by fingerprint, with the user's filters.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::sql::fingerprint::{Fingerprinter, Options};
use crate::sql::slowlog::{Event, EventKind};

use super::class::ClassStats;

/// Which events count.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Microseconds since the epoch, inclusive.
    pub since: Option<i64>,
    /// Microseconds since the epoch, exclusive.
    pub until: Option<i64>,
    pub databases: Vec<String>,
    pub users: Vec<String>,
}

impl Filter {
    pub fn accepts(&self, e: &Event<'_>) -> bool {
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = e.time else { return false };
            if self.since.is_some_and(|s| t < s) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        if !self.databases.is_empty()
            && !e
                .db
                .is_some_and(|d| self.databases.iter().any(|x| x.as_bytes() == d))
        {
            return false;
        }
        if !self.users.is_empty()
            && !e
                .user
                .is_some_and(|u| self.users.iter().any(|x| x.as_bytes() == u))
        {
            return false;
        }
        true
    }
}

/// FNV-1a over 8-byte words: fingerprints are hashed once per event, and SipHash's
/// DoS resistance buys nothing for keys we derive ourselves from a local file.
#[derive(Default)]
pub struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // Final avalanche so the low bits hashbrown uses are well mixed.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w))
                .wrapping_mul(0x0000_0100_0000_01b3)
                .rotate_left(23);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub type ClassMap = HashMap<Box<[u8]>, ClassStats, BuildHasherDefault<FastHasher>>;

/// One thread's share of a digest.
#[derive(Debug, Default)]
pub struct Aggregator {
    pub statements: ClassMap,
    /// auto_explain plans, used only when a log has no statement events.
    pub plans: ClassMap,
    pub events: u64,
    pub filtered_out: u64,
    /// Plans filtered out (reported only when plans are the events).
    pub filtered_out_plans: u64,
    fp: Fingerprinter,
}

impl Aggregator {
    pub fn add(&mut self, e: &Event<'_>, opts: Options, filter: &Filter) {
        if !filter.accepts(e) {
            match e.kind {
                EventKind::Statement => self.filtered_out += 1,
                EventKind::Plan => self.filtered_out_plans += 1,
            }
            return;
        }
        self.events += 1;
        let fp = self.fp.fingerprint(&e.statement, opts);
        let map = match e.kind {
            EventKind::Statement => &mut self.statements,
            EventKind::Plan => &mut self.plans,
        };
        match map.get_mut(fp) {
            Some(c) => c.add(e),
            None => {
                let mut c = ClassStats::default();
                c.add(e);
                map.insert(fp.into(), c);
            }
        }
    }

    pub fn merge(&mut self, other: Aggregator) {
        self.events += other.events;
        self.filtered_out += other.filtered_out;
        self.filtered_out_plans += other.filtered_out_plans;
        for (dst, src) in [
            (&mut self.statements, other.statements),
            (&mut self.plans, other.plans),
        ] {
            for (k, v) in src {
                match dst.get_mut(&k) {
                    Some(c) => c.merge(&v),
                    None => {
                        dst.insert(k, v);
                    }
                }
            }
        }
    }
}
