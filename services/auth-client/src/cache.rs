//! A bounded LRU cache of successful verifications, each valid for a fixed TTL.
//!
//! Only successes are cached: a refused token is asked again next time, so a token that was
//! just created works at once. The price is that a token removed in venus-auth keeps working
//! through this cache for at most the TTL.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use lru::LruCache;
use parking_lot::Mutex;

use crate::types::VerifyResponse;

pub struct VerifyCache {
    ttl: Duration,
    entries: Mutex<LruCache<String, (VerifyResponse, Instant)>>,
}

impl VerifyCache {
    /// A cache of at most `capacity` tokens (at least 1), each kept for `ttl`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            ttl,
            entries: Mutex::new(LruCache::new(capacity)),
        }
    }

    pub fn get(&self, token: &str) -> Option<VerifyResponse> {
        let mut entries = self.entries.lock();
        match entries.get(token) {
            Some((claims, at)) if at.elapsed() < self.ttl => Some(claims.clone()),
            Some(_) => {
                entries.pop(token);
                None
            }
            None => None,
        }
    }

    pub fn insert(&self, token: &str, claims: VerifyResponse) {
        if self.ttl.is_zero() {
            return;
        }
        self.entries
            .lock()
            .put(token.to_owned(), (claims, Instant::now()));
    }

    /// Forget one token (e.g. after removing it through this client).
    pub fn remove(&self, token: &str) {
        self.entries.lock().pop(token);
    }

    pub fn clear(&self) {
        self.entries.lock().clear();
    }

    pub fn len(&self) -> usize {
        self.entries.lock().len()
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
    fn size_is_bounded_least_recent_goes_first() {
        let c = VerifyCache::new(Duration::from_secs(60), 2);
        c.insert("a", claims("a"));
        c.insert("b", claims("b"));
        assert!(c.get("a").is_some());
        c.insert("c", claims("c"));
        assert_eq!(c.len(), 2);
        assert!(c.get("b").is_none(), "b was the least recently used");
        assert!(c.get("a").is_some() && c.get("c").is_some());
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let c = VerifyCache::new(Duration::ZERO, 8);
        c.insert("t", claims("u"));
        assert_eq!(c.get("t"), None);
    }
}
