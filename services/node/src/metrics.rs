//! The node's own Prometheus metrics (the RPC layer adds per-method request counts and
//! latency): the chain head and how far it is from where the wall clock says it should be.
//! Read from the chain store at scrape time, so they are never stale and need no update loop.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use venus_rpc::observe::Metrics;

use crate::node::Node;

/// Register the node's collector on the service registry.
pub fn register(metrics: &Metrics, node: Arc<Node>) {
    metrics.with_registry(|r| r.register_collector(Box::new(ChainCollector { node })));
}

/// The figures one scrape reports.
#[derive(Debug, PartialEq, Eq)]
struct ChainFigures {
    head_height: i64,
    expected_height: i64,
    head_timestamp: i64,
    synced: bool,
    peer_height: i64,
    sync_stage: i64,
    sync_applied: i64,
}

impl ChainFigures {
    fn of(node: &Node) -> Self {
        let head = node.head();
        ChainFigures {
            head_height: head.height(),
            expected_height: node.expected_epoch(),
            head_timestamp: i64::try_from(head.min_timestamp()).unwrap_or(i64::MAX),
            synced: node.check_ready().is_ok(),
            peer_height: node.sync.best_peer_height().unwrap_or(0),
            sync_stage: node.sync.stage_number(),
            sync_applied: i64::try_from(node.sync.applied_count()).unwrap_or(i64::MAX),
        }
    }

    /// (name, help, value) of each gauge, in output order.
    fn gauges(&self) -> [(&'static str, &'static str, i64); 7] {
        [
            (
                "venus_node_head_height",
                "Height of the node's heaviest tipset",
                self.head_height,
            ),
            (
                "venus_node_expected_height",
                "Epoch the wall clock says the chain should be at (genesis time / block delay)",
                self.expected_height,
            ),
            (
                "venus_node_head_timestamp_seconds",
                "Unix time of the head tipset (its smallest block timestamp)",
                self.head_timestamp,
            ),
            (
                "venus_node_synced",
                "1 when the head is within a few epochs of the expected epoch (what /readyz checks)",
                i64::from(self.synced),
            ),
            (
                "venus_node_sync_peer_height",
                "Highest head a peer announced (hello or gossip); 0 before any",
                self.peer_height,
            ),
            (
                "venus_node_sync_stage",
                "Stage of the last catch-up (SyncState numbers: 0 idle, 1 headers, 3 messages, 4 complete, 5 error)",
                self.sync_stage,
            ),
            (
                "venus_node_sync_applied_tipsets",
                "Tipsets validated and applied by catch-ups since start",
                self.sync_applied,
            ),
        ]
    }
}

struct ChainCollector {
    node: Arc<Node>,
}

impl std::fmt::Debug for ChainCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainCollector")
    }
}

impl Collector for ChainCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, value) in ChainFigures::of(&self.node).gauges() {
            let gauge = ConstGauge::new(value);
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use crate::node::GenesisSource;
    use crate::repo::Repo;

    #[test]
    fn scrape_reports_the_head_of_a_fresh_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo::new(dir.path());
        repo.ensure_dirs().expect("repo");
        let node = Node::open(&repo, Network::TwoK, GenesisSource::Default).expect("node");
        let metrics = Metrics::new();
        register(&metrics, node.clone());
        let text = metrics.encode();
        assert!(
            text.contains("# TYPE venus_node_head_height gauge\n"),
            "{text}"
        );
        assert!(text.contains("\nvenus_node_head_height 0\n"), "{text}");
        let expected = node.expected_epoch();
        assert!(
            text.contains(&format!("\nvenus_node_expected_height {expected}\n"))
                || text.contains(&format!("\nvenus_node_expected_height {}\n", expected + 1)),
            "{text}"
        );
        // A genesis made now: the head is where the clock says, so the node is synced.
        assert!(text.contains("\nvenus_node_synced 1\n"), "{text}");
    }
}
