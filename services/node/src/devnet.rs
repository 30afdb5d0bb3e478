//! `venus seed devnet` and `venus seed devnet-register`: a 2k devnet made inside a Kubernetes
//! cluster, for the operator's `spec.network.devnet`.
//!
//! - `seed devnet` is the program of the operator's genesis Job: it pre-seals the miners and
//!   builds the genesis exactly as `seed pre-seal` + `seed genesis new/add-miner` +
//!   `daemon --make-genesis` do on one machine, then writes the genesis CAR into a ConfigMap and
//!   the miners' keys and pre-seal metadata into a Secret, with the pod's ServiceAccount token.
//!   **Why here and with kube's client:** the files exist only inside the Job's pod, so the pod
//!   itself must publish them; kube's client reads the in-cluster ServiceAccount (or a
//!   kubeconfig) and the API needs no more than two GETs and two CREATEs, which the Job's Role
//!   allows by name. Nothing is ever overwritten: when either object exists the program does
//!   not create a devnet at all (both exist: nothing to do; only one: a clear error).
//! - `seed devnet-register` runs before the devnet's wallet and prover (an init container):
//!   with the chain service's admin token it adds the devnet's venus-auth users, binds the
//!   miners and their workers to them and registers the operator-signed wallet and prover
//!   tokens (venus-auth signs `genToken` with the same secret and claims, so it produces the
//!   same bytes). Idempotent: every start checks before it adds.
//!
//! Neither prints a key, a token or the genesis; they only name objects and miners.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, PostParams};
use venus_auth_client::AuthClient;

use crate::seed;

/// Key of the genesis CAR in the ConfigMap (the operator mounts it for `--genesisfile`).
pub const GENESIS_KEY: &str = "genesis.car";
/// Label every published object carries, so `kubectl get -l` finds the devnet's objects.
pub const DEVNET_LABEL: &str = "venus.filecoin.io/devnet";

#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Number of pre-sealed genesis miners (t01000, t01001, …).
    #[arg(long, default_value_t = 1)]
    pub miners: u32,
    /// Sector size of the pre-sealed sectors.
    #[arg(long = "sector-size", default_value = "2KiB")]
    pub sector_size: String,
    /// Pre-sealed sectors per miner.
    #[arg(long = "num-sectors", default_value_t = 2)]
    pub num_sectors: u64,
    /// Namespace of the ConfigMap and Secret.
    #[arg(long, env = "POD_NAMESPACE")]
    pub namespace: String,
    /// ConfigMap to create with the genesis CAR (key `genesis.car`).
    #[arg(long = "config-map")]
    pub config_map: String,
    /// Secret to create with the miners' `pre-seal-<miner>.key` and `.json` files.
    #[arg(long)]
    pub secret: String,
    /// The ChainService that owns both objects (deleting it deletes them).
    #[arg(long = "owner-name", requires = "owner_uid")]
    pub owner_name: Option<String>,
    #[arg(long = "owner-uid", requires = "owner_name")]
    pub owner_uid: Option<String>,
    /// Scratch directory for the pre-seal files (the pod's /tmp).
    #[arg(long = "work-dir", default_value = "/tmp")]
    pub work_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// venus-auth URL, e.g. http://cs-auth.ns.svc:8989.
    #[arg(long = "auth-url")]
    pub auth_url: String,
    /// The chain service's admin token (env only in the operator's pods).
    #[arg(
        long = "admin-token",
        env = "VENUS_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: String,
    /// Directory holding the `pre-seal-<miner>.json` files (the mounted devnet Secret).
    #[arg(long = "keys-dir")]
    pub keys_dir: PathBuf,
    /// venus-auth user owning the miners and their workers (the prover's user).
    #[arg(long, default_value = "devnet")]
    pub user: String,
    /// Tokens to register (each names its own user in its claims).
    #[arg(
        long = "wallet-token",
        env = "VENUS_WALLET_GATEWAY_TOKEN",
        hide_env_values = true
    )]
    pub wallet_token: Option<String>,
    #[arg(
        long = "prover-token",
        env = "VENUS_PROVER_GATEWAY_TOKEN",
        hide_env_values = true
    )]
    pub prover_token: Option<String>,
    /// How long to wait for venus-auth to answer.
    #[arg(long = "wait-secs", default_value_t = 300)]
    pub wait_secs: u64,
}

