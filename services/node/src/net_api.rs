//! The `Net*` and `ID` methods over the node's libp2p service, with go-libp2p's JSON shapes
//! (`AddrInfo {ID, Addrs}`, peer IDs as strings). Offline they answer an error saying so.

use std::sync::Arc;

use venus_api::full_node::{self as api, AddrInfo};
use venus_p2p::{Multiaddr, P2pHandle, PeerId};
use venus_rpc::{Ctx, Router, RpcError};

use crate::node::Node;

fn err(e: impl std::fmt::Display) -> RpcError {
    RpcError::method(e)
}

fn net(node: &Node) -> Result<P2pHandle, RpcError> {
    node.net()
        .cloned()
        .ok_or_else(|| err("libp2p is disabled: the node runs in offline mode"))
}

fn parse_peer(s: &str) -> Result<PeerId, RpcError> {
    s.parse::<PeerId>()
        .map_err(|e| err(format!("invalid peer ID {s:?}: {e}")))
}

/// `addr` with `/p2p/<id>` appended unless it already names a peer.
fn dial_addr(addr: &str, id: &PeerId) -> Result<Multiaddr, RpcError> {
    let full = if addr.contains("/p2p/") {
        addr.to_owned()
    } else {
        format!("{}/p2p/{id}", addr.trim_end_matches('/'))
    };
    full.parse()
        .map_err(|e| err(format!("invalid multiaddr {addr:?}: {e}")))
}

pub fn register(r: &mut Router, node: Arc<Node>) {
    let n = node.clone();
    r.method(api::ID, move |_ctx: Ctx, ()| {
        let h = net(&n);
        async move { Ok(h?.peer_id().to_string()) }
    });
    let n = node.clone();
    r.method(api::NET_PEERS, move |_ctx: Ctx, ()| {
        let h = net(&n);
        async move {
            let peers = h?.peers().await.map_err(err)?;
            Ok(peers
                .into_iter()
                .map(|p| AddrInfo {
                    id: p.id.to_string(),
                    addrs: p.addrs.iter().map(ToString::to_string).collect(),
                })
                .collect::<Vec<_>>())
        }
    });
    let n = node.clone();
    r.method(api::NET_ADDRS_LISTEN, move |_ctx: Ctx, ()| {
        let h = net(&n);
        async move {
            let h = h?;
            let addrs = h.listen_addrs().await.map_err(err)?;
            Ok(AddrInfo {
                id: h.peer_id().to_string(),
                addrs: addrs.iter().map(ToString::to_string).collect(),
            })
        }
    });
    let n = node.clone();
    r.method(api::NET_CONNECT, move |_ctx: Ctx, (info,): (AddrInfo,)| {
        let h = net(&n);
        async move {
            let h = h?;
            let id = parse_peer(&info.id)?;
            if info.addrs.is_empty() {
                return Err(err(format!("no addresses to dial peer {id}")));
            }
            // As go-libp2p's Connect: the first address that connects wins.
            let mut last = String::new();
            for a in &info.addrs {
                match h.connect(dial_addr(a, &id)?).await {
                    Ok(_) => return Ok(()),
                    Err(e) => last = e.to_string(),
                }
            }
            Err(err(format!("failed to dial {id}: {last}")))
        }
    });
    for (method, add) in [
        (api::NET_PROTECT_ADD, true),
        (api::NET_PROTECT_REMOVE, false),
    ] {
        let n = node.clone();
        r.method(method, move |_ctx: Ctx, (ids,): (Vec<String>,)| {
            let h = net(&n);
            async move {
                let h = h?;
                let peers = ids
                    .iter()
                    .map(|s| parse_peer(s))
                    .collect::<Result<Vec<_>, _>>()?;
                let done = if add {
                    h.protect_add(peers).await
                } else {
                    h.protect_remove(peers).await
                };
                done.map_err(err)
            }
        });
    }
    r.method(api::NET_PROTECT_LIST, move |_ctx: Ctx, ()| {
        let h = net(&node);
        async move {
            let peers = h?.protect_list().await.map_err(err)?;
            Ok(peers.iter().map(ToString::to_string).collect::<Vec<_>>())
        }
    });
}
