//! Providers that register per miner: provers (`ListenProofEvent`, `ComputeProof`) and
//! markets (`ListenMarketEvent`, `SectorsUnsealPiece`). Both streams are the same thing — a
//! [`MinerStream`] of a [`Kind`] — and differ only in the requests routed over them.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::Stream;
use parking_lot::RwLock;
use uuid::Uuid;
use venus_api::gateway::{
    ConnectState, ConnectedCompleted, ConnectionStates, RequestEvent, ResponseEvent, event,
};
use venus_rpc::RpcError;
use venus_types::Address;

use crate::channel::{Provider, event_stream};
use crate::events::{Connection, Events};
use crate::metrics::{GatewayMetrics, Kind};

/// Live connections by miner.
#[derive(Debug)]
pub struct MinerRegistry<M> {
    miners: RwLock<BTreeMap<M, HashMap<Uuid, Arc<Connection>>>>,
}

impl<M> Default for MinerRegistry<M> {
    fn default() -> Self {
        Self {
            miners: RwLock::new(BTreeMap::new()),
        }
    }
}

impl<M: Clone + Ord + Display> MinerRegistry<M> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&self, miner: M, conn: Arc<Connection>) {
        self.miners
            .write()
            .entry(miner)
            .or_default()
            .insert(conn.id(), conn);
    }

    /// Forget a connection; a miner with no connection left disappears from the list.
    pub fn remove(&self, miner: &M, channel: Uuid) -> bool {
        let mut miners = self.miners.write();
        let Some(conns) = miners.get_mut(miner) else {
            return false;
        };
        let removed = conns.remove(&channel).is_some();
        if conns.is_empty() {
            miners.remove(miner);
        }
        removed
    }

    pub fn candidates(&self, miner: &M) -> Vec<Arc<Connection>> {
        self.miners
            .read()
            .get(miner)
            .map(|c| c.values().filter(|c| !c.is_closed()).cloned().collect())
            .unwrap_or_default()
    }

    /// Miners with at least one live connection.
    pub fn miners(&self) -> Vec<M> {
        self.miners.read().keys().cloned().collect()
    }

    /// The connections of `miner` (oldest first), as operators see them.
    pub fn state_of(&self, miner: &M) -> ConnectionStates {
        self.miners
            .read()
            .get(miner)
            .map(|c| states(c.values()))
            .unwrap_or_default()
    }

    /// Every miner with its connections.
    pub fn states(&self) -> Vec<(M, ConnectionStates)> {
        self.miners
            .read()
            .iter()
            .map(|(m, c)| (m.clone(), states(c.values())))
            .collect()
    }

    /// Number of miners with a connection.
    pub fn miner_count(&self) -> usize {
        self.miners.read().len()
    }
}

fn states<'a>(conns: impl Iterator<Item = &'a Arc<Connection>>) -> ConnectionStates {
    let mut connections: Vec<ConnectState> = conns
        .map(|c| ConnectState {
            addrs: Vec::new(),
            channel_id: c.id(),
            ip: c.peer_addr().map(|p| p.to_string()).unwrap_or_default(),
            request_count: c.in_flight(),
            create_time: c.created().to_rfc3339(),
        })
        .collect();
    connections.sort_by(|a, b| (&a.create_time, a.channel_id).cmp(&(&b.create_time, b.channel_id)));
    ConnectionStates {
        connection_count: connections.len(),
        connections,
    }
}

/// One per-miner stream (provers or markets): its connections, its pending requests, its
/// metrics.
pub struct MinerStream {
    kind: Kind,
    events: Arc<Events>,
    conns: MinerRegistry<Address>,
    metrics: GatewayMetrics,
}

impl MinerStream {
    pub fn new(kind: Kind, metrics: GatewayMetrics) -> Arc<Self> {
        Arc::new(Self {
            kind,
            events: Arc::new(Events::new()),
            conns: MinerRegistry::new(),
            metrics,
        })
    }

