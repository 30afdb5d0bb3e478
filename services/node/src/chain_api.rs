//! FullNode handlers over the chain: chain browsing, state queries, the block-production
//! flow (`MinerGetBaseInfo` → `MinerCreateBlock` → `SyncSubmitBlock`), the message pool and
//! gas estimation, and `ChainNotify` as a channel.

use std::sync::Arc;

use futures::StreamExt as _;
use venus_api::full_node::{self as api, BlockMessages, MessageCidAndMessage, SyncState};
use venus_chain::car::ExportOptions;
use venus_chain::query;
use venus_rpc::{Ctx, Router, RpcError};
use venus_types::{
    Actor, Address, Base64Bytes, BlockMsg, BlockTemplate, ChainEpoch, Cid, Claim, HeadChange,
    HeadChangeType, Message, MessageReceipt, MinerInfo, MinerPower, MiningBaseInfo, MsgLookup,
    SignedMessage, TipSet, TipSetKey, TokenAmount,
};

use crate::client_cmds::{STAGE_COMPLETE, STAGE_ERROR, STAGE_IDLE};
use crate::gas;
use crate::mpool::Origin;
use crate::node::Node;

fn err(e: impl std::fmt::Display) -> RpcError {
    RpcError::method(e)
}

/// Register a handler that runs blocking chain work off the async runtime.
macro_rules! blocking {
    ($r:expr, $node:expr, $method:expr, |$n:ident, $p:pat_param| $body:expr) => {{
        let node = $node.clone();
        $r.method($method, move |_ctx: Ctx, params| {
            let $n = node.clone();
            async move {
                let $p = params;
                tokio::task::spawn_blocking(move || $body)
                    .await
                    .map_err(|e| RpcError::internal(e))?
            }
        });
    }};
}

