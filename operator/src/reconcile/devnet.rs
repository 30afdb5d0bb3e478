//! The API side of `spec.network.devnet` (see [`crate::build::devnet`] for the objects):
//! whether the genesis Job already published the devnet, the devnet tokens Secret (created
//! once), and the Job itself — applied only while the devnet's ConfigMap and Secret do not
//! both exist, so a devnet is never made again over an existing chain. While it is not
//! published the node waits (`apply` holds it back) and the reconcile requeues every 15 s:
//! no watch on Jobs is needed for a one-off.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use kube::{Client, Resource};
use rand::RngCore;
use tracing::info;
use venus_rpc::Permission;
use venus_rpc::jwt::{self, Claims};

use crate::build::Names;
use crate::build::devnet::{
    MINERS_USER, PROVER_TOKEN_KEY, WALLET_PASSWORD_KEY, WALLET_TOKEN_KEY, WALLET_USER,
};
use crate::crd::ChainService;
use crate::error::{Error, Result};
use crate::keys::{MANAGER, label};
use crate::secrets;

/// What exists of a devnet (by metadata GETs; values are never read here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevnetState {
    /// The genesis ConfigMap and the keys Secret both exist: the Job is done for good.
    pub published: bool,
    pub tokens_exist: bool,
}

/// `None` without `spec.network.devnet`.
pub async fn fetch(
    cs: &ChainService,
    names: &Names,
    client: &Client,
) -> Result<Option<DevnetState>> {
    if cs.spec.network.devnet.is_none() {
        return Ok(None);
    }
    let ns = &names.namespace;
    let deref_err = |what: String| move |source| Error::Dereference { what, source };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let genesis = config_maps
        .get_metadata_opt(&names.devnet_genesis())
        .await
        .map_err(deref_err(format!("ConfigMap {}", names.devnet_genesis())))?
        .is_some();
    let keys = secrets
        .get_metadata_opt(&names.devnet_keys())
        .await
        .map_err(deref_err(format!("Secret {}", names.devnet_keys())))?
        .is_some();
    let tokens_exist = secrets
        .get_metadata_opt(&names.devnet_tokens())
        .await
        .map_err(deref_err(format!("Secret {}", names.devnet_tokens())))?
        .is_some();
    Ok(Some(DevnetState {
        published: genesis && keys,
        tokens_exist,
    }))
}

/// The tokens the devnet's wallet and prover register with, signed with venus-auth's secret
/// (`devnet-register` makes venus-auth record the same bytes), and the wallet's password.
pub struct DevnetTokens {
    pub wallet_token: String,
    pub prover_token: String,
    pub wallet_password: String,
}

impl std::fmt::Debug for DevnetTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DevnetTokens(<redacted>)")
    }
}

impl DevnetTokens {
    pub fn generate(jwt_secret: &[u8]) -> Self {
        let sign = |name: &str| {
            jwt::sign(
                &Claims {
                    name: name.into(),
                    perm: Permission::Sign,
                    ext: String::new(),
                },
                jwt_secret,
            )
        };
        let mut password = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut password);
        DevnetTokens {
            wallet_token: sign(WALLET_USER),
            prover_token: sign(MINERS_USER),
            wallet_password: hex::encode(password),
        }
    }

    pub fn secret(&self, meta: ObjectMeta) -> Secret {
        let entry = |k: &str, v: &str| (k.to_string(), ByteString(v.as_bytes().to_vec()));
        Secret {
            metadata: meta,
            type_: Some("Opaque".into()),
            data: Some(BTreeMap::from([
                entry(WALLET_TOKEN_KEY, &self.wallet_token),
                entry(PROVER_TOKEN_KEY, &self.prover_token),
                entry(WALLET_PASSWORD_KEY, &self.wallet_password),
            ])),
            immutable: Some(true),
            ..Default::default()
        }
    }
}

/// Create `<cs>-devnet-tokens` once (after the JWT Secret exists); never updated.
pub async fn ensure_tokens(
    cs: &ChainService,
    names: &Names,
    client: &Client,
    state: Option<DevnetState>,
) -> Result<()> {
    if state.is_none_or(|s| s.tokens_exist) {
        return Ok(());
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), &names.namespace);
    let jwt = api
        .get_opt(&names.jwt_secret())
        .await
        .map_err(|source| Error::Dereference {
            what: "Secret (auth JWT)".into(),
            source,
        })?;
    // `ensure_secrets` ran first; without the secret there is nothing to sign with yet.
    let Some(secret) = jwt.as_ref().and_then(secrets::read_jwt_secret) else {
        return Ok(());
    };
    let meta = ObjectMeta {
        name: Some(names.devnet_tokens()),
        namespace: Some(names.namespace.clone()),
        owner_references: cs.controller_owner_ref(&()).map(|o| vec![o]),
        labels: Some(BTreeMap::from([
            (label::INSTANCE.to_string(), names.instance.clone()),
            (label::MANAGED_BY.to_string(), MANAGER.to_string()),
            (label::DEVNET.to_string(), "true".to_string()),
        ])),
        ..Default::default()
    };
    let obj = DevnetTokens::generate(&secret).secret(meta);
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => info!(secret = %names.devnet_tokens(), "created"),
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(source) => {
            return Err(Error::Secrets {
                name: names.devnet_tokens(),
                source,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnet_tokens_name_their_users_verify_with_the_secret_and_stay_out_of_debug() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let t = DevnetTokens::generate(secret);
        let wallet = jwt::verify(&t.wallet_token, secret).expect("wallet token");
        assert_eq!(
            (wallet.name.as_str(), wallet.perm),
            (WALLET_USER, Permission::Sign)
        );
        let prover = jwt::verify(&t.prover_token, secret).expect("prover token");
        assert_eq!(
            (prover.name.as_str(), prover.perm),
            (MINERS_USER, Permission::Sign)
        );
        // Deterministic (venus-auth's genToken signs the same bytes), the password is not.
        let again = DevnetTokens::generate(secret);
        assert_eq!(again.wallet_token, t.wallet_token);
        assert_ne!(again.wallet_password, t.wallet_password);
        assert_eq!(t.wallet_password.len(), 48);
        assert_eq!(format!("{t:?}"), "DevnetTokens(<redacted>)");
        let s = t.secret(ObjectMeta::default());
        assert_eq!(s.immutable, Some(true));
        let keys: Vec<_> = s.data.as_ref().expect("data").keys().cloned().collect();
        assert_eq!(
            keys,
            [PROVER_TOKEN_KEY, WALLET_PASSWORD_KEY, WALLET_TOKEN_KEY]
        );
    }
}
