//! venus-auth: issues and verifies the JWT tokens every venus component and mining cluster
//! authenticates with, and keeps which user owns which miners and signer addresses.
//! A drop-in for the original (sophon-auth, formerly venus-auth): same CLI, config, REST
//! paths and JSON.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod address;
pub mod api;
pub mod authority;
pub mod cli;
pub mod config;
pub mod metrics;
pub mod repo;
pub mod server;
pub mod store;
