//! The chain nodes the messager talks to: the main node (`[node] url`) and the extra nodes
//! (`node add`, the `nodes` table). Every node's head is checked on a timer; reads go to the
//! *active* node — the main node while it is reachable and not behind, otherwise the
//! healthy node with the highest head — and pushes go to every healthy node. The switch
//! back to the main node happens by itself when it recovers (the original needs a config
//! edit and a restart, venus#5613).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::Mutex;
use venus_api::full_node as api;
use venus_rpc::{Client, ClientError};
use venus_types::{ChainEpoch, TipSet};

use crate::metrics::MessagerMetrics;

/// How many epochs the main node may trail the best node before reads leave it.
pub const MAX_LAG_EPOCHS: ChainEpoch = 2;

pub struct NodeEndpoint {
    pub name: String,
    pub url: String,
    token: String,
    client: Mutex<Option<Client>>,
    healthy: AtomicBool,
    /// Whether any probe has finished: a node that never answered is reported once too.
    probed: AtomicBool,
    height: AtomicI64,
}

impl NodeEndpoint {
    pub fn new(name: &str, url: &str, token: &str) -> Arc<Self> {
        Arc::new(Self {
            name: name.to_owned(),
            url: url.to_owned(),
            token: token.to_owned(),
            client: Mutex::new(None),
            healthy: AtomicBool::new(false),
            probed: AtomicBool::new(false),
            height: AtomicI64::new(-1),
        })
    }

    /// The connection, dialled on first use and again after it was dropped.
    pub async fn client(&self) -> Result<Client, ClientError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = Client::builder(&self.url)
            .version("v1")
            .token((!self.token.is_empty()).then(|| self.token.clone()))
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(3))
            .max_reconnect_delay(Duration::from_secs(2))
            .connect()
            .await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Forget the connection so the next use dials again.
    pub async fn reset(&self) {
        *self.client.lock().await = None;
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn height(&self) -> ChainEpoch {
        self.height.load(Ordering::Relaxed)
    }

    /// Asks the node for its head; records whether it answered.
    pub async fn probe(&self, timeout: Duration) -> Option<TipSet> {
        let result = match self.client().await {
            Ok(c) => c.call_timeout(api::CHAIN_HEAD, (), timeout).await,
            Err(e) => Err(e),
        };
        let first = !self.probed.swap(true, Ordering::Relaxed);
        match result {
            Ok(head) => {
                if !self.healthy.swap(true, Ordering::Relaxed) {
                    tracing::info!(node = %self.name, height = head.height(), "node answers");
                }
                self.height.store(head.height(), Ordering::Relaxed);
                Some(head)
            }
            Err(e) => {
                if self.healthy.swap(false, Ordering::Relaxed) || first {
                    tracing::warn!(node = %self.name, error = %e, "node unreachable");
                }
                if matches!(
                    e,
                    ClientError::Connect { .. } | ClientError::Closed | ClientError::Timeout(_)
                ) {
                    self.reset().await;
                }
                None
            }
        }
    }
}

pub struct NodePool {
    main: Arc<NodeEndpoint>,
    extras: RwLock<Vec<Arc<NodeEndpoint>>>,
    active: RwLock<Arc<NodeEndpoint>>,
    metrics: MessagerMetrics,
    pub multi_node: bool,
}

impl NodePool {
    pub fn new(main: Arc<NodeEndpoint>, metrics: MessagerMetrics, multi_node: bool) -> Arc<Self> {
        Arc::new(Self {
            active: RwLock::new(main.clone()),
            main,
            extras: RwLock::new(Vec::new()),
            metrics,
            multi_node,
        })
    }

    /// Replaces the extra nodes with the `nodes` table's (keeping live connections).
    pub fn set_extras(&self, nodes: &[(String, String, String)]) {
        let mut extras = self.extras.write();
        let kept: Vec<Arc<NodeEndpoint>> = nodes
            .iter()
            .map(|(name, url, token)| {
                extras
                    .iter()
                    .find(|e| &e.name == name && &e.url == url && &e.token == token)
                    .cloned()
                    .unwrap_or_else(|| NodeEndpoint::new(name, url, token))
            })
            .collect();
        *extras = kept;
    }

    pub fn all(&self) -> Vec<Arc<NodeEndpoint>> {
        let mut v = vec![self.main.clone()];
        v.extend(self.extras.read().iter().cloned());
        v
    }

    /// The node reads go to.
    pub fn active(&self) -> Arc<NodeEndpoint> {
        self.active.read().clone()
    }

    /// A client of the active node.
    pub async fn client(&self) -> Result<Client, ClientError> {
        self.active().client().await
    }

    /// The nodes pushes go to: the active one first, then (with `enableMultiNode`) every
    /// other node that answered its last check.
    pub fn push_targets(&self) -> Vec<Arc<NodeEndpoint>> {
        let active = self.active();
        let mut v = vec![active.clone()];
        if self.multi_node {
            v.extend(
                self.all()
                    .into_iter()
                    .filter(|n| !Arc::ptr_eq(n, &active) && n.is_healthy()),
            );
        }
        v
    }

    /// Probes every node and picks the active one. Returns true when it changed.
    pub async fn check(&self, timeout: Duration) -> bool {
        let nodes = self.all();
        futures::future::join_all(nodes.iter().map(|n| n.probe(timeout))).await;
        let best = nodes
            .iter()
            .filter(|n| n.is_healthy())
            .map(|n| n.height())
            .max();
        let current = self.active();
        let chosen = match best {
            None => current.clone(),
            Some(best) if self.main.is_healthy() && self.main.height() + MAX_LAG_EPOCHS >= best => {
                self.main.clone()
            }
            Some(best) => {
                if current.is_healthy() && current.height() + MAX_LAG_EPOCHS >= best {
                    current.clone()
                } else {
                    nodes
                        .iter()
                        .filter(|n| n.is_healthy())
                        .max_by_key(|n| n.height())
                        .cloned()
                        .unwrap_or_else(|| current.clone())
                }
            }
        };
        for n in &nodes {
            self.metrics
                .node_head(&n.name, n.height(), Arc::ptr_eq(n, &chosen));
        }
        if Arc::ptr_eq(&chosen, &current) {
            return false;
        }
        tracing::warn!(from = %current.name, to = %chosen.name, height = chosen.height(), "switching the active node");
        *self.active.write() = chosen;
        true
    }
}
