//! The MySQL/MariaDB backend: one row per lease in `venus_leases`. Taking and renewing is a
//! single `INSERT … ON DUPLICATE KEY UPDATE` whose conditions compare against the database's
//! `NOW(6)`, so the instances' clocks never matter and two racing writers are serialised by
//! the row lock.

use std::time::Duration;

use sqlx::mysql::MySqlPool;
use sqlx::{Executor, Row};

use crate::backend::Observed;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS venus_leases (
    name        VARCHAR(191) NOT NULL PRIMARY KEY,
    holder      VARCHAR(255) NOT NULL,
    acquired_at DATETIME(6)  NOT NULL,
    renewed_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    transitions BIGINT       NOT NULL DEFAULT 0
) DEFAULT CHARSET = utf8mb4";

/// Take (row missing, released or expired) or renew (ours). The assignments run left to right
/// and each sees the columns already assigned, so `transitions` and `acquired_at` are judged
/// against the previous holder, and `renewed_at`/`expires_at` against the new one.
/// Parameters: name, identity, duration µs, then identity ×3, identity (new holder),
/// identity, identity, duration µs.
const ACQUIRE_OR_RENEW: &str = "INSERT INTO venus_leases
    (name, holder, acquired_at, renewed_at, expires_at, transitions)
    VALUES (?, ?, NOW(6), NOW(6), NOW(6) + INTERVAL ? MICROSECOND, 0)
ON DUPLICATE KEY UPDATE
    transitions = IF(holder <> ? AND expires_at <= NOW(6), transitions + 1, transitions),
    acquired_at = IF(holder <> ? AND expires_at <= NOW(6), NOW(6), acquired_at),
    holder      = IF(holder = ? OR expires_at <= NOW(6), ?, holder),
    renewed_at  = IF(holder = ?, NOW(6), renewed_at),
    expires_at  = IF(holder = ?, NOW(6) + INTERVAL ? MICROSECOND, expires_at)";

/// Who holds the lease now, by the database's clock.
const CURRENT_HOLDER: &str = "SELECT holder, CAST(expires_at > NOW(6) AS SIGNED) AS live
    FROM venus_leases WHERE name = ?";

/// Expire our row at once, keeping the holder's name for the record.
const RELEASE: &str = "UPDATE venus_leases SET expires_at = NOW(6)
    WHERE name = ? AND holder = ? AND expires_at > NOW(6)";

pub(crate) struct MySqlLease {
    pool: MySqlPool,
    name: String,
    identity: String,
    duration_us: i64,
    table_ready: bool,
}

impl MySqlLease {
    pub fn new(pool: MySqlPool, name: String, identity: String, duration: Duration) -> Self {
        Self {
            pool,
            name,
            identity,
            duration_us: i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
            table_ready: false,
        }
    }

    pub async fn acquire_or_renew(&mut self) -> Result<Observed, sqlx::Error> {
        if !self.table_ready {
            self.pool.execute(CREATE_TABLE).await?;
            self.table_ready = true;
        }
        let id = self.identity.as_str();
        sqlx::query(ACQUIRE_OR_RENEW)
            .bind(&self.name)
            .bind(id)
            .bind(self.duration_us)
            .bind(id)
            .bind(id)
            .bind(id)
            .bind(id)
            .bind(id)
            .bind(id)
            .bind(self.duration_us)
            .execute(&self.pool)
            .await?;
        // The statement decided; this read only reports the outcome (the holder column is ours
        // and live only if the statement just granted or renewed it).
        let row = sqlx::query(CURRENT_HOLDER)
            .bind(&self.name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(Observed::default());
        };
        let holder: String = row.try_get("holder")?;
        let live: i64 = row.try_get("live")?;
        if live == 0 {
            return Ok(Observed::default());
        }
        Ok(Observed {
            mine: holder == self.identity,
            holder: Some(holder),
        })
    }

    /// Expires our row so a standby takes over on its next try.
    pub async fn release(&mut self) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(RELEASE)
            .bind(&self.name)
            .bind(&self.identity)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
