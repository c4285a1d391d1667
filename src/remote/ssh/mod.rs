//! A host over SSH (russh): one connection per host, opened on first use and
//! shared by every command (one channel each), kept alive, reopened with backoff
//! after a loss. Every operation is bounded by its timeout, so a hung host costs
//! at most that and never holds up another host.

mod auth;
mod channel_open;
mod connection;
mod exec;
mod handler;
mod host_key;
pub mod host_key_policy;
pub mod known_hosts;
pub mod pattern;
mod proxy_command;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use russh::client::Msg;
use russh::{Channel, ChannelReadHalf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use self::channel_open::Open;
use self::connection::{Connection, Link};
use self::exec::{ChannelGuard, Ending};
use super::{ByteStream, Command, Forward, LineStream, Output, Remote, RemoteError, SshTarget};

/// Capacity of a streamed command's line queue.
const STREAM_CAPACITY: usize = 1024;
/// Chunks in flight on a byte stream (each one SSH data message, up to 32 KiB).
const BYTE_STREAM_CAPACITY: usize = 32;
/// Session channels open at once on one connection; OpenSSH's MaxSessions defaults
/// to 10 and refuses the eleventh, so we queue before that.
const MAX_SESSIONS: usize = 8;
/// Times a refused session channel is asked for again (see `open_channel`).
const SESSION_RETRIES: u32 = 8;

/// One host reached over SSH. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct SshRemote {
    inner: Arc<Inner>,
}

struct Inner {
    link: Link,
    sessions: Semaphore,
}

impl SshRemote {
    /// A remote for `target`, using the ssh-agent named by `SSH_AUTH_SOCK` (if any).
    /// Does not connect: the first operation does.
    pub fn new(target: SshTarget) -> SshRemote {
        SshRemote::with_agent(target, auth::agent_from_env())
    }

    /// A remote for `target` asking the ssh-agent at `agent_socket` for keys (`None`:
    /// identity files only), e.g. OpenSSH's `IdentityAgent`. Does not connect.
    pub fn with_agent(target: SshTarget, agent_socket: Option<PathBuf>) -> SshRemote {
        SshRemote {
            inner: Arc::new(Inner {
                link: Link::new(target, agent_socket),
                sessions: Semaphore::new(MAX_SESSIONS),
            }),
        }
    }

    /// The settings this remote connects with.
    pub fn target(&self) -> &SshTarget {
        &self.inner.link.target
    }

    /// Opens the connection now (if not already open), bounded by `timeout`.
    pub async fn connect(&self, timeout: Duration) -> Result<(), RemoteError> {
        self.inner
            .link
            .get(Instant::now() + timeout)
            .await
            .map(|_| ())
    }

    /// Whether a live connection is open.
    pub fn is_connected(&self) -> bool {
        self.inner.link.is_connected()
    }

    /// Closes the connection; the next operation opens a new one.
    pub async fn disconnect(&self) {
        self.inner.link.close().await;
    }

    fn label(&self) -> &str {
        &self.inner.link.target.label
    }

