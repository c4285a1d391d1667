//! The one road to a host: run commands, stream lines, move small files,
//! forward TCP ports. Two implementations: [`local`] and [`ssh`].

pub mod command;
pub mod lines;
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
pub use target::{KnownHostsPolicy, SshTarget};

/// What a finished command left behind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `None` when the process died from a signal or the server sent none.
    pub status: Option<i32>,
    /// The command wrote more than its `max_output`: what is here is the start, and
    /// the command was stopped.
    pub truncated: bool,
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

/// One event from a command whose output is read as bytes (compressed data, files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteEvent {
    Stdout(Vec<u8>),
    /// A line the command wrote to stderr.
    Stderr(String),
    /// The command ended; no more events follow.
    Exit(Option<i32>),
}

/// The output of a running command as bytes, nothing dropped: a reader that
/// falls behind slows the command down. Dropping it stops the command.
pub type ByteStream = mpsc::Receiver<ByteEvent>;

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

pub use ssh::host_key_policy::{HostKeyProblem, HostKeyRefusal};

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RemoteError {
    #[error("{what} timed out after {}", seconds(*after))]
    Timeout { what: String, after: Duration },
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        host: String,
        reason: String,
        cause: ConnectCause,
    },
    #[error("{0}")]
    HostKey(HostKeyRefusal),
    #[error("authentication failed for {user}@{host}: {reason}")]
    Auth {
        user: String,
        host: String,
        reason: String,
    },
    #[error("connection to {host} lost: {reason}")]
    Disconnected { host: String, reason: String },
    /// The server is up but would not open a session or run the command
    /// (sshd's MaxSessions, a forced command, ...).
    #[error("{host} refused {what}")]
    SessionRefused { host: String, what: String },
    #[error("{0}")]
    Io(String),
    #[error("{path}: larger than the {limit} byte limit")]
    TooLarge { path: String, limit: usize },
    #[error("{0}")]
    Other(String),
}

/// Why a TCP connection could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectCause {
    /// Nothing listens there (RST).
    Refused,
    /// The name does not resolve.
    Dns,
    /// No route to the host or network.
    Unreachable,
    /// TCP worked but the SSH handshake did not (or a bastion could not reach the host).
    Handshake,
    Other,
}

/// What kind of failure a host had, for scripts (`health --json`'s `error_kind`)
/// and for the console, which shows a changed host key differently from a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    HostKeyChanged,
    HostKeyUnknown,
    HostKeyRevoked,
    HostKeyRefused,
    AuthFailed,
    Timeout,
    Refused,
    Dns,
    Unreachable,
    ConnectFailed,
    SessionRefused,
    Disconnected,
    /// The command ran and failed (e.g. the probe script exited non-zero).
    CommandFailed,
    TooLarge,
    Io,
    Other,
}

impl ErrorKind {
    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::HostKeyChanged => "host_key_changed",
            ErrorKind::HostKeyUnknown => "host_key_unknown",
            ErrorKind::HostKeyRevoked => "host_key_revoked",
            ErrorKind::HostKeyRefused => "host_key_refused",
            ErrorKind::AuthFailed => "auth_failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Refused => "refused",
            ErrorKind::Dns => "dns",
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::ConnectFailed => "connect_failed",
            ErrorKind::SessionRefused => "session_refused",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::CommandFailed => "command_failed",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Io => "io",
            ErrorKind::Other => "other",
        }
    }

    /// A short phrase for tables: why a host is unreachable.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::HostKeyChanged => "host key changed",
            ErrorKind::HostKeyUnknown => "host key unknown",
            ErrorKind::HostKeyRevoked => "host key revoked",
            ErrorKind::HostKeyRefused => "host key refused",
            ErrorKind::AuthFailed => "auth failed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Refused => "connection refused",
            ErrorKind::Dns => "name not found",
            ErrorKind::Unreachable => "no route",
            ErrorKind::ConnectFailed => "connect failed",
            ErrorKind::SessionRefused => "session refused",
            ErrorKind::Disconnected => "disconnected",
            ErrorKind::CommandFailed => "command failed",
            ErrorKind::TooLarge => "too large",
            ErrorKind::Io => "io error",
            ErrorKind::Other => "error",
        }
    }

    /// A host key that is not what it should be: someone may be in the middle.
    pub fn is_host_key_alarm(self) -> bool {
        matches!(self, ErrorKind::HostKeyChanged | ErrorKind::HostKeyRevoked)
    }
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
    pub fn kind(&self) -> ErrorKind {
        match self {
            RemoteError::Timeout { .. } => ErrorKind::Timeout,
            RemoteError::Connect { cause, .. } => match cause {
                ConnectCause::Refused => ErrorKind::Refused,
                ConnectCause::Dns => ErrorKind::Dns,
                ConnectCause::Unreachable => ErrorKind::Unreachable,
                ConnectCause::Handshake | ConnectCause::Other => ErrorKind::ConnectFailed,
            },
            RemoteError::HostKey(r) => match r.problem {
                HostKeyProblem::Changed => ErrorKind::HostKeyChanged,
                HostKeyProblem::Unknown => ErrorKind::HostKeyUnknown,
                HostKeyProblem::Revoked => ErrorKind::HostKeyRevoked,
                HostKeyProblem::Unusable => ErrorKind::HostKeyRefused,
            },
            RemoteError::Auth { .. } => ErrorKind::AuthFailed,
            RemoteError::Disconnected { .. } => ErrorKind::Disconnected,
            RemoteError::SessionRefused { .. } => ErrorKind::SessionRefused,
            RemoteError::Io(_) => ErrorKind::Io,
            RemoteError::TooLarge { .. } => ErrorKind::TooLarge,
            RemoteError::Other(_) => ErrorKind::Other,
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

    /// Starts a command and streams its stdout as bytes, with backpressure (see
    /// [`ByteStream`]). The command's timeout bounds only the start. The default
    /// runs the command to completion and hands its output over in one piece.
    async fn stream_bytes(&self, cmd: &Command) -> Result<ByteStream, RemoteError> {
        let out = self.run(cmd).await?;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let _ = tx.send(ByteEvent::Stdout(out.stdout)).await;
            for line in String::from_utf8_lossy(&out.stderr).lines() {
                let _ = tx.send(ByteEvent::Stderr(line.to_string())).await;
            }
            let _ = tx.send(ByteEvent::Exit(out.status)).await;
        });
        Ok(rx)
    }

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
