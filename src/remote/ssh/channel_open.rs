//! Opening a channel so that giving up on it never leaks it.
//!
//! russh's `channel_open_*` waits for the server's confirmation; when that wait is
//! dropped (an operation's timeout on a host that stopped answering), a confirmation
//! that arrives later creates a channel nobody holds, and nobody closes it. The
//! server keeps that session open for as long as the connection lives: after a few
//! hangs of a host, every session it allows (OpenSSH's MaxSessions) is taken and the
//! host refuses all new commands, although it answers again. So the open runs in its
//! own task, and a channel that arrives after its caller left is closed at once.

use russh::Channel;
use russh::client::Msg;
use tokio::sync::oneshot;

use super::connection::Connection;
use std::sync::Arc;

/// A channel to open.
#[derive(Debug, Clone)]
pub(crate) enum Open {
    Session,
    /// A TCP connection from the host to `host:port`, for a local client at `from`.
    DirectTcpip {
        host: String,
        port: u16,
        from: std::net::SocketAddr,
    },
}

/// A confirmed channel on its way to the caller; closed if it is dropped unclaimed.
struct Unclaimed(Option<Channel<Msg>>);

impl Unclaimed {
    fn claim(mut self) -> Option<Channel<Msg>> {
        self.0.take()
    }
}

impl Drop for Unclaimed {
    fn drop(&mut self) {
        let Some(channel) = self.0.take() else {
            return;
        };
        tracing::debug!(channel = %channel.id(), "closing a channel confirmed after its caller gave up");
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = channel.close().await;
            });
        }
    }
}

/// Opens `what` on `conn`. Dropping the returned future before it is ready leaves
/// the open to a task that closes the channel if the server confirms it later.
pub(crate) async fn open(
    conn: &Arc<Connection>,
    what: &Open,
) -> Result<Channel<Msg>, russh::Error> {
    let (tx, rx) = oneshot::channel();
    let conn = Arc::clone(conn);
    let what = what.clone();
    tokio::spawn(async move {
        let result = match what {
            Open::Session => conn.handle.channel_open_session().await,
            Open::DirectTcpip { host, port, from } => {
                conn.handle
                    .channel_open_direct_tcpip(
                        host,
                        u32::from(port),
                        from.ip().to_string(),
                        u32::from(from.port()),
                    )
                    .await
            }
        };
        // A failed send hands the value back, and dropping it closes the channel.
        let _ = tx.send(result.map(|channel| Unclaimed(Some(channel))));
    });
    match rx.await {
        Ok(Ok(unclaimed)) => unclaimed.claim().ok_or(russh::Error::SendError),
        Ok(Err(e)) => Err(e),
        // The task ended without an answer: the runtime is shutting down.
        Err(_) => Err(russh::Error::SendError),
    }
}
