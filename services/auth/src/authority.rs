//! Issuing and verifying tokens.
//!
//! A token is an HS256 JWT with the original's claims `{name, perm, ext}`, signed with the
//! server secret (`<repo>/secret`) and recorded in the store. Verification checks, in order:
//! the JWT header (only HS256: `alg: none` and other algorithms are refused without touching
//! the store), that the token is recorded and not removed, that its user exists, is not
//! removed and is enabled, and the HMAC — with the token's own secret when its row has one
//! (tokens imported from the original, which used one secret per token), else the server's.
//!
//! Successful verifications are cached in memory for a short TTL. Every change made through
//! this server that can invalidate a token (token removal, user update/removal) clears the
//! affected entries at once, so revocation is immediate on this server; another replica
//! sharing the same MySQL database sees it within the TTL.

use std::time::Duration;

use venus_auth_client::VerifyCache;
use venus_auth_client::types::{STATE_ENABLED, VerifyResponse};
use venus_rpc::Permission;
use venus_rpc::jwt::{self, Claims};
use venus_rpc::verify::MAX_TOKEN_BYTES;

use crate::store::{Store, StoreError, TokenRow};

pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_CAPACITY: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum VerifyFailure {
    /// The token is not acceptable; the message never contains the token.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Authority {
    store: Store,
    secret: Vec<u8>,
    cache: VerifyCache,
}

impl Authority {
    pub fn new(store: Store, secret: Vec<u8>, ttl: Duration) -> Self {
        Self {
            store,
            secret,
            cache: VerifyCache::new(ttl, CACHE_CAPACITY),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether a token of these claims stays within what verifiers accept
    /// ([`MAX_TOKEN_BYTES`]); a longer `extra` or name would make a token no service takes.
    pub fn token_fits(name: &str, perm: Permission, extra: &str) -> bool {
        let claims = Claims {
            name: name.to_owned(),
            perm,
            ext: extra.to_owned(),
        };
        // The signature's length does not depend on the key.
        jwt::sign(&claims, b"length").len() <= MAX_TOKEN_BYTES
    }

    /// Sign and record a token for `name`. The caller checks that the user exists.
    pub async fn issue(
        &self,
        name: &str,
        perm: Permission,
        extra: &str,
    ) -> Result<String, StoreError> {
        let claims = Claims {
            name: name.to_owned(),
            perm,
            ext: extra.to_owned(),
        };
        let token = jwt::sign(&claims, &self.secret);
        let row = TokenRow {
            token: token.clone(),
            name: name.to_owned(),
            perm: perm.to_string(),
            secret: String::new(),
            extra: extra.to_owned(),
            create_time: chrono::Utc::now().timestamp(),
        };
        self.store.insert_token(&row).await?;
        Ok(token)
    }

    pub async fn verify(&self, token: &str) -> Result<VerifyResponse, VerifyFailure> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyFailure::Refused(format!(
                "token longer than {MAX_TOKEN_BYTES} bytes"
            )));
        }
        if let Some(hit) = self.cache.get(token) {
            return Ok(hit);
        }
        // Header and shape first: forged/garbage tokens cost no database round trip.
        let refused = |e: jwt::JwtError| VerifyFailure::Refused(e.to_string());
        let unverified = jwt::decode_unverified(token).map_err(refused)?;
        let row = self
            .store
            .token_for_verify(token)
            .await?
            .ok_or_else(|| VerifyFailure::Refused("token is not registered".into()))?;
        if row.is_deleted != 0 {
            return Err(VerifyFailure::Refused("token has been removed".into()));
        }
        match (row.user_state, row.user_deleted) {
            (None, _) => {
                return Err(VerifyFailure::Refused(format!(
                    "user {} of the token does not exist",
                    row.name
                )));
            }
            (_, Some(d)) if d != 0 => {
                return Err(VerifyFailure::Refused(format!(
                    "user {} of the token has been removed",
                    row.name
                )));
            }
            (Some(state), _) if state != STATE_ENABLED => {
                return Err(VerifyFailure::Refused(format!(
                    "user {} of the token is disabled",
                    row.name
                )));
            }
            _ => {}
        }
        let key = if row.secret.is_empty() {
            self.secret.clone()
        } else {
            hex::decode(&row.secret).map_err(|_| {
                VerifyFailure::Refused("token secret in the store is not hex".into())
            })?
        };
        let claims = jwt::verify(token, &key).map_err(refused)?;
        // The row and the signed claims must agree (they always do unless the store was edited).
        if claims.name != row.name || claims.perm.as_str() != row.perm || unverified != claims {
            return Err(VerifyFailure::Refused(
                "token does not match its record".into(),
            ));
        }
        let out = VerifyResponse {
            name: claims.name,
            perm: claims.perm,
            ext: row.extra,
        };
        self.cache.insert(token, out.clone());
        Ok(out)
    }

    /// Forget a token's cached verification (after it was removed).
    pub fn forget_token(&self, token: &str) {
        self.cache.remove(token);
    }

    /// Forget every cached verification of `user` (after it was disabled or removed).
    pub fn forget_user(&self, user: &str) {
        self.cache.remove_user(user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use base64::Engine;

    async fn authority(ttl: Duration) -> (Authority, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), &Config::default().db, Duration::ZERO)
            .await
            .unwrap();
        (Authority::new(store, vec![7u8; 32], ttl), dir)
    }

    #[tokio::test]
    async fn issued_tokens_verify_until_removed_or_user_disabled() {
        let (a, _dir) = authority(Duration::from_secs(60)).await;
        a.store().create_user("u1", "", 1).await.unwrap();
        let t = a.issue("u1", Permission::Write, "x").await.unwrap();
        let v = a.verify(&t).await.unwrap();
        assert_eq!(
            (v.name.as_str(), v.perm, v.ext.as_str()),
            ("u1", Permission::Write, "x")
        );

        a.store().update_user("u1", None, 2).await.unwrap();
        a.forget_user("u1");
        assert!(
            a.verify(&t)
                .await
                .unwrap_err()
                .to_string()
                .contains("disabled")
        );
        a.store().update_user("u1", None, 1).await.unwrap();
        assert!(a.verify(&t).await.is_ok());

        a.store().set_token_removed(&t, true).await.unwrap();
        a.forget_token(&t);
        assert!(
            a.verify(&t)
                .await
                .unwrap_err()
                .to_string()
                .contains("removed")
        );
    }

    #[tokio::test]
    async fn forged_none_and_unregistered_tokens_are_refused() {
        let (a, _dir) = authority(Duration::ZERO).await;
        a.store().create_user("u1", "", 1).await.unwrap();
        let t = a.issue("u1", Permission::Read, "").await.unwrap();
        // Same claims, other key: not registered.
        let forged = jwt::sign(
            &Claims {
                name: "u1".into(),
                perm: Permission::Admin,
                ext: String::new(),
            },
            b"k",
        );
        assert!(
            a.verify(&forged)
                .await
                .unwrap_err()
                .to_string()
                .contains("not registered")
        );
        // alg none with the real payload.
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = t.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{payload}.",
            b64.encode(br#"{"alg":"none","typ":"JWT"}"#)
        );
        assert!(
            a.verify(&none)
                .await
                .unwrap_err()
                .to_string()
                .contains("none")
        );
        assert!(a.verify("garbage").await.is_err());
        // A registered token whose signature was tampered with.
        let mut bad = t.clone();
        bad.pop();
        bad.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert!(a.verify(&bad).await.is_err());
    }
}
