//! The `/` filter: case-insensitive substring; a leading `!` keeps what does not match.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The text as typed, `!` included.
    pub text: String,
    needle: String,
    negate: bool,
}

impl Filter {
    pub fn new(text: &str) -> Self {
        let (negate, rest) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        Filter {
            text: text.to_string(),
            needle: rest.to_lowercase(),
            negate,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.needle.is_empty()
    }

    /// Whether a row whose searchable fields are `fields` is kept.
    pub fn keeps<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> bool {
        if self.needle.is_empty() {
            return true;
        }
        let hit = fields
            .into_iter()
            .any(|f| contains_ignore_case(f, &self.needle));
        hit != self.negate
    }

    /// Byte ranges of (non-negated) matches in `text`, for highlighting.
    pub fn matches_in(&self, text: &str) -> Vec<(usize, usize)> {
        if self.needle.is_empty() || self.negate {
            return Vec::new();
        }
        let lower = text.to_lowercase();
        // Lower-casing can change byte lengths; only highlight when it did not.
        if lower.len() != text.len() {
            return Vec::new();
        }
        lower
            .match_indices(&self.needle)
            .map(|(i, m)| (i, i + m.len()))
            .collect()
    }
}

fn contains_ignore_case(hay: &str, needle_lower: &str) -> bool {
    if hay.is_ascii() && needle_lower.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle_lower.as_bytes());
        if n.len() > h.len() {
            return false;
        }
        return h
            .windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b));
    }
    hay.to_lowercase().contains(needle_lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_is_case_insensitive() {
        let f = Filter::new("WEB");
        assert!(f.keeps(["db1", "web-frontend"]));
        assert!(!f.keeps(["db1", "cache"]));
    }

    #[test]
    fn bang_negates() {
        let f = Filter::new("!web");
        assert!(!f.keeps(["web1"]));
        assert!(f.keeps(["db1"]));
    }

    #[test]
    fn empty_keeps_everything_even_negated() {
        assert!(Filter::new("").keeps(["x"]));
        assert!(Filter::new("!").keeps(["x"]));
    }

    #[test]
    fn non_ascii_matches() {
        assert!(Filter::new("ÉTÉ").keeps(["un été chaud"]));
    }

    #[test]
    fn match_ranges() {
        assert_eq!(Filter::new("ab").matches_in("xAByab"), vec![(1, 3), (4, 6)]);
        assert!(Filter::new("!ab").matches_in("ab").is_empty());
    }
}
