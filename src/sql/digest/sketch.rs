//! Bounded-memory, mergeable quantile sketch for query times.
//!
//! Log-spaced buckets with ratio [`GAMMA`] (relative error under 1%), counted in a dense
//! vector that only spans the buckets a class has seen: a class whose queries all take
//! 1–3 ms holds ~60 counters; the absolute worst case (1 µs to 11 days) is ~1,800. Two
//! sketches merge exactly, so per-thread digests combine without loss.

const GAMMA: f64 = 1.02;
/// Values under one microsecond are counted apart.
const MIN_MICROS: f64 = 1.0;
/// Cap on bucket indexes (≈ 11 days in microseconds) so a garbage value cannot allocate.
const MAX_INDEX: i32 = 1_800;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sketch {
    offset: i32,
    counts: Vec<u32>,
    zeros: u64,
    total: u64,
}

fn index(micros: f64) -> i32 {
    let i = (micros.ln() / GAMMA.ln()).ceil();
    (i as i32).clamp(0, MAX_INDEX)
}

fn value(index: i32) -> f64 {
    // The middle of bucket (gamma^(i-1), gamma^i], in microseconds.
    let upper = GAMMA.powi(index);
    upper * 2.0 / (1.0 + GAMMA)
}

impl Sketch {
    /// Adds a duration in seconds.
    pub fn add(&mut self, seconds: f64) {
        self.total += 1;
        let micros = seconds * 1e6;
        if micros.is_nan() || micros < MIN_MICROS {
            self.zeros += 1;
            return;
        }
        let i = index(micros);
        self.add_at(i, 1);
    }

    fn add_at(&mut self, i: i32, n: u32) {
        if self.counts.is_empty() {
            self.offset = i;
            self.counts.push(0);
        } else if i < self.offset {
            let grow = (self.offset - i) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = i;
        } else if (i - self.offset) as usize >= self.counts.len() {
            self.counts.resize((i - self.offset) as usize + 1, 0);
        }
        let slot = &mut self.counts[(i - self.offset) as usize];
        *slot = slot.saturating_add(n);
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.total += other.total;
        self.zeros += other.zeros;
        for (k, &n) in other.counts.iter().enumerate() {
            if n > 0 {
                self.add_at(other.offset + k as i32, n);
            }
        }
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `q` quantile (0..=1) in seconds; 0 when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        if rank <= self.zeros {
            return 0.0;
        }
        let mut seen = self.zeros;
        for (k, &n) in self.counts.iter().enumerate() {
            seen += u64::from(n);
            if seen >= rank {
                return value(self.offset + k as i32) / 1e6;
            }
        }
        value(self.offset + self.counts.len() as i32 - 1) / 1e6
    }

    /// Counters held, for memory accounting in tests.
    pub fn buckets(&self) -> usize {
        self.counts.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn exact(sorted: &[f64], q: f64) -> f64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted[rank - 1]
    }

    proptest! {
        #[test]
        fn quantiles_within_two_percent(mut xs in prop::collection::vec(1e-5f64..100.0, 1..2000), q in 0.0f64..=1.0) {
            let mut s = Sketch::default();
            for &x in &xs {
                s.add(x);
            }
            xs.sort_by(f64::total_cmp);
            let want = exact(&xs, q);
            let got = s.quantile(q);
            prop_assert!((got - want).abs() <= want * 0.02, "q={} got {} want {}", q, got, want);
        }

        #[test]
        fn merge_equals_one_sketch(a in prop::collection::vec(0.0f64..10.0, 0..500), b in prop::collection::vec(0.0f64..10.0, 0..500)) {
            let (mut sa, mut sb, mut all) = (Sketch::default(), Sketch::default(), Sketch::default());
            for &x in &a { sa.add(x); all.add(x); }
            for &x in &b { sb.add(x); all.add(x); }
            sa.merge(&sb);
            for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
                prop_assert_eq!(sa.quantile(q), all.quantile(q));
            }
            prop_assert_eq!(sa.count(), all.count());
        }
    }

    #[test]
    fn memory_is_bounded_by_the_range_not_the_count() {
        let mut s = Sketch::default();
        for i in 0..1_000_000u64 {
            s.add(0.001 + (i % 1000) as f64 * 1e-6);
        }
        assert!(s.buckets() < 60, "{}", s.buckets());
        s.add(f64::NAN);
        s.add(-1.0);
        s.add(1e30);
        assert!(s.buckets() <= MAX_INDEX as usize + 1);
        assert_eq!(s.count(), 1_000_003);
    }
}
