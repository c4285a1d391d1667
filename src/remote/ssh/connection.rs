//! Opening one SSH connection (directly or through a bastion) and keeping it:
//! lazy connect, reuse, reconnect with backoff.

use std::future::Future;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;
use tokio::time::Instant;

use super::handler::ClientHandler;
use super::host_key_policy::{HostKeyProblem, HostKeyRefusal};
use super::proxy_command::{self, ProxyProcess};
use super::{auth, host_key};
use crate::remote::{ConnectCause, RemoteError, SshTarget};

/// Longest pause between attempts to reach a host that keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Keepalives unanswered before the connection counts as lost.
const KEEPALIVE_MAX: usize = 3;

/// An authenticated SSH connection. Channels are opened on `handle`.
pub(crate) struct Connection {
    pub(crate) handle: Handle<ClientHandler>,
    /// The bastion's connection, kept open while this one runs through it.
    _bastion: Option<Box<Connection>>,
    /// The ProxyCommand carrying this connection (killed when it is dropped).
    _proxy: Option<ProxyProcess>,
}

impl Connection {
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
            || self
                ._bastion
                .as_ref()
                .is_some_and(|bastion| bastion.is_closed())
    }
}

/// How long to wait after `failures` consecutive failed attempts: 0.5 s, 1 s, 2 s, … 30 s.
pub(crate) fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32 << (failures - 1).min(16);
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// The outcome of one connection attempt, shared by everyone waiting for it.
type AttemptResult = Option<Result<Arc<Connection>, RemoteError>>;

#[derive(Default)]
struct State {
    conn: Option<Arc<Connection>>,
    /// The attempt under way, if any.
    attempt: Option<watch::Receiver<AttemptResult>>,
    failures: u32,
    last_failure: Option<(Instant, RemoteError)>,
}

/// The one connection to a host, opened on first use and shared by every operation.
pub(crate) struct Link {
    pub(crate) target: Arc<SshTarget>,
    /// The ssh-agent socket to ask for keys, if any.
    agent: Option<Arc<Path>>,
    state: Arc<Mutex<State>>,
}

impl Link {
    pub(crate) fn new(target: SshTarget, agent: Option<PathBuf>) -> Self {
        Link {
            target: Arc::new(target),
            agent: agent.map(Arc::from),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one
        // assignment.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The live connection, opening one if needed, waiting at most until `deadline`.
    ///
    /// A connection attempt runs in its own task, bounded by the connect timeout only:
    /// callers that started or joined it wait for it as long as their own operation
    /// allows, and an attempt that outlives them still serves the next operation (so
    /// a slow handshake is not restarted forever by short operations).
    pub(crate) async fn get(&self, deadline: Instant) -> Result<Arc<Connection>, RemoteError> {
        let started = Instant::now();
        let mut attempt = {
            let mut state = self.lock();
            if let Some(conn) = &state.conn {
                if !conn.is_closed() {
                    return Ok(Arc::clone(conn));
                }
                tracing::info!(host = %self.target.label, "connection lost; reconnecting");
                state.conn = None;
            }
            match &state.attempt {
                Some(attempt) => attempt.clone(),
                None => {
                    let mut retry_at = Instant::now();
                    if let Some((at, err)) = &state.last_failure {
                        retry_at = *at + backoff(state.failures);
                        if retry_at > deadline {
                            // Not hammering a dead host: within this operation's time
                            // there is no new attempt to make, so the last answer stands.
                            return Err(err.clone());
                        }
                    }
                    let (tx, rx) = watch::channel(None);
                    state.attempt = Some(rx.clone());
                    tokio::spawn(attempt_connection(
                        Arc::clone(&self.target),
                        self.agent.clone(),
                        Arc::clone(&self.state),
                        retry_at,
                        tx,
                    ));
                    rx
                }
            }
        };
        let waited = tokio::time::timeout_at(deadline, attempt.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(result)) => match &*result {
                Some(result) => result.clone(),
                None => Err(RemoteError::Other("connection attempt vanished".into())),
            },
            Ok(Err(_)) => Err(RemoteError::Other(format!(
                "connection attempt to {} was abandoned",
                self.target.label
            ))),
            Err(_) => Err(RemoteError::Timeout {
                what: format!("connecting to {}", self.target.label),
                after: started.elapsed(),
            }),
        }
    }

    /// Forgets `conn` if it is still the current connection (it proved dead).
    pub(crate) fn discard(&self, conn: &Arc<Connection>) {
        let mut state = self.lock();
        if state.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            state.conn = None;
        }
    }

