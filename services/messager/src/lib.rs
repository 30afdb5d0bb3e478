//! venus-messager: durable per-address message queues. Clusters push unsigned messages;
//! the primary instance assigns nonces, estimates gas, has the cluster's wallet sign them
//! through the gateway, pushes them to the nodes, follows them to the chain and re-prices
//! the stuck ones. See README.md.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod access;
pub mod api;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod metrics;
pub mod nodes;
pub mod pipeline;
pub mod run;
pub mod service;
pub mod store;
pub mod tracker;
pub mod wallets;
