//! HS256 JSON Web Tokens in venus-auth's format: header `{"alg":"HS256","typ":"JWT"}`,
//! claims exactly `{"name","perm","ext"}`.
//!
//! Written by hand on `hmac`/`sha2` rather than a JWT crate: the format is fixed, and owning
//! the parser makes it obvious that only HS256 is accepted (`alg: none` and every other
//! algorithm are refused before any signature check).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::perm::Permission;

type HmacSha256 = Hmac<Sha256>;

/// The claims of a venus token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub name: String,
    pub perm: Permission,
    #[serde(default)]
    pub ext: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("token is not three base64url parts separated by '.'")]
    Malformed,
    #[error("token header is not valid: {0}")]
    BadHeader(String),
    #[error("token algorithm {0:?} is not accepted (only HS256)")]
    Algorithm(String),
    #[error("token claims are not valid: {0}")]
    BadClaims(String),
    #[error("token signature does not match")]
    Signature,
    #[error("token has expired")]
    Expired,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
}

const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"; // {"alg":"HS256","typ":"JWT"}

/// Sign `claims` with `secret`.
pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    // Claims serialise infallibly: three strings.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!("{HEADER_B64}.{}", URL_SAFE_NO_PAD.encode(payload));
    let sig = mac(secret, signing_input.as_bytes())
        .finalize()
        .into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Read the claims without checking the signature (what the originals do to find the
/// user name before looking the token up). Never trust the result for authorisation.
pub fn decode_unverified(token: &str) -> Result<Claims, JwtError> {
    let (header, payload, _sig) = split(token)?;
    check_header(header)?;
    parse_claims_with_expiry(payload).map(|(claims, _)| claims)
}

/// Check the header, the HS256 signature with `secret`, an `exp` claim if present, and
/// return the claims.
pub fn verify(token: &str, secret: &[u8]) -> Result<Claims, JwtError> {
    verify_with_expiry(token, secret).map(|(claims, _)| claims)
}

/// [`verify`], also returning the `exp` claim (seconds since the epoch) when there is one,
/// so a cache of verified tokens knows when to drop an entry.
pub fn verify_with_expiry(token: &str, secret: &[u8]) -> Result<(Claims, Option<i64>), JwtError> {
    let (header, payload, sig) = split(token)?;
    check_header(header)?;
    let mut sig_buf = [0u8; 40];
    let n = URL_SAFE_NO_PAD
        .decode_slice(sig, &mut sig_buf)
        .map_err(|_| JwtError::Malformed)?;
    let signing_input = &token[..header.len() + 1 + payload.len()];
    mac(secret, signing_input.as_bytes())
        .verify_slice(&sig_buf[..n])
        .map_err(|_| JwtError::Signature)?;
    let (claims, exp) = parse_claims_with_expiry(payload)?;
    if let Some(exp) = exp
        && exp <= unix_now()
    {
        return Err(JwtError::Expired);
    }
    Ok((claims, exp))
}

/// Seconds since the Unix epoch (saturating: a clock before 1970 expires nothing).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    let mut m = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(data);
    m
}

fn split(token: &str) -> Result<(&str, &str, &str), JwtError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) if !h.is_empty() && !p.is_empty() => Ok((h, p, s)),
        _ => Err(JwtError::Malformed),
    }
}

fn check_header(header_b64: &str) -> Result<(), JwtError> {
    // Every venus token carries this exact header; decode others to read their algorithm.
    if header_b64 == HEADER_B64 {
        return Ok(());
    }
    let raw = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|e| JwtError::BadHeader(e.to_string()))?;
    let header: Header =
        serde_json::from_slice(&raw).map_err(|e| JwtError::BadHeader(e.to_string()))?;
    if header.alg != "HS256" {
        return Err(JwtError::Algorithm(header.alg));
    }
    Ok(())
}

/// The claims and an `exp` claim, read in one pass (venus tokens carry no `exp`; tokens from
/// other issuers may, and an expired one is refused).
fn parse_claims_with_expiry(payload_b64: &str) -> Result<(Claims, Option<i64>), JwtError> {
    // Not `#[serde(flatten)]`: that buffers the whole map and costs more than a second parse.
    #[derive(Deserialize)]
    struct WithExp {
        name: String,
        perm: Permission,
        #[serde(default)]
        ext: String,
        exp: Option<i64>,
    }
    let raw = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|e| JwtError::BadClaims(e.to_string()))?;
    let c: WithExp =
        serde_json::from_slice(&raw).map_err(|e| JwtError::BadClaims(e.to_string()))?;
    let claims = Claims {
        name: c.name,
        perm: c.perm,
        ext: c.ext,
    };
    Ok((claims, c.exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            name: "test-user01".into(),
            perm: Permission::Admin,
            ext: String::new(),
        }
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let t = sign(&claims(), b"secret");
        assert_eq!(verify(&t, b"secret"), Ok(claims()));
        // The header and payload match the example in sophon-auth's getting-started doc.
        assert!(t.starts_with(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoidGVzdC11c2VyMDEiLCJwZXJtIjoiYWRtaW4iLCJleHQiOiIifQ."
        ));
    }

    #[test]
    fn wrong_key_alg_none_and_garbage_are_refused() {
        let t = sign(&claims(), b"secret");
        assert_eq!(verify(&t, b"other"), Err(JwtError::Signature));
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = t.split('.').nth(1).unwrap();
        let forged = format!("{none_header}.{payload}.");
        assert_eq!(
            verify(&forged, b"secret"),
            Err(JwtError::Algorithm("none".into()))
        );
        assert_eq!(verify("garbage", b"secret"), Err(JwtError::Malformed));
        assert_eq!(verify("a.b.c.d", b"secret"), Err(JwtError::Malformed));
        assert!(matches!(
            verify("!!.!!.!!", b"secret"),
            Err(JwtError::BadHeader(_))
        ));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"name":"u","perm":"read","ext":"","exp":1}"#);
        let input = format!("{HEADER_B64}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(mac(b"k", input.as_bytes()).finalize().into_bytes());
        assert_eq!(
            verify(&format!("{input}.{sig}"), b"k"),
            Err(JwtError::Expired)
        );
    }

    #[test]
    fn unknown_permission_in_claims_is_refused() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"name":"u","perm":"root","ext":""}"#);
        let input = format!("{HEADER_B64}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(mac(b"k", input.as_bytes()).finalize().into_bytes());
        assert!(matches!(
            verify(&format!("{input}.{sig}"), b"k"),
            Err(JwtError::BadClaims(_))
        ));
    }
}
