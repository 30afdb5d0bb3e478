//! CAR (v1) export and import of the chain.
//!
//! - [`export_chain`] / [`export_chain_with`]: every header back to genesis, every block's
//!   messages and message AMTs, receipts, and full state for the head (its parent state and its
//!   own executed state), for genesis, and for tipsets within `recent_roots` of the head, so an
//!   imported chain can validate and extend the head (Lotus `ChainExport`).
//! - [`export_genesis`]: a genesis CAR (root = the genesis block; its state tree and empty
//!   message and receipt AMTs), as `--make-genesis` writes it.
//! - [`import_car`], [`import_genesis_car`], [`import_snapshot`]: read a CAR into a store,
//!   checking every block against its CID; the last two also check that what was read is a
//!   genesis, or a chain with every parent present down to genesis.
//!
//! Links are found by scanning DAG-CBOR for tag 42, so any block layout is followed.

use std::collections::HashSet;
use std::io::{Read, Write};

use fvm_ipld_blockstore::Blockstore;
use venus_types::{BlockHeader, TipSet, TipSetKey};

use crate::exec::execute_tipset;
use crate::store::ChainStore;

#[derive(Debug, thiserror::Error)]
pub enum CarError {
    #[error("CAR I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed CAR: {0}")]
    Malformed(String),
    #[error("CAR export: {0}")]
    Chain(String),
    #[error("not a genesis CAR: {0}")]
    NotGenesis(String),
    #[error("not a usable chain snapshot: {0}")]
    BadSnapshot(String),
}

fn malformed(e: impl std::fmt::Display) -> CarError {
    CarError::Malformed(e.to_string())
}

/// Largest header and block section accepted on import: far above anything the chain writes,
/// low enough that a corrupt length cannot make us allocate the machine away.
const MAX_HEADER_BYTES: u64 = 1 << 20;
const MAX_SECTION_BYTES: u64 = 1 << 30;
/// Blocks written to the store per batch (one transaction each on redb).
const IMPORT_BATCH: usize = 4096;

#[derive(serde::Serialize, serde::Deserialize)]
struct CarHeader {
    roots: Vec<cid::Cid>,
    version: u64,
}

fn write_varint(w: &mut dyn Write, mut v: u64) -> std::io::Result<()> {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            return w.write_all(&[byte]);
        }
        w.write_all(&[byte | 0x80])?;
    }
}

/// Reads a varint; `None` at a clean end of input.
fn read_varint(r: &mut impl Read) -> Result<Option<u64>, CarError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        if r.read(&mut b)? == 0 {
            return if shift == 0 {
                Ok(None)
            } else {
                Err(malformed("truncated: the file ends inside a length prefix"))
            };
        }
        v |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(Some(v));
        }
    }
    Err(malformed("varint too long"))
}

/// Reads exactly `buf.len()` bytes; a short read is reported as truncation of `what`.
fn read_full(r: &mut impl Read, buf: &mut [u8], what: &str) -> Result<(), CarError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => malformed(format!(
            "truncated: the file ends inside {what} ({} bytes expected)",
            buf.len()
        )),
        _ => CarError::Io(e),
    })
}

/// Writes a CAR: the header, then blocks from a store, each once.
struct CarWriter<'a, BS, W> {
    bs: &'a BS,
    out: W,
    /// Blocks already written.
    written: HashSet<cid::Cid>,
    /// Blocks whose links were already followed (a block can be written first as a bare
    /// root and asked for in full later).
    expanded: HashSet<cid::Cid>,
    count: u64,
}

impl<'a, BS: Blockstore, W: Write> CarWriter<'a, BS, W> {
    fn new(bs: &'a BS, mut out: W, roots: Vec<cid::Cid>) -> Result<Self, CarError> {
        let header = CarHeader { roots, version: 1 };
        let bytes =
            fvm_ipld_encoding::to_vec(&header).map_err(|e| CarError::Chain(e.to_string()))?;
        write_varint(&mut out, bytes.len() as u64)?;
        out.write_all(&bytes)?;
        Ok(CarWriter {
            bs,
            out,
            written: HashSet::new(),
            expanded: HashSet::new(),
            count: 0,
        })
    }

