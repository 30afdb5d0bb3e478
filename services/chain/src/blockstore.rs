//! Content-addressed block storage: a crash-safe redb store for the node, an in-memory one for
//! tests, and a write buffer so that a whole tipset's state lands in one transaction.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use cid::Cid;
use fvm_ipld_blockstore::Blockstore;
use parking_lot::RwLock;
use redb::{Database, ReadableDatabase, TableDefinition};

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

/// A blockstore in a redb database file. Every `put_many_keyed` is one ACID write
/// transaction, so a crash leaves either all of a batch or none of it on disk.
#[derive(Clone)]
pub struct RedbBlockstore {
    db: Arc<Database>,
}

impl RedbBlockstore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        let store = RedbBlockstore { db: Arc::new(db) };
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
    pub fn database(&self) -> &Arc<Database> {
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