    async fn bounded<T>(
        &self,
        deadline: Instant,
        after: Duration,
        what: &str,
        fut: impl Future<Output = Result<T, RemoteError>>,
    ) -> Result<T, RemoteError> {
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(result) => result,
            Err(_) => Err(RemoteError::Timeout {
                what: format!("{what} on {}", self.label()),
                after,
            }),
        }
    }

    /// Opens a session channel and starts `cmd` on it, reconnecting once if the
    /// connection turns out to be dead before the command started.
    async fn start(&self, cmd: &Command, deadline: Instant) -> Result<Started<'_>, RemoteError> {
        let permit = self
            .inner
            .sessions
            .acquire()
            .await
            .map_err(|_| RemoteError::Other("remote is shut down".into()))?;
        let (conn, channel) = self.open_channel(deadline, &Open::Session).await?;
        let (read, write) = channel.split();
        let guard = ChannelGuard::new(write);
        // From here the command may have started: no retry on another connection.
        if let Err(e) = guard.writer().exec(true, exec::command_line(cmd)).await {
            return Err(self.channel_error(&conn, e));
        }
        if let Some(data) = cmd.stdin_data() {
            exec::feed_stdin(guard.writer(), data.to_vec());
        }
        Ok(Started {
            read,
            guard,
            _permit: permit,
            conn,
        })
    }

    /// Opens a channel, on a fresh connection once if the current one turns out to
    /// be dead or keeps refusing sessions (nothing has run yet, so trying again is
    /// safe).
    async fn open_channel(
        &self,
        deadline: Instant,
        what: &Open,
    ) -> Result<(Arc<Connection>, Channel<Msg>), RemoteError> {
        let mut retried = false;
        let mut refusals = 0u32;
        loop {
            let conn = self.inner.link.get(deadline).await?;
            match channel_open::open(&conn, what).await {
                Ok(channel) => return Ok((conn, channel)),
                Err(e) if conn.is_closed() && !retried => {
                    tracing::debug!(host = %self.label(), "stale connection ({e}); reconnecting");
                    self.inner.link.discard(&conn);
                    retried = true;
                }
                // sshd frees a closed session only after the packets that arrived with
                // its close are handled, so a burst of commands can briefly exceed
                // MaxSessions: a refused session is retried shortly, within the deadline.
                Err(russh::Error::ChannelOpenFailure(reason)) if matches!(what, Open::Session) => {
                    refusals += 1;
                    let pause = Duration::from_millis(25 << refusals.min(4));
                    let out_of_time = Instant::now() + pause >= deadline;
                    if refusals > SESSION_RETRIES || out_of_time {
                        // The server holds every session it allows on this connection
                        // (ours, or ones it failed to free): a new connection has its own.
                        // Commands running on this one keep it until they end.
                        tracing::info!(host = %self.label(), ?reason, "sessions refused; moving to a new connection");
                        self.inner.link.discard(&conn);
                        if retried || out_of_time {
                            return Err(
                                self.channel_error(&conn, russh::Error::ChannelOpenFailure(reason))
                            );
                        }
                        retried = true;
                        refusals = 0;
                        continue;
                    }
                    tracing::debug!(host = %self.label(), ?reason, "session refused; retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(e) => return Err(self.channel_error(&conn, e)),
            }
        }
    }

    fn channel_error(&self, conn: &Connection, e: russh::Error) -> RemoteError {
        let host = self.label().to_string();
        if conn.is_closed() {
            return RemoteError::Disconnected {
                host,
                reason: e.to_string(),
            };
        }
        match e {
            russh::Error::ChannelOpenFailure(reason) => RemoteError::SessionRefused {
                host,
                what: format!(
                    "a new channel ({reason:?}); its sshd may limit sessions (MaxSessions)"
                ),
            },
            other => RemoteError::Other(format!("{host}: {other}")),
        }
    }
}

/// A command started on its own channel.
impl SshRemote {
    /// Starts a command whose output is streamed, bounded by its timeout. A
    /// stream may run for hours: it gives back its short-command slot.
    async fn start_stream(
        &self,
        cmd: &Command,
    ) -> Result<(ChannelReadHalf, ChannelGuard), RemoteError> {
        let limit = cmd.get_timeout();
        let deadline = Instant::now() + limit;
        self.bounded(deadline, limit, cmd.program(), async {
            let Started { read, guard, .. } = self.start(cmd, deadline).await?;
            Ok((read, guard))
        })
        .await
    }
}

struct Started<'a> {
    read: ChannelReadHalf,
    guard: ChannelGuard,
    _permit: tokio::sync::SemaphorePermit<'a>,
    conn: Arc<Connection>,
}

#[async_trait]
impl Remote for SshRemote {
    fn name(&self) -> &str {
        self.label()
    }

