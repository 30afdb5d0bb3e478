//! Which prover connections serve which miner (`ListenProofEvent`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::sync::Arc;

use parking_lot::RwLock;
use uuid::Uuid;

use crate::events::Connection;

/// Live prover connections by miner.
#[derive(Debug)]
pub struct ProverRegistry<M> {
    miners: RwLock<BTreeMap<M, HashMap<Uuid, Arc<Connection>>>>,
}

impl<M> Default for ProverRegistry<M> {
    fn default() -> Self {
        Self {
            miners: RwLock::new(BTreeMap::new()),
        }
    }
}

/// A snapshot of one connection for operators (`ListMinerConnection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProverConnInfo {
    pub channel_id: Uuid,
    pub account: String,
    pub peer: String,
    pub in_flight: usize,
    pub created: chrono::DateTime<chrono::Utc>,
}

impl<M: Clone + Ord + Display> ProverRegistry<M> {
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

    pub fn connection(&self, channel: Uuid) -> Option<Arc<Connection>> {
        self.miners
            .read()
            .values()
            .find_map(|c| c.get(&channel).cloned())
    }

    pub fn candidates(&self, miner: &M) -> Vec<Arc<Connection>> {
        self.miners
            .read()
            .get(miner)
            .map(|c| c.values().filter(|c| !c.is_closed()).cloned().collect())
            .unwrap_or_default()
    }

    pub fn no_prover_message(miner: &M) -> String {
        format!("no prover connected for miner {miner}")
    }

    /// Miners with at least one live connection.
    pub fn miners(&self) -> Vec<M> {
        self.miners.read().keys().cloned().collect()
    }

    pub fn connections_of(&self, miner: &M) -> Vec<ProverConnInfo> {
        let mut out: Vec<_> = self
            .miners
            .read()
            .get(miner)
            .map(|c| {
                c.values()
                    .map(|c| ProverConnInfo {
                        channel_id: c.id(),
                        account: c.account().to_owned(),
                        peer: c.peer_addr().map(|p| p.to_string()).unwrap_or_default(),
                        in_flight: c.in_flight(),
                        created: c.created(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by_key(|i| i.created);
        out
    }

    /// Number of miners and of connections (for metrics).
    pub fn counts(&self) -> (usize, usize) {
        let miners = self.miners.read();
        (miners.len(), miners.values().map(HashMap::len).sum())
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
    fn provers_are_found_by_miner_and_vanish_on_disconnect() {
        let reg = ProverRegistry::<String>::new();
        let p1 = conn("u1");
        let p2 = conn("u1");
        reg.insert("f01000".into(), p1.clone());
        reg.insert("f01000".into(), p2.clone());
        reg.insert("f01001".into(), conn("u2"));
        assert_eq!(reg.candidates(&"f01000".into()).len(), 2);
        assert!(reg.candidates(&"f09999".into()).is_empty());
        assert_eq!(reg.counts(), (2, 3));
        assert!(reg.remove(&"f01000".into(), p1.id()));
        assert!(reg.remove(&"f01000".into(), p2.id()));
        assert!(!reg.remove(&"f01000".into(), p2.id()));
        assert_eq!(reg.miners(), vec!["f01001".to_owned()]);
        assert_eq!(
            ProverRegistry::<String>::no_prover_message(&"f01000".into()),
            "no prover connected for miner f01000"
        );
    }
}