pub fn register(r: &mut Router, node: Arc<Node>) {
    blocking!(r, node, api::CHAIN_HEAD, |n, ()| Ok(n.head()));
    blocking!(r, node, api::CHAIN_GET_TIP_SET, |n, (tsk,)| n
        .tipset(&tsk)
        .map_err(err));
    blocking!(r, node, api::CHAIN_GET_TIP_SET_BY_HEIGHT, |n, (h, tsk)| {
        let anchor = n.tipset(&tsk).map_err(err)?;
        n.cs.tipset_by_height(h, Some(&anchor), true).map_err(err)
    });
    blocking!(r, node, api::CHAIN_GET_GENESIS, |n, ()| TipSet::new(vec![
        n.cs.genesis().clone()
    ])
    .map_err(err));
    blocking!(r, node, api::CHAIN_GET_BLOCK, |n, (cid,)| n
        .cs
        .get_block(&cid)
        .map_err(err));
    blocking!(r, node, api::CHAIN_GET_BLOCK_MESSAGES, |n, (cid,)| {
        let header = n.cs.get_block(&cid).map_err(err)?;
        let (bls, secp) = n.cs.block_messages(&header).map_err(err)?;
        let cids = bls
            .iter()
            .map(Message::cid)
            .chain(secp.iter().map(SignedMessage::cid))
            .collect();
        Ok(BlockMessages {
            bls_messages: bls,
            secpk_messages: secp,
            cids,
        })
    });
    blocking!(r, node, api::CHAIN_GET_PARENT_MESSAGES, |n, (cid,)| {
        let header = n.cs.get_block(&cid).map_err(err)?;
        if header.height == 0 {
            return Ok(Vec::new());
        }
        let parent = n.cs.load_tipset(&header.parents_key()).map_err(err)?;
        messages_in(&n, &parent)
    });
    blocking!(r, node, api::CHAIN_GET_PARENT_RECEIPTS, |n, (cid,)| {
        let header = n.cs.get_block(&cid).map_err(err)?;
        receipts(&n, &header.parent_message_receipts)
    });
    blocking!(r, node, api::CHAIN_GET_MESSAGE, |n, (cid,)| n
        .cs
        .get_message(&cid)
        .map(|m| m.message().clone())
        .map_err(err));
    blocking!(r, node, api::CHAIN_GET_MESSAGES_IN_TIPSET, |n, (tsk,)| {
        let ts = n.tipset(&tsk).map_err(err)?;
        messages_in(&n, &ts)
    });
    blocking!(r, node, api::CHAIN_LIST, |n, (tsk, count)| {
        let ts = n.tipset(&tsk).map_err(err)?;
        let count = usize::try_from(count)
            .map_err(|_| err(format!("count {count} must not be negative")))?;
        n.cs.chain_list(ts.key(), count).map_err(err)
    });

    let n = node.clone();
    r.subscription(api::CHAIN_NOTIFY, move |_ctx: Ctx, ()| {
        let n = n.clone();
        async move {
            // Subscribe before reading the head so no change falls between the two.
            let rx = n.cs.subscribe();
            let current = vec![HeadChange {
                change_type: HeadChangeType::Current,
                val: n.head(),
            }];
            let changes = tokio_stream_from(rx);
            Ok(futures::stream::once(async move { current }).chain(changes))
        }
    });

    let n = node.clone();
    r.subscription(
        api::CHAIN_EXPORT,
        move |_ctx: Ctx, (nroots, skip_old_msgs, tsk): (ChainEpoch, bool, TipSetKey)| {
            let n = n.clone();
            async move {
                if nroots < 0 {
                    return Err(err(format!("nroots {nroots} must not be negative")));
                }
                // Resolve the tipset first so a bad key fails the call, not the stream.
                let n2 = n.clone();
                let head = tokio::task::spawn_blocking(move || n2.tipset(&tsk))
                    .await
                    .map_err(RpcError::internal)?
                    .map_err(err)?;
                let opts = ExportOptions {
                    recent_roots: nroots,
                    skip_old_msgs,
                };
                Ok(export_stream(n, head, opts))
            }
        },
    );

    blocking!(r, node, api::STATE_GET_ACTOR, |n, (addr, tsk)| {
        let view = n.view_at(&n.tipset(&tsk).map_err(err)?).map_err(err)?;
        let actor = view.with_tree(|t| t.get_actor(&addr.0)).map_err(err)?;
        let a = actor.ok_or_else(|| err(format!("actor not found: {addr}")))?;
        Ok(Actor {
            code: Cid(a.code),
            head: Cid(a.state),
            nonce: a.sequence,
            balance: TokenAmount(a.balance),
            delegated_address: a.delegated_address.map(Address),
        })
    });
    blocking!(r, node, api::STATE_LOOKUP_ID, |n, (addr, tsk)| {
        let view = n.view_at(&n.tipset(&tsk).map_err(err)?).map_err(err)?;
        let id = view.with_tree(|t| t.lookup_id(&addr.0)).map_err(err)?;
        id.map(|id| Address(fvm_shared::address::Address::new_id(id)))
            .ok_or_else(|| err(format!("actor not found: {addr}")))
    });
    blocking!(r, node, api::STATE_ACCOUNT_KEY, |n, (addr, tsk)| {
        let view = n.view_at(&n.tipset(&tsk).map_err(err)?).map_err(err)?;
        view.with_tree(|t| query::account_key(t, &addr.0))
            .map(Address)
            .map_err(err)
    });
    blocking!(r, node, api::STATE_MINER_POWER, |n, (addr, tsk)| {
        let view = n.view_at(&n.tipset(&tsk).map_err(err)?).map_err(err)?;
        let p = view
            .with_tree(|t| query::miner_power(t, &addr.0, &n.params))
            .map_err(err)?;
        let claim = |c: &venus_chain::actors::Claim| Claim {
            raw_byte_power: venus_types::BigInt(c.raw_byte_power.clone()),
            quality_adj_power: venus_types::BigInt(c.quality_adj_power.clone()),
        };
        Ok(MinerPower {
            miner_power: claim(&p.miner),
            total_power: claim(&p.total),
            has_min_power: p.has_min_power,
        })
    });
    blocking!(r, node, api::STATE_MINER_INFO, |n, (addr, tsk)| {
        let view = n.view_at(&n.tipset(&tsk).map_err(err)?).map_err(err)?;
        let (_, st) = view
            .with_tree(|t| query::miner_state(t, &addr.0))
            .map_err(err)?;
        Ok(miner_info(&st.info))
    });
    // The version the network runs at the tipset's height (its upgrade schedule).
    blocking!(r, node, api::STATE_NETWORK_VERSION, |n, (tsk,)| {
        let tsk: TipSetKey = tsk;
        let ts = n.tipset(&tsk).map_err(err)?;
        Ok(u32::from(crate::upgrades::network_version(
            &n.params,
            ts.height(),
        )))
    });
    let n = node.clone();
    r.method(
        api::STATE_SEARCH_MSG,
        move |_ctx: Ctx, (tsk, cid, limit, _replaced): (TipSetKey, Cid, ChainEpoch, bool)| {
            let n = n.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    let from = n.tipset(&tsk).map_err(err)?;
                    search_msg(&n, &from, &cid, limit)
                })
                .await
                .map_err(RpcError::internal)?
            }
        },
    );
    // One scan per new tipset shared by every waiter, and a bounded wait (msg_wait).
    let waiters =
        crate::msg_wait::MsgWaiters::new(node.clone(), crate::msg_wait::max_wait_from_env());
    r.method(
        api::STATE_WAIT_MSG,
        move |_ctx: Ctx, (cid, confidence, limit, _replaced): (Cid, u64, ChainEpoch, bool)| {
            let waiters = waiters.clone();
            async move { waiters.wait(cid, confidence, limit).await }
        },
    );
    blocking!(r, node, api::WALLET_BALANCE, |n, (addr,)| n
        .balance(&addr)
        .map_err(err));

    blocking!(
        r,
        node,
        api::MINER_GET_BASE_INFO,
        |n, (miner, epoch, tsk)| {
            // A pool asks once per miner on one base: the base's common part is computed
            // once (venus_chain::mining::BaseInfoCache), each call is the miner's lookups.
            let tsk: TipSetKey = tsk;
            let key = if tsk.is_empty() {
                n.head().key().clone()
            } else {
                tsk
            };
            let info: Option<MiningBaseInfo> = n
                .base_infos
                .base_info(&n.cs, &n.params, &miner, epoch, &key)
                .map_err(err)?;
            Ok(info)
        }
    );
    blocking!(r, node, api::MINER_CREATE_BLOCK, |n, (template,)| {
        create_block(&n, &template)
    });
    let n = node.clone();
    r.method(
        api::SYNC_SUBMIT_BLOCK,
        move |_ctx: Ctx, (block,): (BlockMsg,)| {
            let n = n.clone();
            async move {
                n.submit_block(&block).await.map_err(err)?;
                // Accepted: peers get it by gossip (a block that did not change our head
                // still extends a fork they may follow).
                n.announce_block(&block);
                Ok(())
            }
        },
    );
    blocking!(r, node, api::SYNC_STATE, |n, ()| Ok(sync_state(&n)));

    blocking!(r, node, api::MPOOL_PUSH, |n, (msg,)| push_and_announce(
        &n, msg
    ));
    // Untrusted pushes: no nonce gap, at most 100 pending per sender, not kept across
    // restarts (mpool::Origin::Untrusted). Batches stop at the first refusal.
    blocking!(r, node, api::MPOOL_PUSH_UNTRUSTED, |n, (msg,)| {
        let out = n.push_messages(vec![msg], Origin::Untrusted);
        match (out.cids.into_iter().next(), out.error) {
            (Some(cid), None) => Ok(cid),
            (_, e) => Err(err(e.unwrap_or_else(|| "not added".into()))),
        }
    });
    for (m, origin) in [
        (api::MPOOL_BATCH_PUSH, Origin::Local),
        (api::MPOOL_BATCH_PUSH_UNTRUSTED, Origin::Untrusted),
    ] {
        blocking!(r, node, m, |n, (msgs,)| {
            let msgs: Vec<SignedMessage> = msgs;
            let out = n.push_messages(msgs, origin);
            match out.error {
                None => Ok(out.cids),
                Some(e) => Err(err(e)),
            }
        });
    }
    blocking!(r, node, api::MPOOL_GET_NONCE, |n, (addr,)| n
        .next_nonce(&addr)
        .map_err(err));
    blocking!(r, node, api::MPOOL_PENDING, |n, (_tsk,)| Ok(n.pending()));
    blocking!(r, node, api::MPOOL_SELECT, |n, (tsk, quality)| {
        let ts = n.tipset(&tsk).map_err(err)?;
        let mut sel = n.select(&ts, &[quality]).map_err(err)?;
        Ok(sel.pop().unwrap_or_default())
    });
    blocking!(r, node, api::MPOOL_SELECTS, |n, (tsk, qualities)| {
        let ts = n.tipset(&tsk).map_err(err)?;
        let q: Vec<f64> = qualities;
        n.select(&ts, &q).map_err(err)
    });

    blocking!(r, node, api::GAS_ESTIMATE_GAS_LIMIT, |n, (msg, tsk)| {
        let ts = n.tipset(&tsk).map_err(err)?;
        gas::estimate_gas_limit(&n, &msg, &ts).map_err(err)
    });
    blocking!(r, node, api::GAS_ESTIMATE_FEE_CAP, |n,
                                                   (
        msg,
        max_queue,
        tsk,
    )| {
        let ts = n.tipset(&tsk).map_err(err)?;
        gas::estimate_fee_cap(&n, &msg, max_queue, &ts).map_err(err)
    });
    blocking!(r, node, api::GAS_ESTIMATE_GAS_PREMIUM, |n,
                                                       (
        nblocks,
        _sender,
        _limit,
        tsk,
    )| {
        let ts = n.tipset(&tsk).map_err(err)?;
        gas::estimate_gas_premium(&n, nblocks, &ts).map_err(err)
    });
    blocking!(r, node, api::GAS_ESTIMATE_MESSAGE_GAS, |n,
                                                       (
        msg,
        spec,
        tsk,
    )| {
        let ts = n.tipset(&tsk).map_err(err)?;
        gas::estimate_message_gas(&n, msg, spec.unwrap_or_default(), &ts).map_err(err)
    });
    blocking!(r, node, api::GAS_BATCH_ESTIMATE_MESSAGE_GAS, |n,
                                                             (
        list,
        from_nonce,
        tsk,
    )| {
        let ts = n.tipset(&tsk).map_err(err)?;
        let list: Vec<api::EstimateMessage> = list;
        // State root, base fee and premium once for the whole batch.
        let estimator = gas::Estimator::new(&n, &ts).map_err(err)?;
        Ok(list
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let mut msg = e.msg;
                msg.nonce = from_nonce + i as u64;
                match estimator.message_gas(msg, e.spec.unwrap_or_default()) {
                    Ok(m) => api::EstimateResult {
                        msg: Some(m),
                        err: String::new(),
                    },
                    Err(e) => api::EstimateResult { msg: None, err: e },
                }
            })
            .collect::<Vec<_>>())
    });
}

