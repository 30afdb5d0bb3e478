//! The venus-auth queries the gateway makes besides token verification: do these users
//! exist, is this miner bound to this user, record which signers a user has.

use std::sync::Arc;

use async_trait::async_trait;
use venus_auth_client::AuthClient;

#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Every name is an existing, enabled user.
    async fn verify_users(&self, names: &[String]) -> Result<(), String>;
    /// `miner` is bound to `user`.
    async fn miner_exists(&self, user: &str, miner: &str) -> Result<bool, String>;
    /// Record that `user` may use `signers` (the original registers on every wallet connect).
    async fn register_signers(&self, user: &str, signers: &[String]) -> Result<(), String>;
}

/// venus-auth over its REST API.
pub struct AuthDirectory(pub Arc<AuthClient>);

#[async_trait]
impl Directory for AuthDirectory {
    async fn verify_users(&self, names: &[String]) -> Result<(), String> {
        self.0
            .verify_users(names)
            .await
            .map_err(|e| format!("venus-auth refused the accounts {names:?}: {e}"))
    }

    async fn miner_exists(&self, user: &str, miner: &str) -> Result<bool, String> {
        self.0
            .miner_exists(user, miner)
            .await
            .map_err(|e| format!("venus-auth miner check failed: {e}"))
    }

    async fn register_signers(&self, user: &str, signers: &[String]) -> Result<(), String> {
        self.0
            .register_signers(user, signers)
            .await
            .map_err(|e| format!("venus-auth signer registration failed: {e}"))
    }
}

/// Used when the gateway was started without a venus-auth token: it can still verify
/// callers' tokens, but cannot ask venus-auth about users and miners, so it refuses
/// registrations with a message that says what is missing.
pub struct NoAuthToken;

const MISSING: &str = "this gateway has no venus-auth token (--auth-token or [Auth] Token), so it cannot check accounts and miners with venus-auth";

#[async_trait]
impl Directory for NoAuthToken {
    async fn verify_users(&self, _names: &[String]) -> Result<(), String> {
        Err(MISSING.to_owned())
    }

    async fn miner_exists(&self, _user: &str, _miner: &str) -> Result<bool, String> {
        Err(MISSING.to_owned())
    }

    async fn register_signers(&self, _user: &str, _signers: &[String]) -> Result<(), String> {
        Err(MISSING.to_owned())
    }
}

/// Accepts every user and miner. For in-process tests only; the binary never uses it.
pub struct AllowAll;

#[async_trait]
impl Directory for AllowAll {
    async fn verify_users(&self, _names: &[String]) -> Result<(), String> {
        Ok(())
    }

    async fn miner_exists(&self, _user: &str, _miner: &str) -> Result<bool, String> {
        Ok(true)
    }

    async fn register_signers(&self, _user: &str, _signers: &[String]) -> Result<(), String> {
        Ok(())
    }
}
