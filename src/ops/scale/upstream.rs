//! An nginx upstream include file: its `server` lines are the backends, the rest
//! (comments, blank lines, other directives) is kept byte for byte, so an edit by
//! opsctl changes exactly the lines it means to.

/// One `server ADDRESS [PARAMS];` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// `127.0.0.2:8000`, `unix:/run/app.sock`, `app.internal`.
    pub address: String,
    /// The parameters except `down` (`max_fails=2 fail_timeout=5s`).
    pub params: Vec<String>,
    /// Marked `down`: nginx sends it nothing.
    pub down: bool,
    /// A comment after the `;` (` # web1`), kept.
    pub comment: String,
}

impl Member {
    fn render(&self, indent: &str) -> String {
        let mut line = format!("{indent}server {}", self.address);
        for p in &self.params {
            line.push(' ');
            line.push_str(p);
        }
        if self.down {
            line.push_str(" down");
        }
        line.push(';');
        line.push_str(&self.comment);
        line
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Member { indent: String, member: Member },
    Other(String),
}

/// The file, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamFile {
    lines: Vec<Line>,
    trailing_newline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("no backend `{0}` in the upstream file")]
    NoSuchMember(String),
    #[error("the backend `{0}` is in the upstream file already")]
    Duplicate(String),
}

