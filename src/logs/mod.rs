//! Following a host's logs: a systemd unit's journal or a file, streamed line by
//! line through the host's [`Remote`]. The console's host view is one reader.

pub mod files;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::LogSource;
use crate::remote::{Command, Remote, StreamEvent};

/// Lines a log tail asks for when it starts, so a pane is not empty.
const LOG_BACKLOG: &str = "200";
/// Lines handed on in one batch at most (a burst becomes few batches).
const LOG_BATCH: usize = 256;

/// A log source of a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogTarget {
    Unit(String),
    File(String),
}

impl LogTarget {
    pub fn from_source(s: &LogSource) -> Option<LogTarget> {
        match (&s.unit, &s.file) {
            (Some(u), _) => Some(LogTarget::Unit(u.clone())),
            (None, Some(f)) => Some(LogTarget::File(f.clone())),
            (None, None) => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            LogTarget::Unit(u) => format!("journal {u}"),
            LogTarget::File(f) => f.clone(),
        }
    }
}

/// What a tail reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailEvent {
    Lines(Vec<String>),
    /// The tail stopped (the command ended or failed); nothing follows.
    Ended(String),
}

/// The command that follows a log source, as argv (never a shell string).
pub fn tail_command(target: &LogTarget) -> Command {
    match target {
        LogTarget::Unit(unit) => Command::new("journalctl")
            .args([
                "--no-pager",
                "-o",
                "short-iso",
                "-n",
                LOG_BACKLOG,
                "-f",
                "-u",
            ])
            .arg(unit.clone()),
        LogTarget::File(path) => Command::new("tail")
            .args(["-n", LOG_BACKLOG, "-F", "--"])
            .arg(path.clone()),
    }
}

/// Streams a log source until the command ends or the task is aborted (which
/// drops the stream and so stops the remote command). Each batch goes out as
/// `wrap(event)` on `tx`; the task ends when `tx` closes.
pub fn spawn_tail<E, F>(
    remote: Arc<dyn Remote>,
    target: LogTarget,
    tx: mpsc::Sender<E>,
    wrap: F,
) -> JoinHandle<()>
where
    E: Send + 'static,
    F: Fn(TailEvent) -> E + Send + 'static,
{
    tokio::spawn(async move {
        let cmd = tail_command(&target);
        let mut stream = match remote.stream(&cmd).await {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(wrap(TailEvent::Ended(e.to_string()))).await;
                return;
            }
        };
        let mut last_err = String::new();
        while let Some(first) = stream.recv().await {
            let mut lines = Vec::new();
            let mut ended = None;
            let mut take = |ev: StreamEvent, lines: &mut Vec<String>| match ev {
                StreamEvent::Stdout(l) => lines.push(l),
                StreamEvent::Stderr(l) => {
                    last_err = l.clone();
                    lines.push(l);
                }
                StreamEvent::Exit(code) => ended = Some(code),
            };
            take(first, &mut lines);
            while lines.len() < LOG_BATCH {
                match stream.try_recv() {
                    Ok(ev) => take(ev, &mut lines),
                    Err(_) => break,
                }
            }
            if !lines.is_empty() && tx.send(wrap(TailEvent::Lines(lines))).await.is_err() {
                return;
            }
            if let Some(code) = ended {
                let reason = match code {
                    Some(c) if !last_err.is_empty() => format!("exit {c}: {last_err}"),
                    Some(c) => format!("{} exited with {c}", cmd.program()),
                    None => format!("{} ended", cmd.program()),
                };
                let _ = tx.send(wrap(TailEvent::Ended(reason))).await;
                return;
            }
        }
        let _ = tx
            .send(wrap(TailEvent::Ended("connection closed".into())))
            .await;
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::remote::local::LocalRemote;

    #[test]
    fn tail_commands_are_argv() {
        let c = tail_command(&LogTarget::Unit("nginx; rm -rf /".into()));
        assert_eq!(c.argv().last().unwrap(), "nginx; rm -rf /");
        assert!(
            c.to_shell().ends_with("'nginx; rm -rf /'"),
            "{}",
            c.to_shell()
        );
        let c = tail_command(&LogTarget::File("/var/log/x.log".into()));
        assert_eq!(c.argv()[..4], ["tail", "-n", "200", "-F"]);
    }

    #[tokio::test]
    async fn log_tail_streams_a_real_file_and_sees_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("local"));
        let task = spawn_tail(
            remote,
            LogTarget::File(path.display().to_string()),
            tx,
            |e| (3, e),
        );
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut appended = false;
        while !got.contains(&"three".to_string()) {
            let ev = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap()
                .unwrap();
            match ev {
                (3, TailEvent::Lines(lines)) => got.extend(lines),
                other => panic!("{other:?}"),
            }
            if !appended && got.contains(&"two".to_string()) {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap();
                writeln!(f, "three").unwrap();
                appended = true;
            }
        }
        assert_eq!(got, ["one", "two", "three"]);
        task.abort();
    }

    #[tokio::test]
    async fn a_missing_file_shows_the_error_in_the_pane() {
        // tail -F keeps retrying a missing file; its complaint is what the user needs.
        let (tx, mut rx) = mpsc::channel(16);
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new("local"));
        let task = spawn_tail(
            remote,
            LogTarget::File("/nonexistent/dir/x.log".into()),
            tx,
            |e| e,
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        match tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap()
            .unwrap()
        {
            TailEvent::Lines(lines) => {
                assert!(
                    lines.iter().any(|l| l.contains("/nonexistent/dir/x.log")),
                    "{lines:?}"
                );
            }
            other => panic!("{other:?}"),
        }
        task.abort();
    }
}
