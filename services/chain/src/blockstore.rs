//! Content-addressed block storage: a crash-safe redb store for the node, an in-memory one for
//! tests, and a write buffer so that a whole tipset's state lands in one transaction.
//!
//! Durability: every commit is durable (fsync) unless a [`WriteBatch`] is open on the
//! database; then commits are made without fsync (redb `Durability::None`) and the batch's end
//! makes them all durable at once. redb keeps commits in order and a crash restores the last
//! durable one, so what survives a crash is always a prefix of the commits: data written
//! before the metadata naming it (the chain store's order) can never be lost while that
//! metadata survives.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cid::Cid;
use fvm_ipld_blockstore::Blockstore;
use parking_lot::RwLock;
use redb::{Database, Durability, ReadTransaction, ReadableDatabase, TableDefinition};

pub use fvm_ipld_blockstore::MemoryBlockstore;

/// CID bytes → block bytes.
const BLOCKS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("blocks");

/// Errors of the persistent store, with the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("opening chain database {path}: {source}")]
    Open {
        path: String,
        source: redb::DatabaseError,
    },
    #[error("chain database {op}: {source}")]
    Db {
        op: &'static str,
        source: redb::Error,
    },
}

impl StoreError {
    pub(crate) fn db(op: &'static str, e: impl Into<redb::Error>) -> Self {
        StoreError::Db {
            op,
            source: e.into(),
        }
    }
}

/// The redb database behind the blockstore and the chain store's metadata, with the
/// durability its commits get (see the module docs).
pub struct ChainDb {
    db: Database,
    /// Open [`WriteBatch`]es: while above zero, commits are not fsynced.
    batches: AtomicUsize,
}

impl ChainDb {
    /// A write transaction, durable unless a batch is open. The durability is decided once
    /// the transaction holds redb's single writer slot, so a batch's closing sync (a write
    /// transaction too) always comes after every commit made without fsync.
    pub fn begin_write(&self) -> Result<redb::WriteTransaction, redb::Error> {
        let mut txn = self.db.begin_write()?;
        if self.batches.load(Ordering::SeqCst) > 0 {
            // Refused only in multi-process modes, which this database never uses; the
            // commit is then simply durable.
            let _ = txn.set_durability(Durability::None);
        }
        Ok(txn)
    }

    pub fn begin_read(&self) -> Result<ReadTransaction, redb::Error> {
        Ok(self.db.begin_read()?)
    }

    /// Opens a write batch: commits are not fsynced until the last open batch ends.
    pub fn batch(self: &Arc<Self>) -> WriteBatch {
        self.batches.fetch_add(1, Ordering::SeqCst);
        WriteBatch {
            db: self.clone(),
            open: true,
        }
    }

    /// Makes every commit so far durable (an empty durable commit).
    fn sync(&self) -> Result<(), redb::Error> {
        // A new write transaction is durable (`Durability::Immediate`) by default.
        self.db.begin_write()?.commit()?;
        Ok(())
    }
}

/// Commits made while this is open are fsynced together when it ends (`finish`, or drop);
/// batches nest, and only the last one to end syncs.
pub struct WriteBatch {
    db: Arc<ChainDb>,
    open: bool,
}

impl WriteBatch {
    /// Ends the batch; when it was the last open one, makes every commit durable.
    pub fn finish(mut self) -> Result<(), StoreError> {
        self.end()
    }

    fn end(&mut self) -> Result<(), StoreError> {
        if !std::mem::replace(&mut self.open, false) {
            return Ok(());
        }
        if self.db.batches.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.db.sync().map_err(|e| StoreError::db("sync", e))?;
        }
        Ok(())
    }
}

impl Drop for WriteBatch {
    fn drop(&mut self) {
        if let Err(e) = self.end() {
            tracing::error!(error = %e, "cannot make the chain database's last writes durable");
        }
    }
}

/// A blockstore in a redb database file. Every `put_many_keyed` is one ACID write
/// transaction, so a crash leaves either all of a batch or none of it on disk.
#[derive(Clone)]
pub struct RedbBlockstore {
    db: Arc<ChainDb>,
}

impl RedbBlockstore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let store = RedbBlockstore {
            db: Arc::new(ChainDb {
                db,
                batches: AtomicUsize::new(0),
            }),
        };
        // Make sure the table exists so read transactions never see "table does not exist".
        let txn = store
            .db
            .begin_write()
            .map_err(|e| StoreError::db("begin write", e))?;
        txn.open_table(BLOCKS)
            .map_err(|e| StoreError::db("open blocks table", e))?;
        txn.commit().map_err(|e| StoreError::db("commit", e))?;
        Ok(store)
    }

    /// The underlying database, shared with the chain store's index tables.
    pub fn database(&self) -> &Arc<ChainDb> {
        &self.db
    }
}

