//! The provider's side of a `Listen*Event` channel, shared by wallets, provers and markets:
//! who registered, and the connection's outbound queue as the stream go-jsonrpc sends down
//! the WebSocket (`xrpc.ch.val`).

use std::net::SocketAddr;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::mpsc;
use venus_api::gateway::RequestEvent;

use crate::events::{Connection, Events};

/// Who registers: the token's user, the WebSocket the call came on.
#[derive(Debug, Clone)]
pub struct Provider {
    pub account: String,
    pub peer_id: u64,
    pub remote: Option<SocketAddr>,
    /// The WebSocket, watched so a dead connection is dropped even if its stream lingers.
    pub peer: Option<venus_rpc::Peer>,
}

impl Provider {
    /// A new connection of this provider and its outbound queue.
    pub fn connect(&self) -> (Arc<Connection>, mpsc::Receiver<RequestEvent>) {
        Connection::new(self.account.clone(), self.peer_id, self.remote)
    }
}

/// The stream of `conn`'s events. It ends when the connection is closed; `on_close` runs
/// exactly once, when the stream ends or is dropped (the WebSocket went away, or the provider
/// cancelled the call). When the WebSocket closes, `events` fails the connection's in-flight
/// requests at once so their callers move on to another connection.
pub fn event_stream(
    events: Arc<Events>,
    conn: Arc<Connection>,
    rx: mpsc::Receiver<RequestEvent>,
    peer: Option<venus_rpc::Peer>,
    on_close: impl FnOnce(&Connection) + Send + 'static,
) -> impl Stream<Item = RequestEvent> + Send + 'static {
    if let Some(peer) = peer {
        let (events, conn) = (events.clone(), conn.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = peer.closed() => events.close(&conn),
                _ = conn.closed() => {}
            }
        });
    }
    struct Guard<F: FnOnce(&Connection)> {
        events: Arc<Events>,
        conn: Arc<Connection>,
        on_close: Option<F>,
    }
    impl<F: FnOnce(&Connection)> Drop for Guard<F> {
        fn drop(&mut self) {
            self.events.close(&self.conn);
            if let Some(f) = self.on_close.take() {
                f(&self.conn);
            }
        }
    }
    let guard = Guard {
        events,
        conn,
        on_close: Some(on_close),
    };
    futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        let conn = guard.conn.clone();
        let next = tokio::select! {
            ev = rx.recv() => ev,
            _ = conn.closed() => None,
        };
        next.map(|ev| (ev, (rx, guard)))
    })
}
