//! Token verification, pluggable: each service stacks its own local HS256 verifier in front
//! of a remote venus-auth verifier (see `venus-auth-client`).

use std::sync::Arc;

use async_trait::async_trait;

use crate::jwt::{self, Claims};
use crate::perm::Permission;

/// Who is calling, as established from their token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The venus-auth user name (`defaultLocalToken` for a service's own local token).
    pub user: String,
    pub perm: Permission,
}

impl From<Claims> for Caller {
    fn from(c: Claims) -> Self {
        Self {
            user: c.name,
            perm: c.perm,
        }
    }
}

/// Why a token was refused. Messages never contain the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no token: send `Authorization: Bearer <token>` or `?token=`")]
    Missing,
    #[error("token refused: {0}")]
    Invalid(String),
    #[error("token verifier unavailable: {0}")]
    Unavailable(String),
}

/// Turns a bearer token into a [`Caller`].
#[async_trait]
pub trait TokenVerifier: Send + Sync + 'static {
    async fn verify(&self, token: &str) -> Result<Caller, VerifyError>;
}

/// The service's own HS256 secret, as the originals' `LocalAuthClient`.
pub struct LocalVerifier {
    secret: Vec<u8>,
}

impl LocalVerifier {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    /// Mint a token signed with this verifier's secret.
    pub fn issue(&self, name: &str, perm: Permission) -> String {
        jwt::sign(
            &Claims {
                name: name.to_owned(),
                perm,
                ext: String::new(),
            },
            &self.secret,
        )
    }
}

#[async_trait]
impl TokenVerifier for LocalVerifier {
    async fn verify(&self, token: &str) -> Result<Caller, VerifyError> {
        jwt::verify(token, &self.secret)
            .map(Caller::from)
            .map_err(|e| VerifyError::Invalid(e.to_string()))
    }
}

/// Tries each verifier in order; the first that accepts wins. If none accepts, the last
/// error is returned (an `Unavailable` error is preferred so operators see outages).
pub struct ChainVerifier {
    verifiers: Vec<Arc<dyn TokenVerifier>>,
}

impl ChainVerifier {
    pub fn new(verifiers: Vec<Arc<dyn TokenVerifier>>) -> Self {
        Self { verifiers }
    }
}

#[async_trait]
impl TokenVerifier for ChainVerifier {
    async fn verify(&self, token: &str) -> Result<Caller, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        let mut err = VerifyError::Invalid("no verifier configured".into());
        for v in &self.verifiers {
            match v.verify(token).await {
                Ok(c) => return Ok(c),
                Err(e @ VerifyError::Unavailable(_)) => err = e,
                Err(e) => {
                    if !matches!(err, VerifyError::Unavailable(_)) {
                        err = e;
                    }
                }
            }
        }
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chain_tries_local_then_next() {
        let a = Arc::new(LocalVerifier::new(b"a".to_vec()));
        let b = Arc::new(LocalVerifier::new(b"b".to_vec()));
        let chain = ChainVerifier::new(vec![a.clone(), b.clone()]);
        let tb = b.issue("u1", Permission::Write);
        assert_eq!(
            chain.verify(&tb).await,
            Ok(Caller {
                user: "u1".into(),
                perm: Permission::Write
            })
        );
        let tc = LocalVerifier::new(b"c".to_vec()).issue("x", Permission::Admin);
        assert!(matches!(
            chain.verify(&tc).await,
            Err(VerifyError::Invalid(_))
        ));
        assert_eq!(chain.verify("").await, Err(VerifyError::Missing));
    }
}
