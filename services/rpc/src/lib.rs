//! go-jsonrpc-compatible JSON-RPC for every venus service: server, client, tokens and
//! permissions, channels and reverse calls.

pub mod jwt;
pub mod perm;
pub mod verify;

pub use perm::Permission;
pub use verify::{Caller, ChainVerifier, LocalVerifier, TokenVerifier, VerifyError};
