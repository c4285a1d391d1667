//! Building remote commands as argv, and quoting them for a POSIX shell.
//!
//! SSH hands a command to the remote user's shell as one string, so every
//! argument must be quoted. Callers never paste data into a shell string:
//! they build a [`Command`] from separate arguments and let [`Command::to_shell`]
//! quote each one.

use std::time::Duration;

/// Default bound for a remote command when the caller names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default bound on what `run` collects of a command's stdout (and, separately,
/// its stderr): a host that answers with a gigabyte costs this much memory at most.
pub const DEFAULT_MAX_OUTPUT: usize = 64 << 20;

/// A command to run on a host: a program and its arguments, never a shell string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    argv: Vec<String>,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    max_output: usize,
}

impl Command {
    /// A command running `program` with no arguments.
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            argv: vec![program.into()],
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }

    /// `sh -c SCRIPT sh ARGS...`: a fixed script written by us, with data passed
    /// as positional parameters (`"$1"`), never pasted into the script.
    pub fn shell_script(script: &str) -> Self {
        Command::new("sh").arg("-c").arg(script).arg("sh")
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.argv.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.argv.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(data.into());
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Collect at most `bytes` of stdout (and of stderr); more is cut off and the
    /// output says it was truncated.
    pub fn max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes;
        self
    }

    pub fn get_max_output(&self) -> usize {
        self.max_output
    }

    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    pub fn program(&self) -> &str {
        &self.argv[0]
    }

    pub fn stdin_data(&self) -> Option<&[u8]> {
        self.stdin.as_deref()
    }

    pub fn get_timeout(&self) -> Duration {
        self.timeout
    }

    /// The command as one string for a POSIX shell, every argument quoted.
    pub fn to_shell(&self) -> String {
        let mut out = String::new();
        for (i, arg) in self.argv.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&quote(arg));
        }
        out
    }
}

/// Quotes one argument for a POSIX shell. Plain words stay readable; anything
/// else goes in single quotes, with `'` written as `'\''`.
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        return arg.to_string();
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('\'');
    for c in arg.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_unquoted() {
        let cmd = Command::new("ls").arg("-la").arg("/var/log");
        assert_eq!(cmd.to_shell(), "ls -la /var/log");
    }

    #[test]
    fn metacharacters_are_quoted() {
        let cmd = Command::new("echo")
            .arg("a b")
            .arg("$(id)")
            .arg("it's")
            .arg("");
        assert_eq!(cmd.to_shell(), r#"echo 'a b' '$(id)' 'it'\''s' ''"#);
    }

    #[test]
    fn quoted_arguments_survive_a_real_shell() {
        let nasty = [
            "plain",
            "two words",
            "$(touch /tmp/opsctl-pwned)",
            "`id`",
            "a'b\"c",
            ";|&<>*?[]{}~#!\\",
            "line\nbreak",
            "",
            "-n",
        ];
        let cmd = Command::new("printf")
            .arg("%s\\0")
            .args(nasty.iter().copied());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd.to_shell())
            .output()
            .expect("sh runs");
        let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
        assert_eq!(got.len(), nasty.len() + 1);
        for (want, have) in nasty.iter().zip(got) {
            assert_eq!(want.as_bytes(), have);
        }
    }
}
