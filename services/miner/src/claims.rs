//! Never double-mine: a (miner, epoch) is claimed atomically, with the block's CID, BEFORE
//! the block is broadcast. A second, different block for the same miner and epoch is
//! refused; the same block again (a retry) is allowed.
//!
//! `local` keeps the claims in a redb file in the repo (one instance); `mysql` keeps them in
//! sophon-miner's `miner_blocks` table (primary key (epoch, miner)), claimed by `INSERT`, so
//! several instances sharing the database can never both claim one slot. The original wrote
//! its record only after `SyncSubmitBlock`, which is not atomic (reference 2.7).

use std::path::Path;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use sqlx::Row;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use venus_api::miner::{BlocksQueryParams, MinedBlock};

/// `miner_blocks.mine_state` values (sophon-miner `StateMining`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MineState {
    Mining = 0,
    Success = 1,
    Timeout = 2,
    ChainForked = 3,
    Error = 4,
}

/// One block about to be broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub miner: String,
    pub epoch: i64,
    pub parent_epoch: i64,
    pub parent_key: String,
    pub cid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// The slot was free and is now ours.
    New,
    /// The same block was claimed before (a retry): broadcasting it again is safe.
    Again,
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "miner {miner} already produced block {cid} at epoch {epoch}: refusing a second block (double mining is a slashable fault)"
    )]
    AlreadyMined {
        miner: String,
        epoch: i64,
        cid: String,
    },
    #[error("slash filter store: {0}")]
    Store(String),
}

fn store_err(e: impl std::fmt::Display) -> ClaimError {
    ClaimError::Store(e.to_string())
}

/// Where claims live.
pub enum ClaimStore {
    Local(LocalClaims),
    Mysql(MysqlClaims),
}

impl ClaimStore {
    pub async fn claim(&self, c: &Claim) -> Result<Claimed, ClaimError> {
        match self {
            Self::Local(l) => l.claim(c),
            Self::Mysql(m) => m.claim(c).await,
        }
    }

    pub async fn set_state(
        &self,
        miner: &str,
        epoch: i64,
        state: MineState,
    ) -> Result<(), ClaimError> {
        match self {
            Self::Local(l) => l.set_state(miner, epoch, state),
            Self::Mysql(m) => m.set_state(miner, epoch, state).await,
        }
    }

    pub async fn list(&self, q: &BlocksQueryParams) -> Result<Vec<MinedBlock>, ClaimError> {
        match self {
            Self::Local(l) => l.list(q),
            Self::Mysql(m) => m.list(q).await,
        }
    }
}

// ---------- local (redb) ----------

/// (miner, epoch) → JSON record.
const BLOCKS: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("mined_blocks");
/// Records kept per miner: older epochs are pruned (a slot that far back can never be
/// mined again: its base is long final).
const KEEP_EPOCHS: i64 = 20_160;

#[derive(serde::Serialize, serde::Deserialize)]
struct LocalRecord {
    cid: String,
    parent_epoch: i64,
    parent_key: String,
    state: i64,
    winning_at: String,
}

pub struct LocalClaims {
    db: Database,
}

impl LocalClaims {
    pub const FILE: &'static str = "slashfilter.redb";