    /// Register `who` for `miner` (venus-auth has bound the two: the caller checks) and
    /// return the channel's events, `InitConnect` first.
    pub fn open(
        self: &Arc<Self>,
        who: Provider,
        miner: Address,
    ) -> impl Stream<Item = RequestEvent> + Send + use<> {
        let (conn, rx) = who.connect();
        self.conns.insert(miner, conn.clone());
        self.metrics.registered(self.kind, conn.account());
        self.metrics.set_miners(self.kind, self.conns.miner_count());
        let kind = self.kind.as_str();
        tracing::info!(kind, account = %who.account, %miner, channel = %conn.id(), "provider registered");
        // A struct of a UUID always serialises; a fresh queue has room.
        let payload = serde_json::to_vec(&ConnectedCompleted {
            channel_id: conn.id(),
        })
        .unwrap_or_default();
        let _ = conn.notify(event::INIT_CONNECT, payload);
        let this = self.clone();
        event_stream(self.events.clone(), conn, rx, who.peer, move |conn| {
            if this.conns.remove(&miner, conn.id()) {
                this.metrics.unregistered(this.kind, conn.account());
                this.metrics.set_miners(this.kind, this.conns.miner_count());
                tracing::info!(kind, %miner, channel = %conn.id(), "provider disconnected");
            }
        })
    }

    /// A provider's answer, accepted only on the WebSocket the request went to.
    pub fn respond(&self, peer_id: u64, resp: ResponseEvent) -> Result<(), RpcError> {
        self.events.respond(peer_id, resp).map_err(RpcError::method)
    }

    /// Send `method` to a connection of `miner` (least busy first, the next one when one
    /// drops, is full or stays silent past `timeout`) and decode its answer.
    pub async fn request<T: serde::de::DeserializeOwned>(
        &self,
        miner: &Address,
        method: &'static str,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<T, RpcError> {
        let started = Instant::now();
        let kind = self.kind.as_str();
        let out = self
            .events
            .route(
                || self.conns.candidates(miner),
                method,
                payload,
                timeout,
                || format!("no {kind} connected for miner {miner}"),
            )
            .await;
        self.metrics
            .observe_route(self.kind, method, started.elapsed(), &out);
        let bytes = out.map_err(RpcError::method)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| RpcError::method(format!("{kind} answered {method} with bad JSON: {e}")))
    }

    pub fn miners(&self) -> Vec<Address> {
        self.conns.miners()
    }

    pub fn state_of(&self, miner: &Address) -> ConnectionStates {
        self.conns.state_of(miner)
    }

    pub fn states(&self) -> Vec<(Address, ConnectionStates)> {
        self.conns.states()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(account: &str) -> Arc<Connection> {
        // Leak the receiver so the queue stays open: routing skips closed connections.
        let (c, rx) = Connection::new(account, 0, None);
        std::mem::forget(rx);
        c
    }

    #[test]
    fn connections_are_found_by_miner_and_vanish_on_disconnect() {
        let reg = MinerRegistry::<String>::new();
        let p1 = conn("u1");
        let p2 = conn("u1");
        reg.insert("f01000".into(), p1.clone());
        reg.insert("f01000".into(), p2.clone());
        reg.insert("f01001".into(), conn("u2"));
        assert_eq!(reg.candidates(&"f01000".into()).len(), 2);
        assert!(reg.candidates(&"f09999".into()).is_empty());
        assert_eq!(reg.miner_count(), 2);
        assert_eq!(reg.state_of(&"f01000".into()).connection_count, 2);
        assert!(reg.remove(&"f01000".into(), p1.id()));
        assert!(reg.remove(&"f01000".into(), p2.id()));
        assert!(!reg.remove(&"f01000".into(), p2.id()));
        assert_eq!(reg.miners(), vec!["f01001".to_owned()]);
        assert_eq!(reg.state_of(&"f01000".into()), ConnectionStates::default());
        let all = reg.states();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].1.connections.len(), 1);
    }

    #[tokio::test]
    async fn a_closed_stream_unregisters_and_requests_name_the_kind() {
        use futures::StreamExt;
        let metrics = GatewayMetrics::register(&venus_rpc::observe::Metrics::new());
        let markets = MinerStream::new(Kind::Market, metrics);
        let miner: Address = "f01000".parse().expect("address");
        let who = Provider {
            account: "u1".into(),
            peer_id: 1,
            remote: None,
            peer: None,
        };
        let mut events = Box::pin(markets.open(who, miner));
        let first = events.next().await.expect("InitConnect");
        assert_eq!(first.method, event::INIT_CONNECT);
        assert_eq!(markets.miners(), vec![miner]);
        drop(events);
        assert!(markets.miners().is_empty());
        let err = markets
            .request::<bool>(&miner, event::IS_UNSEALED, vec![], Duration::from_secs(1))
            .await
            .expect_err("nobody connected");
        assert!(
            err.to_string()
                .contains("no market connected for miner f01000"),
            "{err}"
        );
    }
}
