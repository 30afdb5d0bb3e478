//! The `venus` chain node: CLI, repo and config, the daemon (auth chain, API server,
//! health and metrics), the seed commands that create a local network, and the CLI client
//! commands that talk to a running daemon.

pub mod api;
pub mod auth;
#[cfg(feature = "chain")]
pub mod chain_api;
pub mod cli;
pub mod client_cmds;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod devnet;
#[cfg(feature = "chain")]
pub mod gas;
pub mod keyfile;
#[cfg(feature = "chain")]
pub mod metrics;
pub mod mpool;
#[cfg(feature = "chain")]
pub mod msg_wait;
#[cfg(feature = "chain")]
pub mod net;
#[cfg(feature = "chain")]
pub mod net_api;
pub mod network;
#[cfg(feature = "chain")]
#[path = "node_chain.rs"]
pub mod node;
#[cfg(not(feature = "chain"))]
#[path = "node_basic.rs"]
pub mod node;
pub mod pool_msg;
pub mod repo;
pub mod seed;
pub mod server;
#[cfg(feature = "chain")]
pub mod sync;
pub mod upgrades;
