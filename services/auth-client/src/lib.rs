//! Client of venus-auth, used by gateway, node, messager and miner:
//!
//! * [`AuthClient::verify`] checks a token against venus-auth with a bounded cache whose
//!   entries live [`DEFAULT_CACHE_TTL`]; `AuthClient` is a [`venus_rpc::TokenVerifier`], so it
//!   plugs into the RPC server after the service's own `LocalVerifier`;
//! * typed calls for the user / miner / signer / rate-limit queries of the REST API;
//! * [`types`]: the REST JSON shapes, shared with the venus-auth server.

#![cfg_attr(test, allow(clippy::unwrap_used))]

mod addr;
mod cache;
mod client;
pub mod types;

pub use addr::parse_auth_addr;
pub use cache::{DEFAULT_CACHE_BYTES, VerifyCache};
pub use client::{
    API_NAMESPACE, API_NAMESPACE_HEADER, AuthClient, ClientError, DEFAULT_CACHE_CAPACITY,
    DEFAULT_CACHE_TTL,
};