    /// Closes the connection, if any; the next operation opens a new one.
    pub(crate) async fn close(&self) {
        let conn = self.lock().conn.take();
        if let Some(conn) = conn {
            let _ = conn
                .handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.lock().conn.as_ref().is_some_and(|c| !c.is_closed())
    }
}

/// One connection attempt (after the backoff pause), its outcome recorded in `state`
/// and announced to the waiters.
async fn attempt_connection(
    target: Arc<SshTarget>,
    agent: Option<Arc<Path>>,
    state: Arc<Mutex<State>>,
    start_at: Instant,
    tx: watch::Sender<AttemptResult>,
) {
    tokio::time::sleep_until(start_at).await;
    let limit = target.connect_timeout;
    let result = match tokio::time::timeout(limit, connect(Arc::clone(&target), agent)).await {
        Ok(Ok(conn)) => Ok(Arc::new(conn)),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(RemoteError::Timeout {
            what: format!("connecting to {}", target.label),
            after: limit,
        }),
    };
    {
        let mut state = state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.attempt = None;
        match &result {
            Ok(conn) => {
                state.conn = Some(Arc::clone(conn));
                state.failures = 0;
                state.last_failure = None;
                tracing::debug!(host = %target.label, "connected");
            }
            Err(err) => {
                state.failures = state.failures.saturating_add(1);
                state.last_failure = Some((Instant::now(), err.clone()));
                tracing::debug!(host = %target.label, failures = state.failures, "connect failed: {err}");
            }
        }
    }
    let _ = tx.send(Some(result));
}

fn config(target: &SshTarget) -> Arc<client::Config> {
    Arc::new(client::Config {
        keepalive_interval: (!target.keepalive.is_zero()).then_some(target.keepalive),
        keepalive_max: KEEPALIVE_MAX,
        inactivity_timeout: None,
        nodelay: true,
        preferred: russh::Preferred {
            key: host_key::preferred_algorithms(target),
            ..Default::default()
        },
        ..Default::default()
    })
}

type BoxedConnect = Pin<Box<dyn Future<Output = Result<Connection, RemoteError>> + Send>>;

/// Opens and authenticates a connection to `target`, through its bastion if it has one.
pub(crate) fn connect(target: Arc<SshTarget>, agent: Option<Arc<Path>>) -> BoxedConnect {
    // Boxed: a bastion may itself have a bastion.
    Box::pin(async move {
        let (handler, refusal) = ClientHandler::new(Arc::clone(&target));
        let config = config(&target);
        let mut proxy = None;
        let (handshake, bastion) = match (&target.jump, &target.proxy_command) {
            (None, Some(command)) => {
                let (stream, process) = proxy_command::spawn(command, &target.label)?;
                proxy = Some(process);
                (client::connect_stream(config, stream, handler).await, None)
            }
            (None, None) => {
                let tcp = tcp_connect(&target).await?;
                (client::connect_stream(config, tcp, handler).await, None)
            }
            (Some(jump), _) => {
                let bastion = connect(Arc::new((**jump).clone()), agent.clone())
                    .await
                    .map_err(|e| via_bastion(&target, &jump.label, e))?;
                let channel = bastion
                    .handle
                    .channel_open_direct_tcpip(
                        target.hostname.clone(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|e| RemoteError::Connect {
                        host: target.label.clone(),
                        reason: format!(
                            "bastion {} could not reach {}:{}: {}",
                            jump.label,
                            target.hostname,
                            target.port,
                            tunnel_failure(&e)
                        ),
                        cause: ConnectCause::Handshake,
                    })?;
                let stream = channel.into_stream();
                (
                    client::connect_stream(config, stream, handler).await,
                    Some(Box::new(bastion)),
                )
            }
        };
        let mut handle = match handshake {
            Ok(handle) => handle,
            Err(e) => {
                let refused = refusal.lock().ok().and_then(|mut slot| slot.take());
                // A proxy that died explains the failure better than the handshake.
                let died = match proxy.as_mut() {
                    Some(p) => p.explain().await,
                    None => None,
                };
                if let Some(why) = died {
                    return Err(RemoteError::Connect {
                        host: target.label.clone(),
                        reason: why,
                        cause: ConnectCause::Handshake,
                    });
                }
                return Err(match refused {
                    Some(why) => RemoteError::HostKey(why),
                    None => handshake_error(&target, e),
                });
            }
        };
        auth::authenticate(&mut handle, &target, agent.as_deref()).await?;
        Ok(Connection {
            handle,
            _bastion: bastion,
            _proxy: proxy,
        })
    })
}

/// A bastion's failure, told as a failure to reach the host behind it.
fn via_bastion(target: &SshTarget, bastion: &str, e: RemoteError) -> RemoteError {
    let host = target.label.clone();
    match e {
        RemoteError::Connect { reason, cause, .. } => RemoteError::Connect {
            host,
            reason: format!("via bastion {bastion}: {reason}"),
            cause,
        },
        RemoteError::Disconnected { reason, .. } => RemoteError::Disconnected {
            host,
            reason: format!("via bastion {bastion}: {reason}"),
        },
        RemoteError::Timeout { what, after } => RemoteError::Timeout {
            what: format!("{what} (bastion of {host})"),
            after,
        },
        // Host-key and authentication errors already name the bastion.
        other => other,
    }
}

fn tunnel_failure(e: &russh::Error) -> String {
    use russh::ChannelOpenFailure as F;
    match e {
        russh::Error::ChannelOpenFailure(F::ConnectFailed) => "connection failed".to_string(),
        russh::Error::ChannelOpenFailure(F::AdministrativelyProhibited) => {
            "forwarding is not allowed by its sshd (AllowTcpForwarding, PermitOpen)".to_string()
        }
        russh::Error::ChannelOpenFailure(F::ResourceShortage) => {
            "its sshd is out of resources".to_string()
        }
        other => other.to_string(),
    }
}

async fn tcp_connect(target: &SshTarget) -> Result<tokio::net::TcpStream, RemoteError> {
    let connect_err = |reason: String, cause| RemoteError::Connect {
        host: target.label.clone(),
        reason,
        cause,
    };
    let addrs: Vec<_> = tokio::net::lookup_host((target.hostname.as_str(), target.port))
        .await
        .map_err(|e| {
            connect_err(
                format!("cannot resolve {}: {e}", target.hostname),
                ConnectCause::Dns,
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(connect_err(
            format!("{} resolves to no address", target.hostname),
            ConnectCause::Dns,
        ));
    }
    let mut failures = Vec::new();
    let mut cause = ConnectCause::Other;
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => {
                cause = match e.kind() {
                    ErrorKind::ConnectionRefused => ConnectCause::Refused,
                    ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                        ConnectCause::Unreachable
                    }
                    _ => ConnectCause::Other,
                };
                failures.push(format!("{addr}: {}", describe_io(&e)));
            }
        }
    }
    Err(connect_err(failures.join("; "), cause))
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => {
            "connection refused (is sshd running on that port?)".to_string()
        }
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
            "no route to host".to_string()
        }
        _ => e.to_string(),
    }
}

fn handshake_error(target: &SshTarget, e: russh::Error) -> RemoteError {
    let host = target.label.clone();
    match e {
        russh::Error::Disconnect | russh::Error::HUP | russh::Error::IO(_) => {
            RemoteError::Disconnected {
                host,
                reason: format!("during the SSH handshake: {e}"),
            }
        }
        russh::Error::UnknownKey => RemoteError::HostKey(HostKeyRefusal::new(
            HostKeyProblem::Unusable,
            format!("host key of {host} refused"),
        )),
        other => RemoteError::Connect {
            host,
            reason: format!("SSH handshake failed: {other}"),
            cause: ConnectCause::Handshake,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second_up_to_thirty() {
        let secs: Vec<f64> = (0..9).map(|n| backoff(n).as_secs_f64()).collect();
        assert_eq!(secs, [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
