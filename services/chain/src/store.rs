//! The chain store: headers and messages in the blockstore; tipset weights, execution results,
//! the head and the canonical height index in a metadata table; heaviest-weight fork choice
//! with revert/apply head-change events.
//!
//! Crash safety: blocks are written before any metadata that names them, and every metadata
//! update (weight, head, height index) is one redb transaction, so a crash leaves either the
//! old head or the new one, never a head pointing at missing data.

use std::collections::HashMap;
use std::sync::Arc;

use fvm_ipld_blockstore::Blockstore;
use fvm_ipld_encoding::CborStore;
use multihash_codetable::Code;
use parking_lot::{Mutex, RwLock};
use redb::TableDefinition;
use tokio::sync::broadcast;
use venus_types::{
    BigInt, BlockHeader, Cid, HeadChange, HeadChangeType, Message, SignedMessage, TipSet, TipSetKey,
};

use crate::blockstore::{BufferedBlockstore, ChainDb, RedbBlockstore, StoreError, WriteBatch};

const META: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chain_meta");
const HEAD_KEY: &[u8] = b"head";

/// What executing a tipset produced (the state root and receipts its children carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecResult {
    pub state_root: Cid,
    pub receipts_root: Cid,
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("block {0} not found")]
    BlockNotFound(Cid),
    #[error("tipset {0} not found")]
    TipSetNotFound(String),
    #[error("message {0} not found")]
    MessageNotFound(Cid),
    #[error("invalid tipset: {0}")]
    TipSet(#[from] venus_types::TipSetError),
    #[error("chain data: {0}")]
    Data(String),
}

fn data_err(e: impl std::fmt::Display) -> ChainError {
    ChainError::Data(e.to_string())
}

/// The metadata table: redb next to the blockstore, or memory for tests.
#[derive(Clone)]
pub enum MetaStore {
    Redb(Arc<ChainDb>),
    Memory(Arc<RwLock<HashMap<Vec<u8>, Vec<u8>>>>),
}

impl MetaStore {
    pub fn memory() -> Self {
        MetaStore::Memory(Arc::default())
    }

    /// A write batch on the database (none in memory): see [`ChainStore::write_batch`].
    fn batch(&self) -> Option<WriteBatch> {
        match self {
            MetaStore::Redb(db) => Some(db.batch()),
            MetaStore::Memory(_) => None,
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            MetaStore::Memory(m) => Ok(m.read().get(key).cloned()),
            MetaStore::Redb(db) => {
                let txn = db
                    .begin_read()
                    .map_err(|e| StoreError::db("begin read", e))?;
                let table = match txn.open_table(META) {
                    Ok(t) => t,
                    Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                    Err(e) => return Err(StoreError::db("open meta table", e)),
                };
                Ok(table
                    .get(key)
                    .map_err(|e| StoreError::db("read meta", e))?
                    .map(|v| v.value().to_vec()))
            }
        }
    }

    /// Writes all pairs atomically.
    fn put_all(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        match self {
            MetaStore::Memory(m) => {
                let mut m = m.write();
                for (k, v) in pairs {
                    m.insert(k.clone(), v.clone());
                }
                Ok(())
            }
            MetaStore::Redb(db) => {
                let txn = db
                    .begin_write()
                    .map_err(|e| StoreError::db("begin write", e))?;
                {
                    let mut table = txn
                        .open_table(META)
                        .map_err(|e| StoreError::db("open meta table", e))?;
                    for (k, v) in pairs {
                        table
                            .insert(k.as_slice(), v.as_slice())
                            .map_err(|e| StoreError::db("write meta", e))?;
                    }
                }
                txn.commit().map_err(|e| StoreError::db("commit meta", e))
            }
        }
    }
}

fn weight_key(tsk: &TipSetKey) -> Vec<u8> {
    [b"w/".as_slice(), &tsk.cid().to_bytes()].concat()
}
fn exec_key(tsk: &TipSetKey) -> Vec<u8> {
    [b"x/".as_slice(), &tsk.cid().to_bytes()].concat()
}
fn height_key(h: i64) -> Vec<u8> {
    [b"h/".as_slice(), &h.to_be_bytes()].concat()
}