/// One genesis miner of a made devnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetMiner {
    pub id: String,
    pub worker: String,
}

/// What `make` produced; `Debug` leaves the key files out.
pub struct Devnet {
    pub network_name: String,
    pub genesis_car: Vec<u8>,
    /// `pre-seal-<miner>.json` and `pre-seal-<miner>.key`, by file name.
    pub files: BTreeMap<String, Vec<u8>>,
    pub miners: Vec<DevnetMiner>,
}

impl std::fmt::Debug for Devnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devnet")
            .field("network_name", &self.network_name)
            .field("genesis_bytes", &self.genesis_car.len())
            .field("miners", &self.miners)
            .finish_non_exhaustive()
    }
}

/// Pre-seal `miners` miners in `dir` and build their genesis (timestamp: now).
pub fn make(
    dir: &Path,
    miners: u32,
    sector_size: &str,
    num_sectors: u64,
) -> anyhow::Result<Devnet> {
    if !(1..=64).contains(&miners) {
        bail!("--miners must be between 1 and 64, got {miners}");
    }
    let sector_size = seed::parse_sector_size(sector_size)
        .with_context(|| format!("--sector-size {sector_size}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let template = dir.join("localnet.json");
    seed::genesis_new(&template, None, 0)?;
    let sectors = dir.join("sectors");
    for i in 0..miners {
        let opts = seed::PreSealOptions {
            sector_dir: sectors.clone(),
            miner_addr: format!("t0{}", 1000 + i),
            sector_size,
            num_sectors,
            sector_offset: 0,
            key: None,
            network_version: 0,
        };
        let (json, _key) = seed::pre_seal(&opts).context("pre-seal failed")?;
        seed::genesis_add_miner(&template, &json)?;
    }
    let tpl = seed::read_template(&template)?;
    let genesis_car = genesis_car(&template)?;
    let mut files = BTreeMap::new();
    for m in &tpl.miners {
        for ext in ["json", "key"] {
            let name = format!("pre-seal-{}.{ext}", m.id);
            let bytes =
                std::fs::read(sectors.join(&name)).with_context(|| format!("reading {name}"))?;
            files.insert(name, bytes);
        }
    }
    Ok(Devnet {
        network_name: tpl.network_name.clone(),
        genesis_car,
        files,
        miners: tpl
            .miners
            .iter()
            .map(|m| DevnetMiner {
                id: m.id.clone(),
                worker: m.worker.clone(),
            })
            .collect(),
    })
}

/// The genesis CAR of a template, as `venus daemon --make-genesis` writes it.
#[cfg(feature = "chain")]
fn genesis_car(template: &Path) -> anyhow::Result<Vec<u8>> {
    use venus_chain::blockstore::MemoryBlockstore;
    use venus_chain::genesis::{GenesisTemplate, build_genesis};

    let text = std::fs::read(template)
        .with_context(|| format!("cannot read genesis template {}", template.display()))?;
    let tpl: GenesisTemplate = serde_json::from_slice(&text)
        .with_context(|| format!("invalid genesis template {}", template.display()))?;
    let bs = MemoryBlockstore::new();
    let params = crate::network::Network::TwoK.params();
    let built = build_genesis(&bs, &tpl, &params, crate::node::now_secs())
        .context("cannot build the genesis")?;
    let mut car = Vec::new();
    venus_chain::car::export_genesis(&bs, &built.block, &mut car)
        .context("cannot export the genesis")?;
    Ok(car)
}

#[cfg(not(feature = "chain"))]
fn genesis_car(_template: &Path) -> anyhow::Result<Vec<u8>> {
    bail!("this venus was built without the chain feature: it cannot build a genesis")
}

/// The two objects `seed devnet` creates.
pub fn objects(devnet: &Devnet, args: &DevnetArgs) -> (ConfigMap, Secret) {
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(args.namespace.clone()),
        labels: Some(BTreeMap::from([
            (DEVNET_LABEL.to_owned(), "true".to_owned()),
            (
                "app.kubernetes.io/managed-by".to_owned(),
                "venus-operator".to_owned(),
            ),
        ])),
        owner_references: owner(args).map(|o| vec![o]),
        ..Default::default()
    };
    let config_map = ConfigMap {
        metadata: meta(&args.config_map),
        binary_data: Some(BTreeMap::from([(
            GENESIS_KEY.to_owned(),
            ByteString(devnet.genesis_car.clone()),
        )])),
        data: Some(BTreeMap::from([(
            "network-name".to_owned(),
            devnet.network_name.clone(),
        )])),
        immutable: Some(true),
    };
    let secret = Secret {
        metadata: meta(&args.secret),
        type_: Some("Opaque".into()),
        data: Some(
            devnet
                .files
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone())))
                .collect(),
        ),
        immutable: Some(true),
        ..Default::default()
    };
    (config_map, secret)
}