/// Bytes per `ChainExport` chunk (Lotus and venus send 1 MiB).
const EXPORT_CHUNK: usize = 1 << 20;
/// Chunks queued between the exporting thread and the connection: the export runs only as
/// fast as the client reads, so its memory stays bounded.
const EXPORT_QUEUE: usize = 4;

/// Runs the export on a blocking thread that writes into a bounded channel, and streams the
/// chunks; an empty chunk after the last marks success (Lotus). On failure the stream ends
/// without it and the error goes to the log; a client that goes away stops the export.
fn export_stream(
    n: Arc<Node>,
    head: TipSet,
    opts: ExportOptions,
) -> impl futures::Stream<Item = Base64Bytes> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(EXPORT_QUEUE);
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let mut out = ChunkWriter {
            tx: &tx,
            buf: Vec::with_capacity(EXPORT_CHUNK),
            bytes: 0,
        };
        let result = venus_chain::car::export_chain_with(&n.cs, &head, opts, &mut out)
            .map_err(|e| e.to_string())
            .and_then(|blocks| {
                out.finish()
                    .map(|bytes| (blocks, bytes))
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok((blocks, bytes)) => {
                tracing::info!(height = head.height(), blocks, bytes, elapsed = ?started.elapsed(), "chain export done");
                let _ = tx.blocking_send(Vec::new());
            }
            Err(e) => tracing::warn!(height = head.height(), error = %e, "chain export failed"),
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Base64Bytes(chunk), rx))
    })
}