    fn write_block(&mut self, cid: &cid::Cid, data: &[u8]) -> Result<(), CarError> {
        let cid_bytes = cid.to_bytes();
        write_varint(&mut self.out, (cid_bytes.len() + data.len()) as u64)?;
        self.out.write_all(&cid_bytes)?;
        self.out.write_all(data)?;
        self.count += 1;
        Ok(())
    }

    /// Writes `root` and, with `walk`, everything it links to.
    fn emit(&mut self, root: cid::Cid, walk: bool) -> Result<(), CarError> {
        let mut stack = vec![root];
        while let Some(c) = stack.pop() {
            if !on_chain(&c) {
                continue;
            }
            let first = self.written.insert(c);
            let expand =
                walk && c.codec() == fvm_ipld_encoding::DAG_CBOR && self.expanded.insert(c);
            if !first && !expand {
                continue;
            }
            let data = self
                .bs
                .get(&c)
                .map_err(|e| CarError::Chain(e.to_string()))?
                .ok_or_else(|| CarError::Chain(format!("block {c} missing from the store")))?;
            if first {
                self.write_block(&c, &data)?;
            }
            if expand {
                cbor_links(&data, &mut stack).map_err(malformed)?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<u64, CarError> {
        self.out.flush()?;
        Ok(self.count)
    }
}

/// Blocks a chain CAR carries: identity CIDs (actor codes) hold their data inline, and
/// commitment CIDs (sealed and unsealed sectors) name data that lives outside the chain.
fn on_chain(c: &cid::Cid) -> bool {
    c.hash().code() != 0
        && matches!(
            c.codec(),
            fvm_ipld_encoding::DAG_CBOR | fvm_ipld_encoding::IPLD_RAW
        )
}

/// What a chain export holds beyond the minimum (Lotus `ChainExport(nroots, skipoldmsgs)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Full state trees and receipts for tipsets less than this many epochs below the head
    /// (the head's and genesis's states are always written in full).
    pub recent_roots: i64,
    /// Leave out the messages and receipts of tipsets older than `recent_roots`.
    pub skip_old_msgs: bool,
}

/// Exports the chain ending at `head` to `out` with the default options; returns the number
/// of blocks written.
pub fn export_chain<BS: Blockstore>(
    cs: &ChainStore<BS>,
    head: &TipSet,
    out: &mut impl Write,
) -> Result<u64, CarError> {
    export_chain_with(cs, head, ExportOptions::default(), out)
}

/// Exports the chain ending at `head` (roots = the head's block CIDs); returns the number of
/// blocks written.
pub fn export_chain_with<BS: Blockstore>(
    cs: &ChainStore<BS>,
    head: &TipSet,
    opts: ExportOptions,
    out: &mut impl Write,
) -> Result<u64, CarError> {
    if opts.recent_roots < 0 {
        return Err(CarError::Chain(format!(
            "recent state roots {} must not be negative",
            opts.recent_roots
        )));
    }
    let chain_err = |e: &dyn std::fmt::Display| CarError::Chain(e.to_string());
    let roots = head.cids().iter().map(|c| c.0).collect();
    let mut w = CarWriter::new(cs.blockstore(), out, roots)?;

    // The head's executed state (what its children carry), then every tipset to genesis.
    let exec = execute_tipset(cs, head).map_err(|e| chain_err(&e))?;
    w.emit(exec.state_root.0, true)?;
    w.emit(exec.receipts_root.0, true)?;
    let recent_floor = head.height().saturating_sub(opts.recent_roots);
    let mut ts = head.clone();
    loop {
        let recent = ts.key() == head.key() || ts.height() > recent_floor;
        let full_state = recent || ts.height() == 0;
        let with_msgs = recent || ts.height() == 0 || !opts.skip_old_msgs;
        for b in ts.blocks() {
            w.emit(b.cid().0, false)?;
            if with_msgs {
                w.emit(b.messages.0, true)?;
                w.emit(b.parent_message_receipts.0, true)?;
            }
            w.emit(b.parent_state_root.0, full_state)?;
        }
        if ts.height() == 0 {
            break;
        }
        ts = cs.load_tipset(&ts.parents()).map_err(|e| chain_err(&e))?;
    }
    w.finish()
}

/// Writes a genesis CAR: root = the genesis block, then the header, its full state tree and
/// its (empty) message and receipt AMTs. Returns the number of blocks written.
pub fn export_genesis<BS: Blockstore>(
    bs: &BS,
    genesis: &BlockHeader,
    out: &mut impl Write,
) -> Result<u64, CarError> {
    if genesis.height != 0 {
        return Err(CarError::Chain(format!(
            "block {} is at height {}, not a genesis block",
            genesis.cid(),
            genesis.height
        )));
    }
    let cid = genesis.cid().0;
    let mut w = CarWriter::new(bs, out, vec![cid])?;
    // The header is written as built: its parent is Filecoin's fixed genesis-parent CID,
    // which names no block in the store.
    w.written.insert(cid);
    w.write_block(&cid, &genesis.to_cbor())?;
    w.emit(genesis.parent_state_root.0, true)?;
    w.emit(genesis.messages.0, true)?;
    w.emit(genesis.parent_message_receipts.0, true)?;
    w.finish()
}

/// Reads a CAR v1 stream block by block, checking each block against its CID.
pub struct CarReader<R> {
    input: R,
    roots: Vec<cid::Cid>,
    blocks: u64,
}

impl<R: Read> CarReader<R> {
    /// Reads the header.
    pub fn new(mut input: R) -> Result<Self, CarError> {
        let header_len = read_varint(&mut input)?.ok_or_else(|| malformed("empty file"))?;
        if header_len > MAX_HEADER_BYTES {
            return Err(malformed(format!(
                "header length {header_len} is implausible"
            )));
        }
        let mut header_bytes = vec![0u8; header_len as usize];
        read_full(&mut input, &mut header_bytes, "the header")?;
        let header: CarHeader = fvm_ipld_encoding::from_slice(&header_bytes)
            .map_err(|e| malformed(format!("header: {e}")))?;
        if header.version != 1 {
            return Err(malformed(format!(
                "CAR version {} (only 1 is supported)",
                header.version
            )));
        }
        Ok(CarReader {
            input,
            roots: header.roots,
            blocks: 0,
        })
    }

    pub fn roots(&self) -> &[cid::Cid] {
        &self.roots
    }

    /// The next block, or `None` at the end of the file.
    pub fn next_block(&mut self) -> Result<Option<(cid::Cid, Vec<u8>)>, CarError> {
        let Some(len) = read_varint(&mut self.input)? else {
            return Ok(None);
        };
        let n = self.blocks + 1;
        if len > MAX_SECTION_BYTES {
            return Err(malformed(format!(
                "block {n}: section length {len} is implausible"
            )));
        }
        let mut section = vec![0u8; len as usize];
        read_full(&mut self.input, &mut section, &format!("block {n}"))?;
        let mut cursor = std::io::Cursor::new(section.as_slice());
        let cid = cid::Cid::read_bytes(&mut cursor)
            .map_err(|e| malformed(format!("block {n}: bad CID: {e}")))?;
        let data = section[cursor.position() as usize..].to_vec();
        let code = multihash_codetable::Code::try_from(cid.hash().code())
            .map_err(|e| malformed(format!("block {cid}: {e}")))?;
        let digest = multihash_codetable::MultihashDigest::digest(&code, &data);
        if digest.digest() != cid.hash().digest() {
            return Err(malformed(format!("block {cid} does not match its data")));
        }
        self.blocks = n;
        Ok(Some((cid, data)))
    }

    /// Writes every remaining block into `store`; returns how many.
    pub fn import_into<BS: Blockstore>(&mut self, store: &BS) -> Result<u64, CarError> {
        let mut batch: Vec<(cid::Cid, Vec<u8>)> = Vec::new();
        let mut count = 0u64;
        while let Some(block) = self.next_block()? {
            batch.push(block);
            count += 1;
            if batch.len() >= IMPORT_BATCH {
                store
                    .put_many_keyed(std::mem::take(&mut batch))
                    .map_err(|e| CarError::Chain(format!("storing imported blocks: {e}")))?;
            }
        }
        store
            .put_many_keyed(batch)
            .map_err(|e| CarError::Chain(format!("storing imported blocks: {e}")))?;
        Ok(count)
    }
}

/// Imports a CAR into `store`, checking each block against its CID; returns the root tipset
/// key (the exported head).
pub fn import_car<BS: Blockstore>(
    store: &BS,
    input: &mut impl Read,
) -> Result<TipSetKey, CarError> {
    let mut reader = CarReader::new(input)?;
    reader.import_into(store)?;
    Ok(TipSetKey::new(
        reader.roots.into_iter().map(venus_types::Cid).collect(),
    ))
}

/// Imports a genesis CAR into `store` and checks it: exactly one root, which is a height-0
/// block header whose state tree and message and receipt AMTs are all in the file. Returns
/// the genesis header. Nothing else is recorded: the caller makes it a chain only on success.
pub fn import_genesis_car<BS: Blockstore>(
    store: &BS,
    input: &mut impl Read,
) -> Result<BlockHeader, CarError> {
    let mut reader = CarReader::new(input)?;
    let root = match reader.roots() {
        [root] => *root,
        roots => {
            return Err(CarError::NotGenesis(format!(
                "it has {} roots; a genesis CAR has exactly one, the genesis block",
                roots.len()
            )));
        }
    };
    reader.import_into(store)?;
    let genesis = load_header(store, &root).map_err(CarError::NotGenesis)?;
    if genesis.height != 0 {
        return Err(CarError::NotGenesis(format!(
            "its root {root} is a block at height {}, not a genesis block (height 0)",
            genesis.height
        )));
    }
    check_complete(store, &genesis.parent_state_root.0, "the genesis state")
        .map_err(CarError::NotGenesis)?;
    check_complete(store, &genesis.messages.0, "the genesis messages")
        .map_err(CarError::NotGenesis)?;
    check_complete(
        store,
        &genesis.parent_message_receipts.0,
        "the genesis receipts",
    )
    .map_err(CarError::NotGenesis)?;
    Ok(genesis)
}

/// A chain imported from a snapshot: its head and its genesis.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub head: TipSet,
    pub genesis: BlockHeader,
}

/// Imports a chain CAR written by [`export_chain`] into `store` and checks its links: the
/// roots form the head tipset, every parent tipset is present with a lower height down to a
/// single-block genesis at height 0, and the states the node needs to extend the head (the
/// head's parent state and messages) and to know its network (genesis state) are complete.
/// Nothing else is recorded: the caller makes it a chain only on success.
pub fn import_snapshot<BS: Blockstore>(
    store: &BS,
    input: &mut impl Read,
) -> Result<Snapshot, CarError> {
    let mut reader = CarReader::new(input)?;
    if reader.roots().is_empty() {
        return Err(CarError::BadSnapshot(
            "the CAR has no roots; a chain snapshot's roots are its head tipset".into(),
        ));
    }
    let head_key = TipSetKey::new(
        reader
            .roots()
            .iter()
            .copied()
            .map(venus_types::Cid)
            .collect(),
    );
    reader.import_into(store)?;
    let bad = CarError::BadSnapshot;
    let head = load_tipset_checked(store, &head_key, "the head (the CAR's roots)").map_err(bad)?;
    let mut ts = head.clone();
    while ts.height() > 0 {
        let what = format!("the parents of the tipset at height {}", ts.height());
        let parent = load_tipset_checked(store, &ts.parents(), &what).map_err(bad)?;
        if parent.height() >= ts.height() {
            return Err(CarError::BadSnapshot(format!(
                "the tipset at height {} has parents at height {}: heights must decrease",
                ts.height(),
                parent.height()
            )));
        }
        ts = parent;
    }
    let genesis = match ts.blocks() {
        [g] => g.clone(),
        blocks => {
            return Err(CarError::BadSnapshot(format!(
                "the chain bottoms out at height 0 in {} blocks, not in one genesis block",
                blocks.len()
            )));
        }
    };
    check_complete(store, &genesis.parent_state_root.0, "the genesis state").map_err(bad)?;
    check_complete(store, &head.parent_state().0, "the head's parent state").map_err(bad)?;
    for b in head.blocks() {
        check_complete(store, &b.messages.0, "the head's messages").map_err(bad)?;
    }
    Ok(Snapshot { head, genesis })
}

fn load_header<BS: Blockstore>(store: &BS, cid: &cid::Cid) -> Result<BlockHeader, String> {
    let bytes = store
        .get(cid)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("block {cid} is not in the CAR"))?;
    let header: BlockHeader = fvm_ipld_encoding::from_slice(&bytes)
        .map_err(|e| format!("block {cid} is not a block header: {e}"))?;
    if header.cid().0 != *cid {
        return Err(format!(
            "block {cid} does not re-encode to its own CID (non-canonical header)"
        ));
    }
    Ok(header)
}

