//! Typed sort keys: numbers, text and ranks compare the way an operator expects,
//! and a row without a figure goes last whichever way the column is sorted.

use std::cmp::Ordering;

/// The value a column sorts a row by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SortKey<'a> {
    /// A figure; `None` (no figure) always sorts last.
    Num(Option<f64>),
    Text(&'a str),
    /// An ordinal (a status's severity).
    Rank(i64),
}

/// How a column sorts: its key, and whether its natural order is ascending
/// (names, soonest expiry) or descending (the worst figure first).
pub struct SortBy<T> {
    pub key: for<'a> fn(&'a T) -> SortKey<'a>,
    pub ascending: bool,
}

impl<T> Clone for SortBy<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SortBy<T> {}

impl<T> std::fmt::Debug for SortBy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SortBy")
            .field("ascending", &self.ascending)
            .finish()
    }
}

impl<T> SortBy<T> {
    pub const fn ascending(key: for<'a> fn(&'a T) -> SortKey<'a>) -> Self {
        SortBy {
            key,
            ascending: true,
        }
    }

    pub const fn descending(key: for<'a> fn(&'a T) -> SortKey<'a>) -> Self {
        SortBy {
            key,
            ascending: false,
        }
    }

    /// Compares two rows; `reverse` flips the natural order but never moves
    /// rows without a figure off the bottom.
    pub fn compare(&self, a: &T, b: &T, reverse: bool) -> Ordering {
        let flip = |o: Ordering| {
            let o = if self.ascending { o } else { o.reverse() };
            if reverse { o.reverse() } else { o }
        };
        match ((self.key)(a), (self.key)(b)) {
            (SortKey::Num(x), SortKey::Num(y)) => match (x, y) {
                (Some(x), Some(y)) => flip(x.total_cmp(&y)),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            (SortKey::Text(x), SortKey::Text(y)) => flip(x.cmp(y)),
            (SortKey::Rank(x), SortKey::Rank(y)) => flip(x.cmp(&y)),
            // One column gives one kind of key; mixed kinds keep their order.
            _ => Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(v: &Option<f64>) -> SortKey<'_> {
        SortKey::Num(*v)
    }

    fn sorted(mut v: Vec<Option<f64>>, by: SortBy<Option<f64>>, reverse: bool) -> Vec<Option<f64>> {
        v.sort_by(|a, b| by.compare(a, b, reverse));
        v
    }

    #[test]
    fn missing_figures_go_last_both_ways() {
        let v = vec![None, Some(2.0), Some(9.0), None, Some(5.0)];
        let desc = SortBy::descending(num);
        assert_eq!(
            sorted(v.clone(), desc, false),
            [Some(9.0), Some(5.0), Some(2.0), None, None]
        );
        assert_eq!(
            sorted(v.clone(), desc, true),
            [Some(2.0), Some(5.0), Some(9.0), None, None]
        );
        let asc = SortBy::ascending(num);
        assert_eq!(
            sorted(v, asc, false),
            [Some(2.0), Some(5.0), Some(9.0), None, None]
        );
    }

    #[test]
    fn text_and_ranks_follow_their_natural_order() {
        let text = SortBy::<&str>::ascending(|s| SortKey::Text(s));
        let mut v = vec!["web2", "db1", "web1"];
        v.sort_by(|a, b| text.compare(a, b, false));
        assert_eq!(v, ["db1", "web1", "web2"]);
        let rank = SortBy::<i64>::descending(|r| SortKey::Rank(*r));
        let mut v = vec![1, 4, 2];
        v.sort_by(|a, b| rank.compare(a, b, false));
        assert_eq!(v, [4, 2, 1]);
    }
}
