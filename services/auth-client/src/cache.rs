//! A bounded cache of successful verifications, each valid for a fixed TTL.
//!
//! Only successes are cached: a refused token is asked again next time, so a token that was
//! just created works at once. The price is that a token removed in venus-auth keeps working
//! through this cache for at most the TTL.
//!
//! Read-mostly: a hit takes a shared lock and changes nothing (an LRU's hit must take the
//! lock exclusively, and with every request asking, two workers queued on it). When full,
//! expired entries go first, then the oldest half.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::types::VerifyResponse;

pub struct VerifyCache {
    ttl: Duration,
    capacity: usize,
    entries: RwLock<HashMap<String, (VerifyResponse, Instant)>>,
}

impl VerifyCache {
    /// A cache of at most `capacity` tokens (at least 1), each kept for `ttl`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, token: &str) -> Option<VerifyResponse> {
        match self.entries.read().get(token) {
            Some((claims, at)) if at.elapsed() < self.ttl => return Some(claims.clone()),
            Some(_) => {}
            None => return None,
        }
        // Expired: dropped when seen (unless refreshed meanwhile).
        let mut entries = self.entries.write();
        if entries
            .get(token)
            .is_some_and(|(_, at)| at.elapsed() >= self.ttl)
        {
            entries.remove(token);
        }
        None
    }

    pub fn insert(&self, token: &str, claims: VerifyResponse) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write();
        if entries.len() >= self.capacity && !entries.contains_key(token) {
            self.make_room(&mut entries);
        }
        entries.insert(token.to_owned(), (claims, Instant::now()));
    }

    fn make_room(&self, entries: &mut HashMap<String, (VerifyResponse, Instant)>) {
        entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        if entries.len() < self.capacity {
            return;
        }
        let mut ages: Vec<Instant> = entries.values().map(|(_, at)| *at).collect();
        let keep = self.capacity / 2;
        let cut_at = ages.len() - keep;
        ages.select_nth_unstable(cut_at.saturating_sub(1));
        let cutoff = ages[cut_at.saturating_sub(1)];
        entries.retain(|_, (_, at)| *at > cutoff);
    }

    /// Forget one token (e.g. after removing it through this client).
    pub fn remove(&self, token: &str) {
        self.entries.write().remove(token);
    }

    /// Forget every token of `user` (after the user was disabled or removed).
    pub fn remove_user(&self, user: &str) {
        self.entries
            .write()
            .retain(|_, (claims, _)| claims.name != user);
    }

    pub fn clear(&self) {
        self.entries.write().clear();
    }

    pub fn len(&self) -> usize {
        self.entries.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use venus_rpc::Permission;

    fn claims(name: &str) -> VerifyResponse {
        VerifyResponse {
            name: name.into(),
            perm: Permission::Read,
            ext: String::new(),
        }
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = VerifyCache::new(Duration::from_millis(30), 8);
        c.insert("t", claims("u"));
        assert_eq!(c.get("t"), Some(claims("u")));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("t"), None);
        assert!(c.is_empty(), "an expired entry is dropped when seen");
    }

    #[test]
    fn size_is_bounded_oldest_go_first() {
        let c = VerifyCache::new(Duration::from_secs(60), 4);
        for t in ["a", "b", "c", "d"] {
            c.insert(t, claims(t));
            std::thread::sleep(Duration::from_millis(2));
        }
        c.insert("e", claims("e"));
        assert!(c.len() <= 4);
        assert!(
            c.get("a").is_none() && c.get("b").is_none(),
            "the oldest went first"
        );
        assert!(c.get("d").is_some() && c.get("e").is_some());
        // Re-inserting a cached token never evicts others.
        let before = c.len();
        c.insert("e", claims("e"));
        assert_eq!(c.len(), before);
    }

    #[test]
    fn expired_entries_make_room_before_fresh_ones_go() {
        let c = VerifyCache::new(Duration::from_millis(30), 2);
        c.insert("old", claims("old"));
        std::thread::sleep(Duration::from_millis(40));
        c.insert("a", claims("a"));
        c.insert("b", claims("b"));
        assert!(c.get("a").is_some() && c.get("b").is_some());
        assert!(c.get("old").is_none());
    }

    #[test]
    fn a_users_tokens_are_forgotten_together() {
        let c = VerifyCache::new(Duration::from_secs(60), 8);
        c.insert("t1", claims("u"));
        c.insert("t2", claims("u"));
        c.insert("t3", claims("v"));
        c.remove_user("u");
        assert_eq!(c.len(), 1);
        assert!(c.get("t3").is_some());
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let c = VerifyCache::new(Duration::ZERO, 8);
        c.insert("t", claims("u"));
        assert_eq!(c.get("t"), None);
    }
}
