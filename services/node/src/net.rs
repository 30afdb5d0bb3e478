//! Starting the node's libp2p side from config: the listen and bootstrap addresses
//! (`swarm.address`, `bootstrap.addresses`, `--swarmlisten`, `--bootstrap-peers`), the peer
//! identity kept in the repo, and the sync loop that serves and follows peers.

use std::sync::Arc;

use anyhow::Context as _;
use venus_p2p::{Limits, Multiaddr, P2pConfig, P2pService, PeerId};

use crate::daemon::NetSettings;
use crate::node::Node;
use crate::repo::Repo;

/// The node's libp2p private key (protobuf-encoded, created once, mode 0600).
pub const IDENTITY_FILE: &str = "libp2p.key";

/// Parsed and checked, so a bad address stops the daemon before it starts.
pub struct NetPlan {
    listen: Multiaddr,
    bootstrap: Vec<Multiaddr>,
    protected: Vec<PeerId>,
    /// `--libp2p-key-file`, read and decoded up front.
    identity: Option<venus_p2p::Keypair>,
    /// For the "no peer reachable" log line.
    bootstrap_count: usize,
}

impl NetPlan {
    pub fn new(settings: &NetSettings) -> anyhow::Result<NetPlan> {
        let s = settings;
        let listen = s.listen.parse::<Multiaddr>().map_err(|e| {
            anyhow::anyhow!(
                "invalid swarm listen address {:?} (swarm.address / --swarmlisten): {e}",
                s.listen
            )
        })?;
        let bootstrap = s
            .bootstrap
            .iter()
            .map(|a| {
                let m = a.trim().parse::<Multiaddr>().map_err(|e| {
                    anyhow::anyhow!("invalid bootstrap address {a:?} (bootstrap.addresses / --bootstrap-peers): {e}")
                })?;
                if !a.contains("/p2p/") {
                    anyhow::bail!("bootstrap address {a:?} names no peer: it must end in /p2p/<peer ID>");
                }
                Ok(m)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let protected = s
            .protected
            .iter()
            .map(|p| {
                p.parse::<PeerId>().map_err(|e| {
                    anyhow::anyhow!("invalid peer ID {p:?} in swarm.protectedPeers: {e}")
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let identity = s.identity.as_deref().map(load_identity).transpose()?;
        Ok(NetPlan {
            listen,
            bootstrap_count: bootstrap.len(),
            bootstrap,
            protected,
            identity,
        })
    }
}

/// How often the peer count is checked for the "no peer reachable" log line.
const REACHABILITY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Says plainly in the log when no peer is reachable (and when one is again): checked every
/// `every`, logged on each change.
async fn watch_reachability(
    handle: venus_p2p::P2pHandle,
    bootstrap: usize,
    every: std::time::Duration,
) {
    let mut reachable = true;
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let peers = handle.connected_peers();
        if peers == 0 && reachable {
            tracing::warn!(
                bootstrap_peers = bootstrap,
                "no peer reachable: this node is connected to no peer and cannot follow the network"
            );
        } else if peers > 0 && !reachable {
            tracing::info!(peers, "peers reachable again");
        }
        reachable = peers > 0;
    }
}

/// A given identity file (`--libp2p-key-file`): it must exist and hold a key; never created.
fn load_identity(path: &std::path::Path) -> anyhow::Result<venus_p2p::Keypair> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "cannot read the libp2p identity {} (--libp2p-key-file)",
            path.display()
        )
    })?;
    venus_p2p::Keypair::from_protobuf_encoding(&bytes).with_context(|| {
        format!(
            "{} (--libp2p-key-file): not a protobuf-encoded libp2p private key",
            path.display()
        )
    })
}

/// Starts libp2p and the sync loop; prints venus's start-up lines. Returns the listen
/// addresses.
pub async fn start(node: &Arc<Node>, repo: &Repo, plan: NetPlan) -> anyhow::Result<Vec<Multiaddr>> {
    let keypair = match plan.identity {
        Some(keypair) => keypair,
        None => venus_p2p::load_or_create_identity(&repo.path(IDENTITY_FILE))?,
    };
    let config = P2pConfig {
        listen: vec![plan.listen],
        bootstrap: plan.bootstrap,
        keypair,
        network_name: node.network_name.clone(),
        genesis: node.cs.genesis().cid(),
        limits: Limits::default(),
    };
    let provider = Arc::new(crate::sync::NodeProvider(node.clone()));
    let (handle, events) = P2pService::start(config, provider)
        .await
        .context("cannot start libp2p")?;
    if !plan.protected.is_empty() {
        handle.protect_add(plan.protected).await?;
    }
    let addrs = handle.listen_addrs().await?;
    println!("My peer ID is {}", handle.peer_id());
    for a in &addrs {
        println!("Swarm listening on: {a}");
    }
    tracing::info!(peer = %handle.peer_id(), addrs = ?addrs.iter().map(ToString::to_string).collect::<Vec<_>>(), "libp2p started");
    node.set_announcer(Box::new(crate::sync::Announcer::spawn(handle.clone())));
    node.set_net(handle.clone());
    // A lone local devnet node has no peer by design; anything else needs peers.
    if plan.bootstrap_count > 0 || !node.params.is_local {
        tokio::spawn(watch_reachability(
            handle.clone(),
            plan.bootstrap_count,
            REACHABILITY_INTERVAL,
        ));
    }
    tokio::spawn(crate::sync::run(node.clone(), handle, events));
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(listen: &str, bootstrap: &[&str], protected: &[&str]) -> NetSettings {
        NetSettings {
            offline: false,
            listen: listen.into(),
            bootstrap: bootstrap.iter().map(|s| s.to_string()).collect(),
            protected: protected.iter().map(|s| s.to_string()).collect(),
            identity: None,
        }
    }

    #[test]
    fn bad_addresses_name_the_field() {
        let peer = PeerId::random().to_string();
        let good = format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}");
        assert!(NetPlan::new(&settings("/ip4/0.0.0.0/tcp/0", &[&good], &[&peer])).is_ok());
        let e = NetPlan::new(&settings("0.0.0.0:1234", &[], &[]))
            .err()
            .expect("bad listen")
            .to_string();
        assert!(e.contains("swarm.address"), "{e}");
        let e = NetPlan::new(&settings(
            "/ip4/0.0.0.0/tcp/0",
            &["/ip4/127.0.0.1/tcp/4001"],
            &[],
        ))
        .err()
        .expect("no peer id")
        .to_string();
        assert!(e.contains("/p2p/<peer ID>"), "{e}");
        let e = NetPlan::new(&settings("/ip4/0.0.0.0/tcp/0", &["nonsense"], &[]))
            .err()
            .expect("garbage")
            .to_string();
        assert!(e.contains("bootstrap.addresses"), "{e}");
        let e = NetPlan::new(&settings("/ip4/0.0.0.0/tcp/0", &[], &["not-a-peer"]))
            .err()
            .expect("bad peer id")
            .to_string();
        assert!(e.contains("swarm.protectedPeers"), "{e}");
    }

    #[test]
    fn a_given_key_file_is_the_identity_and_must_exist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = venus_p2p::Keypair::generate_ed25519();
        let path = dir.path().join("cs-node-1.key");
        std::fs::write(&path, key.to_protobuf_encoding().expect("encode")).expect("write");
        let mut s = settings("/ip4/0.0.0.0/tcp/0", &[], &[]);
        s.identity = Some(path.clone());
        let plan = NetPlan::new(&s).expect("plan");
        let loaded = plan.identity.expect("identity loaded");
        assert_eq!(loaded.public().to_peer_id(), key.public().to_peer_id());

        s.identity = Some(dir.path().join("missing.key"));
        let e = NetPlan::new(&s).err().expect("missing file").to_string();
        assert!(e.contains("--libp2p-key-file"), "{e}");
        assert!(!dir.path().join("missing.key").exists(), "never created");

        std::fs::write(&path, b"garbage").expect("write");
        s.identity = Some(path);
        let e = format!("{:#}", NetPlan::new(&s).err().expect("garbage"));
        assert!(e.contains("not a protobuf-encoded"), "{e}");
    }
}
