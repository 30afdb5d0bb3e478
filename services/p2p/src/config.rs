//! What the service needs to start: addresses, identity, network, genesis and limits.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use libp2p::{Multiaddr, identity::Keypair};
use venus_types::Cid;

/// Configuration of a [`crate::P2pService`].
#[derive(Clone, Debug)]
pub struct P2pConfig {
    /// Addresses to listen on (`/ip4/0.0.0.0/tcp/0` lets the kernel pick a port).
    pub listen: Vec<Multiaddr>,
    /// Peers dialled at start and re-dialled while not connected (`/ip4/…/tcp/…/p2p/<id>`,
    /// `/dns4/…` also works).
    pub bootstrap: Vec<Multiaddr>,
    /// The node's stable identity; see [`load_or_create_identity`].
    pub keypair: Keypair,
    /// The network name (`StateNetworkName`), which names the gossipsub topics.
    pub network_name: String,
    /// The genesis block's CID: a peer whose hello names another genesis is disconnected.
    pub genesis: Cid,
    /// Caps on connections, frames, requests and gossip.
    pub limits: Limits,
}

/// Every bound the service enforces on what peers send and ask.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connected peers above which new inbound peers that are not protected are dropped.
    pub max_peers: usize,
    /// Established connections per peer.
    pub max_connections_per_peer: u32,
    /// Connections being set up (handshakes) at once, each way.
    pub max_pending_connections: u32,
    /// Yamux streams open at once on one connection (the protocols' own caps are lower).
    pub max_streams_per_connection: usize,
    /// Largest hello or latency frame read.
    pub max_hello_bytes: usize,
    /// Largest chain-exchange request read.
    pub max_xchg_request_bytes: usize,
    /// Largest chain-exchange response read (and written: a longer answer is cut, `Partial`).
    pub max_xchg_response_bytes: usize,
    /// Largest `BlockMsg` accepted from gossip.
    pub max_block_msg_bytes: usize,
    /// Largest `SignedMessage` accepted from gossip (Lotus's mpool: 64 KiB).
    pub max_message_bytes: usize,
    /// How long a request (hello or chain exchange) may take, both ways.
    pub request_timeout: Duration,
    /// Chain-exchange requests from one peer served at once; more are answered `GoAway`.
    pub max_inbound_requests_per_peer: usize,
    /// Chain-exchange requests served at once in total; more are answered `GoAway`.
    pub max_inbound_requests_total: usize,
    /// Our chain-exchange requests waiting for one peer's answer.
    pub max_outbound_requests_per_peer: usize,
    /// How long a peer reported bad stays disconnected and refused.
    pub ban_duration: Duration,
    /// Events buffered for the node; when it lags further, events are dropped (and counted).
    pub event_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_peers: 200,
            max_connections_per_peer: 2,
            max_pending_connections: 64,
            max_streams_per_connection: 64,
            max_hello_bytes: 16 << 10,
            max_xchg_request_bytes: 16 << 10,
            max_xchg_response_bytes: 64 << 20,
            max_block_msg_bytes: 1 << 20,
            max_message_bytes: 64 << 10,
            request_timeout: Duration::from_secs(60),
            max_inbound_requests_per_peer: 4,
            max_inbound_requests_total: 32,
            max_outbound_requests_per_peer: 8,
            ban_duration: Duration::from_secs(600),
            event_buffer: 4096,
        }
    }
}

/// Loads the node's libp2p identity from `path` (a protobuf-encoded libp2p private key, as
/// `Keypair::to_protobuf_encoding` writes it), or creates an ed25519 one there, readable by the
/// owner only (0600). The same file gives the same peer id at every start.
pub fn load_or_create_identity(path: &Path) -> anyhow::Result<Keypair> {
    match std::fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes).with_context(|| {
            format!(
                "{}: not a protobuf-encoded libp2p private key",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_identity(path),
        Err(e) => Err(e).with_context(|| format!("reading the libp2p identity {}", path.display())),
    }
}

fn create_identity(path: &Path) -> anyhow::Result<Keypair> {
    let keypair = Keypair::generate_ed25519();
    let bytes = keypair
        .to_protobuf_encoding()
        .context("encoding a new libp2p identity")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the libp2p identity {}", path.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the libp2p identity {}", path.display()))?;
    Ok(keypair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_created_once_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keystore").join("libp2p-host");
        let first = load_or_create_identity(&path).unwrap();
        let again = load_or_create_identity(&path).unwrap();
        assert_eq!(first.public().to_peer_id(), again.public().to_peer_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_corrupt_identity_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("libp2p-host");
        std::fs::write(&path, b"not a key").unwrap();
        let err = load_or_create_identity(&path).unwrap_err().to_string();
        assert!(err.contains("libp2p-host"), "{err}");
    }
}
