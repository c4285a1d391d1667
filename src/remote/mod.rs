//! The one road to a host: run commands, stream lines, move small files,
//! forward TCP ports. Two implementations: [`local`] and [`ssh`].

pub mod command;
pub mod local;
pub mod open;
pub mod ssh;
pub mod target;

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

pub use command::{Command, quote};
pub use open::open;
pub use target::SshTarget;

/// What a finished command left behind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `None` when the process died from a signal or the server sent none.
    pub status: Option<i32>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// One event from a streamed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Stdout(String),
    Stderr(String),
    /// The command ended; no more events follow.
    Exit(Option<i32>),
}

/// Lines of a running command. Dropping it stops the command.
pub type LineStream = mpsc::Receiver<StreamEvent>;

/// A listening local port whose connections are carried to `target` through the host.
/// Dropping it closes the listener.
pub struct Forward {
    pub local_addr: SocketAddr,
    pub(crate) _task: tokio::task::JoinHandle<()>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self._task.abort();
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RemoteError {
    #[error("{what} timed out after {}", seconds(*after))]
    Timeout { what: String, after: Duration },
    #[error("cannot connect to {host}: {reason}")]
    Connect { host: String, reason: String },
    #[error("{0}")]
    HostKey(String),
    #[error("authentication failed for {user}@{host}: {reason}")]
    Auth {
        user: String,
        host: String,
        reason: String,
    },
    #[error("connection to {host} lost: {reason}")]
    Disconnected { host: String, reason: String },
    #[error("{0}")]
    Io(String),
    #[error("{path}: larger than the {limit} byte limit")]
    TooLarge { path: String, limit: usize },
    #[error("{0}")]
    Other(String),
}

/// A duration for people: `3s`, `2.5s`, `0.2s` (tenths; measured times carry noise
/// in the nanoseconds that nobody needs to read).
pub fn seconds(d: Duration) -> String {
    let tenths = (d.as_secs_f64() * 10.0).round() / 10.0;
    if tenths.fract() == 0.0 {
        format!("{tenths:.0}s")
    } else {
        format!("{tenths:.1}s")
    }
}

impl RemoteError {
    /// A short word for tables: why a host is unreachable.
    pub fn kind(&self) -> &'static str {
        match self {
            RemoteError::Timeout { .. } => "timeout",
            RemoteError::Connect { .. } => "connect failed",
            RemoteError::HostKey(_) => "host key refused",
            RemoteError::Auth { .. } => "auth failed",
            RemoteError::Disconnected { .. } => "disconnected",
            RemoteError::Io(_) => "io error",
            RemoteError::TooLarge { .. } => "too large",
            RemoteError::Other(_) => "error",
        }
    }
}

/// Reaching one host. Every operation is bounded by a timeout.
#[async_trait]
pub trait Remote: Send + Sync {
    /// The host's name as the profile or command line gave it.
    fn name(&self) -> &str;

    /// Runs a command to completion, bounded by its timeout.
    async fn run(&self, cmd: &Command) -> Result<Output, RemoteError>;

    /// Starts a command and streams its output lines. The command's timeout bounds
    /// only the start; the stream runs until the command ends or is dropped.
    async fn stream(&self, cmd: &Command) -> Result<LineStream, RemoteError>;

    /// Opens a local listener whose connections reach `host:port` as seen from this host.
    async fn forward(&self, host: &str, port: u16) -> Result<Forward, RemoteError>;

    /// Reads a small file, refusing one larger than `limit` bytes.
    async fn read_file(&self, path: &str, limit: usize) -> Result<Vec<u8>, RemoteError> {
        // head reads one byte past the limit so an oversized file is detected, not truncated.
        let cmd = Command::shell_script(r#"exec head -c "$2" -- "$1""#)
            .arg(path)
            .arg((limit + 1).to_string());
        let out = self.run(&cmd).await?;
        if !out.success() {
            return Err(RemoteError::Io(format!(
                "reading {path}: {}",
                out.stderr_lossy().trim()
            )));
        }
        if out.stdout.len() > limit {
            return Err(RemoteError::TooLarge {
                path: path.to_string(),
                limit,
            });
        }
        Ok(out.stdout)
    }

    /// Writes a small file atomically (temp file + rename) with the given mode.
    async fn write_file(&self, path: &str, data: &[u8], mode: u32) -> Result<(), RemoteError> {
        let script = r#"set -e; tmp="$1.opsctl-tmp.$$"; umask 077; cat > "$tmp"; chmod "$2" "$tmp"; mv -f "$tmp" "$1""#;
        let cmd = Command::shell_script(script)
            .arg(path)
            .arg(format!("{mode:o}"))
            .stdin(data.to_vec());
        let out = self.run(&cmd).await?;
        if !out.success() {
            return Err(RemoteError::Io(format!(
                "writing {path}: {}",
                out.stderr_lossy().trim()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_in_tenths_of_seconds() {
        let err = RemoteError::Timeout {
            what: "connecting to web1".into(),
            after: Duration::from_nanos(3_001_272_053),
        };
        assert_eq!(err.to_string(), "connecting to web1 timed out after 3s");
        assert_eq!(seconds(Duration::from_millis(2_450)), "2.5s");
        assert_eq!(seconds(Duration::from_millis(200)), "0.2s");
        assert_eq!(seconds(Duration::ZERO), "0s");
    }
}
