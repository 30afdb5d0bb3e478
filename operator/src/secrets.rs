//! The two generated Secrets: venus-auth's JWT secret and the components' admin tokens signed
//! with it. Created once (create, never apply: a re-apply must not rotate them), owned by the
//! ChainService, never read back into logs, events or status.
//!
//! Each calling component (gateway, node, messager, miner) has its own admin token, of its own
//! venus-auth user `chain-service-<component>`, under its own key of the token Secret: one can
//! be revoked (`venus-auth token rm`, or the user disabled) without the others, and each pod
//! gets only its own (an env var from its key, never an argument). Both Secrets are mounted
//! into the auth pods: venus-auth reads the secret (`[jwt] secretFile`, hex text as its own
//! `<repo>/secret`) and registers every component token (`[jwt] adminTokenFiles`) at start.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use rand::RngCore;
use venus_rpc::Permission;
use venus_rpc::jwt::{self, Claims};

use crate::build::Names;
use crate::component::Component;

/// Key of the JWT Secret: the secret as hex text.
pub const JWT_SECRET_KEY: &str = "secret";

/// The components that call others with an admin token of their own (venus-auth has none).
pub const TOKEN_COMPONENTS: [Component; 4] = [
    Component::Gateway,
    Component::Node,
    Component::Messager,
    Component::Miner,
];

/// Prefix of the component tokens' user names: `chain-service-gateway`, …
pub const TOKEN_USER_PREFIX: &str = "chain-service";

/// Key of a component's token in the token Secret (the component's short name).
pub fn token_key(component: Component) -> &'static str {
    component.name()
}

/// The venus-auth user a component's token names.
pub fn token_user(component: Component) -> String {
    format!("{TOKEN_USER_PREFIX}-{}", component.name())
}

/// Generated material; `Debug` is redacted so it cannot leak through a log line.
pub struct Material {
    pub jwt_secret: Vec<u8>,
    /// One admin token per [`TOKEN_COMPONENTS`] entry, in that order.
    pub component_tokens: Vec<(Component, String)>,
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
        Self::from_secret(secret)
    }

    /// With a known secret (when the JWT Secret exists but the token Secret was deleted).
    pub fn from_secret(secret: Vec<u8>) -> Self {
        let component_tokens = TOKEN_COMPONENTS
            .iter()
            .map(|&c| (c, sign_component_token(&secret, c)))
            .collect();
        Material {
            jwt_secret: secret,
            component_tokens,
        }
    }

    /// The admin token of `component` (none for venus-auth itself).
    pub fn token(&self, component: Component) -> Option<&str> {
        self.component_tokens
            .iter()
            .find(|(c, _)| *c == component)
            .map(|(_, t)| t.as_str())
    }
}

/// A component's admin token (`{"name":"chain-service-<component>","perm":"admin","ext":""}`),
/// signed by venus-auth's own JWT code so both sides agree on the bytes.
pub fn sign_component_token(secret: &[u8], component: Component) -> String {
    jwt::sign(
        &Claims {
            name: token_user(component),
            perm: Permission::Admin,
            ext: String::new(),
        },
        secret,
    )
}

fn secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    data: BTreeMap<String, ByteString>,
) -> Secret {
    Secret {
        metadata: meta,
        type_: Some("Opaque".into()),
        data: Some(data),
        immutable: Some(true),
        ..Default::default()
    }
}

/// The JWT Secret object (key `secret`, hex text).
pub fn jwt_secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    m: &Material,
) -> Secret {
    let hex = ByteString(hex::encode(&m.jwt_secret).into_bytes());
    secret(meta, BTreeMap::from([(JWT_SECRET_KEY.to_string(), hex)]))
}

/// The admin-token Secret object: one key per component ([`token_key`]).
pub fn admin_token_secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    m: &Material,
) -> Secret {
    let data = m
        .component_tokens
        .iter()
        .map(|(c, t)| {
            (
                token_key(*c).to_string(),
                ByteString(t.clone().into_bytes()),
            )
        })
        .collect();
    secret(meta, data)
}