/// `io::Write` into the export channel in `EXPORT_CHUNK` pieces, waiting while it is full.
struct ChunkWriter<'a> {
    tx: &'a tokio::sync::mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
    bytes: u64,
}

impl ChunkWriter<'_> {
    fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.bytes += chunk.len() as u64;
        self.tx.blocking_send(chunk).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client stopped reading the export",
            )
        })
    }

    /// Sends what is left; returns the bytes sent in all.
    fn finish(mut self) -> std::io::Result<u64> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.send(rest)?;
        }
        Ok(self.bytes)
    }
}

impl std::io::Write for ChunkWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = EXPORT_CHUNK - self.buf.len();
        let take = room.min(data.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == EXPORT_CHUNK {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(EXPORT_CHUNK));
            self.send(full)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Chunks go out when full or at `finish`; a flush mid-export need not cut one short.
        Ok(())
    }
}

/// Head changes as a stream; a lagging subscriber is told nothing was lost silently: it
/// gets the current head again as an `apply`.
fn tokio_stream_from(
    rx: tokio::sync::broadcast::Receiver<Vec<HeadChange>>,
) -> impl futures::Stream<Item = Vec<HeadChange>> + Send + 'static {
    futures::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(v) => return Some((v, rx)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "ChainNotify subscriber lagged");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
}

