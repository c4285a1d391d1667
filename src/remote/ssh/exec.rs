//! Commands on session channels: run to completion, or stream lines.
//!
//! russh hands a channel's incoming data to its reader through a bounded queue and
//! waits when it is full, which pauses the whole connection; so every reader here
//! drains its channel promptly and never waits on a slow consumer while holding it.

use std::sync::Arc;

use russh::client::Msg;
use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::sync::mpsc;

use crate::remote::lines::{LineSplitter, append_capped};
use crate::remote::{ByteEvent, Command, Output, StreamEvent};

/// Runs `"$@"` with its stdin from /dev/null while a watchdog reads the channel's
/// stdin: end-of-file there means the client gave up on the command (timeout, dropped
/// stream), and the watchdog ends the command's whole process group (sshd gives every
/// session its own). Without it an abandoned command keeps running, and OpenSSH keeps
/// its session open until it exits, so a few hung commands (a `df` on a dead NFS
/// mount) would use up the connection's sessions (MaxSessions). The `signal` channel
/// request cannot do this: OpenSSH refuses it for root logins.
///
/// A command killed by a signal kills the wrapper with the same signal, so the exit
/// status reads as it would without the wrapper.
const WATCHDOG: &str = r#"exec 3<&0 0</dev/null
{ while read -r _ <&3; do :; done; kill -TERM 0; } >/dev/null 2>&1 &
w=$!
exec 3<&-
"$@"
s=$?
kill "$w" 2>/dev/null
if [ "$s" -gt 128 ] && sig=$(kill -l "$s" 2>/dev/null); then kill -s "$sig" "$$"; fi
exit "$s""#;

/// The command line to send for `cmd`: under [`WATCHDOG`], unless the command has
/// stdin data (it needs its stdin, so it runs bare).
pub(crate) fn command_line(cmd: &Command) -> String {
    if cmd.stdin_data().is_some() {
        return cmd.to_shell();
    }
    Command::shell_script(WATCHDOG)
        .args(cmd.argv().iter().cloned())
        .to_shell()
}

/// The writing half of a session channel that ends the command and closes the
/// channel when dropped before the command finished (timeout, dropped stream), so
/// neither remote processes nor channels leak.
pub(crate) struct ChannelGuard {
    write: Arc<ChannelWriteHalf<Msg>>,
    finished: bool,
}

impl ChannelGuard {
    pub(crate) fn new(write: ChannelWriteHalf<Msg>) -> Self {
        ChannelGuard {
            write: Arc::new(write),
            finished: false,
        }
    }

    pub(crate) fn writer(&self) -> Arc<ChannelWriteHalf<Msg>> {
        Arc::clone(&self.write)
    }

    /// The server closed the channel itself: nothing left to close.
    pub(crate) fn finished(&mut self) {
        self.finished = true;
    }
}

impl Drop for ChannelGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let write = Arc::clone(&self.write);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                // EOF wakes the watchdog; the signal covers commands run without one
                // (those with stdin data) on servers that honour it. Each fails
                // harmlessly when the connection is already gone.
                let _ = write.eof().await;
                let _ = write.signal(Sig::TERM).await;
                let _ = write.close().await;
            });
        }
    }
}

/// Sends `stdin` then EOF, from its own task so a command that writes before
/// reading cannot deadlock against us.
pub(crate) fn feed_stdin(write: Arc<ChannelWriteHalf<Msg>>, stdin: Vec<u8>) {
    tokio::spawn(async move {
        if let Err(e) = write.data(&stdin[..]).await {
            tracing::debug!("writing stdin: {e}");
            return;
        }
        let _ = write.eof().await;
    });
}

/// How a channel ended.
pub(crate) enum Ending {
    /// The server closed the channel; the exit status if it sent one.
    Closed(Option<i32>),
    /// The server refused to run the command.
    Refused,
}

