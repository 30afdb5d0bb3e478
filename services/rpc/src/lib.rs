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
pub use serve::{App, DirectFuture, DirectHandler, ServeOptions, serve, serve_with};
pub use server::{DEFAULT_MAX_REQUEST_BYTES, Server};
pub use verify::{Caller, ChainVerifier, LocalVerifier, TokenVerifier, VerifyError};