/// Decode the hex JWT secret of an existing Secret.
pub fn read_jwt_secret(s: &Secret) -> Option<Vec<u8>> {
    let bytes = s.data.as_ref()?.get(JWT_SECRET_KEY)?;
    hex::decode(std::str::from_utf8(&bytes.0).ok()?.trim()).ok()
}

/// Node ordinals with an identity in the node-identity Secret: every ordinal `spec.node.replicas`
/// may reach (validation caps replicas at 16), so scaling never needs a new key.
pub const NODE_IDENTITIES: i32 = 16;

/// Key of pod `pod`'s libp2p private key in the node-identity Secret (protobuf-encoded, as the
/// node's `<repo>/libp2p.key`).
pub fn node_key_key(pod: &str) -> String {
    format!("{pod}.key")
}

/// Key of pod `pod`'s peer ID (text) in the node-identity Secret.
pub fn node_peer_key(pod: &str) -> String {
    format!("{pod}.id")
}

/// The node-identity Secret: for each node ordinal an ed25519 libp2p key and its peer ID, so the
/// nodes' bootstrap addresses are known before any pod starts. Made once (immutable).
pub fn node_identities_secret(
    meta: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    names: &Names,
) -> Result<Secret, String> {
    let mut data = BTreeMap::new();
    for i in 0..NODE_IDENTITIES {
        let pod = names.pod(Component::Node, i);
        let key = libp2p_identity::Keypair::generate_ed25519();
        let bytes = key
            .to_protobuf_encoding()
            .map_err(|e| format!("encoding a libp2p key: {e}"))?;
        data.insert(node_key_key(&pod), ByteString(bytes));
        data.insert(
            node_peer_key(&pod),
            ByteString(key.public().to_peer_id().to_string().into_bytes()),
        );
    }
    Ok(secret(meta, data))
}

pub fn names(names: &Names) -> (String, String) {
    (names.jwt_secret(), names.admin_token_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_component_has_its_own_admin_token_signed_with_the_secret() {
        let m = Material::from_secret(b"0123456789abcdef0123456789abcdef".to_vec());
        let mut seen = std::collections::BTreeSet::new();
        for c in TOKEN_COMPONENTS {
            let token = m.token(c).expect("a token per calling component");
            let claims = jwt::verify(token, &m.jwt_secret).expect("signed with the secret");
            assert_eq!(claims.perm, Permission::Admin);
            assert_eq!(claims.name, format!("chain-service-{}", c.name()));
            assert!(jwt::verify(token, &[0u8; 32]).is_err());
            assert!(seen.insert(token.to_owned()), "{c:?} shares a token");
        }
        assert_eq!(m.token(Component::Auth), None);
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
        let data = t.data.as_ref().expect("data");
        assert_eq!(data.len(), TOKEN_COMPONENTS.len());
        for c in TOKEN_COMPONENTS {
            assert_eq!(data[token_key(c)].0, m.token(c).expect("token").as_bytes());
        }
    }

    #[test]
    fn node_identities_cover_every_ordinal_with_matching_peer_ids() {
        let names = Names::new("cs", "ns");
        let s = node_identities_secret(Default::default(), &names).expect("generated");
        assert_eq!(s.immutable, Some(true));
        let data = s.data.as_ref().expect("data");
        assert_eq!(data.len(), 2 * NODE_IDENTITIES as usize);
        let mut peers = std::collections::BTreeSet::new();
        for i in 0..NODE_IDENTITIES {
            let pod = format!("cs-node-{i}");
            let key =
                libp2p_identity::Keypair::from_protobuf_encoding(&data[&node_key_key(&pod)].0)
                    .expect("a protobuf-encoded key, as the node reads it");
            let id = std::str::from_utf8(&data[&node_peer_key(&pod)].0).expect("text");
            assert_eq!(key.public().to_peer_id().to_string(), id);
            assert!(peers.insert(id.to_owned()), "{pod} shares a peer ID");
        }
        // Every ordinal validation lets through has a key.
        let mut spec = crate::crd::ChainServiceSpec::default();
        spec.node.replicas = Some(NODE_IDENTITIES);
        assert!(crate::validate::validate(&spec, &Default::default()).is_ok());
        spec.node.replicas = Some(NODE_IDENTITIES + 1);
        assert!(crate::validate::validate(&spec, &Default::default()).is_err());
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
