//! Persistence: one sqlx schema, on SQLite (the embedded store) or MySQL/MariaDB.
//!
//! Both backends understand the same SQL here (`?` placeholders, no upsert syntax), so each
//! query is written once and run on whichever pool is open (the `on_pool!` macro).
//! Times are unix seconds. Tokens and users are deleted softly (they can be recovered, as in
//! the original); miners and signers are deleted for real.

use std::path::Path;
use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::{DbConfig, DbKind};
use venus_goconf::parse_mysql_dsn;

/// The embedded store's file inside the repo.
pub const SQLITE_FILE: &str = "auth.db";
/// `limit` used when a listing asks for none, and the most a listing returns (as the original).
pub const MAX_LIMIT: i64 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A token with the same claims exists already (tokens are derived from their claims,
    /// so the same name, perm and extra give the same token). Never quotes the token.
    #[error(
        "a token with the same name, perm and extra exists already (possibly removed): give this one another extra"
    )]
    DuplicateToken,
    /// Shown without the values the database quotes (MySQL's duplicate-key error quotes
    /// the key — a token).
    #[error("database: {}", redact_db(.0))]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    /// An insert hit an existing key (e.g. another replica inserted the same row first).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::DuplicateToken => true,
            StoreError::Db(e) => e
                .as_database_error()
                .is_some_and(|d| d.is_unique_violation()),
            _ => false,
        }
    }
}

