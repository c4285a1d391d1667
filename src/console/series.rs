//! Bounded time series for sparklines and charts: a ring of the last `cap` samples.
//! (The health engine's series type replaces this once it is on main.)

use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    cap: usize,
    values: VecDeque<f64>,
}

impl Series {
    pub fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Series {
            cap,
            values: VecDeque::with_capacity(cap.min(1024)),
        }
    }

    pub fn push(&mut self, v: f64) {
        if self.values.len() == self.cap {
            self.values.pop_front();
        }
        self.values.push_back(v);
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    pub fn last(&self) -> Option<f64> {
        self.values.back().copied()
    }

    /// The newest `n` samples, oldest first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = f64> + '_ {
        self.values
            .iter()
            .skip(self.values.len().saturating_sub(n))
            .copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().copied()
    }

    pub fn max(&self) -> Option<f64> {
        self.values.iter().copied().reduce(f64::max)
    }
}

/// Per-host histories the console charts.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSeries {
    pub cpu: Series,
    pub mem: Series,
    pub load: Series,
    pub net_rx: Series,
    pub net_tx: Series,
}

impl HostSeries {
    pub fn new(cap: usize) -> Self {
        HostSeries {
            cpu: Series::new(cap),
            mem: Series::new(cap),
            load: Series::new(cap),
            net_rx: Series::new(cap),
            net_tx: Series::new(cap),
        }
    }

    pub fn record(&mut self, h: &crate::health::HostHealth) {
        // Missing figures are skipped rather than recorded as zero so a chart never
        // shows a fake drop.
        if let Some(v) = h.cpu_pct {
            self.cpu.push(v);
        }
        if let Some(v) = h.mem_used_pct {
            self.mem.push(v);
        }
        if let Some(v) = h.load1 {
            self.load.push(v);
        }
        if let Some(v) = h.net_rx_bps {
            self.net_rx.push(v);
        }
        if let Some(v) = h.net_tx_bps {
            self.net_tx.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_newest_cap_samples() {
        let mut s = Series::new(3);
        for v in 1..=5 {
            s.push(v as f64);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![3.0, 4.0, 5.0]);
        assert_eq!(s.tail(2).collect::<Vec<_>>(), vec![4.0, 5.0]);
        assert_eq!(s.tail(10).count(), 3);
        assert_eq!(s.max(), Some(5.0));
    }
}