fn load_tipset_checked<BS: Blockstore>(
    store: &BS,
    key: &TipSetKey,
    what: &str,
) -> Result<TipSet, String> {
    let blocks = key
        .cids()
        .iter()
        .map(|c| load_header(store, &c.0).map_err(|e| format!("{what}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    TipSet::new(blocks).map_err(|e| format!("{what} do not form a tipset: {e}"))
}

/// Checks that `root` and everything it links to (on-chain blocks) are in `store`.
fn check_complete<BS: Blockstore>(store: &BS, root: &cid::Cid, what: &str) -> Result<(), String> {
    let mut seen = HashSet::new();
    let mut stack = vec![*root];
    while let Some(c) = stack.pop() {
        if !on_chain(&c) || !seen.insert(c) {
            continue;
        }
        let data = store
            .get(&c)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{what} is incomplete: block {c} is not in the CAR"))?;
        if c.codec() == fvm_ipld_encoding::DAG_CBOR {
            cbor_links(&data, &mut stack).map_err(|e| format!("{what}: block {c}: {e}"))?;
        }
    }
    Ok(())
}

/// Collects the CIDs (CBOR tag 42) linked from a DAG-CBOR block.
fn cbor_links(data: &[u8], out: &mut Vec<cid::Cid>) -> Result<(), String> {
    let mut pos = 0usize;
    let mut pending = 1usize; // items still to read
    while pending > 0 {
        pending -= 1;
        let (major, arg, next) = cbor_head(data, pos)?;
        pos = next;
        match major {
            0 | 1 | 7 => {}
            2 | 3 => {
                pos = pos
                    .checked_add(arg as usize)
                    .filter(|p| *p <= data.len())
                    .ok_or("string past the end")?
            }
            4 => pending += arg as usize,
            5 => pending += 2 * arg as usize,
            6 if arg == 42 => {
                let (m, len, start) = cbor_head(data, pos)?;
                if m != 2 {
                    return Err("tag 42 without a byte string".into());
                }
                let end = start
                    .checked_add(len as usize)
                    .filter(|e| *e <= data.len())
                    .ok_or("CID past the end")?;
                let bytes = data.get(start + 1..end).ok_or("empty CID")?; // skip the 0x00 multibase prefix
                out.push(cid::Cid::try_from(bytes).map_err(|e| e.to_string())?);
                pos = end;
            }
            6 => pending += 1,
            _ => return Err(format!("unknown major type {major}")),
        }
        if pending > data.len() {
            return Err("more items than bytes".into());
        }
    }
    Ok(())
}

/// (major type, argument, position after the head).
fn cbor_head(data: &[u8], pos: usize) -> Result<(u8, u64, usize), String> {
    let first = *data.get(pos).ok_or("unexpected end of CBOR")?;
    let (major, info) = (first >> 5, first & 0x1f);
    let extra = match info {
        0..=23 => return Ok((major, u64::from(info), pos + 1)),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => return Err(format!("unsupported CBOR additional info {info}")),
    };
    let bytes = data
        .get(pos + 1..pos + 1 + extra)
        .ok_or("unexpected end of CBOR")?;
    let arg = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Ok((major, arg, pos + 1 + extra))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::{ActorKind, INIT_ACTOR_ID, InitState};
    use crate::blockstore::MemoryBlockstore;
    use crate::state::StateTree;
    use crate::store::MetaStore;
    use crate::testkit::Devnet;

    /// A devnet with `n` blocks on genesis; the first carries a transfer.
    fn devnet_with_blocks(n: usize) -> Devnet {
        let net = Devnet::new(11, 1).expect("devnet");
        for i in 0..n {
            let head = net.cs.heaviest();
            let msgs = if i == 0 {
                vec![net.send(0, net.owner.address(), 0, 1_000)]
            } else {
                Vec::new()
            };
            let b = net.produce(&head, head.height() + 1, msgs).expect("block");
            assert!(
                net.submit(&b).expect("submit"),
                "block {i} becomes the head"
            );
        }
        net
    }

    fn car_of(net: &Devnet, opts: ExportOptions) -> (Vec<u8>, u64) {
        let mut car = Vec::new();
        let n = export_chain_with(&net.cs, &net.cs.heaviest(), opts, &mut car).expect("export");
        (car, n)
    }

    #[test]
    fn genesis_car_round_trips_with_its_whole_state() {
        let net = Devnet::new(3, 1).expect("devnet");
        let genesis = net.cs.genesis().clone();
        let mut car = Vec::new();
        let written = export_genesis(net.cs.blockstore(), &genesis, &mut car).expect("export");
        assert!(written > 3, "{written}");
        let bs = MemoryBlockstore::new();
        let back = import_genesis_car(&bs, &mut car.as_slice()).expect("import");
        assert_eq!(back.cid(), genesis.cid());
        // The imported blocks alone hold the state: the init actor names the network.
        let tree = StateTree::load(&bs, &back.parent_state_root.0).expect("state");
        let init: InitState = tree
            .actor_state(INIT_ACTOR_ID, ActorKind::Init)
            .expect("init actor");
        assert_eq!(init.network_name, "localnet-test");
        let cs = ChainStore::open(bs, MetaStore::memory(), Some(back)).expect("chain");
        assert_eq!(cs.heaviest().height(), 0);
        assert_eq!(cs.genesis().cid(), genesis.cid());
    }

    #[test]
    fn bad_genesis_cars_are_refused_with_the_reason() {
        let net = devnet_with_blocks(1);
        let genesis = net.cs.genesis().clone();
        let mut good = Vec::new();
        export_genesis(net.cs.blockstore(), &genesis, &mut good).expect("export");
        let refuse = |car: &[u8]| {
            import_genesis_car(&MemoryBlockstore::new(), &mut &car[..])
                .expect_err("must be refused")
                .to_string()
        };

        let e = refuse(&good[..good.len() / 2]);
        assert!(e.contains("truncated"), "{e}");
        assert!(refuse(&[]).contains("empty file"));

        let (chain, _) = car_of(&net, ExportOptions::default());
        let e = refuse(&chain);
        let height = net.cs.heaviest().height();
        assert!(
            e.contains("not a genesis CAR") && e.contains(&format!("height {height}")),
            "{e}"
        );

        // Two roots.
        let mut two = Vec::new();
        let w = CarWriter::new(
            net.cs.blockstore(),
            &mut two,
            vec![genesis.cid().0, genesis.parent_state_root.0],
        )
        .expect("writer");
        w.finish().expect("finish");
        assert!(refuse(&two).contains("2 roots"));

        // Only the header: the state is missing.
        let mut bare = Vec::new();
        let mut w =
            CarWriter::new(net.cs.blockstore(), &mut bare, vec![genesis.cid().0]).expect("writer");
        w.write_block(&genesis.cid().0, &genesis.to_cbor())
            .expect("header");
        w.finish().expect("finish");
        let e = refuse(&bare);
        assert!(e.contains("genesis state is incomplete"), "{e}");

        // The root is a state block, not a header.
        let mut not_header = Vec::new();
        let mut w = CarWriter::new(
            net.cs.blockstore(),
            &mut not_header,
            vec![genesis.parent_state_root.0],
        )
        .expect("writer");
        w.emit(genesis.parent_state_root.0, true).expect("state");
        w.finish().expect("finish");
        assert!(refuse(&not_header).contains("is not a block header"));
    }

    #[test]
    fn snapshot_import_walks_to_genesis_and_the_head_can_be_extended() {
        let net = devnet_with_blocks(3);
        let head = net.cs.heaviest();
        let (car, _) = car_of(&net, ExportOptions::default());
        let bs = MemoryBlockstore::new();
        let snap = import_snapshot(&bs, &mut car.as_slice()).expect("import");
        assert_eq!(snap.head.key(), head.key());
        assert_eq!(snap.genesis.cid(), net.cs.genesis().cid());

        // A chain store on the imported blocks takes the head and extends it.
        let cs = ChainStore::open(bs, MetaStore::memory(), Some(snap.genesis)).expect("chain");
        let weight = crate::exec::tipset_weight(&cs, &snap.head).expect("weight");
        assert!(cs.add_tipset(&snap.head, &weight).expect("head"));
        let imported = Devnet {
            cs,
            params: net.params.clone(),
            worker: net.worker.clone(),
            owner: net.owner.clone(),
            accounts: net.accounts.clone(),
            builder: Default::default(),
            miner: net.miner,
            genesis_time: net.genesis_time,
        };
        let next = imported
            .produce(&head, head.height() + 1, Vec::new())
            .expect("block on the imported head");
        assert!(imported.submit(&next).expect("valid on the imported chain"));
        assert_eq!(imported.cs.heaviest().height(), next.header.height);
    }

    #[test]
    fn snapshots_with_missing_links_are_refused() {
        let net = devnet_with_blocks(2);
        let head = net.cs.heaviest();
        let roots: Vec<cid::Cid> = head.cids().iter().map(|c| c.0).collect();
        let refuse = |car: &[u8]| {
            import_snapshot(&MemoryBlockstore::new(), &mut &car[..])
                .expect_err("must be refused")
                .to_string()
        };
        // The head alone, with its state: the parents are missing.
        let mut car = Vec::new();
        let mut w = CarWriter::new(net.cs.blockstore(), &mut car, roots.clone()).expect("w");
        for b in head.blocks() {
            w.emit(b.cid().0, false).expect("header");
            w.emit(b.messages.0, true).expect("messages");
            w.emit(b.parent_state_root.0, true).expect("state");
        }
        w.finish().expect("finish");
        let e = refuse(&car);
        assert!(
            e.contains(&format!(
                "parents of the tipset at height {}",
                head.height()
            )) && e.contains("is not in the CAR"),
            "{e}"
        );
        // No roots at all.
        let mut empty = Vec::new();
        CarWriter::new(net.cs.blockstore(), &mut empty, Vec::new())
            .expect("w")
            .finish()
            .expect("finish");
        assert!(refuse(&empty).contains("no roots"));
        // A genesis CAR is a valid (height 0) snapshot.
        let mut g = Vec::new();
        export_genesis(net.cs.blockstore(), net.cs.genesis(), &mut g).expect("genesis");
        let snap = import_snapshot(&MemoryBlockstore::new(), &mut g.as_slice()).expect("snap");
        assert_eq!(snap.head.height(), 0);
    }

    #[test]
    fn recent_roots_and_skip_old_msgs_change_what_is_exported() {
        let net = devnet_with_blocks(3);
        let head = net.cs.heaviest();
        let first = net
            .cs
            .tipset_by_height(1, None, false)
            .expect("first block");
        assert!(first.height() < head.height());
        let msg_cid = net.cs.tipset_messages(&first).expect("msgs")[0].1.cid();

        let import = |car: &[u8]| {
            let bs = MemoryBlockstore::new();
            import_snapshot(&bs, &mut &car[..]).expect("import");
            bs
        };
        let (minimal, n_min) = car_of(&net, ExportOptions::default());
        let (recent, n_recent) = car_of(
            &net,
            ExportOptions {
                recent_roots: 900,
                skip_old_msgs: false,
            },
        );
        assert!(n_recent > n_min, "{n_recent} > {n_min}");
        // Only the recent export has the full parent state of an older tipset (the head's
        // parent, whose state is what the first block's execution left).
        let mid = net.cs.load_tipset(&head.parents()).expect("head's parent");
        assert!(mid.height() > first.height());
        let state = mid.parent_state().0;
        assert!(check_complete(&import(&minimal), &state, "old state").is_err());
        check_complete(&import(&recent), &state, "old state").expect("full old state");

        let (skipped, _) = car_of(
            &net,
            ExportOptions {
                recent_roots: 1,
                skip_old_msgs: true,
            },
        );
        assert!(import(&minimal).has(&msg_cid.0).expect("has"));
        assert!(!import(&skipped).has(&msg_cid.0).expect("has"));

        let mut out = Vec::new();
        let neg = ExportOptions {
            recent_roots: -1,
            skip_old_msgs: false,
        };
        assert!(export_chain_with(&net.cs, &head, neg, &mut out).is_err());
    }
}