/// Stores a header in the blockstore; returns its CID.
pub fn put_header<BS: Blockstore>(bs: &BS, header: &BlockHeader) -> anyhow::Result<Cid> {
    let bytes = header.to_cbor();
    let cid = header.cid();
    bs.put_keyed(&cid.0, &bytes)?;
    Ok(cid)
}

/// A message as it sits in a block: BLS ones unsigned, secp ones signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainMessage {
    Bls(Message),
    Secp(SignedMessage),
}

impl ChainMessage {
    pub fn message(&self) -> &Message {
        match self {
            ChainMessage::Bls(m) => m,
            ChainMessage::Secp(s) => &s.message,
        }
    }
    pub fn cid(&self) -> Cid {
        match self {
            ChainMessage::Bls(m) => m.cid(),
            ChainMessage::Secp(s) => s.cid(),
        }
    }
    /// The size counted for inclusion gas.
    pub fn chain_length(&self) -> usize {
        match self {
            ChainMessage::Bls(m) => m.to_cbor().len(),
            ChainMessage::Secp(s) => s.to_cbor().len(),
        }
    }
}

/// An open [`ChainStore::write_batch`]; `finish` (or drop) ends it.
pub struct StoreBatch(Option<WriteBatch>);

impl StoreBatch {
    /// Ends the batch: the last open one makes every write so far durable.
    pub fn finish(self) -> Result<(), ChainError> {
        match self.0 {
            Some(b) => Ok(b.finish()?),
            None => Ok(()),
        }
    }
}

/// The chain store over a blockstore.
pub struct ChainStore<BS> {
    bs: BS,
    meta: MetaStore,
    genesis: BlockHeader,
    head: RwLock<TipSet>,
    /// Serialises head updates so events go out in order.
    head_lock: Mutex<()>,
    events: broadcast::Sender<Vec<HeadChange>>,
}

impl ChainStore<RedbBlockstore> {
    /// Opens the chain in a redb file; `genesis` is used only when the file has no head yet.
    pub fn open_redb(
        path: &std::path::Path,
        genesis: Option<BlockHeader>,
    ) -> Result<Self, ChainError> {
        let bs = RedbBlockstore::open(path)?;
        let meta = MetaStore::Redb(bs.database().clone());
        Self::open(bs, meta, genesis)
    }
}

impl<BS: Blockstore> ChainStore<BS> {
    /// Opens a chain: resumes from the stored head, or starts at `genesis`.
    pub fn open(bs: BS, meta: MetaStore, genesis: Option<BlockHeader>) -> Result<Self, ChainError> {
        let (events, _) = broadcast::channel(256);
        let stored_head = meta.get(HEAD_KEY)?;
        let (genesis, head) = match stored_head {
            Some(bytes) => {
                let tsk = TipSetKey::from_bytes(&bytes).map_err(data_err)?;
                let head = load_tipset(&bs, &tsk)?;
                let gen_cid = meta
                    .get(b"genesis")?
                    .ok_or_else(|| data_err("stored chain has a head but no genesis"))?;
                let gen_cid = cid::Cid::try_from(gen_cid.as_slice()).map_err(data_err)?;
                let genesis = get_header(&bs, &Cid(gen_cid))?;
                (genesis, head)
            }
            None => {
                let genesis =
                    genesis.ok_or_else(|| data_err("empty chain store and no genesis given"))?;
                put_header(&bs, &genesis).map_err(data_err)?;
                let ts = TipSet::new(vec![genesis.clone()])?;
                meta.put_all(&[
                    (b"genesis".to_vec(), genesis.cid().to_bytes()),
                    (HEAD_KEY.to_vec(), ts.key().to_bytes()),
                    (weight_key(ts.key()), BigInt::zero().0.to_signed_bytes_be()),
                    (height_key(0), ts.key().to_bytes()),
                ])?;
                (genesis, ts)
            }
        };
        Ok(ChainStore {
            bs,
            meta,
            genesis,
            head: RwLock::new(head),
            head_lock: Mutex::new(()),
            events,
        })
    }

