//! The two generated Secrets: venus-auth's JWT secret and the shared admin token signed with it.
//! Created once (create, never apply: a re-apply must not rotate them), owned by the
//! ChainService, never read back into logs, events or status.
//!
//! Both are mounted into the auth pods: venus-auth reads the secret (`[jwt] secretFile`, hex
//! text as its own `<repo>/secret`) and registers the admin token (`[jwt] adminTokenFile`) at
//! start, so the other components' `$(VENUS_ADMIN_TOKEN)` verifies.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use rand::RngCore;
use venus_rpc::Permission;
use venus_rpc::jwt::{self, Claims};

use crate::build::Names;

/// Key of the JWT Secret: the secret as hex text.
pub const JWT_SECRET_KEY: &str = "secret";
/// Key of the admin-token Secret.
pub const ADMIN_TOKEN_KEY: &str = "token";

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

/// The shared admin token (`{"name":"chain-service","perm":"admin","ext":""}`), signed by
/// venus-auth's own JWT code so both sides agree on the bytes.
pub fn sign_admin_token(secret: &[u8]) -> String {
    jwt::sign(
        &Claims {
            name: ADMIN_TOKEN_NAME.into(),
            perm: Permission::Admin,
            ext: String::new(),
        },
        secret,
    )
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
    secret(
        meta,
        JWT_SECRET_KEY,
        hex::encode(&m.jwt_secret).into_bytes(),
    )
}

/// The admin-token Secret object (key `token`).
pub fn admin_token_secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    m: &Material,
) -> Secret {
    secret(meta, ADMIN_TOKEN_KEY, m.admin_token.clone().into_bytes())
}

/// Decode the hex JWT secret of an existing Secret.
pub fn read_jwt_secret(s: &Secret) -> Option<Vec<u8>> {
    let bytes = s.data.as_ref()?.get(JWT_SECRET_KEY)?;
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
        let claims = jwt::verify(&m.admin_token, &m.jwt_secret).expect("signed with the secret");
        assert_eq!(claims.perm, Permission::Admin);
        assert_eq!(claims.name, ADMIN_TOKEN_NAME);
        assert!(jwt::verify(&m.admin_token, &[0u8; 32]).is_err());
    }

    #[test]
    fn jwt_secret_is_stored_as_hex_text_like_the_auth_repo() {
        let m = Material::generate();
        assert_eq!(m.jwt_secret.len(), 32);
        let s = jwt_secret(Default::default(), &m);
        let text = &s.data.as_ref().expect("data")[JWT_SECRET_KEY].0;
        assert_eq!(text.len(), 64);
        assert!(text.iter().all(u8::is_ascii_hexdigit));
        let t = admin_token_secret(Default::default(), &m);
        assert_eq!(
            t.data.as_ref().expect("data")[ADMIN_TOKEN_KEY].0,
            m.admin_token.as_bytes()
        );
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
