//! OpenSSH's `ProxyCommand`: a local command whose stdin and stdout carry the
//! SSH session (SSM, cloudflared, corkscrew, `ssh -W`). Run as OpenSSH runs it,
//! `sh -c "exec COMMAND"`; its stderr is kept (the last few lines) to explain a
//! failure, and the process is killed when the connection is dropped.

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader, Join};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::remote::{ConnectCause, RemoteError};

/// Bytes of the command's stderr kept for error messages.
const STDERR_TAIL: usize = 2048;

/// The running proxy; dropping it kills the command.
pub(crate) struct ProxyProcess {
    child: Child,
    stderr: Arc<Mutex<String>>,
    stderr_done: Option<tokio::task::JoinHandle<()>>,
    command: String,
}

/// How long a failed handshake waits for the proxy to exit and say why.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

impl ProxyProcess {
    /// Why the proxy is no longer carrying the session, if it ended (within a
    /// short grace: the session's end arrives before the process is reaped): its
    /// exit status and the end of what it wrote to stderr.
    pub(crate) async fn explain(&mut self) -> Option<String> {
        let status = tokio::time::timeout(EXIT_GRACE, self.child.wait())
            .await
            .ok()?
            .ok()?;
        if let Some(reader) = self.stderr_done.take() {
            let _ = tokio::time::timeout(EXIT_GRACE, reader).await;
        }
        let tail = self
            .stderr
            .lock()
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let status = match status.code() {
            Some(c) => format!("exited with status {c}"),
            None => "was killed by a signal".to_string(),
        };
        Some(if tail.is_empty() {
            format!("ProxyCommand `{}` {status}", self.command)
        } else {
            format!("ProxyCommand `{}` {status}: {tail}", self.command)
        })
    }
}

/// Starts `command` for host `label`. The stream reads the command's stdout and
/// writes its stdin.
pub(crate) fn spawn(
    command: &str,
    label: &str,
) -> Result<(Join<ChildStdout, ChildStdin>, ProxyProcess), RemoteError> {
    let failed = |reason: String| RemoteError::Connect {
        host: label.to_string(),
        reason,
        cause: ConnectCause::Handshake,
    };
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("exec {command}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot start ProxyCommand `{command}`: {e}")))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(failed("ProxyCommand has no stdin/stdout".into()));
    };
    let tail = Arc::new(Mutex::new(String::new()));
    let mut stderr_done = None;
    if let Some(stderr) = child.stderr.take() {
        let tail = Arc::clone(&tail);
        let host = label.to_string();
        stderr_done = Some(tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::debug!(host = %host, "ProxyCommand: {line}");
                if let Ok(mut t) = tail.lock() {
                    t.push_str(&line);
                    t.push('\n');
                    if t.len() > STDERR_TAIL {
                        let cut = t.len() - STDERR_TAIL;
                        let cut = (cut..t.len()).find(|&i| t.is_char_boundary(i)).unwrap_or(0);
                        t.drain(..cut);
                    }
                }
            }
        }));
    }
    tracing::debug!(host = label, command, "ProxyCommand started");
    Ok((
        tokio::io::join(stdout, stdin),
        ProxyProcess {
            child,
            stderr: tail,
            stderr_done,
            command: command.to_string(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn the_session_runs_over_stdin_and_stdout() {
        let (mut stream, _proxy) = spawn("cat", "web1").unwrap();
        stream.write_all(b"SSH-2.0-test\r\n").await.unwrap();
        let mut got = [0u8; 14];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"SSH-2.0-test\r\n");
    }

    #[tokio::test]
    async fn a_failing_proxy_says_why() {
        let (mut stream, mut proxy) =
            spawn("sh -c 'echo no route to web1 >&2; exit 7'", "web1").unwrap();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf).await;
        let why = proxy.explain().await.unwrap();
        assert!(why.contains("exited with status 7"), "{why}");
        assert!(why.contains("no route to web1"), "{why}");
    }
}
