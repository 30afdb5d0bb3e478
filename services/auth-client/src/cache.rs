//! A bounded cache of successful verifications, each valid for a fixed TTL.
//!
//! Only successes are cached: a refused token is asked again next time, so a token that was
//! just created works at once. The price is that a token removed in venus-auth keeps working
//! through this cache for at most the TTL.
//!
//! Read-mostly: a hit takes a shared lock and changes nothing (an LRU's hit must take the
//! lock exclusively, and with every request asking, two workers queued on it). When full,
//! expired entries go first, then the oldest half.
//!
//! Bounded twice: by entries and by the bytes the entries hold (token, name, `ext`), so a
//! few valid tokens with a huge `ext` cannot hold more memory than many ordinary ones; a
//! token longer than [`venus_rpc::verify::MAX_TOKEN_BYTES`] is never remembered.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use venus_rpc::verify::MAX_TOKEN_BYTES;

use crate::types::VerifyResponse;

/// Default bound on the bytes a cache's entries hold.
pub const DEFAULT_CACHE_BYTES: usize = 8 << 20;

/// Per-entry bookkeeping counted on top of the strings (map slot, instant, permission).
const ENTRY_OVERHEAD: usize = 96;

pub struct VerifyCache {
    ttl: Duration,
    capacity: usize,
    max_bytes: usize,
    entries: RwLock<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<Box<str>, (VerifyResponse, Instant)>,
    bytes: usize,
}

fn entry_size(token: &str, claims: &VerifyResponse) -> usize {
    token.len() + claims.name.len() + claims.ext.len() + ENTRY_OVERHEAD
}

impl Entries {
    fn remove(&mut self, token: &str) {
        if let Some((claims, _)) = self.map.remove(token) {
            self.bytes -= entry_size(token, &claims);
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&(VerifyResponse, Instant)) -> bool) {
        let mut freed = 0;
        self.map.retain(|token, entry| {
            let kept = keep(entry);
            if !kept {
                freed += entry_size(token, &entry.0);
            }
            kept
        });
        self.bytes -= freed;
    }
}

impl VerifyCache {
    /// A cache of at most `capacity` tokens (at least 1) and [`DEFAULT_CACHE_BYTES`], each
    /// kept for `ttl`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self::with_byte_limit(ttl, capacity, DEFAULT_CACHE_BYTES)
    }

    /// A cache of at most `capacity` tokens holding at most `max_bytes`.
    pub fn with_byte_limit(ttl: Duration, capacity: usize, max_bytes: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            max_bytes,
            entries: RwLock::new(Entries::default()),
        }
    }

    pub fn get(&self, token: &str) -> Option<VerifyResponse> {
        match self.entries.read().map.get(token) {
            Some((claims, at)) if at.elapsed() < self.ttl => return Some(claims.clone()),
            Some(_) => {}
            None => return None,
        }
        // Expired: dropped when seen (unless refreshed meanwhile).
        let mut entries = self.entries.write();
        if entries
            .map
            .get(token)
            .is_some_and(|(_, at)| at.elapsed() >= self.ttl)
        {
            entries.remove(token);
        }
        None
    }

    pub fn insert(&self, token: &str, claims: VerifyResponse) {
        let size = entry_size(token, &claims);
        if self.ttl.is_zero() || token.len() > MAX_TOKEN_BYTES || size > self.max_bytes {
            return;
        }
        let mut entries = self.entries.write();
        entries.remove(token);
        if entries.map.len() >= self.capacity || entries.bytes + size > self.max_bytes {
            self.make_room(&mut entries, size);
        }
        entries.bytes += size;
        entries.map.insert(token.into(), (claims, Instant::now()));
    }

    /// Drop expired entries; if that is not enough for one more of `size` bytes, keep only
    /// the newest half (by count, then by bytes).
    fn make_room(&self, entries: &mut Entries, size: usize) {
        entries.retain(|(_, at)| at.elapsed() < self.ttl);
        let fits = |e: &Entries| e.map.len() < self.capacity && e.bytes + size <= self.max_bytes;
        if fits(entries) {
            return;
        }
        let mut ages: Vec<Instant> = entries.map.values().map(|(_, at)| *at).collect();
        let keep = self.capacity / 2;
        let cut_at = ages.len().saturating_sub(keep);
        if cut_at > 0 {
            ages.select_nth_unstable(cut_at - 1);
            let cutoff = ages[cut_at - 1];
            entries.retain(|(_, at)| *at > cutoff);
        }
        // Still over the byte bound (a few large entries): halve by age until it fits.
        while !entries.map.is_empty() && entries.bytes + size > self.max_bytes / 2 {
            let mut ages: Vec<Instant> = entries.map.values().map(|(_, at)| *at).collect();
            let half = ages.len() / 2;
            if half == 0 {
                entries.retain(|_| false);
                break;
            }
            ages.select_nth_unstable(half - 1);
            let cutoff = ages[half - 1];
            entries.retain(|(_, at)| *at > cutoff);
        }
    }

    /// Forget one token (e.g. after removing it through this client).
    pub fn remove(&self, token: &str) {
        self.entries.write().remove(token);
    }

    /// Forget every token of `user` (after the user was disabled or removed).
    pub fn remove_user(&self, user: &str) {
        self.entries
            .write()
            .retain(|(claims, _)| claims.name != user);
    }

    pub fn clear(&self) {
        let mut entries = self.entries.write();
        entries.map.clear();
        entries.bytes = 0;
    }

    pub fn len(&self) -> usize {
        self.entries.read().map.len()
    }

    /// The bytes the entries hold (strings plus bookkeeping).
    pub fn bytes(&self) -> usize {
        self.entries.read().bytes
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
    fn bytes_are_bounded_and_overlong_tokens_never_remembered() {
        let c = VerifyCache::with_byte_limit(Duration::from_secs(60), 10_000, 64 << 10);
        let big_ext = |i: usize| VerifyResponse {
            name: format!("u{i}"),
            perm: Permission::Read,
            ext: "e".repeat(4 << 10),
        };
        // Many entries of ~6 KiB each: the bytes held stay under the bound, the newest stays.
        for i in 0..200 {
            let token = format!("{i:04}{}", "t".repeat(2 << 10));
            c.insert(&token, big_ext(i));
            assert!(c.bytes() <= 64 << 10, "{} bytes after {i}", c.bytes());
            assert!(c.get(&token).is_some(), "the newest entry is kept");
        }
        assert!(c.len() < 20, "{} entries", c.len());
        // A key longer than any real token is never remembered.
        let huge = "x".repeat(MAX_TOKEN_BYTES + 1);
        let before = c.bytes();
        c.insert(&huge, claims("u"));
        assert_eq!(c.get(&huge), None);
        assert_eq!(c.bytes(), before);
        // Removing and clearing give the bytes back.
        c.remove_user("u199");
        assert!(c.bytes() < before);
        c.clear();
        assert_eq!((c.len(), c.bytes()), (0, 0));
    }

    #[test]
    fn replacing_an_entry_counts_its_bytes_once() {
        let c = VerifyCache::new(Duration::from_secs(60), 8);
        c.insert("t", claims("u"));
        let once = c.bytes();
        for _ in 0..5 {
            c.insert("t", claims("u"));
        }
        assert_eq!(c.bytes(), once);
        c.remove("t");
        assert_eq!(c.bytes(), 0);
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let c = VerifyCache::new(Duration::ZERO, 8);
        c.insert("t", claims("u"));
        assert_eq!(c.get("t"), None);
    }
}