fn messages_in(n: &Node, ts: &TipSet) -> Result<Vec<MessageCidAndMessage>, RpcError> {
    let msgs = n.cs.tipset_messages(ts).map_err(err)?;
    Ok(msgs
        .into_iter()
        .map(|(_, m)| MessageCidAndMessage {
            cid: m.cid(),
            message: m.message().clone(),
        })
        .collect())
}

fn receipts(n: &Node, root: &Cid) -> Result<Vec<MessageReceipt>, RpcError> {
    let raw = venus_chain::msgmeta::read_receipts(n.cs.blockstore(), &root.0).map_err(err)?;
    Ok(raw.into_iter().map(to_receipt).collect())
}

fn to_receipt(r: fvm_shared::receipt::Receipt) -> MessageReceipt {
    MessageReceipt {
        exit_code: i64::from(r.exit_code.value()),
        return_data: r.return_data.to_vec().into(),
        gas_used: i64::try_from(r.gas_used).unwrap_or(i64::MAX),
        events_root: r.events_root.map(Cid),
    }
}

/// Walk back from `from` looking for the tipset whose parent included `cid`; the lookup names
/// the tipset carrying the receipt, as Lotus does.
pub(crate) fn search_msg(
    n: &Node,
    from: &TipSet,
    cid: &Cid,
    limit: ChainEpoch,
) -> Result<Option<MsgLookup>, RpcError> {
    let stop = if limit < 0 {
        0
    } else {
        (from.height() - limit).max(0)
    };
    let mut ts = from.clone();
    while ts.height() > 0 && ts.height() > stop {
        let parent = n.cs.load_tipset(&ts.parents()).map_err(err)?;
        if let Some(found) = lookups_with_parent(n, &ts, &parent, |c| c == cid)?.pop() {
            return Ok(Some(found));
        }
        ts = parent;
    }
    Ok(None)
}

/// The messages `wanted` among those `ts` executed (its parent's), with their receipts.
pub(crate) fn lookups_in(
    n: &Node,
    ts: &TipSet,
    wanted: impl Fn(&Cid) -> bool,
) -> Result<Vec<MsgLookup>, RpcError> {
    if ts.height() == 0 {
        return Ok(Vec::new());
    }
    let parent = n.cs.load_tipset(&ts.parents()).map_err(err)?;
    lookups_with_parent(n, ts, &parent, wanted)
}

fn lookups_with_parent(
    n: &Node,
    ts: &TipSet,
    parent: &TipSet,
    wanted: impl Fn(&Cid) -> bool,
) -> Result<Vec<MsgLookup>, RpcError> {
    let msgs = n.cs.tipset_messages(parent).map_err(err)?;
    let mut found = Vec::new();
    let mut rs: Option<Vec<MessageReceipt>> = None;
    for (i, (_, m)) in msgs.iter().enumerate() {
        let cid = m.cid();
        if !wanted(&cid) {
            continue;
        }
        if rs.is_none() {
            rs = Some(receipts(n, &ts.blocks()[0].parent_message_receipts)?);
        }
        let receipt = rs
            .as_ref()
            .and_then(|rs| rs.get(i))
            .cloned()
            .ok_or_else(|| err(format!("receipt {i} missing for {cid}")))?;
        found.push(MsgLookup {
            message: cid,
            receipt,
            return_dec: None,
            tipset: ts.key().clone(),
            height: ts.height(),
        });
    }
    Ok(found)
}