    pub fn blockstore(&self) -> &BS {
        &self.bs
    }

    /// Defers the fsync of every write (blocks and metadata, from any caller) until the
    /// returned batch ends; one fsync then covers them all. Writes stay in commit order and a
    /// crash keeps a prefix of them, so the stored head never names data that was lost: the
    /// head of a window applied in a batch becomes durable together with its data, at the
    /// batch's end. Batches nest.
    pub fn write_batch(&self) -> StoreBatch {
        StoreBatch(self.meta.batch())
    }

    pub fn genesis(&self) -> &BlockHeader {
        &self.genesis
    }

    pub fn heaviest(&self) -> TipSet {
        self.head.read().clone()
    }

    /// New head changes, as they happen. Callers send their own `Current` first.
    pub fn subscribe(&self) -> broadcast::Receiver<Vec<HeadChange>> {
        self.events.subscribe()
    }

    pub fn put_block(&self, header: &BlockHeader) -> Result<Cid, ChainError> {
        put_header(&self.bs, header).map_err(data_err)
    }

    /// Stores headers in one write.
    pub fn put_blocks(&self, headers: &[BlockHeader]) -> Result<(), ChainError> {
        let buf = BufferedBlockstore::new(&self.bs);
        for h in headers {
            put_header(&buf, h).map_err(data_err)?;
        }
        buf.flush().map_err(data_err)
    }

    pub fn get_block(&self, cid: &Cid) -> Result<BlockHeader, ChainError> {
        get_header(&self.bs, cid)
    }

    pub fn has_block(&self, cid: &Cid) -> Result<bool, ChainError> {
        self.bs.has(&cid.0).map_err(data_err)
    }

    pub fn load_tipset(&self, tsk: &TipSetKey) -> Result<TipSet, ChainError> {
        if tsk.is_empty() {
            return Ok(self.heaviest());
        }
        load_tipset(&self.bs, tsk)
    }

    /// Stores a block's messages and returns the TxMeta root for its `Messages` field.
    /// All of it in one write (one transaction).
    pub fn put_messages(&self, bls: &[Message], secp: &[SignedMessage]) -> Result<Cid, ChainError> {
        let buf = BufferedBlockstore::new(&self.bs);
        let mut bls_cids = Vec::with_capacity(bls.len());
        for m in bls {
            bls_cids.push(buf.put_cbor(m, Code::Blake2b256).map_err(data_err)?);
        }
        let mut secp_cids = Vec::with_capacity(secp.len());
        for m in secp {
            secp_cids.push(buf.put_cbor(m, Code::Blake2b256).map_err(data_err)?);
            // The unsigned message too, as Lotus's message pool stores it: clients (and
            // venus-messager's records) look secp messages up by their unsigned CID as well.
            buf.put_cbor(&m.message, Code::Blake2b256)
                .map_err(data_err)?;
        }
        let root = crate::msgmeta::put_msg_meta(&buf, &bls_cids, &secp_cids).map_err(data_err)?;
        buf.flush().map_err(data_err)?;
        Ok(Cid(root))
    }

    /// A block's messages: (BLS unsigned, secp signed), in block order.
    pub fn block_messages(
        &self,
        header: &BlockHeader,
    ) -> Result<(Vec<Message>, Vec<SignedMessage>), ChainError> {
        let (bls, secp) =
            crate::msgmeta::read_msg_meta(&self.bs, &header.messages.0).map_err(data_err)?;
        let bls = bls
            .iter()
            .map(|c| {
                self.bs
                    .get_cbor::<Message>(c)
                    .map_err(data_err)?
                    .ok_or(ChainError::MessageNotFound(Cid(*c)))
            })
            .collect::<Result<_, _>>()?;
        let secp = secp
            .iter()
            .map(|c| {
                self.bs
                    .get_cbor::<SignedMessage>(c)
                    .map_err(data_err)?
                    .ok_or(ChainError::MessageNotFound(Cid(*c)))
            })
            .collect::<Result<_, _>>()?;
        Ok((bls, secp))
    }

