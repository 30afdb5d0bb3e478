//! Why an outgoing call (client → server, or a server's reverse call → client) failed.

use crate::error::RpcError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The remote answered with a JSON-RPC error.
    #[error("{0}")]
    Rpc(RpcError),
    /// HTTP 401: no token, or the token was refused.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// An HTTP status with a body that is not a JSON-RPC response.
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("call timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("connection closed")]
    Closed,
    #[error("connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("bad address {0}")]
    Address(String),
    #[error("encoding params: {0}")]
    Encode(String),
    #[error("decoding result: {0}")]
    Decode(String),
    /// Channel methods need a WebSocket connection.
    #[error("{0} needs a WebSocket connection (use a ws:// address or a multiaddr without /http)")]
    NeedsWebSocket(String),
}

impl ClientError {
    /// The JSON-RPC error the remote sent, if that is what this is.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            Self::Rpc(e) => Some(e),
            _ => None,
        }
    }
}

/// Forwarding a failed downstream call as this server's own method error.
impl From<ClientError> for RpcError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Rpc(e) => e,
            other => RpcError::method(other),
        }
    }
}
