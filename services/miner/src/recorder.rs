//! The mine recorder (sophon-miner `[Recorder]`, off by default): for each (epoch, miner) a
//! flat map of what the election and block production did and how long each stage took
//! (`worker`, `minerPower`, `networkPower`, `isEligible`, `baseEpoch`, `nullRounds`,
//! `baseDelta`, `lateStart`, `beaconEpoch`, `getBaseInfo`, `computeTicket`,
//! `computeElectionProof`, `winCount`, `seed`, `computePostProof`, `selectMessage`,
//! `createBlock`, `info`, `error`, `start`, `end`), served by `QueryRecord` and
//! `venus-miner record query`. Later writes for the same key merge field by field, as the
//! original's. Kept in `minerecord.redb` in the repo; records older than `ExpireEpoch` below
//! the newest epoch are deleted as epochs advance.
//!
//! A round's records are written in one transaction (one commit per round, not per miner:
//! the pool may hold thousands of miners).

use std::collections::BTreeMap;
use std::path::Path;

use parking_lot::Mutex;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use venus_types::ChainEpoch;

/// One record: field → value, all strings (the original's `map[string]string`).
pub type Records = BTreeMap<String, String>;

/// (epoch, miner) → JSON of [`Records`].
const RECORDS: TableDefinition<(i64, &str), &[u8]> = TableDefinition::new("mine_records");

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("query limit {limit} exceeds [Recorder] MaxRecordPerQuery ({max})")]
    TooMany { limit: u64, max: u64 },
    #[error("mine recorder store: {0}")]
    Store(String),
}

fn store_err(e: impl std::fmt::Display) -> RecorderError {
    RecorderError::Store(e.to_string())
}

pub struct MineRecorder {
    db: Database,
    expire_epochs: i64,
    max_per_query: u64,
    /// The newest epoch written: expiry runs when it advances.
    newest: Mutex<ChainEpoch>,
}

impl MineRecorder {
    pub const FILE: &'static str = "minerecord.redb";

