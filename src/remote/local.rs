//! This machine as a host, over tokio::process: no SSH, no configuration.

use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Command, Forward, LineStream, Output, Remote, RemoteError, StreamEvent};

/// Capacity of a streamed command's line channel; a slow reader pauses the command.
const STREAM_CAPACITY: usize = 1024;

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
        let waited = tokio::time::timeout(cmd.get_timeout(), child.wait_with_output()).await;
        match waited {
            Err(_) => Err(RemoteError::Timeout {
                what: format!("{} on {}", cmd.program(), self.name),
                after: cmd.get_timeout(),
            }),
            Ok(Err(e)) => Err(RemoteError::Io(format!("{}: {e}", cmd.program()))),
            Ok(Ok(out)) => Ok(Output {
                stdout: out.stdout,
                stderr: out.stderr,
                status: out.status.code(),
            }),
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
            let out_tx = tx.clone();
            let out_task = async move {
                if let Some(s) = stdout {
                    let mut lines = BufReader::new(s).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if out_tx.send(StreamEvent::Stdout(line)).await.is_err() {
                            return;
                        }
                    }
                }
            };
            let err_tx = tx.clone();
            let err_task = async move {
                if let Some(s) = stderr {
                    let mut lines = BufReader::new(s).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if err_tx.send(StreamEvent::Stderr(line)).await.is_err() {
                            return;
                        }
                    }
                }
            };
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
