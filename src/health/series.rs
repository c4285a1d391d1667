//! Bounded time series for the console's sparklines and charts. A ring buffer
//! never grows past its capacity: the oldest point is dropped for each new one.

use std::collections::VecDeque;

use crate::config::HealthSettings;

use super::model::HostHealth;

/// No series holds more points than this, whatever retention and interval say.
pub const MAX_POINTS: usize = 86_400;

/// A fixed-capacity FIFO: pushing onto a full buffer drops the oldest item.
#[derive(Debug, Clone, PartialEq)]
pub struct RingBuffer<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> RingBuffer<T> {
    /// A buffer holding at most `capacity` items (at least 1, at most [`MAX_POINTS`]).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_POINTS);
        RingBuffer {
            items: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    pub fn push(&mut self, item: T) {
        if self.items.len() == self.capacity {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// Oldest to newest, as two slices (the buffer wraps); no copy.
    pub fn as_slices(&self) -> (&[T], &[T]) {
        self.items.as_slices()
    }

    /// The newest `n` items, oldest first: what a widget `n` cells wide shows.
    pub fn last_n(&self, n: usize) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter().skip(self.items.len().saturating_sub(n))
    }

    pub fn latest(&self) -> Option<&T> {
        self.items.back()
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }
}

impl<'a, T> IntoIterator for &'a RingBuffer<T> {
    type Item = &'a T;
    type IntoIter = std::collections::vec_deque::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// One figure over time; `None` marks a poll without a value (host unreachable,
/// first poll without a delta), so points stay aligned with polls.
pub type Series = RingBuffer<Option<f64>>;

impl Series {
    /// Largest value present, for scaling a chart.
    pub fn max_value(&self) -> Option<f64> {
        self.iter().flatten().copied().reduce(f64::max)
    }
}

/// Points kept for `retention_secs` of polls every `interval_secs`, rounded up,
/// at least 2 and at most [`MAX_POINTS`].
pub fn capacity_for(retention_secs: f64, interval_secs: f64) -> usize {
    if !(retention_secs.is_finite() && interval_secs.is_finite() && interval_secs > 0.0) {
        return 2;
    }
    let points = (retention_secs / interval_secs).ceil();
    if points >= MAX_POINTS as f64 {
        MAX_POINTS
    } else if points >= 2.0 {
        points as usize
    } else {
        2
    }
}

/// The console's history of one host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostSeries {
    pub cpu_pct: Series,
    pub mem_pct: Series,
    pub load1: Series,
    pub net_rx_bps: Series,
    pub net_tx_bps: Series,
    /// Unix time of each poll (successful or not).
    pub at: RingBuffer<i64>,
}

impl HostSeries {
    pub fn new(capacity: usize) -> Self {
        HostSeries {
            cpu_pct: Series::new(capacity),
            mem_pct: Series::new(capacity),
            load1: Series::new(capacity),
            net_rx_bps: Series::new(capacity),
            net_tx_bps: Series::new(capacity),
            at: RingBuffer::new(capacity),
        }
    }

    /// Sized for the profile's retention and poll interval.
    pub fn for_settings(settings: &HealthSettings) -> Self {
        HostSeries::new(capacity_for(
            settings.retention_secs,
            settings.interval_secs,
        ))
    }

    /// Records one poll taken at unix time `at`.
    pub fn push(&mut self, h: &HostHealth, at: i64) {
        self.cpu_pct.push(h.cpu_pct);
        self.mem_pct.push(h.mem_used_pct);
        self.load1.push(h.load1);
        self.net_rx_bps.push(h.net_rx_bps);
        self.net_tx_bps.push(h.net_tx_bps);
        self.at.push(at);
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.at.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::model::Status;

    #[test]
    fn capacity_is_enforced() {
        let mut r = RingBuffer::new(3);
        for i in 0..10 {
            r.push(i);
            assert!(r.len() <= 3);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), [7, 8, 9]);
        assert_eq!(r.latest(), Some(&9));
        let (a, b) = r.as_slices();
        assert_eq!([a, b].concat(), [7, 8, 9]);
        assert_eq!(r.last_n(2).copied().collect::<Vec<_>>(), [8, 9]);
        assert_eq!(r.last_n(99).count(), 3);
        assert_eq!(RingBuffer::<u8>::new(0).capacity(), 1);
        assert_eq!(RingBuffer::<u8>::new(usize::MAX).capacity(), MAX_POINTS);
    }

    #[test]
    fn capacity_from_settings() {
        assert_eq!(capacity_for(600.0, 5.0), 120);
        assert_eq!(capacity_for(10.0, 3.0), 4);
        assert_eq!(capacity_for(1.0, 5.0), 2);
        assert_eq!(capacity_for(1e12, 0.001), MAX_POINTS);
        assert_eq!(capacity_for(600.0, 0.0), 2);
        assert_eq!(capacity_for(f64::NAN, 5.0), 2);
        assert_eq!(
            HostSeries::for_settings(&HealthSettings::default()).capacity(),
            120
        );
    }

    #[test]
    fn host_series_keeps_polls_aligned() {
        let mut s = HostSeries::new(4);
        for i in 0..6 {
            let h = HostHealth {
                cpu_pct: (i % 2 == 0).then_some(f64::from(i) * 10.0),
                mem_used_pct: Some(50.0),
                status: Status::Up,
                ..HostHealth::default()
            };
            s.push(&h, 1000 + i64::from(i));
        }
        assert_eq!(s.len(), 4);
        assert_eq!(
            s.cpu_pct.iter().copied().collect::<Vec<_>>(),
            [Some(20.0), None, Some(40.0), None]
        );
        assert_eq!(
            s.at.iter().copied().collect::<Vec<_>>(),
            [1002, 1003, 1004, 1005]
        );
        assert_eq!(s.cpu_pct.max_value(), Some(40.0));
        assert_eq!(s.net_rx_bps.max_value(), None);
    }
}