fn create_block(n: &Node, template: &BlockTemplate) -> Result<BlockMsg, RpcError> {
    let parent = n.cs.load_tipset(&template.parents).map_err(err)?;
    let view = n.view_at(&parent).map_err(err)?;
    let worker = view
        .with_tree(|t| {
            let (_, st) = query::miner_state(t, &template.miner.0)?;
            query::account_key(t, &st.info.worker)
        })
        .map_err(err)?;
    let keystore = n.keystore.lock();
    let key = keystore.get(&Address(worker));
    // Without the worker key the block comes back unsigned (venus): the miner signs it
    // through the gateway and submits it.
    venus_chain::create::create_block(&n.cs, template, key).map_err(err)
}

fn miner_info(info: &venus_chain::actors::MinerInfo) -> MinerInfo {
    let peer_id = libp2p_identity::PeerId::from_bytes(&info.peer_id)
        .ok()
        .map(|p| p.to_string());
    MinerInfo {
        owner: Address(info.owner),
        worker: Address(info.worker),
        new_worker: venus_types::MaybeAddress(None),
        control_addresses: Vec::new(),
        worker_change_epoch: -1,
        peer_id,
        multiaddrs: info.multiaddrs.iter().map(|m| m.0.clone().into()).collect(),
        window_post_proof_type: i64::from(info.window_post_proof_type),
        sector_size: info.sector_size as u64,
        window_post_partition_sectors: info.window_post_partition_sectors,
        consensus_fault_elapsed: -1,
        pending_owner_address: None,
        beneficiary: Address(info.owner),
        beneficiary_term: None,
        pending_beneficiary_term: None,
    }
}

/// A message accepted into our pool from the API goes to the peers' pools too.
fn push_and_announce(n: &Node, msg: SignedMessage) -> Result<Cid, RpcError> {
    let cid = n.push_message(msg.clone(), true).map_err(err)?;
    n.announce_message(&msg);
    Ok(cid)
}

/// The syncer's worker (catch-up stage and heights) once one ran; before that one entry at
/// the head, complete when ready, else idle (local) or error (public) with the reason.
fn sync_state(n: &Node) -> SyncState {
    let head = n.head();
    let genesis = TipSet::new(vec![n.cs.genesis().clone()]).ok();
    let (stage, message) = match n.check_ready() {
        Ok(()) => (STAGE_COMPLETE, String::new()),
        Err(reason) if !n.params.is_local => (STAGE_ERROR, reason),
        Err(reason) => (STAGE_IDLE, reason),
    };
    let fallback = (stage, message, head.height().max(n.expected_epoch()));
    n.sync.to_api(&head, genesis, fallback)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn export_writer_sends_whole_chunks_then_the_rest() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        let data: Vec<u8> = (0..EXPORT_CHUNK * 2 + EXPORT_CHUNK / 2)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut w = ChunkWriter {
            tx: &tx,
            buf: Vec::new(),
            bytes: 0,
        };
        for piece in data.chunks(1000) {
            w.write_all(piece).expect("write");
        }
        assert_eq!(w.finish().expect("finish"), data.len() as u64);
        drop(tx);
        let mut chunks = Vec::new();
        while let Ok(c) = rx.try_recv() {
            chunks.push(c);
        }
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        assert_eq!(sizes, [EXPORT_CHUNK, EXPORT_CHUNK, EXPORT_CHUNK / 2]);
        assert_eq!(chunks.concat(), data);

        // A reader that went away stops the export with an error.
        let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
        drop(rx);
        let mut w = ChunkWriter {
            tx: &tx,
            buf: Vec::new(),
            bytes: 0,
        };
        let e = w.write_all(&data).expect_err("closed");
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
