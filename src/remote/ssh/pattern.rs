//! OpenSSH's pattern lists (`ssh_config(5)` PATTERNS, known_hosts host fields):
//! `*` and `?` wildcards, `!` negation, ASCII case-insensitive. One implementation
//! for known_hosts matching and the ssh_config fallback parser's `Host` lines.

/// Outcome of matching a name against a comma-separated pattern list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternMatch {
    /// No pattern matched.
    None,
    /// A positive pattern matched and no negated one did.
    Positive,
    /// A negated pattern (`!pat`) matched: the list does not match, whatever else does.
    Negated,
}

/// Matches `name` against `list` (`pat1,!pat2,...`), case-insensitively.
pub fn match_pattern_list(name: &str, list: &str) -> PatternMatch {
    let mut positive = false;
    for pattern in list.split(',') {
        let (negated, pattern) = match pattern.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pattern),
        };
        if glob_match(pattern, name) {
            if negated {
                return PatternMatch::Negated;
            }
            positive = true;
        }
    }
    if positive {
        PatternMatch::Positive
    } else {
        PatternMatch::None
    }
}

/// `*` matches any run of bytes (also none), `?` exactly one; nothing else is special.
/// ASCII letters compare case-insensitively. Byte-wise like OpenSSH's `match_pattern`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was and which text position it is currently absorbing up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] != b'*' && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((spi, sti)) = star {
            pi = spi + 1;
            ti = sti + 1;
            star = Some((spi, sti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// Matches `name` against patterns given one by one (the words of a `Host` line).
pub fn match_patterns<'a>(name: &str, patterns: impl IntoIterator<Item = &'a str>) -> PatternMatch {
    let mut positive = false;
    for pattern in patterns {
        match match_pattern_list(name, pattern) {
            PatternMatch::Negated => return PatternMatch::Negated,
            PatternMatch::Positive => positive = true,
            PatternMatch::None => {}
        }
    }
    if positive {
        PatternMatch::Positive
    } else {
        PatternMatch::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_negation() {
        assert!(glob_match("web*", "WEB12"));
        assert!(glob_match("db?", "db1"));
        assert!(!glob_match("db?", "db12"));
        assert_eq!(
            match_pattern_list("web1", "web*,!web1"),
            PatternMatch::Negated
        );
        assert_eq!(
            match_pattern_list("web2", "web*,!web1"),
            PatternMatch::Positive
        );
        assert_eq!(match_pattern_list("db1", "web*"), PatternMatch::None);
        assert_eq!(
            match_patterns("bastion", ["*", "!bastion"]),
            PatternMatch::Negated
        );
        assert_eq!(
            match_patterns("web1", ["db*", "web*"]),
            PatternMatch::Positive
        );
    }
}
