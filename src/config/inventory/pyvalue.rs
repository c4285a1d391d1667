//! How Ansible's INI plugin reads values: host lines are split like Python's
//! `shlex.split(line, comments=True)`, and every value goes through
//! `ast.literal_eval`, falling back to the raw text when it is not a Python literal.

use super::model::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShlexError {
    #[error("no closing quotation")]
    NoClosingQuote,
    #[error("no escaped character after `\\`")]
    NoEscapedChar,
}

/// Python's `shlex.split(s, comments=True)` (POSIX mode): quotes and backslashes
/// group, `#` starts a comment outside quotes.
pub fn shlex_split(s: &str) -> Result<Vec<String>, ShlexError> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '#' => break,
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        None => return Err(ShlexError::NoClosingQuote),
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        None => return Err(ShlexError::NoClosingQuote),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => return Err(ShlexError::NoEscapedChar),
                            Some(e @ ('"' | '\\')) => cur.push(e),
                            Some(e) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                        },
                        Some(c) => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_token = true;
                match chars.next() {
                    None => return Err(ShlexError::NoEscapedChar),
                    Some(e) => cur.push(e),
                }
            }
            c => {
                in_token = true;
                cur.push(c);
            }
        }
    }
    if in_token {
        tokens.push(cur);
    }
    Ok(tokens)
}

/// Ansible's `_parse_value`: a Python literal (string, number, True/False/None, or a
/// container) followed by nothing but an optional `# comment`, else the text itself.
pub fn literal_eval(v: &str) -> Value {
    let mut p = Lit {
        s: v.trim_start_matches([' ', '\t']),
        pos: 0,
    };
    match p.expr() {
        Some(value) if p.at_end() => value,
        _ => Value::Str(v.to_string()),
    }
}

struct Lit<'a> {
    s: &'a str,
    pos: usize,
}

impl Lit<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches([' ', '\t', '\x0c']);
        self.pos += rest.len() - trimmed.len();
    }

    fn at_end(&mut self) -> bool {
        self.skip_ws();
        let rest = self.rest();
        rest.is_empty() || rest.starts_with('#') || rest.trim_end_matches(['\r', '\n']).is_empty()
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.skip_ws();
        let c = self.peek()?;
        match c {
            '[' | '(' | '{' => self.container(),
            '+' | '-' => {
                self.pos += 1;
                self.skip_ws();
                match self.number()? {
                    Value::Int(n) if c == '-' => Some(Value::Int(n.checked_neg()?)),
                    Value::Str(s) if c == '-' => Some(Value::Str(format!("-{s}"))),
                    v => Some(v),
                }
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => {
                if let Some(s) = self.strings() {
                    return Some(s);
                }
                let word: String = self
                    .rest()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let v = match word.as_str() {
                    "True" => Value::Bool(true),
                    "False" => Value::Bool(false),
                    "None" => Value::Null,
                    _ => return None,
                };
                self.pos += word.len();
                Some(v)
            }
        }
    }

    fn container(&mut self) -> Option<Value> {
        let close = match self.peek()? {
            '[' => ']',
            '(' => ')',
            _ => '}',
        };
        self.pos += 1;
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Some(Value::Nested);
            }
            self.expr()?;
            self.skip_ws();
            if close == '}' && self.eat(':') {
                self.expr()?;
                self.skip_ws();
            }
            if self.eat(',') {
                continue;
            }
            self.skip_ws();
            if self.eat(close) {
                return Some(Value::Nested);
            }
            return None;
        }
    }

    /// Integers become `Int`; floats and complex numbers keep their text (Ansible
    /// turns complex numbers back into strings; floats are never a host, port or user).
    fn number(&mut self) -> Option<Value> {
        let rest = self.rest();
        let len = rest
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_alphanumeric()
                    || *c == '_'
                    || *c == '.'
                    || ((*c == '+' || *c == '-')
                        && rest[..*i].ends_with(['e', 'E'])
                        && !rest.starts_with("0x")
                        && !rest.starts_with("0X")))
            })
            .map_or(rest.len(), |(i, _)| i);
        let text = &rest[..len];
        let value = parse_number(text)?;
        self.pos += len;
        Some(value)
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Option<Value> {
        let mut out = String::new();
        let mut any = false;
        loop {
            self.skip_ws();
            let save = self.pos;
            match self.string() {
                Some(s) => {
                    out.push_str(&s);
                    any = true;
                }
                None => {
                    self.pos = save;
                    break;
                }
            }
        }
        any.then_some(Value::Str(out))
    }

    fn string(&mut self) -> Option<String> {
        let rest = self.rest();
        let prefix_len = rest
            .chars()
            .take_while(|c| matches!(c, 'r' | 'R' | 'u' | 'U' | 'b' | 'B'))
            .count();
        if prefix_len > 2 {
            return None;
        }
        let prefix = rest[..prefix_len].to_ascii_lowercase();
        if !matches!(prefix.as_str(), "" | "r" | "u" | "b" | "br" | "rb") {
            return None;
        }
        let raw = prefix.contains('r');
        let body = &rest[prefix_len..];
        let quote = body.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let triple: String = std::iter::repeat_n(quote, 3).collect();
        let (delim, start) = if body.starts_with(&triple) {
            (triple.as_str(), 3)
        } else {
            (&body[..1], 1)
        };
        let mut out = String::new();
        let mut i = start;
        let bytes = body.as_bytes();
        while i < body.len() {
            if body[i..].starts_with(delim) {
                self.pos += prefix_len + i + delim.len();
                return Some(out);
            }
            let c = body[i..].chars().next()?;
            if delim.len() == 1 && c == '\n' {
                return None;
            }
            if c == '\\' {
                let next = body[i + 1..].chars().next()?;
                if raw {
                    out.push('\\');
                    out.push(next);
                    i += 1 + next.len_utf8();
                    continue;
                }
                i += 1;
                let (decoded, used) = unescape(&body[i..])?;
                if let Some(d) = decoded {
                    out.push(d);
                }
                i += used;
                continue;
            }
            let _ = bytes;
            out.push(c);
            i += c.len_utf8();
        }
        None
    }
}