    async fn run(&self, cmd: &Command) -> Result<Output, RemoteError> {
        let limit = cmd.get_timeout();
        let deadline = Instant::now() + limit;
        let work = async {
            let mut started = self.start(cmd, deadline).await?;
            let (out, ending) = exec::collect(&mut started.read, cmd.get_max_output()).await;
            match ending {
                Ending::Refused => Err(RemoteError::SessionRefused {
                    host: self.label().to_string(),
                    what: format!("to run {}", cmd.program()),
                }),
                Ending::Closed(_) if out.truncated => {
                    // Dropping the guard closes the channel: the command is stopped.
                    tracing::warn!(
                        host = %self.label(),
                        command = cmd.program(),
                        limit = cmd.get_max_output(),
                        "output truncated: the command wrote more than its limit"
                    );
                    Ok(out)
                }
                Ending::Closed(status) => {
                    started.guard.finished();
                    if status.is_none() && started.conn.is_closed() {
                        return Err(RemoteError::Disconnected {
                            host: self.label().to_string(),
                            reason: format!("while running {}", cmd.program()),
                        });
                    }
                    Ok(out)
                }
            }
        };
        self.bounded(deadline, limit, cmd.program(), work).await
    }

    async fn stream(&self, cmd: &Command) -> Result<LineStream, RemoteError> {
        let (read, guard) = self.start_stream(cmd).await?;
        let (tx, rx) = mpsc::channel(STREAM_CAPACITY);
        tokio::spawn(exec::pump_lines(read, guard, tx));
        Ok(rx)
    }

    async fn stream_bytes(&self, cmd: &Command) -> Result<ByteStream, RemoteError> {
        let (read, guard) = self.start_stream(cmd).await?;
        let (tx, rx) = mpsc::channel(BYTE_STREAM_CAPACITY);
        tokio::spawn(exec::pump_bytes(read, guard, tx));
        Ok(rx)
    }

    /// Each accepted connection is carried on its own direct-tcpip channel of the
    /// shared connection. A local client that stops reading while the remote end keeps
    /// sending eventually pauses that whole connection (russh's per-channel queue is
    /// bounded); database clients, the intended users, read what they asked for.
    async fn forward(&self, host: &str, port: u16) -> Result<Forward, RemoteError> {
        let connect_timeout = self.target().connect_timeout;
        // Connect now, so an unreachable host is reported here and not per connection.
        self.connect(connect_timeout).await?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| RemoteError::Io(format!("cannot listen on loopback: {e}")))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| RemoteError::Io(e.to_string()))?;
        let remote = self.clone();
        let host = host.to_string();
        let task = tokio::spawn(async move {
            // Owned here so dropping the Forward (aborting this task) ends every copy too.
            let mut copies = JoinSet::new();
            while let Ok((inbound, peer)) = listener.accept().await {
                while copies.try_join_next().is_some() {}
                let remote = remote.clone();
                let host = host.clone();
                copies.spawn(async move {
                    if let Err(e) = remote
                        .carry(inbound, &host, port, peer, connect_timeout)
                        .await
                    {
                        tracing::warn!(remote = %remote.label(), "forward to {host}:{port}: {e}");
                    }
                });
            }
        });
        Ok(Forward {
            local_addr,
            _task: task,
        })
    }
}

impl SshRemote {
    /// Carries one accepted local connection to `host:port` through a direct-tcpip channel.
    async fn carry(
        &self,
        mut inbound: tokio::net::TcpStream,
        host: &str,
        port: u16,
        peer: std::net::SocketAddr,
        connect_timeout: Duration,
    ) -> Result<(), RemoteError> {
        let deadline = Instant::now() + connect_timeout;
        let open = Open::DirectTcpip {
            host: host.to_string(),
            port,
            from: peer,
        };
        let (_conn, channel) = self
            .bounded(
                deadline,
                connect_timeout,
                "opening a tunnel",
                self.open_channel(deadline, &open),
            )
            .await?;
        let mut outbound = channel.into_stream();
        tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
            .await
            .map(|_| ())
            .map_err(|e| RemoteError::Io(e.to_string()))
    }
}
