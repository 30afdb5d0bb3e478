//! The daemon's HTTP surface: JSON-RPC on `/rpc/v0` and `/rpc/v1` behind the token chain,
//! and the unauthenticated `/livez`, `/readyz`, `/healthz` and `/metrics`.

use std::sync::Arc;

use venus_rpc::TokenVerifier;
use venus_rpc::observe::{Health, Metrics};

use crate::node::Node;

/// Largest request accepted: a batch push of many messages fits well within it.
pub const MAX_REQUEST_BYTES: usize = 64 << 20;

pub fn app(node: Arc<Node>, verifier: Arc<dyn TokenVerifier>, metrics: &Metrics) -> venus_rpc::App {
    let router = crate::api::router(node.clone());
    let rpc = venus_rpc::Server::new(router, verifier)
        .paths(&["/rpc/v0", "/rpc/v1"])
        .max_request_bytes(MAX_REQUEST_BYTES)
        .metrics(metrics)
        .into_app();
    #[cfg(feature = "chain")]
    crate::metrics::register(metrics, node.clone());
    let live_node = node.clone();
    let health = Health::new()
        .live("chain-store", move || {
            let node = live_node.clone();
            async move { node.check_live() }
        })
        .ready("synced", move || {
            let node = node.clone();
            async move { node.check_ready() }
        });
    rpc.merge(health.router()).merge(metrics.router())
}
