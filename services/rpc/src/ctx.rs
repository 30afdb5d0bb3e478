//! What a handler knows about the call it serves.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::conn::Peer;
use crate::verify::Caller;

/// The call context: who is calling (already authenticated and permission-checked), from
/// where, and — for WebSocket calls — the connection, for reverse calls.
#[derive(Clone)]
pub struct Ctx {
    caller: Arc<Caller>,
    peer: Option<Peer>,
    remote: Option<SocketAddr>,
    method: &'static str,
}

impl Ctx {
    /// A context for calling handlers directly (unit tests, in-process use).
    pub fn new(caller: Caller, remote: Option<SocketAddr>) -> Self {
        Self {
            caller: Arc::new(caller),
            peer: None,
            remote,
            method: "",
        }
    }

    pub(crate) fn from_parts(
        caller: Arc<Caller>,
        peer: Option<Peer>,
        remote: Option<SocketAddr>,
        method: &'static str,
    ) -> Self {
        Self {
            caller,
            peer,
            remote,
            method,
        }
    }

    /// The authenticated caller: `ctx.caller().user`, `ctx.caller().perm`.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The WebSocket connection the call arrived on (`None` over HTTP).
    pub fn peer(&self) -> Option<&Peer> {
        self.peer.as_ref()
    }

    /// The remote socket address, when the server was started with connect info
    /// (`venus_rpc::serve` does that).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// The full method name being served (empty for a context made with [`Ctx::new`]).
    pub fn method(&self) -> &'static str {
        self.method
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("user", &self.caller.user)
            .field("perm", &self.caller.perm)
            .field("peer", &self.peer.as_ref().map(Peer::id))
            .field("remote", &self.remote)
            .field("method", &self.method)
            .finish()
    }
}
