//! `+N`, `-N`, `=N`: the change asked for, and the count it leads to within the
//! target's bounds.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delta {
    Add(u32),
    Remove(u32),
    Set(u32),
}

impl FromStr for Delta {
    type Err = String;

    fn from_str(s: &str) -> Result<Delta, String> {
        let bad = || format!("`{s}` is not a change of count: say +N, -N or =N (+2, -1, =4)");
        let (sign, n) = s.split_at_checked(1).ok_or_else(bad)?;
        // Digits only: u32's parser would take `++1` as `+ +1`.
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let n: u32 = n.parse().map_err(|_| bad())?;
        match sign {
            "+" if n > 0 => Ok(Delta::Add(n)),
            "-" if n > 0 => Ok(Delta::Remove(n)),
            "=" => Ok(Delta::Set(n)),
            "+" | "-" => Err(format!("`{s}` changes nothing: say +1 or more")),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Delta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delta::Add(n) => write!(f, "+{n}"),
            Delta::Remove(n) => write!(f, "-{n}"),
            Delta::Set(n) => write!(f, "={n}"),
        }
    }
}

impl Delta {
    /// The count after the change, refused outside `min..=max` with the reason.
    pub fn apply(
        self,
        current: u32,
        min: u32,
        max: Option<u32>,
        unit: &str,
    ) -> Result<u32, String> {
        let to = match self {
            Delta::Add(n) => current.checked_add(n).ok_or("too many")?,
            Delta::Remove(n) => current.checked_sub(n).ok_or_else(|| {
                format!("{current} {unit} now: removing {n} would leave fewer than none")
            })?,
            Delta::Set(n) => n,
        };
        if to < min {
            return Err(format!(
                "{current} → {to} {unit} is below the target's min of {min}"
            ));
        }
        if let Some(max) = max
            && to > max
        {
            return Err(format!(
                "{current} → {to} {unit} is above the target's max of {max}"
            ));
        }
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_refuses_the_rest() {
        assert_eq!("+2".parse(), Ok(Delta::Add(2)));
        assert_eq!("-1".parse(), Ok(Delta::Remove(1)));
        assert_eq!("=0".parse(), Ok(Delta::Set(0)));
        for bad in ["2", "", "+", "+x", "++1", "*3", "-0", "+-1", "=é"] {
            assert!(bad.parse::<Delta>().is_err(), "{bad}");
        }
        assert_eq!(Delta::Remove(3).to_string(), "-3");
    }

    #[test]
    fn bounds_refuse_with_the_reason() {
        assert_eq!(Delta::Add(2).apply(2, 1, Some(8), "workers"), Ok(4));
        assert_eq!(Delta::Set(3).apply(5, 1, None, "workers"), Ok(3));
        let e = Delta::Remove(2)
            .apply(2, 1, Some(8), "workers")
            .unwrap_err();
        assert_eq!(e, "2 → 0 workers is below the target's min of 1");
        let e = Delta::Add(7).apply(2, 1, Some(8), "workers").unwrap_err();
        assert!(e.contains("above the target's max of 8"), "{e}");
        let e = Delta::Remove(3).apply(2, 0, None, "workers").unwrap_err();
        assert!(e.contains("fewer than none"), "{e}");
    }
}
