//! Which wallet connections may sign for which (account, address).
//!
//! Each connection carries its own set of accounts it serves (its token's user plus the
//! `SupportAccounts` it registered) and the addresses it proved it holds. Routing asks: which
//! live connections serve one of these accounts and hold this address? Unlike the original,
//! accounts are kept per connection, so a connection that leaves takes its accounts with it.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::RwLock;
use uuid::Uuid;

use crate::events::Connection;

/// What one wallet connection serves.
#[derive(Debug)]
struct Entry<A> {
    conn: Arc<Connection>,
    accounts: BTreeSet<String>,
    addrs: BTreeSet<A>,
}

/// A snapshot of one connection for operators (`ListWalletInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletConnInfo<A> {
    pub channel_id: Uuid,
    /// The wallet account (token user) of the connection.
    pub account: String,
    pub support_accounts: BTreeSet<String>,
    pub addrs: BTreeSet<A>,
    pub peer: String,
    pub in_flight: usize,
    pub created: chrono::DateTime<chrono::Utc>,
}

/// Live wallet connections by channel id.
#[derive(Debug)]
pub struct WalletRegistry<A> {
    conns: RwLock<HashMap<Uuid, Entry<A>>>,
}

impl<A> Default for WalletRegistry<A> {
    fn default() -> Self {
        Self {
            conns: RwLock::new(HashMap::new()),
        }
    }
}

/// A change refused because the channel is unknown (closed, or never registered here).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no wallet channel {0} on this gateway")]
pub struct UnknownChannel(pub Uuid);

