//! venus-gateway: wallets and provers dial in over WebSocket and register; chain services
//! (messager, miner) ask the gateway to sign or prove and it forwards each request to a live
//! connection that can serve it.

pub mod api;
pub mod config;
pub mod directory;
pub mod events;
pub mod metrics;
pub mod provers;
pub mod service;
pub mod wallets;
