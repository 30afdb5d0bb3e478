//! The HTTP client of venus-auth's REST API, with a cached `verify`.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;
use venus_rpc::{Caller, Permission, TokenVerifier, VerifyError};

use crate::addr::parse_auth_addr;
use crate::cache::VerifyCache;
use crate::types::*;

/// The namespace header the Go `jwtclient` sends with every call.
pub const API_NAMESPACE_HEADER: &str = "X-VENUS-API-NAMESPACE";
pub const API_NAMESPACE: &str = "auth.IAuthClient";

/// Default lifetime of a cached verification. A removed token keeps working through a
/// client's cache for at most this long.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(10);
/// Default number of tokens a client cache holds.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid venus-auth address: {0}")]
    Address(String),
    #[error("a token is needed to call venus-auth (the service token is empty)")]
    EmptyToken,
    /// venus-auth could not be reached or failed internally (network, timeout, 5xx).
    #[error("venus-auth unavailable: {0}")]
    Unavailable(String),
    /// venus-auth answered and refused the request (4xx); `message` is its `error` text.
    #[error("venus-auth refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("unexpected answer from venus-auth: {0}")]
    Decode(String),
}

impl ClientError {
    /// Whether venus-auth refused the credentials (401/403) rather than the request.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            Self::Refused {
                status: 401 | 403,
                ..
            }
        )
    }
}

/// A client of venus-auth. Cheap to clone is not needed: share it in an `Arc`.
pub struct AuthClient {
    base: Url,
    token: String,
    http: reqwest::Client,
    cache: VerifyCache,
}