impl Blockstore for RedbBlockstore {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOCKS)?;
        Ok(table
            .get(k.to_bytes().as_slice())?
            .map(|v| v.value().to_vec()))
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        self.put_many_keyed(std::iter::once((*k, block)))
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOCKS)?;
        Ok(table.get(k.to_bytes().as_slice())?.is_some())
    }

    fn put_many_keyed<D, I>(&self, blocks: I) -> anyhow::Result<()>
    where
        Self: Sized,
        D: AsRef<[u8]>,
        I: IntoIterator<Item = (Cid, D)>,
    {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(BLOCKS)?;
            for (k, v) in blocks {
                table.insert(k.to_bytes().as_slice(), v.as_ref())?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

/// Buffers writes in memory over a base store; `flush` writes them all in one batch.
/// Reads see buffered blocks first. Used while executing messages, whose HAMT/AMT flushes
/// would otherwise cost one disk transaction per node.
pub struct BufferedBlockstore<BS> {
    base: BS,
    pending: RwLock<HashMap<Cid, Vec<u8>>>,
}

impl<BS: Blockstore> BufferedBlockstore<BS> {
    pub fn new(base: BS) -> Self {
        BufferedBlockstore {
            base,
            pending: RwLock::new(HashMap::new()),
        }
    }

    /// Writes every buffered block to the base store in one batch.
    pub fn flush(&self) -> anyhow::Result<()> {
        let pending = std::mem::take(&mut *self.pending.write());
        if pending.is_empty() {
            return Ok(());
        }
        self.base.put_many_keyed(pending)
    }

    /// Drops the buffered blocks (the base store is untouched).
    pub fn discard(&self) {
        self.pending.write().clear();
    }

    pub fn base(&self) -> &BS {
        &self.base
    }
}

impl<BS: Blockstore> Blockstore for BufferedBlockstore<BS> {
    fn get(&self, k: &Cid) -> anyhow::Result<Option<Vec<u8>>> {
        if let Some(v) = self.pending.read().get(k) {
            return Ok(Some(v.clone()));
        }
        self.base.get(k)
    }

    fn put_keyed(&self, k: &Cid, block: &[u8]) -> anyhow::Result<()> {
        self.pending.write().insert(*k, block.to_vec());
        Ok(())
    }

    fn has(&self, k: &Cid) -> anyhow::Result<bool> {
        Ok(self.pending.read().contains_key(k) || self.base.has(k)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fvm_ipld_blockstore::Block;
    use multihash_codetable::Code;

    #[test]
    fn redb_store_persists_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let block = Block::new(fvm_ipld_encoding::DAG_CBOR, b"\x43abc".as_slice());
        let cid = {
            let store = RedbBlockstore::open(&path).expect("open");
            let cid = store.put(Code::Blake2b256, &block).expect("put");
            assert!(store.has(&cid).expect("has"));
            cid
        };
        let store = RedbBlockstore::open(&path).expect("reopen");
        assert_eq!(store.get(&cid).expect("get"), Some(b"\x43abc".to_vec()));
        let missing = Cid::default();
        assert!(!store.has(&missing).expect("has missing"));
    }

    #[test]
    fn writes_in_a_batch_are_read_at_once_and_kept_once_it_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("chain.redb");
        let store = RedbBlockstore::open(&path).expect("open");
        let outer = store.database().batch();
        let inner = store.database().batch();
        let a = Block::new(fvm_ipld_encoding::DAG_CBOR, b"\x41a".as_slice());
        let cid_a = store.put(Code::Blake2b256, &a).expect("put");
        assert!(store.has(&cid_a).expect("has"), "visible before the sync");
        inner.finish().expect("inner end");
        assert_eq!(store.database().batches.load(Ordering::SeqCst), 1);
        // An error path drops the batch instead of finishing it: it still ends.
        drop(outer);
        assert_eq!(store.database().batches.load(Ordering::SeqCst), 0);
        let b = Block::new(fvm_ipld_encoding::DAG_CBOR, b"\x41b".as_slice());
        let cid_b = store.put(Code::Blake2b256, &b).expect("put after");
        drop(store);
        let store = RedbBlockstore::open(&path).expect("reopen");
        assert!(store.has(&cid_a).expect("has a") && store.has(&cid_b).expect("has b"));
    }

    #[test]
    fn buffered_store_only_writes_on_flush() {
        let base = MemoryBlockstore::new();
        let buffered = BufferedBlockstore::new(&base);
        let block = Block::new(fvm_ipld_encoding::DAG_CBOR, b"\x41x".as_slice());
        let cid = buffered.put(Code::Blake2b256, &block).expect("put");
        assert!(buffered.has(&cid).expect("has"));
        assert!(!base.has(&cid).expect("base has"));
        buffered.flush().expect("flush");
        assert!(base.has(&cid).expect("base has after flush"));
    }
}