/// Reads a channel to its end, collecting stdout and stderr, each up to `limit`
/// bytes. Past that the command is cut off (the caller drops the channel, which
/// closes it) and the output says it was truncated.
pub(crate) async fn collect(read: &mut ChannelReadHalf, limit: usize) -> (Output, Ending) {
    let mut out = Output::default();
    let mut status = None;
    while let Some(msg) = read.wait().await {
        let fits = match &msg {
            ChannelMsg::Data { data } => append_capped(&mut out.stdout, data, limit),
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                append_capped(&mut out.stderr, data, limit)
            }
            _ => true,
        };
        if !fits {
            out.truncated = true;
            out.status = None;
            return (out, Ending::Closed(None));
        }
        match msg {
            ChannelMsg::Data { .. } | ChannelMsg::ExtendedData { .. } => {}
            ChannelMsg::ExitStatus { exit_status } => {
                status = Some(i32::try_from(exit_status).unwrap_or(i32::MAX));
            }
            ChannelMsg::ExitSignal { signal_name, .. } => {
                tracing::debug!("remote command killed by signal {signal_name:?}");
                status = None;
            }
            ChannelMsg::Failure => {
                out.status = None;
                return (out, Ending::Refused);
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    out.status = status;
    (out, Ending::Closed(status))
}

/// Forwards a channel's output as lines until it ends or the receiver goes away.
///
/// Lines are handed over without waiting: when the reader falls behind by a whole
/// queue, lines are dropped (and counted in a notice on stderr) rather than stalling
/// the connection every other operation on this host shares.
pub(crate) async fn pump_lines(
    mut read: ChannelReadHalf,
    mut guard: ChannelGuard,
    tx: mpsc::Sender<StreamEvent>,
) {
    let mut out = LineSplitter::default();
    let mut err = LineSplitter::default();
    let mut status = None;
    let mut dropped = 0u64;
    let deliver = |event: StreamEvent, dropped: &mut u64| -> bool {
        if *dropped > 0 {
            let notice = StreamEvent::Stderr(format!(
                "opsctl: {dropped} lines dropped: the reader was too slow"
            ));
            match tx.try_send(notice) {
                Ok(()) => *dropped = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    *dropped += 1;
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match tx.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                *dropped += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    };
    loop {
        let msg = tokio::select! {
            msg = read.wait() => msg,
            _ = tx.closed() => return, // guard closes the channel
        };
        let Some(msg) = msg else { break };
        let alive = match msg {
            ChannelMsg::Data { data } => out
                .push(&data)
                .into_iter()
                .all(|l| deliver(StreamEvent::Stdout(l), &mut dropped)),
            ChannelMsg::ExtendedData { data, ext: 1 } => err
                .push(&data)
                .into_iter()
                .all(|l| deliver(StreamEvent::Stderr(l), &mut dropped)),
            ChannelMsg::ExitStatus { exit_status } => {
                status = Some(i32::try_from(exit_status).unwrap_or(i32::MAX));
                true
            }
            ChannelMsg::Close => break,
            _ => true,
        };
        if !alive {
            return;
        }
    }
    guard.finished();
    let tail_out = out.finish().map(StreamEvent::Stdout);
    let tail_err = err.finish().map(StreamEvent::Stderr);
    // The channel is drained: from here waiting on the reader stalls nobody else.
    for event in tail_out.into_iter().chain(tail_err) {
        if tx.send(event).await.is_err() {
            return;
        }
    }
    if dropped > 0 {
        let _ = tx
            .send(StreamEvent::Stderr(format!(
                "opsctl: {dropped} lines dropped: the reader was too slow"
            )))
            .await;
    }
    let _ = tx.send(StreamEvent::Exit(status)).await;
}

/// Forwards a channel's stdout as bytes, waiting for the reader (nothing is
/// dropped). A reader that stops reading pauses this channel and, once russh's
/// queue is full, the connection it shares: byte streams are for readers that
/// keep up, like a digest.
pub(crate) async fn pump_bytes(
    mut read: ChannelReadHalf,
    mut guard: ChannelGuard,
    tx: mpsc::Sender<ByteEvent>,
) {
    let mut err = LineSplitter::default();
    let mut status = None;
    loop {
        let msg = tokio::select! {
            msg = read.wait() => msg,
            _ = tx.closed() => return, // guard closes the channel
        };
        let Some(msg) = msg else { break };
        let alive = match msg {
            ChannelMsg::Data { data } => tx.send(ByteEvent::Stdout(data.to_vec())).await.is_ok(),
            ChannelMsg::ExtendedData { data, ext: 1 } => {
                let mut ok = true;
                for l in err.push(&data) {
                    ok = ok && tx.send(ByteEvent::Stderr(l)).await.is_ok();
                }
                ok
            }
            ChannelMsg::ExitStatus { exit_status } => {
                status = Some(i32::try_from(exit_status).unwrap_or(i32::MAX));
                true
            }
            ChannelMsg::Close => break,
            _ => true,
        };
        if !alive {
            return;
        }
    }
    guard.finished();
    if let Some(l) = err.finish() {
        let _ = tx.send(ByteEvent::Stderr(l)).await;
    }
    let _ = tx.send(ByteEvent::Exit(status)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"ab"), Vec::<String>::new());
        assert_eq!(s.push(b"c\r\nde\n\nf"), vec!["abc", "de", ""]);
        assert_eq!(s.finish(), Some("f".to_string()));
        assert_eq!(s.finish(), None);
    }

    /// Runs `cmd`'s command line under a local `sh` in its own process group (as sshd
    /// gives each session), with a pipe as stdin that the caller may close.
    fn spawn_local(cmd: &Command) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        std::process::Command::new("sh")
            .arg("-c")
            // `exec`: the login shell sshd starts replaces itself likewise (bash does).
            .arg(format!("exec {}", command_line(cmd)))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap()
    }

    /// Output and status, stdin held open throughout (closing it means "abandoned").
    fn finish(mut child: std::process::Child) -> (Vec<u8>, std::process::ExitStatus) {
        use std::io::Read;
        let _stdin = child.stdin.take();
        let mut out = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
        (out, child.wait().unwrap())
    }

    #[test]
    fn watchdog_keeps_output_and_exit_status() {
        let cmd = Command::shell_script("echo \"$1\"; exit 3").arg("a 'b' $c");
        let (out, status) = finish(spawn_local(&cmd));
        assert_eq!(out, b"a 'b' $c\n");
        assert_eq!(status.code(), Some(3));
    }

    #[test]
    fn watchdog_passes_on_death_by_signal() {
        use std::os::unix::process::ExitStatusExt;
        let (_, status) = finish(spawn_local(&Command::shell_script("kill -KILL $$")));
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn watchdog_ends_the_command_at_stdin_eof() {
        let started = std::time::Instant::now();
        let mut child = spawn_local(&Command::new("sleep").arg("30"));
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(child.stdin.take());
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn commands_with_stdin_run_bare() {
        let cmd = Command::new("cat").stdin(b"x".to_vec());
        assert_eq!(command_line(&cmd), "cat");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"a\xffb\n"), vec!["a\u{fffd}b"]);
    }
}
