//! The one error type of the handle's methods.

use crate::xchg::Status;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The service's task has stopped (every handle's commands go nowhere).
    #[error("p2p service stopped")]
    Stopped,
    /// Dialling an address failed.
    #[error("dial {addr}: {reason}")]
    Dial { addr: String, reason: String },
    /// A request could not be sent, or no answer came (timeout, stream closed, bad frame).
    #[error("request to {peer}: {reason}")]
    Request { peer: String, reason: String },
    /// Too many requests to this peer are still waiting for an answer.
    #[error("too many pending requests to {0}")]
    TooManyRequests(String),
    /// The peer answered a chain-exchange request with an error status.
    #[error("chain exchange with {peer}: status {status}: {message}")]
    Status {
        peer: String,
        status: Status,
        message: String,
    },
    /// The peer's chain-exchange answer breaks the protocol (wrong head, broken links, bad indexes).
    #[error("invalid chain exchange response from {peer}: {reason}")]
    InvalidResponse { peer: String, reason: String },
    /// Publishing on gossipsub failed (for example the message is over the size cap).
    #[error("publish on {topic}: {reason}")]
    Publish { topic: String, reason: String },
    /// A value could not be encoded.
    #[error("encode: {0}")]
    Encode(String),
}