fn owner(args: &DevnetArgs) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: "venus.filecoin.io/v1alpha1".into(),
        kind: "ChainService".into(),
        name: args.owner_name.clone()?,
        uid: args.owner_uid.clone()?,
        ..Default::default()
    })
}

/// What to do given which of the two objects exist.
#[derive(Debug, PartialEq, Eq)]
pub enum Existing {
    Neither,
    Both,
    /// Only this one (kind and name) exists.
    Partial(String),
}

impl Existing {
    pub fn of(args: &DevnetArgs, config_map: bool, secret: bool) -> Self {
        match (config_map, secret) {
            (false, false) => Existing::Neither,
            (true, true) => Existing::Both,
            (true, false) => Existing::Partial(format!("ConfigMap {}", args.config_map)),
            (false, true) => Existing::Partial(format!("Secret {}", args.secret)),
        }
    }
}

/// `venus seed devnet`.
pub async fn run_devnet(args: &DevnetArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("cannot reach the Kubernetes API (in-cluster ServiceAccount or KUBECONFIG)")?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &args.namespace);
    let secrets: Api<Secret> = Api::namespaced(client, &args.namespace);
    let cm_exists = cms
        .get_metadata_opt(&args.config_map)
        .await
        .with_context(|| format!("reading ConfigMap {}", args.config_map))?
        .is_some();
    let secret_exists = secrets
        .get_metadata_opt(&args.secret)
        .await
        .with_context(|| format!("reading Secret {}", args.secret))?
        .is_some();
    match Existing::of(args, cm_exists, secret_exists) {
        Existing::Both => {
            println!(
                "devnet already made (ConfigMap {}, Secret {}); nothing changed",
                args.config_map, args.secret
            );
            return Ok(());
        }
        Existing::Partial(what) => bail!(
            "{what} exists but not its pair (ConfigMap {}, Secret {}); refusing to make a new devnet over it. \
             A run that stopped half-way leaves only the Secret (no chain can have started from it): delete it to make a new devnet",
            args.config_map,
            args.secret
        ),
        Existing::Neither => {}
    }
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("creating {}", args.work_dir.display()))?;
    let scratch = args
        .work_dir
        .join(format!("devnet-{}", uuid::Uuid::new_v4()));
    let made = make(&scratch, args.miners, &args.sector_size, args.num_sectors);
    let _ = std::fs::remove_dir_all(&scratch);
    let devnet = made?;
    let (config_map, secret) = objects(&devnet, args);
    // The Secret first: a run that dies between the two leaves keys without a genesis, which
    // nothing can have used yet (the node waits for the ConfigMap).
    create(&secrets, &secret, "Secret", &args.secret).await?;
    create(&cms, &config_map, "ConfigMap", &args.config_map).await?;
    let ids: Vec<_> = devnet.miners.iter().map(|m| m.id.as_str()).collect();
    println!(
        "devnet {} made: miners {} ({} bytes of genesis in ConfigMap {}, keys in Secret {})",
        devnet.network_name,
        ids.join(", "),
        devnet.genesis_car.len(),
        args.config_map,
        args.secret
    );
    Ok(())
}

