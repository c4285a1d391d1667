//! This machine as a host, over tokio::process: no SSH, no configuration.

use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::lines::{LineSplitter, append_capped};
use super::{
    ByteEvent, ByteStream, Command, Forward, LineStream, Output, Remote, RemoteError, StreamEvent,
};

/// Capacity of a streamed command's line channel; a slow reader pauses the command.
const STREAM_CAPACITY: usize = 1024;
/// Chunks of up to 64 KiB in flight on a byte stream.
const BYTE_STREAM_CAPACITY: usize = 16;

#[derive(Debug, Clone)]
pub struct LocalRemote {
    name: String,
}

impl LocalRemote {
    pub fn new(name: impl Into<String>) -> Self {
        LocalRemote { name: name.into() }
    }

    fn process(cmd: &Command) -> tokio::process::Command {
        let argv = cmd.argv();
        let mut p = tokio::process::Command::new(&argv[0]);
        p.args(&argv[1..])
            .stdin(if cmd.stdin_data().is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        p
    }
}

/// Writes the command's input from a task, so a command that does not read its
/// input cannot deadlock us; dropping the pipe afterwards sends EOF.
fn feed_stdin(cmd: &Command, child: &mut tokio::process::Child) {
    if let (Some(data), Some(mut stdin)) = (cmd.stdin_data(), child.stdin.take()) {
        let data = data.to_vec();
        tokio::spawn(async move {
            let _ = stdin.write_all(&data).await;
        });
    }
}

/// Reads a pipe to its end, keeping at most `limit` bytes; `true` when there was more.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> (Vec<u8>, bool) {
    let Some(mut pipe) = pipe else {
        return (Vec::new(), false);
    };
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => return (buf, false),
            Ok(n) => {
                if !append_capped(&mut buf, &chunk[..n], limit) {
                    return (buf, true);
                }
            }
        }
    }
}

