//! The daemon's token check: the node's own local HS256 token first, then venus-auth when
//! `--auth-url` is given.
//!
//! * `--auth-url` with `--auth-token` (current venus): [`venus_auth_client::AuthClient`],
//!   `POST /verify` with `{"Token": …}` and the service token as bearer.
//! * `--auth-url` alone (the seed guide, venus ≤ v1.1): [`SeedEraVerifier`], the request the
//!   venus-auth v1.3 client sent — `POST /verify` with the **form** body `token=<jwt>` and no
//!   service token. Both are cached for [`venus_auth_client::DEFAULT_CACHE_TTL`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use venus_auth_client::types::VerifyResponse;
use venus_auth_client::{AuthClient, DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL, VerifyCache};
use venus_rpc::{Caller, ChainVerifier, LocalVerifier, Permission, TokenVerifier, VerifyError};

/// The node's local token user, as venus names it.
pub const LOCAL_TOKEN_NAME: &str = "defaultLocalToken";

/// Verifies tokens the seed-era way: form `token=<jwt>`, no service token.
pub struct SeedEraVerifier {
    url: url::Url,
    http: reqwest::Client,
    cache: VerifyCache,
}

impl SeedEraVerifier {
    pub fn new(auth_url: &str) -> Result<Self, String> {
        let base = venus_auth_client::parse_auth_addr(auth_url)?;
        let url = base
            .join("verify")
            .map_err(|e| format!("invalid --auth-url {auth_url:?}: {e}"))?;
        let http = venus_rpc::tls::http_client_builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            url,
            http,
            cache: VerifyCache::new(DEFAULT_CACHE_TTL, DEFAULT_CACHE_CAPACITY),
        })
    }

    async fn verify_remote(&self, token: &str) -> Result<VerifyResponse, VerifyError> {
        let resp = self
            .http
            .post(self.url.clone())
            .form(&[("token", token)])
            .send()
            .await
            .map_err(|e| VerifyError::Unavailable(format!("venus-auth: {}", e.without_url())))?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(VerifyError::Unavailable(format!(
                "venus-auth answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(VerifyError::Invalid(format!(
                "venus-auth refused the token ({status})"
            )));
        }
        resp.json::<VerifyResponse>()
            .await
            .map_err(|e| VerifyError::Invalid(format!("venus-auth answer: {}", e.without_url())))
    }
}

#[async_trait]
impl TokenVerifier for SeedEraVerifier {
    async fn verify(&self, token: &str) -> Result<Caller, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        let claims = match self.cache.get(token) {
            Some(c) => c,
            None => {
                let c = self.verify_remote(token).await?;
                self.cache.insert(token, c.clone());
                c
            }
        };
        Ok(Caller {
            user: claims.name,
            perm: claims.perm,
        })
    }
}

/// What `venus daemon` verifies tokens with, and the local admin token it writes.
pub struct NodeAuth {
    pub verifier: Arc<dyn TokenVerifier>,
    pub local_token: String,
}

/// A fresh random secret per start, as venus does: the `<repo>/token` changes on restart.
pub fn build(auth_url: Option<&str>, auth_token: Option<&str>) -> Result<NodeAuth, String> {
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
    let local = Arc::new(LocalVerifier::new(secret.to_vec()));
    let local_token = local.issue(LOCAL_TOKEN_NAME, Permission::Admin);
    let mut chain: Vec<Arc<dyn TokenVerifier>> = vec![local];
    match (
        auth_url.filter(|u| !u.trim().is_empty()),
        auth_token.filter(|t| !t.trim().is_empty()),
    ) {
        (Some(url), Some(token)) => {
            let client = AuthClient::new(url, token).map_err(|e| format!("--auth-url: {e}"))?;
            chain.push(Arc::new(client));
        }
        (Some(url), None) => {
            chain.push(Arc::new(
                SeedEraVerifier::new(url).map_err(|e| format!("--auth-url: {e}"))?,
            ));
        }
        (None, Some(_)) => return Err("--auth-token needs --auth-url".into()),
        (None, None) => {}
    }
    Ok(NodeAuth {
        verifier: Arc::new(ChainVerifier::new(chain)),
        local_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_token_is_admin_and_foreign_tokens_fail() {
        let auth = build(None, None).expect("auth");
        let caller = auth
            .verifier
            .verify(&auth.local_token)
            .await
            .expect("local");
        assert_eq!(
            caller,
            Caller {
                user: LOCAL_TOKEN_NAME.into(),
                perm: Permission::Admin
            }
        );
        let other = build(None, None).expect("auth");
        assert!(matches!(
            auth.verifier.verify(&other.local_token).await,
            Err(VerifyError::Invalid(_))
        ));
        assert!(build(None, Some("t")).is_err());
        assert!(build(Some("::bad"), None).is_err());
    }

    #[tokio::test]
    async fn unreachable_venus_auth_is_reported_as_unavailable() {
        // A port nothing listens on: bind, read the port, drop the listener.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let auth = build(Some(&format!("http://127.0.0.1:{port}")), None).expect("auth");
        let foreign = LocalVerifier::new(b"x".to_vec()).issue("u", Permission::Read);
        assert!(matches!(
            auth.verifier.verify(&foreign).await,
            Err(VerifyError::Unavailable(_))
        ));
    }
}
