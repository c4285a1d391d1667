//! Command-line host targets: `[user@]host[:port]`, `[user@][v6addr]:port`, a bare
//! IPv6 address, and `ssh://[user@]host[:port]` as `ssh` accepts them.

/// Splits a target into `(user, host, port)`.
///
/// - the user is everything before the last `@` (as `ssh` does, so a user name may
///   itself contain `@`);
/// - `host:port` takes a port only when the host part has no other `:`; an IPv6 address
///   with a port must be bracketed: `[2001:db8::1]:2222`; brackets are removed;
/// - a bare IPv6 address (`::1`, `fe80::1%eth0`) is a host without port.
///
/// Refuses empty parts, ports outside 1-65535, unbalanced brackets, whitespace or
/// control characters, and hosts or users starting with `-` (they would read as
/// options to `ssh`).
/// A command-line target that is not `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target {target:?}: {why}")]
pub struct TargetError {
    pub target: String,
    pub why: String,
}

pub fn parse_target(s: &str) -> Result<(Option<String>, String, Option<u16>), TargetError> {
    let bad = |why: &str| {
        Err(TargetError {
            target: s.to_string(),
            why: why.to_string(),
        })
    };
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or control characters");
    }
    let (rest, is_uri) = match s.strip_prefix("ssh://") {
        Some(rest) => (rest.strip_suffix('/').unwrap_or(rest), true),
        None => (s, false),
    };
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((user, hostport)) => {
            if user.is_empty() {
                return bad("empty user before '@'");
            }
            if user.starts_with('-') {
                return bad("user starts with '-'");
            }
            (Some(user.to_string()), hostport)
        }
        None => (None, rest),
    };
    if is_uri && hostport.contains('/') {
        return bad("a path is not allowed in an ssh:// target");
    }
    let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
        let Some((host, after)) = inner.split_once(']') else {
            return bad("'[' without ']'");
        };
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(parse_port(p).map_err(|why| TargetError {
                    target: s.to_string(),
                    why,
                })?),
                None => return bad("unexpected text after ']'"),
            },
        };
        (host, port)
    } else {
        match hostport.split_once(':') {
            // One colon: host:port. More: an unbracketed IPv6 address, no port.
            Some((host, p)) if !p.contains(':') => (
                host,
                Some(parse_port(p).map_err(|why| TargetError {
                    target: s.to_string(),
                    why,
                })?),
            ),
            _ => (hostport, None),
        }
    };
    if host.is_empty() {
        return bad("empty host");
    }
    if host.starts_with('-') {
        return bad("host starts with '-'");
    }
    if host.contains(['[', ']', '@', '/']) {
        return bad("unexpected character in host");
    }
    Ok((user, host.to_string(), port))
}

fn parse_port(p: &str) -> Result<u16, String> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {p:?} is not a number"));
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("port {p} is outside 1-65535")),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> (Option<String>, String, Option<u16>) {
        parse_target(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn t(
        user: Option<&str>,
        host: &str,
        port: Option<u16>,
    ) -> (Option<String>, String, Option<u16>) {
        (user.map(str::to_string), host.to_string(), port)
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(ok("web1"), t(None, "web1", None));
        assert_eq!(ok("deploy@web1"), t(Some("deploy"), "web1", None));
        assert_eq!(ok("web1:2222"), t(None, "web1", Some(2222)));
        assert_eq!(
            ok("deploy@10.0.0.5:22"),
            t(Some("deploy"), "10.0.0.5", Some(22))
        );
        assert_eq!(ok("[2001:db8::1]:2222"), t(None, "2001:db8::1", Some(2222)));
        assert_eq!(ok("ops@[::1]:65535"), t(Some("ops"), "::1", Some(65535)));
        assert_eq!(ok("[::1]"), t(None, "::1", None));
        assert_eq!(ok("::1"), t(None, "::1", None));
        assert_eq!(
            ok("root@fe80::1%eth0"),
            t(Some("root"), "fe80::1%eth0", None)
        );
        assert_eq!(ok("a@b@host"), t(Some("a@b"), "host", None));
        assert_eq!(
            ok("ssh://u@h.example:2200/"),
            t(Some("u"), "h.example", Some(2200))
        );
        assert_eq!(ok("ssh://[::1]:2200"), t(None, "::1", Some(2200)));
    }

    #[test]
    fn refused_forms_say_why() {
        for (s, why) in [
            ("", "empty host"),
            ("@host", "empty user"),
            ("user@", "empty host"),
            (":22", "empty host"),
            ("host:", "not a number"),
            ("host:0", "outside 1-65535"),
            ("host:65536", "outside 1-65535"),
            ("host:22x", "not a number"),
            ("host:+22", "not a number"),
            ("[::1", "without ']'"),
            ("[::1]x", "after ']'"),
            ("[::1]:", "not a number"),
            ("[]:22", "empty host"),
            ("-oProxyCommand=x", "starts with '-'"),
            ("-l@host", "starts with '-'"),
            ("a b", "whitespace"),
            ("host\n", "whitespace"),
            ("ssh://h/path", "path"),
            ("a]b", "unexpected character"),
        ] {
            let err = parse_target(s).unwrap_err();
            assert!(err.to_string().contains(why), "{s:?}: {err}");
            assert!(err.to_string().contains("invalid target"), "{s:?}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_round_trips(s in "[a-z0-9@:\\[\\]./%-]{0,24}") {
            if let Ok((user, host, port)) = parse_target(&s) {
                proptest::prop_assert!(!host.is_empty() && !host.starts_with('-'));
                // Writing the parts back gives the same parts.
                let host_text = if host.contains(':') { format!("[{host}]") } else { host.clone() };
                let mut again = String::new();
                if let Some(u) = &user {
                    again.push_str(u);
                    again.push('@');
                }
                again.push_str(&host_text);
                if let Some(p) = port {
                    again.push_str(&format!(":{p}"));
                }
                proptest::prop_assert_eq!(parse_target(&again), Ok((user, host, port)));
            }
        }
    }
}
