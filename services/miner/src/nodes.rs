//! The main node and the `[[SubmitNodes]]` as one set: the mining base comes from the best
//! reachable node (highest height, then parent weight; the main node on a tie), so a main
//! node that is down or behind is bypassed without a config edit; blocks go to every node.

use std::time::Duration;

use futures::future::join_all;
use venus_api::full_node as api;
use venus_rpc::ClientError;
use venus_types::{BlockMsg, TipSet};

use crate::config::Endpoint;
use crate::upstream::Upstream;

/// How long a node gets to answer `ChainHead` before it counts as unreachable this round.
const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

pub struct Nodes {
    nodes: Vec<Upstream>,
}

impl Nodes {
    /// `main` first, then the submit nodes.
    pub fn new(main: &Endpoint, submit: &[Endpoint], timeout: Duration) -> Self {
        let nodes = std::iter::once(main)
            .chain(submit)
            .map(|e| Upstream::new(&e.addr, &e.token, "v1", timeout))
            .collect();
        Self { nodes }
    }

    pub fn main(&self) -> &Upstream {
        &self.nodes[0]
    }

    pub fn get(&self, i: usize) -> &Upstream {
        self.nodes.get(i).unwrap_or(&self.nodes[0])
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The best head among the reachable nodes, with the index of the node that has it.
    pub async fn best_head(&self) -> Result<(usize, TipSet), String> {
        let heads = join_all(
            self.nodes
                .iter()
                .map(|n| n.call_timeout(api::CHAIN_HEAD, (), HEAD_TIMEOUT)),
        )
        .await;
        let mut best: Option<(usize, TipSet)> = None;
        let mut errors = Vec::new();
        for (i, head) in heads.into_iter().enumerate() {
            match head {
                Ok(ts) => {
                    let better = best.as_ref().is_none_or(|(_, b)| {
                        (ts.height(), &ts.parent_weight().0) > (b.height(), &b.parent_weight().0)
                    });
                    if better {
                        best = Some((i, ts));
                    }
                }
                Err(e) => errors.push(format!("{}: {e}", self.nodes[i].addr())),
            }
        }
        if !errors.is_empty() && best.is_some() {
            tracing::debug!(?errors, "some nodes did not answer ChainHead");
        }
        best.ok_or_else(|| format!("no node reachable: {}", errors.join("; ")))
    }

    /// Submit to every node at once; accepted if any node accepted it. Returns the errors of
    /// the nodes that refused it (and whether any accepted).
    pub async fn submit(&self, block: &BlockMsg) -> (bool, Vec<String>) {
        let results = join_all(
            self.nodes
                .iter()
                .map(|n| n.call(api::SYNC_SUBMIT_BLOCK, (block.clone(),))),
        )
        .await;
        let mut accepted = false;
        let mut errors = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(()) => accepted = true,
                Err(e) => errors.push(format!("{}: {}", self.nodes[i].addr(), short(&e))),
            }
        }
        (accepted, errors)
    }
}

fn short(e: &ClientError) -> String {
    e.to_string()
}