impl UpstreamFile {
    pub fn parse(text: &str) -> Result<UpstreamFile, UpstreamError> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim_start();
            let indent = &raw[..raw.len() - trimmed.len()];
            let code = trimmed.split('#').next().unwrap_or("").trim_end();
            let Some(rest) = code.strip_prefix("server") else {
                lines.push(Line::Other(raw.to_string()));
                continue;
            };
            if !rest.starts_with(char::is_whitespace) {
                lines.push(Line::Other(raw.to_string()));
                continue;
            }
            let err = |message: &str| UpstreamError::Line {
                line: i + 1,
                message: message.to_string(),
            };
            // One directive per line is what opsctl edits; anything after the `;`
            // (a second directive, a comment) would be lost by rewriting the line.
            let Some(body) = rest.strip_suffix(';') else {
                return Err(err(
                    "a `server` line that does not end with `;` (opsctl edits one server per line)",
                ));
            };
            if body.contains(';') {
                return Err(err(
                    "more than the `server` directive on one line (opsctl edits one server per line)",
                ));
            }
            let mut words = body.split_whitespace();
            let Some(address) = words.next() else {
                return Err(err("a `server` line without an address"));
            };
            let mut member = Member {
                address: address.to_string(),
                params: Vec::new(),
                down: false,
                comment: trimmed[code.len()..].to_string(),
            };
            for w in words {
                if w == "down" {
                    member.down = true;
                } else {
                    member.params.push(w.to_string());
                }
            }
            lines.push(Line::Member {
                indent: indent.to_string(),
                member,
            });
        }
        Ok(UpstreamFile {
            lines,
            trailing_newline: text.ends_with('\n') || text.is_empty(),
        })
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.lines.iter().filter_map(|l| match l {
            Line::Member { member, .. } => Some(member),
            Line::Other(_) => None,
        })
    }

    /// The members nginx sends requests to.
    pub fn active(&self) -> Vec<&Member> {
        self.members().filter(|m| !m.down).collect()
    }

    fn member_mut(&mut self, address: &str) -> Result<&mut Member, UpstreamError> {
        self.lines
            .iter_mut()
            .find_map(|l| match l {
                Line::Member { member, .. } if member.address == address => Some(member),
                _ => None,
            })
            .ok_or_else(|| UpstreamError::NoSuchMember(address.to_string()))
    }

    pub fn set_down(&mut self, address: &str, down: bool) -> Result<(), UpstreamError> {
        self.member_mut(address)?.down = down;
        Ok(())
    }

    pub fn remove(&mut self, address: &str) -> Result<(), UpstreamError> {
        let before = self.lines.len();
        self.lines
            .retain(|l| !matches!(l, Line::Member { member, .. } if member.address == address));
        if self.lines.len() == before {
            return Err(UpstreamError::NoSuchMember(address.to_string()));
        }
        Ok(())
    }

    /// Adds a `server` line after the last one (indented like it).
    pub fn add(&mut self, address: &str, params: &str) -> Result<(), UpstreamError> {
        if self.members().any(|m| m.address == address) {
            return Err(UpstreamError::Duplicate(address.to_string()));
        }
        let last = self
            .lines
            .iter()
            .rposition(|l| matches!(l, Line::Member { .. }));
        let indent = match last.map(|i| &self.lines[i]) {
            Some(Line::Member { indent, .. }) => indent.clone(),
            _ => String::new(),
        };
        let line = Line::Member {
            indent,
            member: Member {
                address: address.to_string(),
                params: params.split_whitespace().map(str::to_string).collect(),
                down: false,
                comment: String::new(),
            },
        };
        match last {
            Some(i) => self.lines.insert(i + 1, line),
            None => self.lines.push(line),
        }
        Ok(())
    }

    pub fn render(&self) -> String {
        let mut out = self
            .lines
            .iter()
            .map(|l| match l {
                Line::Member { indent, member } => member.render(indent),
                Line::Other(s) => s.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        if self.trailing_newline && !self.lines.is_empty() {
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SANDBOX: &str = "# Generated by tests/sandbox/components/nginx.sh: the upstream servers of the shop.\n# Drain a backend: comment its line (or add 'down'), then reload nginx.\nserver 127.0.0.2:8000 max_fails=2 fail_timeout=5s;\nserver 127.0.0.3:8000 max_fails=2 fail_timeout=5s;\n";

    #[test]
    fn the_sandbox_file_has_two_backends_and_renders_back_byte_for_byte() {
        let f = UpstreamFile::parse(SANDBOX).unwrap();
        let m: Vec<&str> = f.members().map(|m| m.address.as_str()).collect();
        assert_eq!(m, ["127.0.0.2:8000", "127.0.0.3:8000"]);
        assert_eq!(f.render(), SANDBOX);
        assert_eq!(f.active().len(), 2);
    }

    #[test]
    fn down_remove_and_add_change_only_their_line() {
        let mut f = UpstreamFile::parse(SANDBOX).unwrap();
        f.set_down("127.0.0.3:8000", true).unwrap();
        assert!(
            f.render()
                .contains("server 127.0.0.3:8000 max_fails=2 fail_timeout=5s down;\n")
        );
        assert_eq!(f.active().len(), 1);
        let again = UpstreamFile::parse(&f.render()).unwrap();
        assert!(again.members().nth(1).unwrap().down);
        f.remove("127.0.0.3:8000").unwrap();
        assert_eq!(f.members().count(), 1);
        f.add("127.0.0.7:8000", "max_fails=2").unwrap();
        let text = f.render();
        assert!(
            text.ends_with("fail_timeout=5s;\nserver 127.0.0.7:8000 max_fails=2;\n"),
            "{text}"
        );
        assert!(text.starts_with("# Generated"));
        assert_eq!(
            f.add("127.0.0.7:8000", ""),
            Err(UpstreamError::Duplicate("127.0.0.7:8000".into()))
        );
        assert_eq!(
            f.remove("10.0.0.1:80"),
            Err(UpstreamError::NoSuchMember("10.0.0.1:80".into()))
        );
    }

    #[test]
    fn commented_servers_are_not_members_and_odd_lines_are_refused() {
        let f = UpstreamFile::parse("  # server 10.0.0.1:80;\n  server 10.0.0.2:80 weight=3;\n")
            .unwrap();
        assert_eq!(f.members().count(), 1);
        assert_eq!(f.members().next().unwrap().params, ["weight=3"]);
        for bad in [
            "server 10.0.0.1:80",
            "server 10.0.0.1:80; server 10.0.0.2:80;",
            "server ;",
        ] {
            let e = UpstreamFile::parse(bad).unwrap_err();
            assert!(e.to_string().starts_with("line 1: "), "{bad}: {e}");
        }
        let mut f = UpstreamFile::parse("server 10.0.0.1:80;  # web1\n").unwrap();
        f.set_down("10.0.0.1:80", true).unwrap();
        assert_eq!(f.render(), "server 10.0.0.1:80 down;  # web1\n");
        // `servers_x` or `server_name` are other directives.
        let f = UpstreamFile::parse("server_name x;\nkeepalive 16;").unwrap();
        assert_eq!(f.members().count(), 0);
        assert_eq!(f.render(), "server_name x;\nkeepalive 16;");
    }
}
