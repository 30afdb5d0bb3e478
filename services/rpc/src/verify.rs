//! Token verification, pluggable: each service stacks its own local HS256 verifier in front
//! of a remote venus-auth verifier (see `venus-auth-client`).

use std::collections::HashMap;
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

/// The longest token any verifier is asked about. A venus-auth or local token is a few
/// hundred bytes (its claims are a name, a permission and a short `ext`); anything much
/// longer is refused before a verifier — or a cache — sees it.
pub const MAX_TOKEN_BYTES: usize = 8 << 10;

/// The refusal for a token longer than [`MAX_TOKEN_BYTES`] (never remembered).
pub fn check_token_len(token: &str) -> Result<(), VerifyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::Invalid(format!(
            "token longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Turns a bearer token into a [`Caller`].
#[async_trait]
pub trait TokenVerifier: Send + Sync + 'static {
    async fn verify(&self, token: &str) -> Result<Caller, VerifyError>;
}

/// The service's own HS256 secret, as the originals' `LocalAuthClient`.
///
/// Answers are remembered (bounded; an acceptance only until an `exp` claim passes): a token
/// signed with the service's own secret cannot be revoked short of changing the secret,
/// which restarts the service, so the answer never changes — and callers send the same token
/// on every request, where the HMAC and the base64/JSON decodes were most of the per-request
/// cost of the RPC layer. Refusals are remembered too: in a [`ChainVerifier`] every venus-auth
/// token is first refused here.
pub struct LocalVerifier {
    secret: Vec<u8>,
    answers: parking_lot::RwLock<Answers>,
}

type Remembered = Result<(Caller, Option<i64>), String>;

/// How many bytes of answers (tokens, names, refusal texts) [`LocalVerifier`] remembers;
/// when full it starts over. Bounded by bytes, not entries: a flood of made-up tokens (each
/// at most [`MAX_TOKEN_BYTES`]) holds at most this much.
const REMEMBERED_BYTES: usize = 1 << 20;

/// Per-entry bookkeeping counted on top of the strings (map slot, boxes).
const ENTRY_OVERHEAD: usize = 96;

/// Remembered answers and the bytes they hold.
#[derive(Default)]
struct Answers {
    map: HashMap<Box<str>, Remembered>,
    bytes: usize,
}

impl Answers {
    fn get(&self, token: &str) -> Option<&Remembered> {
        self.map.get(token)
    }

    fn size(token: &str, answer: &Remembered) -> usize {
        let held = match answer {
            Ok((caller, _)) => caller.user.len(),
            Err(refusal) => refusal.len(),
        };
        token.len() + held + ENTRY_OVERHEAD
    }

    fn insert(&mut self, token: &str, answer: Remembered) {
        let size = Self::size(token, &answer);
        if self.bytes + size > REMEMBERED_BYTES {
            self.map.clear();
            self.bytes = 0;
        }
        if let Some(old) = self.map.insert(token.into(), answer) {
            self.bytes -= Self::size(token, &old);
        }
        self.bytes += size;
    }

    fn remove(&mut self, token: &str) {
        if let Some(old) = self.map.remove(token) {
            self.bytes -= Self::size(token, &old);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }

    #[cfg(test)]
    fn contains_key(&self, token: &str) -> bool {
        self.map.contains_key(token)
    }
}

impl LocalVerifier {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
            answers: parking_lot::RwLock::new(Answers::default()),
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
        check_token_len(token)?;
        let remembered = match self.answers.read().get(token) {
            Some(Ok((caller, exp))) if exp.is_none_or(|exp| exp > jwt::unix_now()) => {
                return Ok(caller.clone());
            }
            Some(Err(refusal)) => return Err(VerifyError::Invalid(refusal.clone())),
            Some(Ok(_)) => true,
            None => false,
        };
        if remembered {
            // Remembered but expired since: forget it, it can only be refused from now on.
            self.answers.write().remove(token);
            return Err(VerifyError::Invalid(jwt::JwtError::Expired.to_string()));
        }
        let answer = match jwt::verify_with_expiry(token, &self.secret) {
            Ok((claims, exp)) => Ok((Caller::from(claims), exp)),
            // Expiry depends on the clock, not only on the token: never remembered.
            Err(e @ jwt::JwtError::Expired) => return Err(VerifyError::Invalid(e.to_string())),
            Err(e) => Err(e.to_string()),
        };
        self.answers.write().insert(token, answer.clone());
        answer
            .map(|(caller, _)| caller)
            .map_err(VerifyError::Invalid)
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
        check_token_len(token)?;
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
    async fn local_verifier_remembers_answers_and_acceptances_until_they_expire() {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use hmac::Mac as _;
        let v = LocalVerifier::new(b"k".to_vec());
        let t = v.issue("u1", Permission::Sign);
        for _ in 0..2 {
            assert_eq!(v.verify(&t).await.map(|c| c.perm), Ok(Permission::Sign));
        }
        assert_eq!(v.answers.read().len(), 1);
        // A forged token is refused, and stays refused when asked again.
        let at = t.len() - 10;
        let swapped = if &t[at..=at] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &t[..at], &t[at + 1..]);
        for _ in 0..2 {
            assert!(matches!(
                v.verify(&forged).await,
                Err(VerifyError::Invalid(e)) if e.contains("signature")
            ));
        }
        // A token whose `exp` passes while it is remembered is refused from then on.
        let exp = jwt::unix_now() + 2;
        let payload = URL_SAFE_NO_PAD.encode(format!(
            r#"{{"name":"u2","perm":"read","ext":"","exp":{exp}}}"#
        ));
        let input = format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{payload}");
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"k").expect("key");
        mac.update(input.as_bytes());
        let short = format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert!(v.verify(&short).await.is_ok());
        assert!(v.answers.read().contains_key(short.as_str()));
        tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
        for _ in 0..2 {
            assert!(matches!(
                v.verify(&short).await,
                Err(VerifyError::Invalid(e)) if e.contains("expired")
            ));
            // Forgotten once found expired, not re-checked on every call.
            assert!(!v.answers.read().contains_key(short.as_str()));
        }
    }

    #[tokio::test]
    async fn local_verifier_memory_is_bounded() {
        let v = LocalVerifier::new(b"k".to_vec());
        for i in 0..10_000 {
            let t = v.issue(&format!("u{i}"), Permission::Read);
            assert!(v.verify(&t).await.is_ok());
        }
        assert!(v.answers.read().bytes <= REMEMBERED_BYTES);
    }

    #[tokio::test]
    async fn memory_of_refusals_is_bounded_by_bytes_and_long_tokens_are_never_remembered() {
        let v = LocalVerifier::new(b"k".to_vec());
        // Tokens as long as allowed: the bytes held stay under the bound.
        for i in 0..1_000 {
            let t = format!("{i:08}{}", "x".repeat(MAX_TOKEN_BYTES - 8));
            assert!(matches!(v.verify(&t).await, Err(VerifyError::Invalid(_))));
            let answers = v.answers.read();
            let held: usize = answers.map.keys().map(|k| k.len()).sum();
            assert!(held <= REMEMBERED_BYTES, "{held} bytes of keys held");
            assert!(answers.bytes <= REMEMBERED_BYTES);
        }
        // A token longer than a real one can be is refused and not remembered.
        let huge = "y".repeat(270_000);
        let before = v.answers.read().len();
        for verifier in [&v as &dyn TokenVerifier, &ChainVerifier::new(vec![])] {
            match verifier.verify(&huge).await {
                Err(VerifyError::Invalid(e)) => assert!(e.contains("longer than"), "{e}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(!v.answers.read().contains_key(&huge));
        assert_eq!(v.answers.read().len(), before);
    }

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
