//! Persistence: one sqlx schema (the original's tables and columns) on SQLite (the embedded
//! default, `<repo>/message.db`) or MySQL/MariaDB. Both understand the same SQL here (`?`
//! placeholders, backticked `to`), so each statement is written once and run on whichever
//! pool is open.
//!
//! Addresses are keyed by their bytes. Times are unix microseconds. The pipeline's one
//! invariant lives in [`Store::fill_batch`]: the signed messages and the address's next
//! nonce are written in one transaction that only commits if the nonce is still the one
//! the batch started from, so two writers can never hand out one nonce twice.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use venus_api::messager::{
    ActorCfg, AddressInfo, AddressState, ChangeGasSpecParams, FeeSpec, MessageRecord, MessageState,
    NodeInfo, SendSpec, SharedSpec,
};
use venus_types::{Address, Base64Bytes, Cid, MessageReceipt, Signature, TipSetKey, TokenAmount};

use crate::config::DbTarget;

/// The embedded store's file inside the repo.
pub const SQLITE_FILE: &str = "message.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Unavailable(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(d)) if d.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    MySql(MySqlPool),
}

macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::MySql($p) => $body,
        }
    };
}

/// A bound value of a dynamically built query.
#[derive(Clone, Debug)]
enum Arg {
    I(i64),
    F(f64),
    B(Vec<u8>),
    S(String),
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args.iter() {
            q = match a {
                Arg::I(v) => q.bind(*v),
                Arg::F(v) => q.bind(*v),
                Arg::B(v) => q.bind(v.clone()),
                Arg::S(v) => q.bind(v.clone()),
            };
        }
        q
    }};
}

pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

fn time_of(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

const MSG_COLS: &str = "id, version, from_addr, nonce, `to`, value, gas_limit, gas_fee_cap, gas_premium, method, params, signed_data, unsigned_cid, signed_cid, height, receipt_exit_code, receipt_return_value, receipt_gas_used, tipset_key, meta_expire_epoch, meta_gas_over_estimation, meta_max_fee, meta_gas_over_premium, wallet_name, state, is_deleted, error_msg, fill_epoch, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub version: i64,
    pub from_addr: Vec<u8>,
    pub nonce: i64,
    pub to: String,
    pub value: String,
    pub gas_limit: i64,
    pub gas_fee_cap: String,
    pub gas_premium: String,
    pub method: i64,
    pub params: Option<Vec<u8>>,
    pub signed_data: Option<Vec<u8>>,
    pub unsigned_cid: Option<String>,
    pub signed_cid: Option<String>,
    pub height: i64,
    pub receipt_exit_code: i64,
    pub receipt_return_value: Option<Vec<u8>>,
    pub receipt_gas_used: i64,
    pub tipset_key: String,
    pub meta_expire_epoch: i64,
    pub meta_gas_over_estimation: f64,
    pub meta_max_fee: String,
    pub meta_gas_over_premium: f64,
    pub wallet_name: String,
    pub state: i64,
    pub is_deleted: i64,
    pub error_msg: String,
    pub fill_epoch: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A FeeSpec from its five stored columns (addresses, actor_cfg, shared_params).
fn fee_spec(
    gas_over_estimation: f64,
    max_fee: &str,
    gas_fee_cap: &str,
    gas_over_premium: f64,
    base_fee: &str,
) -> Result<FeeSpec> {
    Ok(FeeSpec {
        gas_over_estimation,
        max_fee: amount(max_fee)?,
        gas_fee_cap: amount(gas_fee_cap)?,
        gas_over_premium,
        base_fee: amount(base_fee)?,
    })
}

fn amount(s: &str) -> Result<TokenAmount> {
    s.parse::<num_bigint::BigInt>()
        .map(TokenAmount::from_atto)
        .map_err(|e| StoreError::Corrupt(format!("amount {s:?}: {e}")))
}

fn cid_opt(s: &Option<String>) -> Result<Option<Cid>> {
    match s.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("cid {s:?}: {e}"))),
    }
}

impl MessageRow {
    pub fn from_address(&self) -> Result<Address> {
        Address::from_bytes(&self.from_addr)
            .map_err(|e| StoreError::Corrupt(format!("from_addr: {e}")))
    }

    pub fn state(&self) -> MessageState {
        MessageState::from_i64(self.state)
    }

    pub fn signature(&self) -> Result<Option<Signature>> {
        match &self.signed_data {
            Some(b) if !b.is_empty() => serde_json::from_slice(b)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("signed_data: {e}"))),
            _ => Ok(None),
        }
    }

    pub fn to_record(&self) -> Result<MessageRecord> {
        let state = self.state();
        let receipt = (self.receipt_exit_code != -1).then(|| MessageReceipt {
            exit_code: self.receipt_exit_code,
            return_data: Base64Bytes(self.receipt_return_value.clone().unwrap_or_default()),
            gas_used: self.receipt_gas_used,
            events_root: None,
        });
        let tipset_key = if self.tipset_key.is_empty() {
            TipSetKey::default()
        } else {
            serde_json::from_str(&self.tipset_key)
                .map_err(|e| StoreError::Corrupt(format!("tipset_key: {e}")))?
        };
        Ok(MessageRecord {
            id: self.id.clone(),
            unsigned_cid: cid_opt(&self.unsigned_cid)?,
            signed_cid: cid_opt(&self.signed_cid)?,
            version: self.version as u64,
            to: self
                .to
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("to: {e}")))?,
            from: self.from_address()?,
            nonce: self.nonce as u64,
            value: amount(&self.value)?,
            gas_limit: self.gas_limit,
            gas_fee_cap: amount(&self.gas_fee_cap)?,
            gas_premium: amount(&self.gas_premium)?,
            method: self.method as u64,
            params: Base64Bytes(self.params.clone().unwrap_or_default()),
            signature: self.signature()?,
            height: self.height,
            confidence: 0,
            receipt,
            tipset_key,
            meta: Some(SendSpec {
                expire_epoch: self.meta_expire_epoch,
                gas_over_estimation: self.meta_gas_over_estimation,
                max_fee: amount(&self.meta_max_fee)?,
                gas_over_premium: self.meta_gas_over_premium,
            }),
            wallet_name: self.wallet_name.clone(),
            state,
            error_msg: self.error_msg.clone(),
            created_at: time_of(self.created_at),
            updated_at: time_of(self.updated_at),
        })
    }
}

