//! The two generated Secrets: venus-auth's JWT secret and the shared admin token signed with it.
//! Created once (create, never apply: a re-apply must not rotate them), owned by the
//! ChainService, never read back into logs, events or status.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use rand::RngCore;
use sha2::Sha256;

use crate::build::Names;

/// Name in the admin token's claims.
pub const ADMIN_TOKEN_NAME: &str = "chain-service";

/// Generated material; `Debug` is redacted so it cannot leak through a log line.
pub struct Material {
    pub jwt_secret: Vec<u8>,
    pub admin_token: String,
}

impl std::fmt::Debug for Material {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Material(<redacted>)")
    }
}

impl Material {
    /// A fresh 32-byte secret from the OS RNG and an admin token signed with it.
    pub fn generate() -> Self {
        let mut secret = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let admin_token = sign_admin_token(&secret);
        Material {
            jwt_secret: secret,
            admin_token,
        }
    }

    /// With a known secret (when the JWT Secret exists but the token Secret was deleted).
    pub fn from_secret(secret: Vec<u8>) -> Self {
        let admin_token = sign_admin_token(&secret);
        Material {
            jwt_secret: secret,
            admin_token,
        }
    }
}

/// HS256 JWT in venus-auth's format: header `{"alg":"HS256","typ":"JWT"}`, claims
/// `{"name","perm","ext"}` (the same bytes `venus_rpc::jwt::sign` produces).
pub fn sign_admin_token(secret: &[u8]) -> String {
    const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
    let claims = format!(r#"{{"name":"{ADMIN_TOKEN_NAME}","perm":"admin","ext":""}}"#);
    let input = format!("{HEADER_B64}.{}", URL_SAFE_NO_PAD.encode(claims));
    // HMAC accepts keys of any length, so new_from_slice cannot fail.
    let sig = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    key: &str,
    value: Vec<u8>,
) -> Secret {
    Secret {
        metadata: meta,
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(key.to_string(), ByteString(value))])),
        immutable: Some(true),
        ..Default::default()
    }
}

/// The JWT Secret object (key `secret`, hex text).
pub fn jwt_secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    m: &Material,
) -> Secret {
    secret(meta, "secret", hex::encode(&m.jwt_secret).into_bytes())
}

/// The admin-token Secret object (key `token`).
pub fn admin_token_secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    m: &Material,
) -> Secret {
    secret(meta, "token", m.admin_token.clone().into_bytes())
}

/// Decode the hex JWT secret of an existing Secret.
pub fn read_jwt_secret(s: &Secret) -> Option<Vec<u8>> {
    let bytes = s.data.as_ref()?.get("secret")?;
    hex::decode(std::str::from_utf8(&bytes.0).ok()?.trim()).ok()
}

pub fn names(names: &Names) -> (String, String) {
    (names.jwt_secret(), names.admin_token_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_token_verifies_with_the_secret_and_names_admin() {
        let m = Material::from_secret(b"0123456789abcdef0123456789abcdef".to_vec());
        let parts: Vec<_> = m.admin_token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["perm"], "admin");
        assert_eq!(claims["name"], ADMIN_TOKEN_NAME);
        let mut mac = Hmac::<Sha256>::new_from_slice(&m.jwt_secret).expect("any key length");
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("b64"))
            .expect("signature matches");
    }

    #[test]
    fn generated_secrets_differ_and_debug_is_redacted() {
        let a = Material::generate();
        let b = Material::generate();
        assert_ne!(a.jwt_secret, b.jwt_secret);
        assert_eq!(format!("{a:?}"), "Material(<redacted>)");
        let s = jwt_secret(Default::default(), &a);
        assert_eq!(read_jwt_secret(&s), Some(a.jwt_secret.clone()));
    }
}