    /// The unique messages of a tipset in execution order (block by block, BLS then secp,
    /// skipping CIDs seen in an earlier block), each with the block index that included it.
    pub fn tipset_messages(&self, ts: &TipSet) -> Result<Vec<(usize, ChainMessage)>, ChainError> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (i, b) in ts.blocks().iter().enumerate() {
            let (bls, secp) = self.block_messages(b)?;
            for m in bls
                .into_iter()
                .map(ChainMessage::Bls)
                .chain(secp.into_iter().map(ChainMessage::Secp))
            {
                if seen.insert(m.cid()) {
                    out.push((i, m));
                }
            }
        }
        Ok(out)
    }

    /// Any stored message by CID (a signed secp message or an unsigned BLS one).
    pub fn get_message(&self, cid: &Cid) -> Result<ChainMessage, ChainError> {
        let bytes = self
            .bs
            .get(&cid.0)
            .map_err(data_err)?
            .ok_or(ChainError::MessageNotFound(*cid))?;
        if let Ok(m) = fvm_ipld_encoding::from_slice::<SignedMessage>(&bytes) {
            return Ok(ChainMessage::Secp(m));
        }
        fvm_ipld_encoding::from_slice::<Message>(&bytes)
            .map(ChainMessage::Bls)
            .map_err(data_err)
    }

    pub fn weight(&self, tsk: &TipSetKey) -> Result<Option<BigInt>, ChainError> {
        Ok(self
            .meta
            .get(&weight_key(tsk))?
            .map(|b| BigInt(num_bigint::BigInt::from_signed_bytes_be(&b))))
    }

    pub fn exec_result(&self, tsk: &TipSetKey) -> Result<Option<ExecResult>, ChainError> {
        let Some(bytes) = self.meta.get(&exec_key(tsk))? else {
            return Ok(None);
        };
        let (s, r): (cid::Cid, cid::Cid) =
            fvm_ipld_encoding::from_slice(&bytes).map_err(data_err)?;
        Ok(Some(ExecResult {
            state_root: Cid(s),
            receipts_root: Cid(r),
        }))
    }

    pub fn set_exec_result(&self, tsk: &TipSetKey, res: ExecResult) -> Result<(), ChainError> {
        let bytes = fvm_ipld_encoding::to_vec(&(res.state_root.0, res.receipts_root.0))
            .map_err(data_err)?;
        Ok(self.meta.put_all(&[(exec_key(tsk), bytes)])?)
    }

    /// Records a validated tipset with its weight and makes it the head if it is heavier
    /// (ties go to the smaller minimum ticket, as Lotus). Returns true if the head changed.
    pub fn add_tipset(&self, ts: &TipSet, weight: &BigInt) -> Result<bool, ChainError> {
        for b in ts.blocks() {
            if !self.has_block(&b.cid())? {
                self.put_block(b)?;
            }
        }
        let _guard = self.head_lock.lock();
        let mut pairs = vec![(weight_key(ts.key()), weight.0.to_signed_bytes_be())];
        let head = self.heaviest();
        let head_weight = self.weight(head.key())?.unwrap_or_else(BigInt::zero);
        let heavier = weight.0 > head_weight.0
            || (weight.0 == head_weight.0
                && ts.key() != head.key()
                && ts.min_ticket().map(|t| t.digest()) < head.min_ticket().map(|t| t.digest()));
        if !heavier {
            self.meta.put_all(&pairs)?;
            return Ok(false);
        }
        let (reverts, applies) = self.reorg_path(&head, ts)?;
        pairs.push((HEAD_KEY.to_vec(), ts.key().to_bytes()));
        for t in &applies {
            pairs.push((height_key(t.height()), t.key().to_bytes()));
        }
        // Heights above the new head no longer hold canonical tipsets.
        for h in ts.height() + 1..=head.height() {
            pairs.push((height_key(h), Vec::new()));
        }
        // Null rounds on the new branch.
        for w in applies.windows(2) {
            for h in w[0].height() + 1..w[1].height() {
                pairs.push((height_key(h), Vec::new()));
            }
        }
        self.meta.put_all(&pairs)?;
        *self.head.write() = ts.clone();
        let change = |change_type, val| HeadChange { change_type, val };
        let mut changes: Vec<HeadChange> = reverts
            .into_iter()
            .map(|t| change(HeadChangeType::Revert, t))
            .collect();
        changes.extend(
            applies
                .into_iter()
                .map(|t| change(HeadChangeType::Apply, t)),
        );
        tracing::info!(height = ts.height(), tipset = %ts.key(), "new head");
        // No subscribers is fine.
        let _ = self.events.send(changes);
        Ok(true)
    }

    /// Tipsets to revert (newest first) and to apply (oldest first) to go from `from` to `to`.
    pub fn reorg_path(
        &self,
        from: &TipSet,
        to: &TipSet,
    ) -> Result<(Vec<TipSet>, Vec<TipSet>), ChainError> {
        let (mut a, mut b) = (from.clone(), to.clone());
        let (mut reverts, mut applies) = (Vec::new(), Vec::new());
        while a.key() != b.key() {
            if a.height() >= b.height() && a.height() > 0 {
                let parent = self.load_tipset(&a.parents())?;
                reverts.push(std::mem::replace(&mut a, parent));
            } else if b.height() > 0 {
                let parent = self.load_tipset(&b.parents())?;
                applies.push(std::mem::replace(&mut b, parent));
            } else {
                return Err(data_err("tipsets do not share a genesis"));
            }
        }
        applies.reverse();
        Ok((reverts, applies))
    }

    /// The tipset at `height` on the chain ending at `anchor` (the head if `None`). With null
    /// rounds at `height`, `prev` picks the tipset before the gap, otherwise the one after.
    pub fn tipset_by_height(
        &self,
        height: i64,
        anchor: Option<&TipSet>,
        prev: bool,
    ) -> Result<TipSet, ChainError> {
        let head = self.heaviest();
        let anchor = anchor.cloned().unwrap_or(head.clone());
        if height > anchor.height() {
            return Err(ChainError::TipSetNotFound(format!(
                "height {height} is above the anchor's {}",
                anchor.height()
            )));
        }
        if height < 0 {
            return Err(ChainError::TipSetNotFound(format!(
                "negative height {height}"
            )));
        }
        // Fast path: the canonical index, when the anchor is on the canonical chain.
        if self.meta.get(&height_key(anchor.height()))?.as_deref()
            == Some(&anchor.key().to_bytes()[..])
        {
            for h in height..=anchor.height() {
                if let Some(bytes) = self.meta.get(&height_key(h))?.filter(|b| !b.is_empty()) {
                    if h == height || !prev {
                        return self.load_tipset(&TipSetKey::from_bytes(&bytes).map_err(data_err)?);
                    }
                    break;
                }
            }
        }
        let mut ts = anchor;
        let mut after = ts.clone();
        while ts.height() > height {
            after = ts.clone();
            ts = self.load_tipset(&ts.parents())?;
        }
        if ts.height() == height || prev {
            Ok(ts)
        } else {
            Ok(after)
        }
    }

    /// Up to `count` tipset keys ending at `tsk`, oldest first (venus `ChainList`).
    pub fn chain_list(&self, tsk: &TipSetKey, count: usize) -> Result<Vec<TipSetKey>, ChainError> {
        let mut ts = self.load_tipset(tsk)?;
        let mut out = vec![ts.key().clone()];
        while out.len() < count && ts.height() > 0 {
            ts = self.load_tipset(&ts.parents())?;
            out.push(ts.key().clone());
        }
        out.reverse();
        Ok(out)
    }
}

fn get_header<BS: Blockstore>(bs: &BS, cid: &Cid) -> Result<BlockHeader, ChainError> {
    bs.get_cbor(&cid.0)
        .map_err(data_err)?
        .ok_or(ChainError::BlockNotFound(*cid))
}

fn load_tipset<BS: Blockstore>(bs: &BS, tsk: &TipSetKey) -> Result<TipSet, ChainError> {
    let blocks = tsk
        .cids()
        .iter()
        .map(|c| get_header(bs, c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            ChainError::BlockNotFound(_) => ChainError::TipSetNotFound(tsk.to_string()),
            e => e,
        })?;
    Ok(TipSet::new(blocks)?)
}