impl<A: Clone + Ord + Hash + Display> WalletRegistry<A> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a connection that proved `addrs`; `accounts` always includes the token's user.
    pub fn insert(
        &self,
        conn: Arc<Connection>,
        support: impl IntoIterator<Item = String>,
        addrs: impl IntoIterator<Item = A>,
    ) {
        let mut accounts: BTreeSet<String> = support.into_iter().collect();
        accounts.insert(conn.account().to_owned());
        let entry = Entry {
            conn: conn.clone(),
            accounts,
            addrs: addrs.into_iter().collect(),
        };
        self.conns.write().insert(conn.id(), entry);
    }

    /// Forget a connection (on disconnect). Returns whether it was registered.
    pub fn remove(&self, channel: Uuid) -> bool {
        self.conns.write().remove(&channel).is_some()
    }

    pub fn add_account(&self, channel: Uuid, account: String) -> Result<(), UnknownChannel> {
        let mut conns = self.conns.write();
        let entry = conns.get_mut(&channel).ok_or(UnknownChannel(channel))?;
        entry.accounts.insert(account);
        Ok(())
    }

    pub fn add_addrs(
        &self,
        channel: Uuid,
        addrs: impl IntoIterator<Item = A>,
    ) -> Result<(), UnknownChannel> {
        let mut conns = self.conns.write();
        let entry = conns.get_mut(&channel).ok_or(UnknownChannel(channel))?;
        entry.addrs.extend(addrs);
        Ok(())
    }

    pub fn remove_addrs(&self, channel: Uuid, addrs: &[A]) -> Result<(), UnknownChannel> {
        let mut conns = self.conns.write();
        let entry = conns.get_mut(&channel).ok_or(UnknownChannel(channel))?;
        for a in addrs {
            entry.addrs.remove(a);
        }
        Ok(())
    }

    /// Addresses a channel holds (empty if unknown).
    pub fn addrs_of(&self, channel: Uuid) -> Vec<A> {
        self.conns
            .read()
            .get(&channel)
            .map(|e| e.addrs.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Accounts a channel serves, its token's user included (empty if unknown).
    pub fn accounts_of(&self, channel: Uuid) -> Vec<String> {
        self.conns
            .read()
            .get(&channel)
            .map(|e| e.accounts.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The connection behind a channel id, if it is registered (for `Response*Event` etc.).
    pub fn connection(&self, channel: Uuid) -> Option<Arc<Connection>> {
        self.conns.read().get(&channel).map(|e| e.conn.clone())
    }

    /// Live connections that serve one of `accounts` and hold `addr`.
    pub fn candidates(&self, addr: &A, accounts: &[String]) -> Vec<Arc<Connection>> {
        self.conns
            .read()
            .values()
            .filter(|e| !e.conn.is_closed())
            .filter(|e| e.addrs.contains(addr))
            .filter(|e| accounts.iter().any(|a| e.accounts.contains(a)))
            .map(|e| e.conn.clone())
            .collect()
    }

    /// The error the caller reads when [`Self::candidates`] is empty.
    pub fn no_wallet_message(&self, addr: &A, accounts: &[String]) -> String {
        let who = match accounts {
            [] => "no account given".to_owned(),
            [one] => format!("account {one}"),
            many => format!("accounts {}", many.join(", ")),
        };
        let held_elsewhere = self
            .conns
            .read()
            .values()
            .any(|e| !e.conn.is_closed() && e.addrs.contains(addr));
        if held_elsewhere {
            format!(
                "no wallet connected for address {addr} of {who} (the address is held by a wallet that does not serve these accounts)"
            )
        } else {
            format!("no wallet connected for address {addr} of {who}")
        }
    }

    /// One snapshot per live connection, ordered by account then channel.
    pub fn list(&self) -> Vec<WalletConnInfo<A>> {
        let mut out: Vec<_> = self
            .conns
            .read()
            .values()
            .map(|e| {
                let mut support = e.accounts.clone();
                support.remove(e.conn.account());
                WalletConnInfo {
                    channel_id: e.conn.id(),
                    account: e.conn.account().to_owned(),
                    support_accounts: support,
                    addrs: e.addrs.clone(),
                    peer: e
                        .conn
                        .peer_addr()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    in_flight: e.conn.in_flight(),
                    created: e.conn.created(),
                }
            })
            .collect();
        out.sort_by(|a, b| (&a.account, a.channel_id).cmp(&(&b.account, b.channel_id)));
        out
    }

    /// Number of live connections and distinct addresses (for metrics).
    pub fn counts(&self) -> (usize, usize) {
        let conns = self.conns.read();
        let addrs: BTreeSet<&A> = conns.values().flat_map(|e| e.addrs.iter()).collect();
        (conns.len(), addrs.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(account: &str) -> Arc<Connection> {
        // Leak the receiver so the queue stays open: routing skips closed connections.
        let (c, rx) = Connection::new(account, 0, None);
        std::mem::forget(rx);
        c
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn routes_only_to_connections_of_permitted_accounts_holding_the_address() {
        let reg = WalletRegistry::<String>::new();
        let w1 = conn("walletA");
        let w2 = conn("walletB");
        reg.insert(w1.clone(), s(&["miner1"]), s(&["f1aaa", "f1bbb"]));
        reg.insert(w2.clone(), s(&["miner2"]), s(&["f1bbb"]));

        let ids = |v: Vec<Arc<Connection>>| v.iter().map(|c| c.id()).collect::<BTreeSet<_>>();
        assert_eq!(
            ids(reg.candidates(&"f1aaa".into(), &s(&["miner1"]))),
            [w1.id()].into()
        );
        assert_eq!(
            ids(reg.candidates(&"f1bbb".into(), &s(&["miner1", "miner2"]))),
            [w1.id(), w2.id()].into()
        );
        // The token's own user is always served.
        assert_eq!(
            ids(reg.candidates(&"f1bbb".into(), &s(&["walletB"]))),
            [w2.id()].into()
        );
        // Another account's address is refused.
        assert!(reg.candidates(&"f1aaa".into(), &s(&["miner2"])).is_empty());
        let msg = reg.no_wallet_message(&"f1aaa".to_owned(), &s(&["miner2"]));
        assert!(
            msg.starts_with("no wallet connected for address f1aaa of account miner2"),
            "{msg}"
        );
    }

    #[test]
    fn disconnect_and_address_changes_take_effect_at_once() {
        let reg = WalletRegistry::<String>::new();
        let w1 = conn("walletA");
        reg.insert(w1.clone(), s(&[]), s(&["f1aaa"]));
        reg.add_addrs(w1.id(), s(&["f1ccc"])).expect("registered");
        assert_eq!(reg.candidates(&"f1ccc".into(), &s(&["walletA"])).len(), 1);
        reg.remove_addrs(w1.id(), &s(&["f1aaa"]))
            .expect("registered");
        assert!(reg.candidates(&"f1aaa".into(), &s(&["walletA"])).is_empty());
        reg.add_account(w1.id(), "late".into()).expect("registered");
        assert_eq!(reg.candidates(&"f1ccc".into(), &s(&["late"])).len(), 1);

        assert!(reg.remove(w1.id()));
        assert!(reg.candidates(&"f1ccc".into(), &s(&["walletA"])).is_empty());
        assert_eq!(
            reg.add_addrs(w1.id(), s(&["f1x"])),
            Err(UnknownChannel(w1.id()))
        );
        assert_eq!(reg.counts(), (0, 0));
    }

    #[test]
    fn list_shows_each_connection() {
        let reg = WalletRegistry::<String>::new();
        reg.insert(conn("b"), s(&["m"]), s(&["f1x"]));
        reg.insert(conn("a"), s(&[]), s(&["f1x", "f1y"]));
        let list = reg.list();
        assert_eq!(
            list.iter().map(|i| i.account.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(list[1].support_accounts, ["m".to_owned()].into());
        assert_eq!(reg.counts(), (2, 2));
    }
}