/// A message accepted by PushMessage.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: String,
    pub message: venus_types::Message,
    pub spec: SendSpec,
    pub wallet_name: String,
    pub state: MessageState,
}

/// A message given its nonce, gas and signature by the pipeline.
#[derive(Debug, Clone)]
pub struct FilledMessage {
    pub id: String,
    pub message: venus_types::Message,
    pub signature: Signature,
    pub signed_cid: Cid,
}

/// Where a message landed.
#[derive(Debug, Clone)]
pub struct Landing {
    pub height: i64,
    pub tipset: TipSetKey,
    pub receipt: MessageReceipt,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct AddressRow {
    id: String,
    addr: Vec<u8>,
    nonce: i64,
    weight: i64,
    state: i64,
    sel_msg_num: i64,
    gas_over_estimation: f64,
    max_fee: String,
    gas_fee_cap: String,
    gas_over_premium: f64,
    base_fee: String,
    is_deleted: i64,
    created_at: i64,
    updated_at: i64,
}

const ADDR_COLS: &str = "id, addr, nonce, weight, state, sel_msg_num, gas_over_estimation, max_fee, gas_fee_cap, gas_over_premium, base_fee, is_deleted, created_at, updated_at";

impl AddressRow {
    fn into_info(self) -> Result<AddressInfo> {
        Ok(AddressInfo {
            id: self.id,
            addr: Address::from_bytes(&self.addr)
                .map_err(|e| StoreError::Corrupt(format!("addr: {e}")))?,
            nonce: self.nonce as u64,
            weight: self.weight,
            state: AddressState::from_i64(self.state),
            sel_msg_num: self.sel_msg_num as u64,
            fee: fee_spec(
                self.gas_over_estimation,
                &self.max_fee,
                &self.gas_fee_cap,
                self.gas_over_premium,
                &self.base_fee,
            )?,
            is_deleted: self.is_deleted as i32,
            created_at: time_of(self.created_at),
            updated_at: time_of(self.updated_at),
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct NodeRow {
    id: String,
    name: String,
    url: String,
    token: String,
    node_type: i64,
    created_at: i64,
    updated_at: i64,
}

impl NodeRow {
    fn into_info(self) -> NodeInfo {
        NodeInfo {
            id: self.id,
            name: self.name,
            url: self.url,
            token: self.token,
            r#type: self.node_type as i32,
            created_at: time_of(self.created_at),
            updated_at: time_of(self.updated_at),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ActorCfgRow {
    id: String,
    actor_v: i64,
    code: String,
    method: i64,
    gas_over_estimation: f64,
    max_fee: String,
    gas_fee_cap: String,
    gas_over_premium: f64,
    base_fee: String,
    created_at: i64,
    updated_at: i64,
}

const ACTOR_CFG_COLS: &str = "id, actor_v, code, method, gas_over_estimation, max_fee, gas_fee_cap, gas_over_premium, base_fee, created_at, updated_at";

impl ActorCfgRow {
    fn into_cfg(self) -> Result<ActorCfg> {
        Ok(ActorCfg {
            id: self.id,
            actor_version: self.actor_v,
            code: self
                .code
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("actor_cfg code: {e}")))?,
            method: self.method as u64,
            fee: fee_spec(
                self.gas_over_estimation,
                &self.max_fee,
                &self.gas_fee_cap,
                self.gas_over_premium,
                &self.base_fee,
            )?,
            created_at: time_of(self.created_at),
            updated_at: time_of(self.updated_at),
        })
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct SharedRow {
    sel_msg_num: i64,
    gas_over_estimation: f64,
    max_fee: String,
    gas_fee_cap: String,
    gas_over_premium: f64,
    base_fee: String,
}

/// A listing filter (ListMessage and friends).
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub states: Vec<MessageState>,
    pub from: Vec<Address>,
    pub updated_before: Option<i64>,
    pub created_before: Option<i64>,
    pub with_error: bool,
    pub asc: bool,
    pub limit: u64,
    pub offset: u64,
}

#[derive(Clone)]
pub struct Store {
    pool: Pool,
}

impl Store {
    /// Opens the database (creating a MySQL database the DSN names if the server lacks it,
    /// waiting up to `wait` for a server that is not up yet) and migrates it.
    pub async fn open(target: &DbTarget, wait: Duration) -> Result<Self> {
        let store = match target {
            DbTarget::Sqlite(file) => Self::open_sqlite(file).await?,
            DbTarget::Mysql(dsn) => Self::open_mysql(dsn, wait).await?,
        };
        store.migrate().await?;
        store.ensure_shared_params().await?;
        Ok(store)
    }

    async fn open_sqlite(file: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10));
        // One writer at a time is SQLite's rule anyway; a single connection also makes
        // every transaction serial, as the original (max 1 open connection).
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    async fn open_mysql(dsn: &str, wait: Duration) -> Result<Self> {
        let target = venus_goconf::parse_mysql_dsn(dsn)
            .map_err(|e| StoreError::Unavailable(format!("--mysql-dsn: {e}")))?;
        for w in &target.warnings {
            tracing::warn!("{w}");
        }
        target
            .wait_until_reachable(wait)
            .await
            .map_err(StoreError::Unavailable)?;
        let pool = MySqlPoolOptions::new()
            .max_connections(20)
            .acquire_timeout(target.connect_timeout.unwrap_or(Duration::from_secs(10)))
            .connect_with(target.options.clone())
            .await?;
        Ok(Self {
            pool: Pool::MySql(pool),
        })
    }

    /// The MySQL pool, for the row lease.
    pub fn mysql_pool(&self) -> Option<MySqlPool> {
        match &self.pool {
            Pool::MySql(p) => Some(p.clone()),
            Pool::Sqlite(_) => None,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.pool, Pool::Sqlite(_))
    }

    async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => sqlx::migrate!("./migrations/sqlite").run(p).await?,
            Pool::MySql(p) => {
                // Two instances starting together: serialise with a named lock of finite
                // wait (sqlx's own lock waits forever on MariaDB).
                let mut conn = p.acquire().await?;
                const LOCK: &str = "CONCAT('venus-messager-migrate:', MD5(DATABASE()))";
                let got: Option<i64> =
                    sqlx::query_scalar(AssertSqlSafe(format!("SELECT GET_LOCK({LOCK}, 120)")))
                        .fetch_one(&mut *conn)
                        .await?;
                if got != Some(1) {
                    return Err(StoreError::Unavailable(
                        "another venus-messager has been migrating this database for 120 s".into(),
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

    async fn ensure_shared_params(&self) -> Result<()> {
        let n: i64 = on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM shared_params WHERE id = 1").fetch_one(p).await?);
        if n == 0 {
            let r = on_pool!(self, p => sqlx::query("INSERT INTO shared_params (id, sel_msg_num, gas_over_estimation, max_fee, gas_fee_cap, gas_over_premium, base_fee) VALUES (1, 20, 1.25, '70000000000000000', '0', 0, '0')").execute(p).await.map(|_| ()));
            if let Err(e) = r {
                let e = StoreError::from(e);
                if !e.is_unique_violation() {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- messages

    /// Inserts an accepted message; returns `false` when the id exists already.
    pub async fn insert_message(&self, m: &NewMessage) -> Result<bool> {
        let now = now_micros();
        let msg = &m.message;
        let sql = "INSERT INTO messages (id, version, from_addr, nonce, `to`, value, gas_limit, gas_fee_cap, gas_premium, method, params, meta_expire_epoch, meta_gas_over_estimation, meta_max_fee, meta_gas_over_premium, wallet_name, state, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        let r = on_pool!(self, p => sqlx::query(sql)
            .bind(&m.id)
            .bind(msg.version as i64)
            .bind(msg.from.to_bytes())
            .bind(msg.to.to_string())
            .bind(msg.value.atto().to_string())
            .bind(msg.gas_limit)
            .bind(msg.gas_fee_cap.atto().to_string())
            .bind(msg.gas_premium.atto().to_string())
            .bind(msg.method as i64)
            .bind(msg.params.0.clone())
            .bind(m.spec.expire_epoch)
            .bind(m.spec.gas_over_estimation)
            .bind(m.spec.max_fee.atto().to_string())
            .bind(m.spec.gas_over_premium)
            .bind(&m.wallet_name)
            .bind(m.state as i64)
            .bind(now)
            .bind(now)
            .execute(p).await.map(|_| ()));
        match r {
            Ok(()) => Ok(true),
            Err(e) => {
                let e = StoreError::from(e);
                if e.is_unique_violation() {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn one_message(&self, cond: &str, args: Vec<Arg>) -> Result<Option<MessageRow>> {
        let sql = format!("SELECT {MSG_COLS} FROM messages WHERE {cond} LIMIT 1");
        Ok(
            on_pool!(self, p => bind_all!(sqlx::query_as::<_, MessageRow>(AssertSqlSafe(sql.clone())), args).fetch_optional(p).await?),
        )
    }

    pub async fn message_by_id(&self, id: &str) -> Result<Option<MessageRow>> {
        self.one_message("id = ?", vec![Arg::S(id.into())]).await
    }

    pub async fn message_by_signed_cid(&self, cid: &Cid) -> Result<Option<MessageRow>> {
        self.one_message("signed_cid = ?", vec![Arg::S(cid.to_string())])
            .await
    }

    pub async fn message_by_unsigned_cid(&self, cid: &Cid) -> Result<Option<MessageRow>> {
        self.one_message("unsigned_cid = ?", vec![Arg::S(cid.to_string())])
            .await
    }

    /// The message holding `nonce` of `from` (signed ones only: UnFill rows have nonce 0).
    pub async fn message_by_from_nonce(
        &self,
        from: &Address,
        nonce: u64,
    ) -> Result<Option<MessageRow>> {
        self.one_message(
            "from_addr = ? AND nonce = ? AND state IN (2, 3, 5) ORDER BY updated_at DESC",
            vec![Arg::B(from.to_bytes()), Arg::I(nonce as i64)],
        )
        .await
    }

    pub async fn list_messages(&self, f: &MessageFilter) -> Result<Vec<MessageRow>> {
        let mut conds = vec!["1 = 1".to_owned()];
        let mut args = Vec::new();
        if !f.states.is_empty() {
            conds.push(format!(
                "state IN ({})",
                f.states
                    .iter()
                    .map(|s| (*s as i64).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ));
        }
        if !f.from.is_empty() {
            conds.push(format!(
                "from_addr IN ({})",
                vec!["?"; f.from.len()].join(",")
            ));
            args.extend(f.from.iter().map(|a| Arg::B(a.to_bytes())));
        }
        if let Some(t) = f.updated_before {
            conds.push("updated_at < ?".into());
            args.push(Arg::I(t));
        }
        if let Some(t) = f.created_before {
            conds.push("created_at < ?".into());
            args.push(Arg::I(t));
        }
        if f.with_error {
            conds.push("error_msg <> ''".into());
        }
        let order = if f.asc { "ASC" } else { "DESC" };
        let limit = if f.limit == 0 {
            100_000
        } else {
            f.limit.min(100_000)
        };
        let sql = format!(
            "SELECT {MSG_COLS} FROM messages WHERE {} ORDER BY created_at {order}, id {order} LIMIT {limit} OFFSET {}",
            conds.join(" AND "),
            f.offset
        );
        Ok(
            on_pool!(self, p => bind_all!(sqlx::query_as::<_, MessageRow>(AssertSqlSafe(sql.clone())), args).fetch_all(p).await?),
        )
    }

    /// Sets a state unconditionally (UpdateMessageStateByID); false if there is no such id.
    pub async fn set_state(&self, id: &str, state: MessageState) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("UPDATE messages SET state = ?, updated_at = ? WHERE id = ?")
            .bind(state as i64).bind(now_micros()).bind(id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// Marks a message Failed unless it is on chain already; false if nothing changed.
    pub async fn mark_bad(&self, id: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("UPDATE messages SET state = 4, updated_at = ? WHERE id = ? AND state NOT IN (3, 5)")
            .bind(now_micros()).bind(id).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// Failed messages of `from` that were signed with a nonce the chain has not used yet
    /// (at or above `chain_nonce`) are in flight again (Fill); returns their ids.
    pub async fn recover_failed(&self, from: &Address, chain_nonce: u64) -> Result<Vec<String>> {
        let ids: Vec<String> = on_pool!(self, p => sqlx::query_scalar("SELECT id FROM messages WHERE from_addr = ? AND state = 4 AND signed_data IS NOT NULL AND nonce >= ? ORDER BY nonce")
            .bind(from.to_bytes()).bind(chain_nonce as i64).fetch_all(p).await?);
        let mut recovered = Vec::with_capacity(ids.len());
        for id in ids {
            let n = on_pool!(self, p => sqlx::query("UPDATE messages SET state = 2, error_msg = '', updated_at = ? WHERE id = ? AND state = 4")
                .bind(now_micros()).bind(&id).execute(p).await?.rows_affected());
            if n == 1 {
                recovered.push(id);
            }
        }
        Ok(recovered)
    }

    /// Marks every waiting (UnFill/NoWallet) message of `from` Failed.
    pub async fn clear_unfilled(&self, from: &Address) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query("UPDATE messages SET state = 4, updated_at = ? WHERE from_addr = ? AND state IN (1, 6)")
            .bind(now_micros()).bind(from.to_bytes()).execute(p).await?.rows_affected()),
        )
    }

    /// The next waiting messages of `from`, newest first (the original's order since v1.8,
    /// so old messages that keep failing estimation cannot starve new ones).
    pub async fn waiting_messages(&self, from: &Address, limit: u64) -> Result<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MSG_COLS} FROM messages WHERE from_addr = ? AND state IN (1, 6) ORDER BY created_at DESC, id DESC LIMIT {limit}"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, MessageRow>(AssertSqlSafe(sql.clone())).bind(from.to_bytes()).fetch_all(p).await?),
        )
    }

    /// Messages of `from` in `state`, by nonce.
    pub async fn messages_in_state(
        &self,
        from: &Address,
        state: MessageState,
    ) -> Result<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MSG_COLS} FROM messages WHERE from_addr = ? AND state = ? ORDER BY nonce ASC"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, MessageRow>(AssertSqlSafe(sql.clone())).bind(from.to_bytes()).bind(state as i64).fetch_all(p).await?),
        )
    }

    /// Every Fill message (for catching up after a restart).
    pub async fn all_filled(&self) -> Result<Vec<MessageRow>> {
        let sql = format!("SELECT {MSG_COLS} FROM messages WHERE state = 2 ORDER BY nonce ASC");
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, MessageRow>(AssertSqlSafe(sql.clone())).fetch_all(p).await?),
        )
    }

    /// Moves `from`'s UnFill messages to NoWallet and back (`to_nowallet` false).
    pub async fn set_wallet_wait(&self, from: &Address, to_nowallet: bool) -> Result<u64> {
        let (a, b) = if to_nowallet { (6, 1) } else { (1, 6) };
        Ok(
            on_pool!(self, p => sqlx::query("UPDATE messages SET state = ?, updated_at = ? WHERE from_addr = ? AND state = ?")
            .bind(a).bind(now_micros()).bind(from.to_bytes()).bind(b).execute(p).await?.rows_affected()),
        )
    }

    /// Records an estimation or push error on messages without changing their state.
    pub async fn set_error(&self, ids: &[String], error: &str) -> Result<()> {
        let error: String = error.chars().take(2000).collect();
        for chunk in ids.chunks(500) {
            let sql = format!(
                "UPDATE messages SET error_msg = ?, updated_at = ? WHERE id IN ({})",
                vec!["?"; chunk.len()].join(",")
            );
            let mut args = vec![Arg::S(error.clone()), Arg::I(now_micros())];
            args.extend(chunk.iter().map(|i| Arg::S(i.clone())));
            on_pool!(self, p => bind_all!(sqlx::query(AssertSqlSafe(sql.clone())), args).execute(p).await.map(|_| ())?);
        }
        Ok(())
    }

    /// Writes a signed batch and `from`'s next nonce in ONE transaction, only if the
    /// address's nonce is still `expected_nonce` and every message is still waiting;
    /// `still_primary` is asked right before the commit. Returns false (nothing written)
    /// when any of that no longer holds.
    pub async fn fill_batch(
        &self,
        from: &Address,
        expected_nonce: u64,
        batch: &[FilledMessage],
        fill_epoch: i64,
        still_primary: impl Fn() -> bool,
    ) -> Result<bool> {
        let next = expected_nonce + batch.len() as u64;
        let now = now_micros();
        macro_rules! body {
            ($p:expr) => {{
                let mut tx = $p.begin().await?;
                let moved = sqlx::query(
                    "UPDATE addresses SET nonce = ?, updated_at = ? WHERE addr = ? AND nonce = ?",
                )
                .bind(next as i64)
                .bind(now)
                .bind(from.to_bytes())
                .bind(expected_nonce as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if moved != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                for f in batch {
                    let sig = serde_json::to_vec(&f.signature)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    let n = sqlx::query("UPDATE messages SET state = 2, nonce = ?, gas_limit = ?, gas_fee_cap = ?, gas_premium = ?, signed_data = ?, unsigned_cid = ?, signed_cid = ?, error_msg = '', fill_epoch = ?, updated_at = ? WHERE id = ? AND state IN (1, 6)")
                        .bind(f.message.nonce as i64)
                        .bind(f.message.gas_limit)
                        .bind(f.message.gas_fee_cap.atto().to_string())
                        .bind(f.message.gas_premium.atto().to_string())
                        .bind(sig)
                        .bind(f.message.cid().to_string())
                        .bind(f.signed_cid.to_string())
                        .bind(fill_epoch)
                        .bind(now)
                        .bind(&f.id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if n != 1 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                }
                if !still_primary() {
                    tx.rollback().await?;
                    return Ok(false);
                }
                tx.commit().await?;
                Ok(true)
            }};
        }
        match &self.pool {
            Pool::Sqlite(p) => body!(p),
            Pool::MySql(p) => body!(p),
        }
    }

    /// Replaces a Fill message's gas and signature (only while it is still Fill).
    pub async fn replace_filled(
        &self,
        id: &str,
        f: &FilledMessage,
        fill_epoch: i64,
    ) -> Result<bool> {
        let sig =
            serde_json::to_vec(&f.signature).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let n = on_pool!(self, p => sqlx::query("UPDATE messages SET gas_limit = ?, gas_fee_cap = ?, gas_premium = ?, signed_data = ?, unsigned_cid = ?, signed_cid = ?, fill_epoch = ?, error_msg = '', updated_at = ? WHERE id = ? AND state = 2")
            .bind(f.message.gas_limit)
            .bind(f.message.gas_fee_cap.atto().to_string())
            .bind(f.message.gas_premium.atto().to_string())
            .bind(sig)
            .bind(f.message.cid().to_string())
            .bind(f.signed_cid.to_string())
            .bind(fill_epoch)
            .bind(now_micros())
            .bind(id)
            .execute(p).await?.rows_affected());
        Ok(n == 1)
    }

    /// A message of ours at `from`/`nonce` landed: OnChain if it is the one we signed,
    /// NonceConflict if another message took the nonce. Returns the new state, or None when
    /// no Fill message of ours holds that nonce.
    pub async fn land(
        &self,
        from: &Address,
        nonce: u64,
        on_chain: &[Cid],
        landing: &Landing,
    ) -> Result<Option<(String, MessageState)>> {
        let Some(row) = self
            .one_message(
                "from_addr = ? AND nonce = ? AND state = 2",
                vec![Arg::B(from.to_bytes()), Arg::I(nonce as i64)],
            )
            .await?
        else {
            return Ok(None);
        };
        let ours = |c: &Option<String>| {
            c.as_deref()
                .is_some_and(|c| on_chain.iter().any(|o| o.to_string() == c))
        };
        let on_chain_cid = on_chain.first().map(|c| c.to_string()).unwrap_or_default();
        let state = if ours(&row.signed_cid) || ours(&row.unsigned_cid) {
            MessageState::OnChainMsg
        } else {
            MessageState::NonceConflictMsg
        };
        let tsk = serde_json::to_string(&landing.tipset)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let error = if state == MessageState::NonceConflictMsg {
            format!("nonce {nonce} was used on chain by another message {on_chain_cid}")
        } else {
            String::new()
        };
        on_pool!(self, p => sqlx::query("UPDATE messages SET state = ?, height = ?, tipset_key = ?, receipt_exit_code = ?, receipt_return_value = ?, receipt_gas_used = ?, error_msg = ?, updated_at = ? WHERE id = ? AND state = 2")
            .bind(state as i64)
            .bind(landing.height)
            .bind(tsk)
            .bind(landing.receipt.exit_code)
            .bind(landing.receipt.return_data.0.clone())
            .bind(landing.receipt.gas_used)
            .bind(error)
            .bind(now_micros())
            .bind(&row.id)
            .execute(p).await.map(|_| ())?);
        Ok(Some((row.id, state)))
    }

    /// A reorg dropped the tipsets above `height`: their messages are in flight again.
    pub async fn revert_above(&self, height: i64) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query("UPDATE messages SET state = 2, height = 0, tipset_key = '', receipt_exit_code = -1, receipt_return_value = NULL, receipt_gas_used = 0, error_msg = '', updated_at = ? WHERE state IN (3, 5) AND height > ?")
            .bind(now_micros()).bind(height).execute(p).await?.rows_affected()),
        )
    }

    /// The tipsets (height, key as stored) that landed records (OnChain, NonceConflict)
    /// above `height` name: what to check against the chain after a gap in tracking.
    pub async fn landed_tipsets_above(&self, height: i64) -> Result<Vec<(i64, String)>> {
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, (i64, String)>("SELECT DISTINCT height, tipset_key FROM messages WHERE state IN (3, 5) AND height > ? ORDER BY height ASC")
            .bind(height).fetch_all(p).await?),
        )
    }

    /// The tipset at `height` recorded as `tipset_key` is not on the chain: its records are
    /// in flight again.
    pub async fn revert_tipset(&self, height: i64, tipset_key: &str) -> Result<u64> {
        Ok(
            on_pool!(self, p => sqlx::query("UPDATE messages SET state = 2, height = 0, tipset_key = '', receipt_exit_code = -1, receipt_return_value = NULL, receipt_gas_used = 0, error_msg = '', updated_at = ? WHERE state IN (3, 5) AND height = ? AND tipset_key = ?")
            .bind(now_micros()).bind(height).bind(tipset_key).execute(p).await?.rows_affected()),
        )
    }

    /// Message counts per (from, state), for the metrics.
    pub async fn counts(&self) -> Result<Vec<(Vec<u8>, i64, i64)>> {
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, (Vec<u8>, i64, i64)>("SELECT from_addr, state, COUNT(*) FROM messages GROUP BY from_addr, state").fetch_all(p).await?),
        )
    }

    /// Per address: the oldest creation time of a message not yet on chain, and the oldest
    /// fill epoch of a Fill message.
    pub async fn oldest_pending(&self) -> Result<Vec<(Vec<u8>, Option<i64>, Option<i64>)>> {
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, (Vec<u8>, Option<i64>, Option<i64>)>(
            "SELECT from_addr, MIN(created_at), MIN(CASE WHEN state = 2 THEN fill_epoch END) FROM messages WHERE state IN (1, 2, 6) GROUP BY from_addr")
            .fetch_all(p).await?),
        )
    }

    // ---------------------------------------------------------------- addresses

    pub async fn address(&self, addr: &Address) -> Result<Option<AddressInfo>> {
        let sql = format!("SELECT {ADDR_COLS} FROM addresses WHERE addr = ? AND is_deleted = -1");
        let row = on_pool!(self, p => sqlx::query_as::<_, AddressRow>(AssertSqlSafe(sql.clone())).bind(addr.to_bytes()).fetch_optional(p).await?);
        row.map(AddressRow::into_info).transpose()
    }

    pub async fn addresses(&self) -> Result<Vec<AddressInfo>> {
        let sql =
            format!("SELECT {ADDR_COLS} FROM addresses WHERE is_deleted = -1 ORDER BY created_at");
        let rows = on_pool!(self, p => sqlx::query_as::<_, AddressRow>(AssertSqlSafe(sql.clone())).fetch_all(p).await?);
        rows.into_iter().map(AddressRow::into_info).collect()
    }

    /// The address row, created Alive on first use (as PushMessage does).
    pub async fn ensure_address(&self, addr: &Address) -> Result<AddressInfo> {
        if let Some(a) = self.address(addr).await? {
            return Ok(a);
        }
        let now = now_micros();
        // A deleted row comes back to life rather than colliding with the unique key.
        let revived = on_pool!(self, p => sqlx::query("UPDATE addresses SET is_deleted = -1, state = 1, updated_at = ? WHERE addr = ?")
            .bind(now).bind(addr.to_bytes()).execute(p).await?.rows_affected());
        if revived == 0 {
            let r = on_pool!(self, p => sqlx::query("INSERT INTO addresses (id, addr, nonce, state, created_at, updated_at) VALUES (?, ?, 0, 1, ?, ?)")
                .bind(uuid::Uuid::new_v4().to_string()).bind(addr.to_bytes()).bind(now).bind(now).execute(p).await.map(|_| ()));
            if let Err(e) = r {
                let e = StoreError::from(e);
                if !e.is_unique_violation() {
                    return Err(e);
                }
            }
        }
        self.address(addr)
            .await?
            .ok_or_else(|| StoreError::Corrupt("address row vanished".into()))
    }

    /// Raises the next nonce to `nonce` if it is behind (messages sent outside the
    /// messager); never lowers it.
    pub async fn raise_nonce(&self, addr: &Address, nonce: u64) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("UPDATE addresses SET nonce = ?, updated_at = ? WHERE addr = ? AND nonce < ?")
            .bind(nonce as i64).bind(now_micros()).bind(addr.to_bytes()).bind(nonce as i64).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    pub async fn set_nonce(&self, addr: &Address, nonce: u64) -> Result<bool> {
        self.update_address(addr, "nonce = ?", vec![Arg::I(nonce as i64)])
            .await
    }

    pub async fn set_address_state(&self, addr: &Address, state: AddressState) -> Result<bool> {
        self.update_address(addr, "state = ?", vec![Arg::I(state as i64)])
            .await
    }

    pub async fn set_sel_msg_num(&self, addr: &Address, num: u64) -> Result<bool> {
        self.update_address(addr, "sel_msg_num = ?", vec![Arg::I(num as i64)])
            .await
    }

    pub async fn delete_address(&self, addr: &Address) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("DELETE FROM addresses WHERE addr = ?")
            .bind(addr.to_bytes()).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    pub async fn set_fee_params(&self, addr: &Address, fee: &FeeSpec) -> Result<bool> {
        self.update_address(
            addr,
            "gas_over_estimation = ?, max_fee = ?, gas_fee_cap = ?, gas_over_premium = ?, base_fee = ?",
            vec![
                Arg::F(fee.gas_over_estimation),
                Arg::S(fee.max_fee.atto().to_string()),
                Arg::S(fee.gas_fee_cap.atto().to_string()),
                Arg::F(fee.gas_over_premium),
                Arg::S(fee.base_fee.atto().to_string()),
            ],
        )
        .await
    }

    async fn update_address(&self, addr: &Address, set: &str, mut args: Vec<Arg>) -> Result<bool> {
        let sql = format!(
            "UPDATE addresses SET {set}, updated_at = ? WHERE addr = ? AND is_deleted = -1"
        );
        args.push(Arg::I(now_micros()));
        args.push(Arg::B(addr.to_bytes()));
        let n = on_pool!(self, p => bind_all!(sqlx::query(AssertSqlSafe(sql.clone())), args).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    // ---------------------------------------------------------------- shared params

    pub async fn shared_params(&self) -> Result<SharedSpec> {
        let r = on_pool!(self, p => sqlx::query_as::<_, SharedRow>("SELECT sel_msg_num, gas_over_estimation, max_fee, gas_fee_cap, gas_over_premium, base_fee FROM shared_params WHERE id = 1").fetch_one(p).await?);
        Ok(SharedSpec {
            id: 1,
            sel_msg_num: r.sel_msg_num as u64,
            fee: fee_spec(
                r.gas_over_estimation,
                &r.max_fee,
                &r.gas_fee_cap,
                r.gas_over_premium,
                &r.base_fee,
            )?,
        })
    }

    pub async fn set_shared_params(&self, s: &SharedSpec) -> Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE shared_params SET sel_msg_num = ?, gas_over_estimation = ?, max_fee = ?, gas_fee_cap = ?, gas_over_premium = ?, base_fee = ? WHERE id = 1")
            .bind(s.sel_msg_num as i64)
            .bind(s.fee.gas_over_estimation)
            .bind(s.fee.max_fee.atto().to_string())
            .bind(s.fee.gas_fee_cap.atto().to_string())
            .bind(s.fee.gas_over_premium)
            .bind(s.fee.base_fee.atto().to_string())
            .execute(p).await.map(|_| ())?);
        Ok(())
    }

    // ---------------------------------------------------------------- actor configs

    /// Saves a fee spec for (code, method): inserts, or replaces the row with the same id.
    /// Returns the row's id (a new UUID when `cfg.id` is empty).
    pub async fn save_actor_cfg(&self, cfg: &ActorCfg) -> Result<String> {
        let id = if cfg.id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            cfg.id.clone()
        };
        let now = now_micros();
        let f = &cfg.fee;
        let updated = on_pool!(self, p => sqlx::query("UPDATE actor_cfg SET actor_v = ?, code = ?, method = ?, gas_over_estimation = ?, max_fee = ?, gas_fee_cap = ?, gas_over_premium = ?, base_fee = ?, updated_at = ? WHERE id = ?")
            .bind(cfg.actor_version).bind(cfg.code.to_string()).bind(cfg.method as i64)
            .bind(f.gas_over_estimation).bind(f.max_fee.atto().to_string()).bind(f.gas_fee_cap.atto().to_string())
            .bind(f.gas_over_premium).bind(f.base_fee.atto().to_string()).bind(now).bind(&id)
            .execute(p).await?.rows_affected());
        if updated == 0 {
            on_pool!(self, p => sqlx::query("INSERT INTO actor_cfg (id, actor_v, code, method, gas_over_estimation, max_fee, gas_fee_cap, gas_over_premium, base_fee, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(&id).bind(cfg.actor_version).bind(cfg.code.to_string()).bind(cfg.method as i64)
                .bind(f.gas_over_estimation).bind(f.max_fee.atto().to_string()).bind(f.gas_fee_cap.atto().to_string())
                .bind(f.gas_over_premium).bind(f.base_fee.atto().to_string()).bind(now).bind(now)
                .execute(p).await.map(|_| ())?);
        }
        Ok(id)
    }

    /// Changes the fields `change` sets; false if there is no such id.
    pub async fn update_actor_cfg(&self, id: &str, change: &ChangeGasSpecParams) -> Result<bool> {
        let Some(mut cfg) = self.actor_cfg(id).await? else {
            return Ok(false);
        };
        if let Some(v) = change.gas_over_estimation {
            cfg.fee.gas_over_estimation = v;
        }
        if let Some(v) = &change.max_fee {
            cfg.fee.max_fee = v.clone();
        }
        if let Some(v) = &change.gas_fee_cap {
            cfg.fee.gas_fee_cap = v.clone();
        }
        if let Some(v) = change.gas_over_premium {
            cfg.fee.gas_over_premium = v;
        }
        if let Some(v) = &change.base_fee {
            cfg.fee.base_fee = v.clone();
        }
        self.save_actor_cfg(&cfg).await?;
        Ok(true)
    }

    pub async fn actor_cfg(&self, id: &str) -> Result<Option<ActorCfg>> {
        let sql = format!("SELECT {ACTOR_CFG_COLS} FROM actor_cfg WHERE id = ?");
        let r = on_pool!(self, p => sqlx::query_as::<_, ActorCfgRow>(AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        r.map(ActorCfgRow::into_cfg).transpose()
    }

    pub async fn actor_cfgs(&self) -> Result<Vec<ActorCfg>> {
        let sql = format!("SELECT {ACTOR_CFG_COLS} FROM actor_cfg ORDER BY created_at, id");
        let r = on_pool!(self, p => sqlx::query_as::<_, ActorCfgRow>(AssertSqlSafe(sql.clone())).fetch_all(p).await?);
        r.into_iter().map(ActorCfgRow::into_cfg).collect()
    }

    // ---------------------------------------------------------------- nodes

    pub async fn save_node(&self, n: &NodeInfo) -> Result<()> {
        let now = now_micros();
        let updated = on_pool!(self, p => sqlx::query("UPDATE nodes SET url = ?, token = ?, node_type = ?, is_deleted = -1, updated_at = ? WHERE name = ?")
            .bind(&n.url).bind(&n.token).bind(n.r#type.max(1) as i64).bind(now).bind(&n.name).execute(p).await?.rows_affected());
        if updated == 0 {
            on_pool!(self, p => sqlx::query("INSERT INTO nodes (id, name, url, token, node_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(uuid::Uuid::new_v4().to_string()).bind(&n.name).bind(&n.url).bind(&n.token).bind(n.r#type.max(1) as i64).bind(now).bind(now).execute(p).await.map(|_| ())?);
        }
        Ok(())
    }

    pub async fn node(&self, name: &str) -> Result<Option<NodeInfo>> {
        let r = on_pool!(self, p => sqlx::query_as::<_, NodeRow>("SELECT id, name, url, token, node_type, created_at, updated_at FROM nodes WHERE name = ? AND is_deleted = -1").bind(name).fetch_optional(p).await?);
        Ok(r.map(NodeRow::into_info))
    }

    pub async fn nodes(&self) -> Result<Vec<NodeInfo>> {
        let r = on_pool!(self, p => sqlx::query_as::<_, NodeRow>("SELECT id, name, url, token, node_type, created_at, updated_at FROM nodes WHERE is_deleted = -1 ORDER BY created_at").fetch_all(p).await?);
        Ok(r.into_iter().map(NodeRow::into_info).collect())
    }

    pub async fn delete_node(&self, name: &str) -> Result<bool> {
        let n = on_pool!(self, p => sqlx::query("UPDATE nodes SET is_deleted = 1, updated_at = ? WHERE name = ? AND is_deleted = -1")
            .bind(now_micros()).bind(name).execute(p).await?.rows_affected());
        Ok(n > 0)
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<()> {
        let _: i64 = on_pool!(self, p => sqlx::query_scalar("SELECT 1").fetch_one(p).await?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn msg(from: &Address) -> venus_types::Message {
        venus_types::Message {
            version: 0,
            to: "t01000".parse().unwrap(),
            from: *from,
            nonce: 0,
            value: TokenAmount::from_atto(1u64),
            gas_limit: 0,
            gas_fee_cap: TokenAmount::zero(),
            gas_premium: TokenAmount::zero(),
            method: 0,
            params: Base64Bytes::default(),
        }
    }

    #[tokio::test]
    async fn fill_batch_commits_only_from_the_expected_nonce() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &DbTarget::Sqlite(dir.path().join(SQLITE_FILE)),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        let from: Address = "t1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba".parse().unwrap();
        store.ensure_address(&from).await.unwrap();
        for i in 0..2 {
            let inserted = store
                .insert_message(&NewMessage {
                    id: format!("m{i}"),
                    message: msg(&from),
                    spec: SendSpec::default(),
                    wallet_name: String::new(),
                    state: MessageState::UnFillMsg,
                })
                .await
                .unwrap();
            assert!(inserted);
        }
        // The same id again is one message.
        assert!(
            !store
                .insert_message(&NewMessage {
                    id: "m0".into(),
                    message: msg(&from),
                    spec: SendSpec::default(),
                    wallet_name: String::new(),
                    state: MessageState::UnFillMsg,
                })
                .await
                .unwrap()
        );
        let filled = |id: &str, nonce| {
            let mut m = msg(&from);
            m.nonce = nonce;
            FilledMessage {
                id: id.into(),
                signature: Signature::new_secp256k1(vec![0; 65]),
                signed_cid: m.cid(),
                message: m,
            }
        };
        // A stale expected nonce writes nothing.
        assert!(
            !store
                .fill_batch(&from, 5, &[filled("m0", 5)], 1, || true)
                .await
                .unwrap()
        );
        // Losing the lease before the commit writes nothing.
        assert!(
            !store
                .fill_batch(&from, 0, &[filled("m0", 0)], 1, || false)
                .await
                .unwrap()
        );
        assert!(
            store
                .fill_batch(&from, 0, &[filled("m0", 0)], 1, || true)
                .await
                .unwrap()
        );
        assert_eq!(store.address(&from).await.unwrap().unwrap().nonce, 1);
        // A message filled already cannot be filled again.
        assert!(
            !store
                .fill_batch(&from, 1, &[filled("m0", 1)], 1, || true)
                .await
                .unwrap()
        );
        let row = store.message_by_id("m0").await.unwrap().unwrap();
        assert_eq!(row.state(), MessageState::FillMsg);
        let rec = row.to_record().unwrap();
        assert_eq!(rec.nonce, 0);
        assert!(rec.signature.is_some());
        let landing = Landing {
            height: 7,
            tipset: TipSetKey::default(),
            receipt: MessageReceipt::default(),
        };
        let mut other = msg(&from);
        other.value = TokenAmount::from_atto(2u64);
        let other = other.cid();
        let (_, st) = store
            .land(&from, 0, &[other], &landing)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(st, MessageState::NonceConflictMsg);
        assert_eq!(store.revert_above(6).await.unwrap(), 1);
        let cid = rec.signed_cid.unwrap();
        let (_, st) = store
            .land(&from, 0, &[cid], &landing)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(st, MessageState::OnChainMsg);

        // A tipset off the chain: its records are in flight again, others stay.
        let tsk = serde_json::to_string(&TipSetKey::default()).unwrap();
        assert_eq!(
            store.landed_tipsets_above(6).await.unwrap(),
            vec![(7, tsk.clone())]
        );
        assert!(store.landed_tipsets_above(7).await.unwrap().is_empty());
        assert_eq!(store.revert_tipset(7, "[]x").await.unwrap(), 0);
        assert_eq!(store.revert_tipset(7, &tsk).await.unwrap(), 1);
        let row = store.message_by_id("m0").await.unwrap().unwrap();
        assert_eq!(row.state(), MessageState::FillMsg);

        // RecoverFailedMsg: a signed Failed message at or above the chain nonce is Fill again;
        // an unsigned one (m1) is not.
        assert!(store.mark_bad("m0").await.unwrap());
        assert!(store.mark_bad("m1").await.unwrap());
        assert!(store.recover_failed(&from, 1).await.unwrap().is_empty());
        assert_eq!(store.recover_failed(&from, 0).await.unwrap(), vec!["m0"]);
        let row = store.message_by_id("m0").await.unwrap().unwrap();
        assert_eq!(row.state(), MessageState::FillMsg);
    }

    #[tokio::test]
    async fn actor_configs_save_update_and_list() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &DbTarget::Sqlite(dir.path().join(SQLITE_FILE)),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        let code = venus_types::cbor::cid_of_cbor_bytes(b"multisig");
        let cfg = ActorCfg {
            id: String::new(),
            actor_version: 12,
            code,
            method: 2,
            fee: FeeSpec {
                gas_over_estimation: 1.5,
                max_fee: TokenAmount::from_atto(7u64),
                ..Default::default()
            },
            created_at: time_of(0),
            updated_at: time_of(0),
        };
        let id = store.save_actor_cfg(&cfg).await.unwrap();
        // (code, method) is unique.
        let dup = store.save_actor_cfg(&cfg).await.unwrap_err();
        assert!(dup.is_unique_violation(), "{dup}");
        let change = ChangeGasSpecParams {
            gas_over_premium: Some(4.0),
            base_fee: Some(TokenAmount::from_atto(9u64)),
            ..Default::default()
        };
        assert!(store.update_actor_cfg(&id, &change).await.unwrap());
        assert!(!store.update_actor_cfg("nope", &change).await.unwrap());
        let got = store.actor_cfg(&id).await.unwrap().unwrap();
        assert_eq!(got.code, code);
        assert_eq!(got.method, 2);
        assert_eq!(got.actor_version, 12);
        assert_eq!(got.fee.gas_over_estimation, 1.5);
        assert_eq!(got.fee.gas_over_premium, 4.0);
        assert_eq!(got.fee.max_fee, TokenAmount::from_atto(7u64));
        assert_eq!(got.fee.base_fee, TokenAmount::from_atto(9u64));
        assert_eq!(store.actor_cfgs().await.unwrap(), vec![got]);
        assert!(store.actor_cfg("nope").await.unwrap().is_none());
    }
}
