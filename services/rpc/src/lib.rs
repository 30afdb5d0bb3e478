//! go-jsonrpc-compatible JSON-RPC for every venus service: server, client, tokens and
//! permissions, channels and reverse calls. See the crate README for usage.

// Tests may unwrap: a panic there is a failed assertion.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod call_error;
pub mod client;
mod conn;
mod ctx;
mod error;
pub mod jwt;
mod method;
mod metrics;
pub mod observe;
pub mod perm;
pub mod process;
pub mod process_metrics;
mod router;
mod serve;
mod server;
pub mod timeout;
pub mod tls;
pub mod verify;
pub mod wire;

pub use call_error::ClientError;
pub use client::{Client, ClientBuilder};
pub use conn::{ChannelStream, ConnLimits, Peer};
pub use ctx::Ctx;
pub use error::RpcError;
pub use method::{Method, Subscription};
pub use perm::Permission;
pub use router::Router;
pub use serve::{
    App, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_REQUEST_TIMEOUT, DirectFuture,
    DirectHandler, PreRoute, ServeOptions, serve, serve_with,
};
pub use server::{
    DEFAULT_MAX_BATCH_LEN, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_REVERIFY_INTERVAL, Server,
};
pub use verify::{
    Caller, ChainVerifier, LocalVerifier, MAX_TOKEN_BYTES, TokenVerifier, VerifyError,
};