async fn create<K>(api: &Api<K>, obj: &K, kind: &str, name: &str) -> anyhow::Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => {
            bail!("{kind} {name} appeared meanwhile; it is not overwritten")
        }
        Err(e) => Err(e).with_context(|| format!("creating {kind} {name}")),
    }
}

/// Miners and workers from the `pre-seal-*.json` files of a directory.
pub fn read_miners(dir: &Path) -> anyhow::Result<Vec<DevnetMiner>> {
    let mut miners = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pre-seal-") && n.ends_with(".json"))
        })
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        let map: BTreeMap<String, seed::Miner> = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a pre-seal file", p.display()))?;
        miners.extend(map.into_values().map(|m| DevnetMiner {
            id: m.id,
            worker: m.worker,
        }));
    }
    if miners.is_empty() {
        bail!("no pre-seal-<miner>.json in {}", dir.display());
    }
    Ok(miners)
}

/// `venus seed devnet-register`.
pub async fn run_register(args: &RegisterArgs) -> anyhow::Result<()> {
    let miners = read_miners(&args.keys_dir)?;
    let client = AuthClient::new(&args.auth_url, args.admin_token.clone())
        .map_err(|e| anyhow::anyhow!("--auth-url {}: {e}", args.auth_url))?;
    let deadline = Instant::now() + Duration::from_secs(args.wait_secs);
    loop {
        match register(&client, args, &miners).await {
            Ok(()) => break,
            Err(e) if Instant::now() < deadline && e.downcast_ref::<Permanent>().is_none() => {
                eprintln!("venus-auth at {} not ready yet: {e:#}", args.auth_url);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("registering the devnet at {} failed", args.auth_url)
                });
            }
        }
    }
    let ids: Vec<_> = miners.iter().map(|m| m.id.as_str()).collect();
    println!(
        "devnet registered at venus-auth: user {} owns {}",
        args.user,
        ids.join(", ")
    );
    Ok(())
}

async fn ensure_user(c: &AuthClient, name: &str) -> anyhow::Result<()> {
    if !c.has_user(name).await? {
        c.create_user(name, Some("devnet (venus-operator)"), 1)
            .await
            .with_context(|| format!("adding user {name}"))?;
    }
    Ok(())
}

async fn register(
    c: &AuthClient,
    args: &RegisterArgs,
    miners: &[DevnetMiner],
) -> anyhow::Result<()> {
    ensure_user(c, &args.user).await?;
    for m in miners {
        if !c.miner_exists(&args.user, &m.id).await? {
            c.upsert_miner(&args.user, &m.id, true)
                .await
                .with_context(|| format!("binding miner {} to {}", m.id, args.user))?;
        }
        if !c.signer_exists(&args.user, &m.worker).await? {
            c.register_signer(&args.user, &m.worker)
                .await
                .with_context(|| format!("registering signer {} of {}", m.worker, m.id))?;
        }
    }
    for (what, token) in [
        ("wallet", args.wallet_token.as_deref()),
        ("prover", args.prover_token.as_deref()),
    ] {
        if let Some(token) = token {
            register_token(c, what, token.trim()).await?;
        }
    }
    Ok(())
}

/// A failure waiting does not cure (as opposed to venus-auth not answering yet).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Permanent(String);