/// A database error without the values it quotes: MySQL writes the offending value between
/// single quotes (`Duplicate entry '<token>' for key …`, `Incorrect … value: '…'`).
fn redact_db(e: &sqlx::Error) -> String {
    let Some(db) = e.as_database_error() else {
        return e.to_string();
    };
    let mut out = String::with_capacity(db.message().len());
    let mut quoted = false;
    for c in db.message().chars() {
        if c == '\'' {
            if quoted {
                out.push_str("…'");
            } else {
                out.push('\'');
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    match db.code() {
        Some(code) => format!("{out} (code {code})"),
        None => out,
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub token: String,
    pub name: String,
    pub perm: String,
    pub secret: String,
    pub extra: String,
    pub create_time: i64,
}

/// What verification needs: the token row and the state of its user (NULL = no such user).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VerifyRow {
    pub name: String,
    pub perm: String,
    pub secret: String,
    pub extra: String,
    pub is_deleted: i64,
    pub user_state: Option<i64>,
    pub user_deleted: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub comment: String,
    pub state: i64,
    pub create_time: i64,
    pub update_time: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MinerRow {
    pub miner: String,
    pub owner: String,
    pub open_mining: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignerRow {
    pub signer: String,
    pub owner: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RateLimitRow {
    pub id: String,
    pub name: String,
    pub service: String,
    pub api: String,
    pub cap: i64,
    pub reset_dur: i64,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

/// Runs `$body` with `$p` bound to whichever pool is open. Both arms must have one type,
/// so statements map their result to `rows_affected()`.
/// Dynamic SQL (`AssertSqlSafe`) only ever interpolates the column-list constants here.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::MySql($p) => $body,
        }
    };
}

/// Same as `on_pool!` but inside a transaction, committed when `$body` succeeds.
macro_rules! in_tx {
    ($self:expr, $tx:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite(p) => {
                let mut $tx = p.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            Pool::MySql(p) => {
                let mut $tx = p.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

const USER_COLS: &str = "id, name, comment, state, create_time, update_time";

#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Clamp a listing's `limit` as the original does (0, negative or too large → 1000).
fn clamp_limit(limit: i64) -> i64 {
    if limit <= 0 || limit > MAX_LIMIT {
        MAX_LIMIT
    } else {
        limit
    }
}

impl Store {
    /// Open the configured store, waiting up to `wait` for a database that is not up yet,
    /// and bring its schema up to date.
    pub async fn open(repo: &Path, db: &DbConfig, wait: Duration) -> Result<Self> {
        let store = match db.kind {
            DbKind::Sqlite => Self::open_sqlite(&repo.join(SQLITE_FILE), db).await?,
            DbKind::Mysql => Self::open_mysql(db, wait).await?,
        };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn open_sqlite(file: &Path, db: &DbConfig) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(db.max_open_conns.clamp(1, 16))
            .connect_with(options)
            .await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    async fn open_mysql(db: &DbConfig, wait: Duration) -> Result<Self> {
        let target = parse_mysql_dsn(&db.dsn)
            .map_err(|e| StoreError::Unavailable(format!("db.DSN: {e}")))?;
        for w in &target.warnings {
            tracing::warn!("{w}");
        }
        target
            .wait_until_reachable(wait)
            .await
            .map_err(StoreError::Unavailable)?;
        let pool = MySqlPoolOptions::new()
            .max_connections(db.max_open_conns.max(1))
            .max_lifetime((!db.max_life_time.is_zero()).then_some(db.max_life_time))
            .idle_timeout((!db.max_idle_time.is_zero()).then_some(db.max_idle_time))
            .acquire_timeout(target.connect_timeout.unwrap_or(Duration::from_secs(10)))
            .connect_with(target.options.clone())
            .await?;
        tracing::info!(database = %target.describe(), "connected to MySQL");
        Ok(Self {
            pool: Pool::MySql(pool),
        })
    }

    async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Pool::MySql(p) => {
                // sqlx's own migration lock is `GET_LOCK(name, -1)`, which MariaDB answers with
                // NULL at once (no "wait forever" there), so replicas starting together would
                // both migrate and one fail. Hold a lock with a finite wait on the migrating
                // connection instead.
                const LOCK: &str = "CONCAT('venus-auth-migrate:', MD5(DATABASE()))";
                let mut conn = p.acquire().await?;
                let got: Option<i64> =
                    sqlx::query_scalar(AssertSqlSafe(format!("SELECT GET_LOCK({LOCK}, 120)")))
                        .fetch_one(&mut *conn)
                        .await?;
                if got != Some(1) {
                    return Err(StoreError::Unavailable(
                        "another venus-auth has been migrating this database's schema for 120 s; try again"
                            .into(),
                    ));
                }
                let migrated = sqlx::migrate!("./migrations/mysql").run(&mut *conn).await;
                let _ = sqlx::query(AssertSqlSafe(format!("SELECT RELEASE_LOCK({LOCK})")))
                    .execute(&mut *conn)
                    .await;
                migrated?;
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::MySql(_) => "mysql",
        }
    }

    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    // ---------- tokens ----------

    pub async fn insert_token(&self, t: &TokenRow) -> Result<()> {
        let sql = "INSERT INTO tokens (token, name, perm, secret, extra, create_time, is_deleted) VALUES (?, ?, ?, ?, ?, ?, 0)";
        let inserted = on_pool!(self, p => sqlx::query(sql)
            .bind(&t.token).bind(&t.name).bind(&t.perm).bind(&t.secret).bind(&t.extra).bind(t.create_time)
            .execute(p).await.map(|r| r.rows_affected()));
        match inserted {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Err(StoreError::DuplicateToken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Insert `t` unless a row for the same token exists (removed or not); whether it was
    /// inserted. Another replica inserting it at the same moment is not an error.
    pub async fn insert_token_if_absent(&self, t: &TokenRow) -> Result<bool> {
        if self.token_for_verify(&t.token).await?.is_some() {
            return Ok(false);
        }
        match self.insert_token(t).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn token_for_verify(&self, token: &str) -> Result<Option<VerifyRow>> {
        let sql = "SELECT t.name, t.perm, t.secret, t.extra, t.is_deleted, u.state AS user_state, u.is_deleted AS user_deleted \
                   FROM tokens t LEFT JOIN users u ON u.name = t.name WHERE t.token = ?";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, VerifyRow>(sql).bind(token).fetch_optional(p).await)?,
        )
    }

    const TOKEN_COLS: &str = "token, name, perm, secret, extra, create_time";

    pub async fn get_token(&self, token: &str) -> Result<Option<TokenRow>> {
        let sql = format!(
            "SELECT {} FROM tokens WHERE token = ? AND is_deleted = 0",
            Self::TOKEN_COLS
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, TokenRow>(AssertSqlSafe(sql.as_str())).bind(token).fetch_optional(p).await)?,
        )
    }

    pub async fn tokens_by_name(&self, name: &str) -> Result<Vec<TokenRow>> {
        let sql = format!(
            "SELECT {} FROM tokens WHERE name = ? AND is_deleted = 0 ORDER BY create_time, token",
            Self::TOKEN_COLS
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, TokenRow>(AssertSqlSafe(sql.as_str())).bind(name).fetch_all(p).await)?,
        )
    }

    pub async fn list_tokens(&self, skip: i64, limit: i64) -> Result<Vec<TokenRow>> {
        let sql = format!(
            "SELECT {} FROM tokens WHERE is_deleted = 0 ORDER BY create_time, token LIMIT ? OFFSET ?",
            Self::TOKEN_COLS
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, TokenRow>(AssertSqlSafe(sql.as_str()))
            .bind(clamp_limit(limit)).bind(skip.max(0)).fetch_all(p).await)?,
        )
    }

    /// Soft-delete (`removed = true`) or recover a token.
    pub async fn set_token_removed(&self, token: &str, removed: bool) -> Result<()> {
        let (to, from) = if removed { (1, 0) } else { (0, 1) };
        let sql = "UPDATE tokens SET is_deleted = ? WHERE token = ? AND is_deleted = ?";
        let done = on_pool!(self, p => sqlx::query(sql).bind(to).bind(token).bind(from).execute(p).await.map(|r| r.rows_affected()))?;
        if done == 0 {
            let what = if removed {
                "token not found"
            } else {
                "token not found among removed tokens"
            };
            return Err(StoreError::NotFound(what.into()));
        }
        Ok(())
    }

    pub async fn count_tokens(&self) -> Result<Vec<(String, i64)>> {
        let sql = "SELECT perm, COUNT(*) FROM tokens WHERE is_deleted = 0 GROUP BY perm";
        Ok(on_pool!(self, p => sqlx::query_as::<_, (String, i64)>(sql).fetch_all(p).await)?)
    }

    // ---------- users ----------

    pub async fn create_user(&self, name: &str, comment: &str, state: i64) -> Result<UserRow> {
        let existing = self.user_any(name).await?;
        if let Some((_, deleted)) = existing {
            return Err(StoreError::Conflict(if deleted {
                format!("user {name} already exists (removed: `user recover {name}` restores it)")
            } else {
                format!("user {name} already exists")
            }));
        }
        let t = now();
        let row = UserRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            comment: comment.to_owned(),
            state,
            create_time: t,
            update_time: t,
        };
        let sql = "INSERT INTO users (id, name, comment, state, create_time, update_time, is_deleted) VALUES (?, ?, ?, ?, ?, ?, 0)";
        let res = on_pool!(self, p => sqlx::query(sql)
            .bind(&row.id).bind(&row.name).bind(&row.comment).bind(row.state).bind(t).bind(t)
            .execute(p).await.map(|r| r.rows_affected()));
        match res {
            Ok(_) => Ok(row),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Err(StoreError::Conflict(format!("user {name} already exists")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The user and whether it is soft-deleted.
    async fn user_any(&self, name: &str) -> Result<Option<(UserRow, bool)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            is_deleted: i64,
        }
        let sql = format!("SELECT {USER_COLS}, is_deleted FROM users WHERE name = ?");
        let row = on_pool!(self, p => sqlx::query_as::<_, Row>(AssertSqlSafe(sql.as_str())).bind(name).fetch_optional(p).await)?;
        Ok(row.map(|r| (r.user, r.is_deleted != 0)))
    }

    pub async fn get_user(&self, name: &str) -> Result<Option<UserRow>> {
        Ok(self
            .user_any(name)
            .await?
            .and_then(|(u, deleted)| (!deleted).then_some(u)))
    }

    pub async fn require_user(&self, name: &str) -> Result<UserRow> {
        self.get_user(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {name} not found")))
    }

    /// Change a user's comment (if given) and state (if not 0).
    pub async fn update_user(&self, name: &str, comment: Option<&str>, state: i64) -> Result<()> {
        let user = self.require_user(name).await?;
        let comment = comment.unwrap_or(&user.comment);
        let state = if state == 0 { user.state } else { state };
        let sql = "UPDATE users SET comment = ?, state = ?, update_time = ? WHERE name = ? AND is_deleted = 0";
        on_pool!(self, p => sqlx::query(sql).bind(comment).bind(state).bind(now()).bind(name).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn list_users(&self, skip: i64, limit: i64, state: i64) -> Result<Vec<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE is_deleted = 0 AND (? = 0 OR state = ?) ORDER BY create_time, name LIMIT ? OFFSET ?"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserRow>(AssertSqlSafe(sql.as_str()))
            .bind(state).bind(state).bind(clamp_limit(limit)).bind(skip.max(0)).fetch_all(p).await)?,
        )
    }

    /// Soft-delete a user; its miners and signers go with it (its tokens stop verifying
    /// because verification requires a live user).
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        self.require_user(name).await?;
        in_tx!(self, tx => {
            sqlx::query("UPDATE users SET is_deleted = 1, update_time = ? WHERE name = ?")
                .bind(now()).bind(name).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM miners WHERE owner = ?").bind(name).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM signers WHERE owner = ?").bind(name).execute(&mut *tx).await?;
        });
        Ok(())
    }

    pub async fn recover_user(&self, name: &str) -> Result<()> {
        let sql =
            "UPDATE users SET is_deleted = 0, update_time = ? WHERE name = ? AND is_deleted = 1";
        let done = on_pool!(self, p => sqlx::query(sql).bind(now()).bind(name).execute(p).await.map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound(format!(
                "user {name} not found among removed users"
            )));
        }
        Ok(())
    }

    pub async fn count_users(&self) -> Result<Vec<(i64, i64)>> {
        let sql = "SELECT state, COUNT(*) FROM users WHERE is_deleted = 0 GROUP BY state";
        Ok(on_pool!(self, p => sqlx::query_as::<_, (i64, i64)>(sql).fetch_all(p).await)?)
    }

    // ---------- miners ----------

    /// Bind `miner` to `user` (moving it from another user if needed); `true` if new.
    pub async fn upsert_miner(&self, user: &str, miner: &str, open_mining: bool) -> Result<bool> {
        self.require_user(user).await?;
        let t = now();
        let open = i64::from(open_mining);
        let created = in_tx!(self, tx => {
            let exists: Option<(String,)> = sqlx::query_as("SELECT owner FROM miners WHERE miner = ?")
                .bind(miner).fetch_optional(&mut *tx).await?;
            if exists.is_some() {
                sqlx::query("UPDATE miners SET owner = ?, open_mining = ?, updated_at = ? WHERE miner = ?")
                    .bind(user).bind(open).bind(t).bind(miner).execute(&mut *tx).await?;
                false
            } else {
                sqlx::query("INSERT INTO miners (miner, owner, open_mining, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
                    .bind(miner).bind(user).bind(open).bind(t).bind(t).execute(&mut *tx).await?;
                true
            }
        });
        Ok(created)
    }

    /// The (live) user owning `miner`.
    pub async fn miner_owner(&self, miner: &str) -> Result<Option<UserRow>> {
        let sql = "SELECT u.id, u.name, u.comment, u.state, u.create_time, u.update_time \
                   FROM miners m JOIN users u ON u.name = m.owner WHERE m.miner = ? AND u.is_deleted = 0";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, UserRow>(sql).bind(miner).fetch_optional(p).await)?,
        )
    }

    pub async fn miner_exists(&self, user: &str, miner: &str) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM miners WHERE owner = ? AND miner = ?";
        let (n,): (i64,) =
            on_pool!(self, p => sqlx::query_as(sql).bind(user).bind(miner).fetch_one(p).await)?;
        Ok(n > 0)
    }

    pub async fn has_miner(&self, miner: &str) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM miners WHERE miner = ?";
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as(sql).bind(miner).fetch_one(p).await)?;
        Ok(n > 0)
    }

    pub async fn list_miners(&self, user: &str) -> Result<Vec<MinerRow>> {
        let sql = "SELECT miner, owner, open_mining, created_at, updated_at FROM miners WHERE owner = ? ORDER BY created_at, miner";
        Ok(on_pool!(self, p => sqlx::query_as::<_, MinerRow>(sql).bind(user).fetch_all(p).await)?)
    }

    pub async fn delete_miner(&self, miner: &str) -> Result<bool> {
        let done = on_pool!(self, p => sqlx::query("DELETE FROM miners WHERE miner = ?").bind(miner).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    // ---------- signers ----------

    pub async fn register_signers(&self, user: &str, signers: &[String]) -> Result<()> {
        self.require_user(user).await?;
        let t = now();
        in_tx!(self, tx => {
            for s in signers {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM signers WHERE owner = ? AND signer = ?")
                    .bind(user).bind(s).fetch_one(&mut *tx).await?;
                if n == 0 {
                    sqlx::query("INSERT INTO signers (signer, owner, created_at, updated_at) VALUES (?, ?, ?, ?)")
                        .bind(s).bind(user).bind(t).bind(t).execute(&mut *tx).await?;
                }
            }
        });
        Ok(())
    }

    pub async fn unregister_signers(&self, user: &str, signers: &[String]) -> Result<()> {
        in_tx!(self, tx => {
            for s in signers {
                sqlx::query("DELETE FROM signers WHERE owner = ? AND signer = ?")
                    .bind(user).bind(s).execute(&mut *tx).await?;
            }
        });
        Ok(())
    }

    pub async fn signer_exists(&self, user: &str, signer: &str) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM signers WHERE owner = ? AND signer = ?";
        let (n,): (i64,) =
            on_pool!(self, p => sqlx::query_as(sql).bind(user).bind(signer).fetch_one(p).await)?;
        Ok(n > 0)
    }

    pub async fn has_signer(&self, signer: &str) -> Result<bool> {
        let sql = "SELECT COUNT(*) FROM signers WHERE signer = ?";
        let (n,): (i64,) =
            on_pool!(self, p => sqlx::query_as(sql).bind(signer).fetch_one(p).await)?;
        Ok(n > 0)
    }

    pub async fn users_by_signer(&self, signer: &str) -> Result<Vec<UserRow>> {
        let sql = "SELECT u.id, u.name, u.comment, u.state, u.create_time, u.update_time \
                   FROM signers s JOIN users u ON u.name = s.owner WHERE s.signer = ? AND u.is_deleted = 0 ORDER BY u.name";
        Ok(on_pool!(self, p => sqlx::query_as::<_, UserRow>(sql).bind(signer).fetch_all(p).await)?)
    }

    pub async fn list_signers(&self, user: &str) -> Result<Vec<SignerRow>> {
        let sql = "SELECT signer, owner, created_at, updated_at FROM signers WHERE owner = ? ORDER BY created_at, signer";
        Ok(on_pool!(self, p => sqlx::query_as::<_, SignerRow>(sql).bind(user).fetch_all(p).await)?)
    }

    /// Remove `signer` from every user; `true` if it was registered anywhere.
    pub async fn delete_signer(&self, signer: &str) -> Result<bool> {
        let done = on_pool!(self, p => sqlx::query("DELETE FROM signers WHERE signer = ?").bind(signer).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }

    // ---------- rate limits ----------

    /// Create (empty `id`: a new UUID) or replace a limit; returns its id.
    pub async fn upsert_rate_limit(&self, r: &RateLimitRow) -> Result<String> {
        self.require_user(&r.name).await?;
        let id = if r.id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            r.id.clone()
        };
        in_tx!(self, tx => {
            sqlx::query("DELETE FROM user_rate_limits WHERE id = ?").bind(&id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO user_rate_limits (id, name, service, api, cap, reset_dur) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&id).bind(&r.name).bind(&r.service).bind(&r.api).bind(r.cap).bind(r.reset_dur)
                .execute(&mut *tx).await?;
        });
        Ok(id)
    }

    /// Limits of `name` (all of them when `id` is empty).
    pub async fn rate_limits(&self, name: &str, id: &str) -> Result<Vec<RateLimitRow>> {
        let sql = "SELECT id, name, service, api, cap, reset_dur FROM user_rate_limits WHERE name = ? AND (? = '' OR id = ?) ORDER BY id";
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, RateLimitRow>(sql).bind(name).bind(id).bind(id).fetch_all(p).await)?,
        )
    }

    pub async fn delete_rate_limit(&self, name: &str, id: &str) -> Result<bool> {
        let sql = "DELETE FROM user_rate_limits WHERE name = ? AND id = ?";
        let done = on_pool!(self, p => sqlx::query(sql).bind(name).bind(id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