/// Streams a pipe as bounded lines into `tx` (as `wrap(line)`).
async fn pump(
    pipe: Option<impl AsyncRead + Unpin>,
    tx: mpsc::Sender<StreamEvent>,
    wrap: fn(String) -> StreamEvent,
) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut split = LineSplitter::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for line in split.push(&chunk[..n]) {
                    if tx.send(wrap(line)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    if let Some(line) = split.finish() {
        let _ = tx.send(wrap(line)).await;
    }
}

async fn pump_bytes(pipe: Option<impl AsyncRead + Unpin>, tx: mpsc::Sender<ByteEvent>) {
    let Some(mut pipe) = pipe else {
        return;
    };
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match pipe.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if tx
                    .send(ByteEvent::Stdout(chunk[..n].to_vec()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

fn spawn_error(cmd: &Command, e: std::io::Error) -> RemoteError {
    RemoteError::Io(format!("cannot start {}: {e}", cmd.program()))
}

#[async_trait]
impl Remote for LocalRemote {
    fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, cmd: &Command) -> Result<Output, RemoteError> {
        let mut child = Self::process(cmd)
            .spawn()
            .map_err(|e| spawn_error(cmd, e))?;
        feed_stdin(cmd, &mut child);
        let limit = cmd.get_max_output();
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let work = async {
            let ((stdout, cut_out), (stderr, cut_err)) =
                tokio::join!(read_capped(stdout, limit), read_capped(stderr, limit));
            let truncated = cut_out || cut_err;
            let status = if truncated {
                // Stop a command that keeps writing; what it wrote is the start.
                let _ = child.kill().await;
                None
            } else {
                child.wait().await.ok().and_then(|s| s.code())
            };
            Output {
                stdout,
                stderr,
                status,
                truncated,
            }
        };
        match tokio::time::timeout(cmd.get_timeout(), work).await {
            Err(_) => Err(RemoteError::Timeout {
                what: format!("{} on {}", cmd.program(), self.name),
                after: cmd.get_timeout(),
            }),
            Ok(out) => {
                if out.truncated {
                    tracing::warn!(
                        command = cmd.program(),
                        limit,
                        "output truncated: the command wrote more than its limit"
                    );
                }
                Ok(out)
            }
        }
    }

    async fn stream(&self, cmd: &Command) -> Result<LineStream, RemoteError> {
        let mut child = Self::process(cmd)
            .spawn()
            .map_err(|e| spawn_error(cmd, e))?;
        feed_stdin(cmd, &mut child);
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        tokio::spawn(async move {
            let out_task = pump(stdout, tx.clone(), StreamEvent::Stdout);
            let err_task = pump(stderr, tx.clone(), StreamEvent::Stderr);
            tokio::select! {
                _ = async { tokio::join!(out_task, err_task) } => {
                    let status = child.wait().await.ok().and_then(|s| s.code());
                    let _ = tx.send(StreamEvent::Exit(status)).await;
                }
                _ = tx.closed() => {
                    let _ = child.kill().await;
                }
            }
        });
        Ok(rx)
    }

    async fn stream_bytes(&self, cmd: &Command) -> Result<ByteStream, RemoteError> {
        let mut child = Self::process(cmd)
            .spawn()
            .map_err(|e| spawn_error(cmd, e))?;
        feed_stdin(cmd, &mut child);
        let (tx, rx) = mpsc::channel(BYTE_STREAM_CAPACITY);
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        tokio::spawn(async move {
            let out_task = pump_bytes(stdout, tx.clone());
            let err_task = async {
                let (ltx, mut lrx) = mpsc::channel(STREAM_CAPACITY);
                let lines = pump(stderr, ltx, StreamEvent::Stderr);
                let forward = async {
                    while let Some(StreamEvent::Stderr(l)) = lrx.recv().await {
                        if tx.send(ByteEvent::Stderr(l)).await.is_err() {
                            break;
                        }
                    }
                };
                tokio::join!(lines, forward);
            };
            tokio::select! {
                _ = async { tokio::join!(out_task, err_task) } => {
                    let status = child.wait().await.ok().and_then(|s| s.code());
                    let _ = tx.send(ByteEvent::Exit(status)).await;
                }
                _ = tx.closed() => {
                    let _ = child.kill().await;
                }
            }
        });
        Ok(rx)
    }

    async fn forward(&self, host: &str, port: u16) -> Result<Forward, RemoteError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| RemoteError::Io(format!("cannot listen on loopback: {e}")))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| RemoteError::Io(e.to_string()))?;
        let target = format!("{host}:{port}");
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Ok(Forward {
            local_addr,
            _task: task,
        })
    }

    async fn read_file(&self, path: &str, limit: usize) -> Result<Vec<u8>, RemoteError> {
        use tokio::io::AsyncReadExt;
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| RemoteError::Io(format!("reading {path}: {e}")))?;
        let mut buf = Vec::new();
        file.take(limit as u64 + 1)
            .read_to_end(&mut buf)
            .await
            .map_err(|e| RemoteError::Io(format!("reading {path}: {e}")))?;
        if buf.len() > limit {
            return Err(RemoteError::TooLarge {
                path: path.to_string(),
                limit,
            });
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flood_of_output_costs_a_bounded_amount_and_says_so() {
        let r = LocalRemote::new("local");
        // `yes` never stops: without a bound this would run until memory runs out.
        let cmd = Command::new("yes")
            .max_output(1 << 20)
            .timeout(std::time::Duration::from_secs(20));
        let started = std::time::Instant::now();
        let out = r.run(&cmd).await.unwrap();
        assert!(out.truncated);
        assert_eq!(out.stdout.len(), 1 << 20);
        assert_eq!(out.status, None, "the command was stopped");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let small = r.run(&Command::new("echo").arg("hi")).await.unwrap();
        assert!(!small.truncated && small.success());
    }

    #[tokio::test]
    async fn a_line_without_end_is_cut() {
        let r = LocalRemote::new("local");
        let cmd = Command::shell_script("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo after");
        let mut rx = r.stream(&cmd).await.unwrap();
        let mut lines = Vec::new();
        while let Some(ev) = rx.recv().await {
            match ev {
                StreamEvent::Stdout(l) => lines.push(l),
                StreamEvent::Exit(_) => break,
                StreamEvent::Stderr(_) => {}
            }
        }
        assert_eq!(
            lines.len(),
            2,
            "{:?}",
            lines.iter().map(String::len).collect::<Vec<_>>()
        );
        assert!(lines[0].ends_with(crate::remote::lines::CUT_MARK));
        assert!(lines[0].len() < crate::remote::lines::MAX_LINE + 100);
        assert_eq!(lines[1], "after");
    }
    use std::time::Duration;

    #[tokio::test]
    async fn runs_and_reports_exit_codes() {
        let r = LocalRemote::new("local");
        let out = r
            .run(&Command::shell_script("echo out; echo err >&2; exit 3"))
            .await
            .unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status, Some(3));
    }

    #[tokio::test]
    async fn times_out() {
        let r = LocalRemote::new("local");
        let cmd = Command::new("sleep")
            .arg("5")
            .timeout(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let err = r.run(&cmd).await.unwrap_err();
        assert!(matches!(err, RemoteError::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn streams_lines_then_exit() {
        let r = LocalRemote::new("local");
        let mut rx = r
            .stream(&Command::shell_script("echo a; echo b; exit 4"))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(ev) = rx.recv().await {
            got.push(ev);
        }
        assert_eq!(
            got,
            vec![
                StreamEvent::Stdout("a".into()),
                StreamEvent::Stdout("b".into()),
                StreamEvent::Exit(Some(4)),
            ]
        );
    }

    #[tokio::test]
    async fn file_round_trip_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let path = path.to_str().unwrap();
        let r = LocalRemote::new("local");
        r.write_file(path, b"hello", 0o600).await.unwrap();
        assert_eq!(r.read_file(path, 100).await.unwrap(), b"hello");
        let err = r.read_file(path, 3).await.unwrap_err();
        assert!(matches!(err, RemoteError::TooLarge { .. }));
    }
}