/// Make venus-auth know a token the operator signed: `genToken` with the same claims signs
/// the same bytes with the same secret.
async fn register_token(c: &AuthClient, what: &str, token: &str) -> anyhow::Result<()> {
    let claims = venus_rpc::jwt::decode_unverified(token)
        .map_err(|e| Permanent(format!("the {what} token is not a JWT: {e}")))?;
    if c.get_token(token).await.is_ok_and(|t| !t.is_empty()) {
        return Ok(());
    }
    ensure_user(c, &claims.name).await?;
    let issued = c
        .gen_token(&claims.name, claims.perm, &claims.ext)
        .await
        .with_context(|| format!("registering the {what} token of user {}", claims.name))?;
    if issued != token {
        // Nobody holds the token venus-auth just issued: take it back.
        let _ = c.remove_token(&issued).await;
        return Err(Permanent(format!(
            "venus-auth signed the {what} token of user {} differently: it does not use this chain service's JWT secret",
            claims.name
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> DevnetArgs {
        DevnetArgs {
            miners: 2,
            sector_size: "2KiB".into(),
            num_sectors: 2,
            namespace: "ns".into(),
            config_map: "cs-devnet-genesis".into(),
            secret: "cs-devnet-keys".into(),
            owner_name: Some("cs".into()),
            owner_uid: Some("uid-1".into()),
            work_dir: PathBuf::from("/tmp"),
        }
    }

    #[cfg(feature = "chain")]
    #[test]
    fn make_pre_seals_each_miner_and_builds_a_genesis_the_node_can_import() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A scratch directory that does not exist yet, as `seed devnet` passes.
        let devnet = make(&dir.path().join("scratch"), 2, "2KiB", 2).expect("devnet");
        assert_eq!(
            devnet
                .miners
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["t01000", "t01001"]
        );
        assert_eq!(
            devnet.files.keys().cloned().collect::<Vec<_>>(),
            [
                "pre-seal-t01000.json",
                "pre-seal-t01000.key",
                "pre-seal-t01001.json",
                "pre-seal-t01001.key"
            ]
        );
        let bs = venus_chain::blockstore::MemoryBlockstore::new();
        let header = venus_chain::car::import_genesis_car(
            &bs,
            &mut std::io::Cursor::new(&devnet.genesis_car),
        )
        .expect("the CAR imports");
        assert_eq!(header.height, 0);
        // Small enough for a ConfigMap (1 MiB).
        assert!(
            devnet.genesis_car.len() < 512 * 1024,
            "{}",
            devnet.genesis_car.len()
        );
        let debug = format!("{devnet:?}");
        assert!(!debug.contains("Type"), "no key file in Debug: {debug}");
        // The files round-trip through read_miners as the register step reads them.
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).expect("mkdir");
        for (name, bytes) in &devnet.files {
            std::fs::write(keys.join(name), bytes).expect("write");
        }
        assert_eq!(read_miners(&keys).expect("miners"), devnet.miners);
    }

    #[test]
    fn bad_miner_counts_and_sector_sizes_are_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = make(dir.path(), 0, "2KiB", 2).expect_err("0 miners");
        assert!(e.to_string().contains("--miners"), "{e}");
        let e = make(dir.path(), 1, "3KiB", 2).expect_err("bad size");
        assert!(format!("{e:#}").contains("3KiB"), "{e:#}");
    }

    #[test]
    fn objects_are_immutable_labelled_and_owned_by_the_chain_service() {
        let devnet = Devnet {
            network_name: "localnet-x".into(),
            genesis_car: vec![1, 2, 3],
            files: BTreeMap::from([("pre-seal-t01000.key".into(), b"k".to_vec())]),
            miners: Vec::new(),
        };
        let (cm, secret) = objects(&devnet, &args());
        assert_eq!(cm.metadata.name.as_deref(), Some("cs-devnet-genesis"));
        assert_eq!(
            cm.binary_data.as_ref().expect("data")[GENESIS_KEY].0,
            [1, 2, 3]
        );
        assert_eq!(cm.immutable, Some(true));
        assert_eq!(secret.immutable, Some(true));
        assert_eq!(secret.metadata.name.as_deref(), Some("cs-devnet-keys"));
        for meta in [&cm.metadata, &secret.metadata] {
            let owner = &meta.owner_references.as_ref().expect("owner")[0];
            assert_eq!(
                (owner.kind.as_str(), owner.uid.as_str()),
                ("ChainService", "uid-1")
            );
            assert_eq!(meta.labels.as_ref().expect("labels")[DEVNET_LABEL], "true");
        }
    }

    #[test]
    fn existing_objects_are_never_replaced() {
        let a = args();
        assert_eq!(Existing::of(&a, false, false), Existing::Neither);
        assert_eq!(Existing::of(&a, true, true), Existing::Both);
        assert_eq!(
            Existing::of(&a, false, true),
            Existing::Partial("Secret cs-devnet-keys".into())
        );
        assert_eq!(
            Existing::of(&a, true, false),
            Existing::Partial("ConfigMap cs-devnet-genesis".into())
        );
    }
}