/// One escape sequence after a backslash: the character (None for a
/// line continuation) and how many bytes it used.
fn unescape(s: &str) -> Option<(Option<char>, usize)> {
    let c = s.chars().next()?;
    let simple = match c {
        '\n' => return Some((None, 1)),
        '\\' => '\\',
        '\'' => '\'',
        '"' => '"',
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        '0'..='7' => {
            let digits: String = s.chars().take(3).take_while(|c| c.is_digit(8)).collect();
            let n = u32::from_str_radix(&digits, 8).ok()?;
            return Some((Some(char::from_u32(n)?), digits.len()));
        }
        'x' | 'u' | 'U' => {
            let n = match c {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = s.get(1..1 + n)?;
            let v = u32::from_str_radix(hex, 16).ok()?;
            return Some((Some(char::from_u32(v)?), 1 + n));
        }
        // Python keeps unknown escapes as they are.
        other => return Some((Some('\\'), 0)).filter(|_| other != 'N'),
    };
    Some((Some(simple), c.len_utf8()))
}

fn parse_number(text: &str) -> Option<Value> {
    let lower = text.to_ascii_lowercase();
    let clean = |s: &str| -> Option<String> {
        if s.is_empty() || s.starts_with('_') || s.ends_with('_') || s.contains("__") {
            None
        } else {
            Some(s.replace('_', ""))
        }
    };
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = clean(digits.strip_prefix('_').unwrap_or(digits))?;
            return i64::from_str_radix(&digits, radix).ok().map(Value::Int);
        }
    }
    if lower.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        let digits = clean(&lower)?;
        // Python 3 refuses leading zeros in a non-zero decimal integer.
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|b| b != b'0') {
            return None;
        }
        return digits.parse().ok().map(Value::Int);
    }
    // Floats and imaginary numbers: a valid Python float literal, kept as text.
    let body = lower.strip_suffix('j').unwrap_or(&lower);
    let body = clean(body)?;
    let (mantissa, exponent) = match body.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (body.as_str(), None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => {
            (!a.is_empty() || !b.is_empty())
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|c| c.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
    });
    let is_complex = lower.ends_with('j');
    (mantissa_ok && exponent_ok && (is_complex || mantissa.contains('.') || exponent.is_some()))
        .then(|| Value::Str(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.to_string())
    }

    #[test]
    fn shlex_groups_quotes_and_drops_comments() {
        assert_eq!(
            shlex_split("host2 ansible_port=222 # defined inline").unwrap(),
            ["host2", "ansible_port=222"]
        );
        assert_eq!(
            shlex_split(r#"h a="two words" b='x#y' c=d\ e"#).unwrap(),
            ["h", "a=two words", "b=x#y", "c=d e"]
        );
        assert_eq!(shlex_split("h a=b#c").unwrap(), ["h", "a=b"]);
        assert_eq!(shlex_split(r#"h a="q\"x\y""#).unwrap(), ["h", r#"a=q"x\y"#]);
        assert_eq!(shlex_split("h a=''").unwrap(), ["h", "a="]);
        assert_eq!(shlex_split("h a='open"), Err(ShlexError::NoClosingQuote));
    }

    #[test]
    fn literals_are_evaluated_like_python() {
        assert_eq!(literal_eval("222"), Value::Int(222));
        assert_eq!(literal_eval("-3"), Value::Int(-3));
        assert_eq!(literal_eval("0x10"), Value::Int(16));
        assert_eq!(literal_eval("1_000"), Value::Int(1000));
        assert_eq!(literal_eval("True"), Value::Bool(true));
        assert_eq!(literal_eval("None"), Value::Null);
        assert_eq!(literal_eval("'03#pa33w0rd'"), s("03#pa33w0rd"));
        assert_eq!(literal_eval(r#""a\tb" 'c'"#), s("a\tbc"));
        assert_eq!(literal_eval(r"'\d'"), s(r"\d"));
        assert_eq!(literal_eval("[1, 'a', {'k': 2}]"), Value::Nested);
        assert_eq!(literal_eval("1.5"), s("1.5"));
    }

    #[test]
    fn a_literal_may_be_followed_by_a_comment() {
        assert_eq!(literal_eval("8080 # all members"), Value::Int(8080));
        assert_eq!(literal_eval("True # note"), Value::Bool(true));
        assert_eq!(literal_eval("'deploy'  # user"), s("deploy"));
    }

    #[test]
    fn anything_else_is_the_raw_text() {
        assert_eq!(literal_eval("10.0.0.1"), s("10.0.0.1"));
        assert_eq!(literal_eval("deploy"), s("deploy"));
        // Not a literal, so the comment stays part of the value (as in Ansible).
        assert_eq!(literal_eval("deploy # user"), s("deploy # user"));
        assert_eq!(literal_eval("022"), s("022"));
        assert_eq!(literal_eval("true"), s("true"));
        assert_eq!(literal_eval("'open"), s("'open"));
        assert_eq!(literal_eval("{{ x }}"), s("{{ x }}"));
        assert_eq!(literal_eval("~/.ssh/id_ed25519"), s("~/.ssh/id_ed25519"));
        assert_eq!(literal_eval("1 2"), s("1 2"));
    }
}
