//! An error that points at a spot in a file: `file:line:col: message`, the line
//! itself with a caret under the spot, and a hint.

use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 when the problem has no single spot (e.g. an empty file).
    pub line: usize,
    /// 1-based, in characters.
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The offending line and the caret range within it (in characters).
    snippet: Option<Box<(String, Range<usize>)>>,
}

impl Diagnostic {
    /// A diagnostic at byte range `span` of `source`.
    pub fn at(file: &str, source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.min(source.len())).max(start);
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line_no = source[..start].matches('\n').count() + 1;
        let text = source[line_start..line_end].trim_end_matches('\r');
        let col0 = source[line_start..start].chars().count();
        let caret_end = source[line_start..end.min(line_end)].chars().count();
        Diagnostic {
            file: file.to_string(),
            line: line_no,
            col: col0 + 1,
            message: message.into(),
            hint: None,
            snippet: Some(Box::new((text.to_string(), col0..caret_end.max(col0 + 1)))),
        }
    }

    /// A diagnostic about the whole file.
    pub fn whole_file(file: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: 0,
            col: 0,
            message: message.into(),
            hint: None,
            snippet: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    /// Shown with secrets scrubbed: the echoed source line may hold a URL with a
    /// password (that is often what is wrong with it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.render(&mut text)?;
        f.write_str(&super::secrets::scrub(&text))
    }
}

impl Diagnostic {
    fn render(&self, f: &mut impl fmt::Write) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            )?;
        }
        if let Some(snippet) = &self.snippet {
            let (text, carets) = snippet.as_ref();
            let text = mask_secret_assignment(text);
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            write!(
                f,
                "\n{pad} |\n{num} | {text}\n{pad} | {}{}",
                " ".repeat(carets.start),
                "^".repeat(carets.end - carets.start)
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// A source line that assigns a secret-looking key (`password = "..."`, a key in
/// the wrong place, most likely) shows `***` for its value.
fn mask_secret_assignment(line: &str) -> std::borrow::Cow<'_, str> {
    let Some((key, _)) = line.split_once('=') else {
        return std::borrow::Cow::Borrowed(line);
    };
    let k = key.trim().trim_matches('"').to_ascii_lowercase();
    let secret = [
        "password", "passwd", "secret", "token", "pass", "pwd", "api_key", "apikey",
    ]
    .iter()
    .any(|w| k.contains(w))
        && !k.ends_with("_env")
        && !k.ends_with("_file");
    if secret {
        std::borrow::Cow::Owned(format!("{}= {}", key, super::secrets::MASK))
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be
/// a plausible typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word_l = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (levenshtein(&word_l, &c.to_ascii_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_column() {
        let src = "a = 1\nbad_key = 2\n";
        let d = Diagnostic::at("p.toml", src, 6..13, "unknown key `bad_key`")
            .with_hint("did you mean `bat_key`?");
        assert_eq!((d.line, d.col), (2, 1));
        let shown = d.to_string();
        assert!(
            shown.starts_with("p.toml:2:1: unknown key `bad_key`"),
            "{shown}"
        );
        assert!(shown.contains("2 | bad_key = 2"), "{shown}");
        assert!(shown.contains("  | ^^^^^^^"), "{shown}");
        assert!(shown.ends_with("hint: did you mean `bat_key`?"), "{shown}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let src = "name = \"é\" x";
        let d = Diagnostic::at("p.toml", src, src.find('x').unwrap()..src.len(), "m");
        assert_eq!(d.col, 12);
    }

    #[test]
    fn nearest_finds_typos_only() {
        let keys = ["interval_secs", "retention_secs", "services"];
        assert_eq!(nearest("intervall_secs", keys), Some("interval_secs"));
        assert_eq!(nearest("service", keys), Some("services"));
        assert_eq!(nearest("completely_other", keys), None);
    }
}
