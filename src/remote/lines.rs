//! Splitting a byte stream into lines, bounded: a line longer than [`MAX_LINE`]
//! is cut there (and says so), so a host that never sends a newline costs a
//! bounded amount of memory.

/// The longest line handed on whole.
pub const MAX_LINE: usize = 1 << 20;

/// Said at the end of a line that was cut.
pub const CUT_MARK: &str = " … (line truncated by opsctl)";

/// Splits a byte stream into lines (`\n`, with a trailing `\r` dropped), keeping the
/// unfinished tail for the next chunk.
#[derive(Debug)]
pub struct LineSplitter {
    pending: Vec<u8>,
    /// The current line was cut: drop bytes until its newline.
    skipping: bool,
    max: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::with_max(MAX_LINE)
    }
}

impl LineSplitter {
    pub fn with_max(max: usize) -> Self {
        LineSplitter {
            pending: Vec::new(),
            skipping: false,
            max: max.max(1),
        }
    }

    pub fn push(&mut self, data: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = data;
        loop {
            let newline = rest.iter().position(|b| *b == b'\n');
            let chunk = &rest[..newline.unwrap_or(rest.len())];
            if !self.skipping {
                let room = self.max - self.pending.len();
                if chunk.len() > room {
                    self.pending.extend_from_slice(&chunk[..room]);
                    let mut cut = take_line(&mut self.pending);
                    cut.push_str(CUT_MARK);
                    lines.push(cut);
                    self.skipping = true;
                } else {
                    self.pending.extend_from_slice(chunk);
                }
            }
            match newline {
                Some(pos) => {
                    if self.skipping {
                        self.skipping = false;
                    } else {
                        lines.push(take_line(&mut self.pending));
                    }
                    rest = &rest[pos + 1..];
                }
                None => break,
            }
        }
        lines
    }

    /// The last line when the stream ended without a newline.
    pub fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| take_line(&mut self.pending))
    }
}

fn take_line(buf: &mut Vec<u8>) -> String {
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    let line = String::from_utf8_lossy(buf).into_owned();
    buf.clear();
    line
}

/// Appends `data` to `buf` without going past `limit` bytes; `false` when some of
/// it did not fit.
pub fn append_capped(buf: &mut Vec<u8>, data: &[u8], limit: usize) -> bool {
    let room = limit.saturating_sub(buf.len());
    if data.len() > room {
        buf.extend_from_slice(&data[..room]);
        false
    } else {
        buf.extend_from_slice(data);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_across_chunks_and_drops_carriage_returns() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"one\r\ntw"), ["one"]);
        assert_eq!(s.push(b"o\nthree"), ["two"]);
        assert_eq!(s.finish().as_deref(), Some("three"));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn an_endless_line_is_cut_and_memory_stays_bounded() {
        let mut s = LineSplitter::with_max(8);
        let mut lines = Vec::new();
        for _ in 0..1000 {
            lines.extend(s.push(b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
            assert!(s.pending.len() <= 8);
        }
        lines.extend(s.push(b"tail\nnext\n"));
        assert_eq!(lines, [format!("xxxxxxxx{CUT_MARK}"), "next".to_string()]);
    }

    #[test]
    fn capped_append_stops_at_the_limit() {
        let mut buf = Vec::new();
        assert!(append_capped(&mut buf, b"abc", 5));
        assert!(!append_capped(&mut buf, b"defg", 5));
        assert_eq!(buf, b"abcde");
    }
}