    pub fn open(
        repo: &Path,
        expire_epochs: i64,
        max_per_query: u64,
    ) -> Result<Self, RecorderError> {
        let path = repo.join(Self::FILE);
        let db =
            Database::create(&path).map_err(|e| store_err(format!("{}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(store_err)?;
        txn.open_table(RECORDS).map_err(store_err)?;
        txn.commit().map_err(store_err)?;
        Ok(Self {
            db,
            expire_epochs: expire_epochs.max(1),
            max_per_query,
            newest: Mutex::new(ChainEpoch::MIN),
        })
    }

    /// Merge `records` (miner → fields) into the records of `epoch`, in one transaction.
    pub fn record(
        &self,
        epoch: ChainEpoch,
        records: &[(String, Records)],
    ) -> Result<(), RecorderError> {
        if records.is_empty() {
            return Ok(());
        }
        let expire_below = {
            let mut newest = self.newest.lock();
            if epoch > *newest {
                *newest = epoch;
                Some(epoch - self.expire_epochs)
            } else {
                None
            }
        };
        let txn = self.db.begin_write().map_err(store_err)?;
        {
            let mut table = txn.open_table(RECORDS).map_err(store_err)?;
            for (miner, fields) in records {
                let mut merged: Records =
                    match table.get((epoch, miner.as_str())).map_err(store_err)? {
                        Some(v) => serde_json::from_slice(v.value()).unwrap_or_default(),
                        None => Records::new(),
                    };
                merged.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                let bytes = serde_json::to_vec(&merged).map_err(store_err)?;
                table
                    .insert((epoch, miner.as_str()), bytes.as_slice())
                    .map_err(store_err)?;
            }
            if let Some(below) = expire_below {
                table
                    .retain_in((i64::MIN, "")..(below, ""), |_, _| false)
                    .map_err(store_err)?;
            }
        }
        txn.commit().map_err(store_err)
    }

    /// The records of `miner` for epochs `from .. from + limit` that exist (limit 0 = 1),
    /// each with its `miner` and `epoch`.
    pub fn query(
        &self,
        miner: &str,
        from: ChainEpoch,
        limit: u64,
    ) -> Result<Vec<Records>, RecorderError> {
        if limit > self.max_per_query {
            return Err(RecorderError::TooMany {
                limit,
                max: self.max_per_query,
            });
        }
        let limit = i64::try_from(limit.max(1)).unwrap_or(1);
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(RECORDS).map_err(store_err)?;
        let mut out = Vec::new();
        for epoch in from..from.saturating_add(limit) {
            let Some(v) = table.get((epoch, miner)).map_err(store_err)? else {
                continue;
            };
            let mut r: Records = serde_json::from_slice(v.value()).map_err(store_err)?;
            r.insert("miner".into(), miner.to_owned());
            r.insert("epoch".into(), epoch.to_string());
            out.push(r);
        }
        Ok(out)
    }
}

/// Builds one miner's record as the stages run.
#[derive(Debug, Default, Clone)]
pub struct RecordBuilder {
    fields: Records,
}

impl RecordBuilder {
    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.fields.insert(key.to_owned(), value.to_string());
    }

    /// A stage's duration in Go's `time.Duration` style (`8.442663ms`, `4.155131366s`).
    pub fn took(&mut self, key: &str, d: std::time::Duration) {
        self.set(key, format!("{d:?}"));
    }

    /// Wall-clock time, as the original's `start`/`end`.
    pub fn now(&mut self, key: &str) {
        self.set(key, chrono::Utc::now().to_rfc3339());
    }

    /// Fields of a later stage (they win over earlier ones).
    pub fn merge(&mut self, later: RecordBuilder) {
        self.fields.extend(later.fields);
    }

    pub fn into_records(self) -> Records {
        self.fields
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rec(pairs: &[(&str, &str)]) -> Records {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn records_merge_and_are_queried_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let r = MineRecorder::open(dir.path(), 100, 288).unwrap();
        r.record(
            10,
            &[("t01000".into(), rec(&[("winCount", "1"), ("info", "x")]))],
        )
        .unwrap();
        r.record(10, &[("t01000".into(), rec(&[("info", "block mined")]))])
            .unwrap();
        r.record(
            12,
            &[("t01000".into(), rec(&[("info", "not to be winner")]))],
        )
        .unwrap();
        let got = r.query("t01000", 10, 5).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0]["winCount"], "1");
        assert_eq!(got[0]["info"], "block mined");
        assert_eq!(got[0]["epoch"], "10");
        assert_eq!(got[0]["miner"], "t01000");
        assert_eq!(got[1]["epoch"], "12");
        // Limit 0 is one epoch; another miner has nothing.
        assert_eq!(r.query("t01000", 10, 0).unwrap().len(), 1);
        assert!(r.query("t01001", 10, 5).unwrap().is_empty());
        let err = r.query("t01000", 10, 289).unwrap_err().to_string();
        assert!(err.contains("MaxRecordPerQuery (288)"), "{err}");
    }

    #[test]
    fn old_records_expire_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let r = MineRecorder::open(dir.path(), 10, 288).unwrap();
            r.record(5, &[("t01000".into(), rec(&[("a", "1")]))])
                .unwrap();
            r.record(14, &[("t01000".into(), rec(&[("a", "2")]))])
                .unwrap();
            assert_eq!(r.query("t01000", 0, 20).unwrap().len(), 2);
            r.record(16, &[("t01000".into(), rec(&[("a", "3")]))])
                .unwrap();
            let left: Vec<String> = r
                .query("t01000", 0, 20)
                .unwrap()
                .into_iter()
                .map(|x| x["epoch"].clone())
                .collect();
            assert_eq!(left, ["14", "16"]);
        }
        let r = MineRecorder::open(dir.path(), 10, 288).unwrap();
        assert_eq!(r.query("t01000", 14, 3).unwrap().len(), 2);
    }
}