    pub fn open(repo: &Path) -> Result<Self, ClaimError> {
        let path = repo.join(Self::FILE);
        let db = Database::create(&path)
            .map_err(|e| ClaimError::Store(format!("opening {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(store_err)?;
        txn.open_table(BLOCKS).map_err(store_err)?;
        txn.commit().map_err(store_err)?;
        Ok(Self { db })
    }

    fn claim(&self, c: &Claim) -> Result<Claimed, ClaimError> {
        // One write transaction: redb serialises writers, so check-and-insert is atomic.
        let txn = self.db.begin_write().map_err(store_err)?;
        let outcome = {
            let mut table = txn.open_table(BLOCKS).map_err(store_err)?;
            let existing = table
                .get((c.miner.as_str(), c.epoch))
                .map_err(store_err)?
                .map(|v| serde_json::from_slice::<LocalRecord>(v.value()));
            match existing {
                Some(Ok(r)) if r.cid == c.cid => Claimed::Again,
                Some(Ok(r)) => {
                    return Err(ClaimError::AlreadyMined {
                        miner: c.miner.clone(),
                        epoch: c.epoch,
                        cid: r.cid,
                    });
                }
                Some(Err(e)) => return Err(store_err(format!("corrupt record: {e}"))),
                None => {
                    let rec = LocalRecord {
                        cid: c.cid.clone(),
                        parent_epoch: c.parent_epoch,
                        parent_key: c.parent_key.clone(),
                        state: MineState::Mining as i64,
                        winning_at: chrono::Utc::now().to_rfc3339(),
                    };
                    let bytes = serde_json::to_vec(&rec).map_err(store_err)?;
                    table
                        .insert((c.miner.as_str(), c.epoch), bytes.as_slice())
                        .map_err(store_err)?;
                    // Bounded: forget this miner's records far behind the new one.
                    let old: Vec<i64> = table
                        .range(
                            (c.miner.as_str(), i64::MIN)..(c.miner.as_str(), c.epoch - KEEP_EPOCHS),
                        )
                        .map_err(store_err)?
                        .filter_map(|r| r.ok().map(|(k, _)| k.value().1))
                        .collect();
                    for epoch in old {
                        table.remove((c.miner.as_str(), epoch)).map_err(store_err)?;
                    }
                    Claimed::New
                }
            }
        };
        txn.commit().map_err(store_err)?;
        Ok(outcome)
    }

    fn set_state(&self, miner: &str, epoch: i64, state: MineState) -> Result<(), ClaimError> {
        let txn = self.db.begin_write().map_err(store_err)?;
        {
            let mut table = txn.open_table(BLOCKS).map_err(store_err)?;
            let rec = table
                .get((miner, epoch))
                .map_err(store_err)?
                .and_then(|v| serde_json::from_slice::<LocalRecord>(v.value()).ok());
            if let Some(mut rec) = rec {
                rec.state = state as i64;
                let bytes = serde_json::to_vec(&rec).map_err(store_err)?;
                table
                    .insert((miner, epoch), bytes.as_slice())
                    .map_err(store_err)?;
            }
        }
        txn.commit().map_err(store_err)
    }

    fn list(&self, q: &BlocksQueryParams) -> Result<Vec<MinedBlock>, ClaimError> {
        let txn = self.db.begin_read().map_err(store_err)?;
        let table = txn.open_table(BLOCKS).map_err(store_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(store_err)? {
            let (k, v) = row.map_err(store_err)?;
            let (miner, epoch) = k.value();
            // Compared as addresses: `f01000` and `t01000` are the same miner.
            if !q.miners.is_empty()
                && !miner
                    .parse::<venus_types::Address>()
                    .is_ok_and(|a| q.miners.contains(&a))
            {
                continue;
            }
            let Ok(rec) = serde_json::from_slice::<LocalRecord>(v.value()) else {
                continue;
            };
            out.push(MinedBlock {
                parent_epoch: rec.parent_epoch,
                parent_key: rec.parent_key,
                epoch,
                miner: miner.to_owned(),
                cid: rec.cid,
                winning_at: rec.winning_at,
                mine_state: rec.state,
                consuming: 0,
            });
        }
        Ok(page(out, q))
    }
}

/// Newest first, then `Offset`/`Limit` (0 = all).
fn page(mut rows: Vec<MinedBlock>, q: &BlocksQueryParams) -> Vec<MinedBlock> {
    rows.sort_by(|a, b| b.epoch.cmp(&a.epoch).then_with(|| a.miner.cmp(&b.miner)));
    let offset = usize::try_from(q.offset.max(0)).unwrap_or(0);
    let rows = rows.into_iter().skip(offset);
    if q.limit > 0 {
        rows.take(usize::try_from(q.limit).unwrap_or(usize::MAX))
            .collect()
    } else {
        rows.collect()
    }
}

// ---------- MySQL (`miner_blocks`) ----------

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS miner_blocks (
    parent_epoch BIGINT NOT NULL DEFAULT 0,
    parent_key VARCHAR(2048) NOT NULL DEFAULT '',
    epoch BIGINT NOT NULL,
    miner VARCHAR(256) NOT NULL,
    cid VARCHAR(256) DEFAULT '',
    winning_at DATETIME NULL,
    mine_state TINYINT NOT NULL DEFAULT 0,
    consuming BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (epoch, miner)
)";

pub struct MysqlClaims {
    pool: MySqlPool,
}

impl MysqlClaims {
    /// Connects with the `[SlashFilter.MySQL] Conn` DSN (Go driver form or `mysql://`) and
    /// creates the table if it is missing.
    pub async fn connect(dsn: &str, max_open: u32) -> Result<Self, ClaimError> {
        let target = venus_goconf::parse_mysql_dsn(dsn)
            .map_err(|e| ClaimError::Store(format!("[SlashFilter.MySQL] Conn: {e}")))?;
        for w in &target.warnings {
            tracing::warn!("{w}");
        }
        // One attempt: a miner with an unreachable slash filter must say so at once.
        target
            .wait_until_reachable(Duration::ZERO)
            .await
            .map_err(ClaimError::Store)?;
        let pool = MySqlPoolOptions::new()
            .max_connections(max_open.clamp(1, 100))
            .acquire_timeout(target.connect_timeout.unwrap_or(Duration::from_secs(10)))
            .connect_with(target.options)
            .await
            .map_err(store_err)?;
        sqlx::query(CREATE_TABLE)
            .execute(&pool)
            .await
            .map_err(store_err)?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &MySqlPool {
        &self.pool
    }

    async fn claim(&self, c: &Claim) -> Result<Claimed, ClaimError> {
        let inserted = sqlx::query(
            "INSERT INTO miner_blocks (parent_epoch, parent_key, epoch, miner, cid, winning_at, mine_state)
             VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(), 0)",
        )
        .bind(c.parent_epoch)
        .bind(&c.parent_key)
        .bind(c.epoch)
        .bind(&c.miner)
        .bind(&c.cid)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => return Ok(Claimed::New),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
            Err(e) => return Err(store_err(e)),
        }
        // A row with no CID is an original sophon-miner's "Mining" record: take it over
        // atomically, only if it still has no CID.
        let taken = sqlx::query(
            "UPDATE miner_blocks SET cid = ?, parent_epoch = ?, parent_key = ? WHERE epoch = ? AND miner = ? AND (cid = '' OR cid IS NULL)",
        )
        .bind(&c.cid)
        .bind(c.parent_epoch)
        .bind(&c.parent_key)
        .bind(c.epoch)
        .bind(&c.miner)
        .execute(&self.pool)
        .await
        .map_err(store_err)?;
        if taken.rows_affected() == 1 {
            return Ok(Claimed::New);
        }
        let row = sqlx::query("SELECT cid FROM miner_blocks WHERE epoch = ? AND miner = ?")
            .bind(c.epoch)
            .bind(&c.miner)
            .fetch_one(&self.pool)
            .await
            .map_err(store_err)?;
        let cid: Option<String> = row.try_get("cid").map_err(store_err)?;
        let cid = cid.unwrap_or_default();
        if cid == c.cid {
            Ok(Claimed::Again)
        } else {
            Err(ClaimError::AlreadyMined {
                miner: c.miner.clone(),
                epoch: c.epoch,
                cid,
            })
        }
    }

    async fn set_state(&self, miner: &str, epoch: i64, state: MineState) -> Result<(), ClaimError> {
        sqlx::query("UPDATE miner_blocks SET mine_state = ? WHERE epoch = ? AND miner = ?")
            .bind(state as i8)
            .bind(epoch)
            .bind(miner)
            .execute(&self.pool)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    async fn list(&self, q: &BlocksQueryParams) -> Result<Vec<MinedBlock>, ClaimError> {
        let mut sql = String::from(
            "SELECT parent_epoch, parent_key, epoch, miner, cid, \
             COALESCE(DATE_FORMAT(winning_at, '%Y-%m-%dT%H:%i:%sZ'), '') AS winning_at, \
             mine_state, consuming FROM miner_blocks",
        );
        if !q.miners.is_empty() {
            sql.push_str(" WHERE miner IN (");
            // Both prefixes: rows may have been written under either network's rendering.
            sql.push_str(&vec!["?"; 2 * q.miners.len()].join(","));
            sql.push(')');
        }
        sql.push_str(" ORDER BY epoch DESC, miner");
        if q.limit > 0 {
            sql.push_str(&format!(" LIMIT {} OFFSET {}", q.limit, q.offset.max(0)));
        }
        // Only placeholders and two integers are interpolated; values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for m in &q.miners {
            query = query
                .bind(venus_types::Network::Mainnet.format_address(m))
                .bind(venus_types::Network::Testnet.format_address(m));
        }
        let rows = query.fetch_all(&self.pool).await.map_err(store_err)?;
        rows.iter()
            .map(|r| {
                Ok(MinedBlock {
                    parent_epoch: r.try_get("parent_epoch")?,
                    parent_key: r.try_get("parent_key")?,
                    epoch: r.try_get("epoch")?,
                    miner: r.try_get("miner")?,
                    cid: r.try_get::<Option<String>, _>("cid")?.unwrap_or_default(),
                    winning_at: r.try_get("winning_at")?,
                    mine_state: i64::from(r.try_get::<i8, _>("mine_state")?),
                    consuming: r.try_get("consuming")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(store_err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claim(miner: &str, epoch: i64, cid: &str) -> Claim {
        Claim {
            miner: miner.into(),
            epoch,
            parent_epoch: epoch - 1,
            parent_key: "{bafy…}".into(),
            cid: cid.into(),
        }
    }

    #[tokio::test]
    async fn a_second_block_for_one_slot_is_refused_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = ClaimStore::Local(LocalClaims::open(dir.path()).unwrap());
            assert_eq!(
                s.claim(&claim("t01000", 10, "a")).await.unwrap(),
                Claimed::New
            );
            assert_eq!(
                s.claim(&claim("t01000", 10, "a")).await.unwrap(),
                Claimed::Again
            );
            assert_eq!(
                s.claim(&claim("t01001", 10, "b")).await.unwrap(),
                Claimed::New
            );
        }
        let s = ClaimStore::Local(LocalClaims::open(dir.path()).unwrap());
        let err = s.claim(&claim("t01000", 10, "c")).await.unwrap_err();
        assert!(
            matches!(err, ClaimError::AlreadyMined { ref cid, .. } if cid == "a"),
            "{err}"
        );
        s.set_state("t01000", 10, MineState::Success).await.unwrap();
        let rows = s.list(&BlocksQueryParams::default()).await.unwrap();
        assert_eq!(rows.len(), 2);
        let mine = rows.iter().find(|r| r.miner == "t01000").unwrap();
        assert_eq!(mine.mine_state, MineState::Success as i64);
    }

    #[tokio::test]
    async fn old_records_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let s = ClaimStore::Local(LocalClaims::open(dir.path()).unwrap());
        s.claim(&claim("t01000", 1, "a")).await.unwrap();
        s.claim(&claim("t01000", 1 + KEEP_EPOCHS + 1, "b"))
            .await
            .unwrap();
        let rows = s.list(&BlocksQueryParams::default()).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].cid, "b");
    }
}
