//! venus-gateway: wallets, provers and markets dial in over WebSocket and register; chain
//! services (messager, miner, droplet) ask the gateway to sign, prove or unseal and it
//! forwards each request to a live connection that can serve it.

pub mod api;
pub mod channel;
pub mod config;
pub mod directory;
pub mod events;
pub mod local;
pub mod metrics;
pub mod miners;
pub mod proxy;
pub mod service;
pub mod wallets;
