//! The pool's miners, as venus-auth lists them (users in state 1 with their miners, each
//! with its `openMining` switch), and each miner's recent errors for `address state`.
//!
//! Pulled at start, every 60 s and by `address update`; `address start|stop` write the
//! switch to venus-auth (`POST /user/miner/add`) so it survives restarts (venus#5415).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use parking_lot::RwLock;
use venus_api::miner::{MinerInfo, MinerState};
use venus_auth_client::AuthClient;
use venus_types::Address;

/// The errors kept per miner (as the original).
pub const MAX_ERRORS: usize = 20;
/// `limit` when `address update` gives none (the original's page).
pub const DEFAULT_LIMIT: i64 = 20_000;

#[derive(Debug, Clone)]
struct Entry {
    info: MinerInfo,
    errors: VecDeque<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MinersError {
    #[error("venus-auth: {0}")]
    Auth(String),
    #[error("miner {0} is not a miner of this pool (not bound to any user in venus-auth)")]
    Unknown(Address),
}

pub struct Miners {
    auth: Arc<AuthClient>,
    entries: RwLock<BTreeMap<Address, Entry>>,
}

impl Miners {
    pub fn new(auth: Arc<AuthClient>) -> Self {
        Self {
            auth,
            entries: RwLock::new(BTreeMap::new()),
        }
    }

    pub fn auth(&self) -> &Arc<AuthClient> {
        &self.auth
    }

    /// Re-read the miners from venus-auth (`skip`/`limit` page the users; 0 = all).
    pub async fn refresh(&self, skip: i64, limit: i64) -> Result<Vec<MinerInfo>, MinersError> {
        let limit = if limit <= 0 { DEFAULT_LIMIT } else { limit };
        let users = self
            .auth
            .list_users(skip.max(0), limit, 0)
            .await
            .map_err(|e| MinersError::Auth(e.to_string()))?;
        let mut found = Vec::new();
        for user in users.into_iter().filter(|u| u.is_enabled()) {
            let miners = self
                .auth
                .list_miners(&user.name)
                .await
                .map_err(|e| MinersError::Auth(e.to_string()))?;
            for m in miners {
                match m.miner.parse::<Address>() {
                    Ok(addr) => found.push(MinerInfo {
                        addr,
                        id: user.id.clone(),
                        name: user.name.clone(),
                        open_mining: m.open_mining,
                    }),
                    Err(e) => {
                        tracing::warn!(miner = %m.miner, user = %user.name, error = %e, "venus-auth lists a miner whose address does not parse; skipped")
                    }
                }
            }
        }
        let mut entries = self.entries.write();
        let mut next = BTreeMap::new();
        for info in &found {
            let errors = entries
                .remove(&info.addr)
                .map(|e| e.errors)
                .unwrap_or_default();
            next.insert(
                info.addr,
                Entry {
                    info: info.clone(),
                    errors,
                },
            );
        }
        *entries = next;
        Ok(found)
    }

    pub fn list(&self) -> Vec<MinerInfo> {
        self.entries
            .read()
            .values()
            .map(|e| e.info.clone())
            .collect()
    }

    /// Miners with mining switched on.
    pub fn open(&self) -> Vec<MinerInfo> {
        self.entries
            .read()
            .values()
            .filter(|e| e.info.open_mining)
            .map(|e| e.info.clone())
            .collect()
    }

    pub fn get(&self, addr: &Address) -> Option<MinerInfo> {
        self.entries.read().get(addr).map(|e| e.info.clone())
    }

    /// `(mining, stopped)` counts.
    pub fn counts(&self) -> (usize, usize) {
        let e = self.entries.read();
        let open = e.values().filter(|e| e.info.open_mining).count();
        (open, e.len() - open)
    }

    /// Switch mining on or off, persisted in venus-auth. Every address must be a miner of
    /// the pool; nothing is changed otherwise.
    pub async fn set_open(&self, addrs: &[Address], open: bool) -> Result<(), MinersError> {
        let infos = addrs
            .iter()
            .map(|a| self.get(a).ok_or(MinersError::Unknown(*a)))
            .collect::<Result<Vec<_>, _>>()?;
        for info in infos {
            self.auth
                .upsert_miner(&info.name, &info.addr.to_string(), open)
                .await
                .map_err(|e| MinersError::Auth(e.to_string()))?;
            if let Some(e) = self.entries.write().get_mut(&info.addr) {
                e.info.open_mining = open;
                if open {
                    e.errors.clear();
                }
            }
        }
        Ok(())
    }

    /// Remember an error for `address state` (newest last, at most [`MAX_ERRORS`]).
    pub fn record_error(&self, addr: &Address, err: String) {
        if let Some(e) = self.entries.write().get_mut(addr) {
            if e.errors.len() == MAX_ERRORS {
                e.errors.pop_front();
            }
            e.errors.push_back(err);
        }
    }

    /// A successful election clears the miner's errors: `address state` shows what is wrong now.
    pub fn clear_errors(&self, addr: &Address) {
        if let Some(e) = self.entries.write().get_mut(addr) {
            e.errors.clear();
        }
    }

    /// States of `addrs` (all miners when empty); unknown addresses are an error.
    pub fn states(&self, addrs: &[Address]) -> Result<Vec<MinerState>, MinersError> {
        let entries = self.entries.read();
        let state = |e: &Entry| MinerState {
            addr: e.info.addr,
            is_mining: e.info.open_mining,
            err: e.errors.iter().cloned().collect(),
        };
        if addrs.is_empty() {
            return Ok(entries.values().map(state).collect());
        }
        addrs
            .iter()
            .map(|a| entries.get(a).map(state).ok_or(MinersError::Unknown(*a)))
            .collect()
    }
}