impl AuthClient {
    /// `addr` is a URL, `host:port` or a multiaddr; `service_token` is the caller's own
    /// venus-auth token (sent as `Authorization: Bearer`).
    pub fn new(addr: &str, service_token: impl Into<String>) -> Result<Self, ClientError> {
        let token = service_token.into();
        if token.trim().is_empty() {
            return Err(ClientError::EmptyToken);
        }
        let base = parse_auth_addr(addr).map_err(ClientError::Address)?;
        let http = venus_rpc::tls::http_client_builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| ClientError::Address(e.to_string()))?;
        Ok(Self {
            base,
            token: token.trim().to_owned(),
            http,
            cache: VerifyCache::new(DEFAULT_CACHE_TTL, DEFAULT_CACHE_CAPACITY),
        })
    }

    /// Replace the verification cache (a zero `ttl` disables it).
    pub fn with_cache(mut self, ttl: Duration, capacity: usize) -> Self {
        self.cache = VerifyCache::new(ttl, capacity);
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn cache(&self) -> &VerifyCache {
        &self.cache
    }

    // ---- tokens ----

    /// Verify `token`, from the cache when a recent answer is there.
    pub async fn verify(&self, token: &str) -> Result<VerifyResponse, ClientError> {
        // Longer than any real token: refused here, never sent to venus-auth nor remembered.
        if let Err(e) = venus_rpc::verify::check_token_len(token) {
            return Err(ClientError::Refused {
                status: 401,
                message: e.to_string(),
            });
        }
        if let Some(hit) = self.cache.get(token) {
            return Ok(hit);
        }
        let claims = self.verify_uncached(token).await?;
        self.cache.insert(token, claims.clone());
        Ok(claims)
    }

    /// `POST /verify` with `{"Token": …}`, bypassing the cache.
    pub async fn verify_uncached(&self, token: &str) -> Result<VerifyResponse, ClientError> {
        self.call(
            Method::POST,
            "verify",
            &[],
            Some(&TokenBody {
                token: token.to_owned(),
            }),
        )
        .await
    }

    pub async fn gen_token(
        &self,
        name: &str,
        perm: Permission,
        extra: &str,
    ) -> Result<String, ClientError> {
        let req = GenTokenRequest {
            name: name.into(),
            perm: perm.to_string(),
            extra: extra.into(),
        };
        let r: GenTokenResponse = self.call(Method::POST, "genToken", &[], Some(&req)).await?;
        Ok(r.token)
    }

    /// The record of one token.
    pub async fn get_token(&self, token: &str) -> Result<Vec<TokenInfo>, ClientError> {
        self.call(Method::GET, "token", &[("token", token)], None::<&()>)
            .await
    }

    /// Every token of user `name`.
    pub async fn get_tokens_by_name(&self, name: &str) -> Result<Vec<TokenInfo>, ClientError> {
        self.call(Method::GET, "token", &[("name", name)], None::<&()>)
            .await
    }

    pub async fn list_tokens(&self, skip: i64, limit: i64) -> Result<Vec<TokenInfo>, ClientError> {
        let (s, l) = (skip.to_string(), limit.to_string());
        self.call(
            Method::GET,
            "tokens",
            &[("skip", &s), ("limit", &l)],
            None::<&()>,
        )
        .await
    }

    pub async fn remove_token(&self, token: &str) -> Result<(), ClientError> {
        self.cache.remove(token);
        let body = TokenBody {
            token: token.to_owned(),
        };
        self.call_empty(Method::DELETE, "token", &[], Some(&body))
            .await
    }

    pub async fn recover_token(&self, token: &str) -> Result<(), ClientError> {
        let body = TokenBody {
            token: token.to_owned(),
        };
        self.call_empty(Method::POST, "recoverToken", &[], Some(&body))
            .await
    }

    // ---- users ----

    pub async fn create_user(
        &self,
        name: &str,
        comment: Option<&str>,
        state: i64,
    ) -> Result<OutputUser, ClientError> {
        let req = UpdateUserRequest {
            name: name.into(),
            comment: comment.map(Into::into),
            state,
        };
        self.call(Method::PUT, "user/new", &[], Some(&req)).await
    }

    /// Change a user's comment and/or state (`state` 0 = unchanged).
    pub async fn update_user(&self, req: &UpdateUserRequest) -> Result<(), ClientError> {
        self.call_empty(Method::POST, "user/update", &[], Some(req))
            .await
    }

    pub async fn get_user(&self, name: &str) -> Result<OutputUser, ClientError> {
        self.call(Method::GET, "user", &[("name", name)], None::<&()>)
            .await
    }

    pub async fn has_user(&self, name: &str) -> Result<bool, ClientError> {
        self.call(Method::GET, "user/has", &[("name", name)], None::<&()>)
            .await
    }

    /// Users page by page; `state` 0 lists every state.
    pub async fn list_users(
        &self,
        skip: i64,
        limit: i64,
        state: i64,
    ) -> Result<Vec<OutputUser>, ClientError> {
        let (s, l, st) = (skip.to_string(), limit.to_string(), state.to_string());
        let q = [
            ("skip", s.as_str()),
            ("limit", l.as_str()),
            ("state", st.as_str()),
        ];
        self.call(Method::GET, "user/list", &q, None::<&()>).await
    }

    /// Fails unless every named user exists and is not deleted.
    pub async fn verify_users(&self, names: &[String]) -> Result<(), ClientError> {
        let body = NamesBody {
            names: names.to_vec(),
        };
        self.call_empty(Method::POST, "user/verify", &[], Some(&body))
            .await
    }

    pub async fn delete_user(&self, name: &str) -> Result<(), ClientError> {
        self.cache.clear();
        self.call_empty(
            Method::POST,
            "user/del",
            &[],
            Some(&NameBody { name: name.into() }),
        )
        .await
    }

    pub async fn recover_user(&self, name: &str) -> Result<(), ClientError> {
        let body = NameBody { name: name.into() };
        self.call_empty(Method::POST, "user/recover", &[], Some(&body))
            .await
    }

    // ---- miners ----

    /// Bind `miner` (an `f0…` ID address) to `user`; `true` if it was new.
    pub async fn upsert_miner(
        &self,
        user: &str,
        miner: &str,
        open_mining: bool,
    ) -> Result<bool, ClientError> {
        let req = UpsertMinerRequest {
            user: user.into(),
            miner: miner.into(),
            open_mining,
        };
        self.call(Method::POST, "user/miner/add", &[], Some(&req))
            .await
    }

    /// The user that owns `miner`.
    pub async fn get_user_by_miner(&self, miner: &str) -> Result<OutputUser, ClientError> {
        self.call(Method::GET, "user/miner", &[("miner", miner)], None::<&()>)
            .await
    }

    /// Whether `miner` belongs to `user`.
    pub async fn miner_exists(&self, user: &str, miner: &str) -> Result<bool, ClientError> {
        let q = [("user", user), ("miner", miner)];
        self.call(Method::GET, "user/miner/exist", &q, None::<&()>)
            .await
    }

    /// Whether `miner` belongs to any user.
    pub async fn has_miner(&self, miner: &str) -> Result<bool, ClientError> {
        self.call(Method::GET, "miner/has", &[("miner", miner)], None::<&()>)
            .await
    }

    pub async fn list_miners(&self, user: &str) -> Result<Vec<OutputMiner>, ClientError> {
        self.call(
            Method::GET,
            "user/miner/list",
            &[("user", user)],
            None::<&()>,
        )
        .await
    }

    /// Remove `miner`; `true` if it existed.
    pub async fn delete_miner(&self, miner: &str) -> Result<bool, ClientError> {
        let body = MinerBody {
            miner: miner.into(),
        };
        self.call(Method::POST, "user/miner/del", &[], Some(&body))
            .await
    }

    // ---- signers ----

    pub async fn register_signers(
        &self,
        user: &str,
        signers: &[String],
    ) -> Result<(), ClientError> {
        let body = SignersRequest {
            user: user.into(),
            signers: signers.to_vec(),
        };
        self.call_empty(Method::POST, "user/signer/register", &[], Some(&body))
            .await
    }

    pub async fn register_signer(&self, user: &str, signer: &str) -> Result<(), ClientError> {
        self.register_signers(user, &[signer.to_owned()]).await
    }

    pub async fn unregister_signers(
        &self,
        user: &str,
        signers: &[String],
    ) -> Result<(), ClientError> {
        let body = SignersRequest {
            user: user.into(),
            signers: signers.to_vec(),
        };
        self.call_empty(Method::POST, "user/signer/unregister", &[], Some(&body))
            .await
    }

    /// Whether `signer` is registered for `user`.
    pub async fn signer_exists(&self, user: &str, signer: &str) -> Result<bool, ClientError> {
        let q = [("user", user), ("signer", signer)];
        self.call(Method::GET, "user/signer/exist", &q, None::<&()>)
            .await
    }

    /// Whether `signer` is registered for any user.
    pub async fn has_signer(&self, signer: &str) -> Result<bool, ClientError> {
        self.call(
            Method::GET,
            "signer/has",
            &[("signer", signer)],
            None::<&()>,
        )
        .await
    }

    /// Every user `signer` is registered for.
    pub async fn get_user_by_signer(&self, signer: &str) -> Result<Vec<OutputUser>, ClientError> {
        self.call(
            Method::GET,
            "user/signer",
            &[("signer", signer)],
            None::<&()>,
        )
        .await
    }

    pub async fn list_signers(&self, user: &str) -> Result<Vec<OutputSigner>, ClientError> {
        self.call(
            Method::GET,
            "user/signer/list",
            &[("user", user)],
            None::<&()>,
        )
        .await
    }

    /// Remove `signer` from every user; `true` if it existed.
    pub async fn delete_signer(&self, signer: &str) -> Result<bool, ClientError> {
        let body = SignerBody {
            signer: signer.into(),
        };
        self.call(Method::POST, "signer/del", &[], Some(&body))
            .await
    }

    // ---- rate limits ----

    /// Create or update a limit; returns its id.
    pub async fn upsert_rate_limit(&self, limit: &UserRateLimit) -> Result<String, ClientError> {
        self.call(Method::POST, "user/ratelimit/upsert", &[], Some(limit))
            .await
    }

    pub async fn get_rate_limits(
        &self,
        name: &str,
        id: &str,
    ) -> Result<Vec<UserRateLimit>, ClientError> {
        let q = [("name", name), ("id", id)];
        self.call(Method::GET, "user/ratelimit", &q, None::<&()>)
            .await
    }

    pub async fn delete_rate_limit(&self, name: &str, id: &str) -> Result<String, ClientError> {
        let body = DelRateLimitRequest {
            name: name.into(),
            id: id.into(),
        };
        self.call(Method::POST, "user/ratelimit/del", &[], Some(&body))
            .await
    }

    pub async fn version(&self) -> Result<String, ClientError> {
        let v: VersionResponse = self.call(Method::GET, "version", &[], None::<&()>).await?;
        Ok(v.version)
    }

    // ---- plumbing ----

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<T, ClientError> {
        let bytes = self.send(method, path, query, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(format!("/{path}: {e}")))
    }

    async fn call_empty(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<(), ClientError> {
        self.send(method, path, query, body).await.map(drop)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&impl Serialize>,
    ) -> Result<bytes::Bytes, ClientError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ClientError::Address(e.to_string()))?;
        let mut req = self
            .http
            .request(method, url)
            .bearer_auth(&self.token)
            .header(API_NAMESPACE_HEADER, API_NAMESPACE);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        // Errors from reqwest carry the URL, never the headers, so no token leaks here.
        let resp = req
            .send()
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        if status == StatusCode::OK {
            return Ok(bytes);
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| b.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(200).collect());
        if status.is_server_error() {
            return Err(ClientError::Unavailable(format!(
                "/{path}: {status} {message}"
            )));
        }
        Err(ClientError::Refused {
            status: status.as_u16(),
            message,
        })
    }
}

/// Plugs venus-auth into the RPC layer: a refused token is `Invalid`, an unreachable or
/// failing venus-auth is `Unavailable`.
#[async_trait]
impl TokenVerifier for AuthClient {
    async fn verify(&self, token: &str) -> Result<Caller, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        match AuthClient::verify(self, token).await {
            Ok(c) => Ok(Caller {
                user: c.name,
                perm: c.perm,
            }),
            Err(ClientError::Refused { message, .. }) => Err(VerifyError::Invalid(message)),
            Err(e @ ClientError::Decode(_)) => Err(VerifyError::Invalid(e.to_string())),
            Err(e) => Err(VerifyError::Unavailable(e.to_string())),
        }
    }
}
