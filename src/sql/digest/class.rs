//! Per-class statistics: O(1) memory in the number of events.

use crate::sql::slowlog::{Event, pg_message};

use super::sketch::Sketch;

/// Longest example statement kept, in bytes.
pub const EXAMPLE_CAP: usize = 4096;
/// Distinct databases / users listed per class; the rest are counted as others.
pub const NAMES_CAP: usize = 8;

/// A bounded tally of names (databases, users).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Names {
    pub items: Vec<(String, u64)>,
    pub others: u64,
}

impl Names {
    pub fn add(&mut self, name: &[u8], n: u64) {
        if let Some(slot) = self.items.iter_mut().find(|(k, _)| k.as_bytes() == name) {
            slot.1 += n;
        } else if self.items.len() < NAMES_CAP {
            self.items
                .push((String::from_utf8_lossy(name).into_owned(), n));
        } else {
            self.others += n;
        }
    }

    pub fn merge(&mut self, other: &Names) {
        for (k, n) in &other.items {
            self.add(k.as_bytes(), *n);
        }
        self.others += other.others;
    }

    /// Most frequent first.
    pub fn sorted(&self) -> Vec<(String, u64)> {
        let mut v = self.items.clone();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// The slowest execution of a class, with its literals.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub query_time: f64,
    pub text: String,
    pub truncated: bool,
    pub time: Option<i64>,
    pub db: Option<String>,
    pub line: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassStats {
    pub count: u64,
    pub sum: f64,
    pub sumsq: f64,
    pub min: f64,
    pub max: f64,
    pub sketch: Sketch,
    pub lock_sum: f64,
    pub lock_max: f64,
    pub rows_sent: u64,
    pub rows_examined: u64,
    pub rows_examined_max: u64,
    /// Whether any event carried rows counts (MySQL) at all.
    pub has_rows: bool,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
    pub databases: Names,
    pub users: Names,
    pub example: Option<Example>,
}

impl ClassStats {
    pub fn add(&mut self, e: &Event<'_>) {
        let qt = if e.query_time.is_finite() && e.query_time >= 0.0 {
            e.query_time
        } else {
            0.0
        };
        if self.count == 0 || qt < self.min {
            self.min = qt;
        }
        self.count += 1;
        self.sum += qt;
        self.sumsq += qt * qt;
        self.sketch.add(qt);
        if let Some(l) = e.lock_time.filter(|l| l.is_finite()) {
            self.lock_sum += l;
            self.lock_max = self.lock_max.max(l);
        }
        if e.rows_sent.is_some() || e.rows_examined.is_some() {
            self.has_rows = true;
        }
        self.rows_sent = self.rows_sent.saturating_add(e.rows_sent.unwrap_or(0));
        let re = e.rows_examined.unwrap_or(0);
        self.rows_examined = self.rows_examined.saturating_add(re);
        self.rows_examined_max = self.rows_examined_max.max(re);
        if let Some(t) = e.time {
            self.first_seen = Some(self.first_seen.map_or(t, |f| f.min(t)));
            self.last_seen = Some(self.last_seen.map_or(t, |l| l.max(t)));
        }
        if let Some(db) = e.db {
            self.databases.add(db, 1);
        }
        if let Some(u) = e.user {
            self.users.add(u, 1);
        }
        if self.example.is_none() || qt > self.max {
            self.example = Some(example(e, qt));
        }
        self.max = self.max.max(qt);
    }

    pub fn merge(&mut self, o: &ClassStats) {
        if o.count == 0 {
            return;
        }
        if self.count == 0 || o.min < self.min {
            self.min = o.min;
        }
        let keep_other = match (&self.example, &o.example) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) => {
                b.query_time > a.query_time || (b.query_time == a.query_time && b.line < a.line)
            }
            _ => false,
        };
        if keep_other {
            self.example = o.example.clone();
        }
        self.count += o.count;
        self.sum += o.sum;
        self.sumsq += o.sumsq;
        self.max = self.max.max(o.max);
        self.sketch.merge(&o.sketch);
        self.lock_sum += o.lock_sum;
        self.lock_max = self.lock_max.max(o.lock_max);
        self.has_rows |= o.has_rows;
        self.rows_sent = self.rows_sent.saturating_add(o.rows_sent);
        self.rows_examined = self.rows_examined.saturating_add(o.rows_examined);
        self.rows_examined_max = self.rows_examined_max.max(o.rows_examined_max);
        self.first_seen = min_opt(self.first_seen, o.first_seen);
        self.last_seen = max_opt(self.last_seen, o.last_seen);
        self.databases.merge(&o.databases);
        self.users.merge(&o.users);
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `q` quantile of the query time in seconds, kept inside the exact min and max
    /// (the sketch's bucket midpoints can stray outside them by under 1%).
    pub fn quantile(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.sketch.quantile(q).clamp(self.min, self.max)
    }

    /// Variance-to-mean ratio of the query time (pt-query-digest's V/M): high values mean
    /// the class is sometimes much slower than usual.
    pub fn variance_to_mean(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let n = self.count as f64;
        let mean = self.sum / n;
        let var = (self.sumsq / n - mean * mean).max(0.0);
        if mean > 0.0 { var / mean } else { 0.0 }
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn example(e: &Event<'_>, qt: f64) -> Example {
    let raw: &[u8] = &e.statement;
    let substituted;
    let text = match &e.params {
        Some(p) => {
            substituted = pg_message::substitute(raw, p);
            &substituted[..]
        }
        None => raw,
    };
    let truncated = text.len() > EXAMPLE_CAP;
    let mut cut = text.len().min(EXAMPLE_CAP);
    // Cut on a character boundary when the text is UTF-8.
    while cut > 0 && cut < text.len() && (text[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    // PostgreSQL indents continuation lines of stderr logs with a tab.
    let text = String::from_utf8_lossy(&text[..cut]).replace("\n\t", "\n");
    Example {
        query_time: qt,
        text,
        truncated,
        time: e.time,
        db: e.db.map(|d| String::from_utf8_lossy(d).into_owned()),
        line: e.line,
    }
}
