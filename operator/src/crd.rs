//! The `ChainService` custom resource (group `venus.filecoin.io`, version `v1alpha1`).
//!
//! Everything the schema can check is a CEL rule here (`x-kubernetes-validations`), with a
//! message naming the field; what it cannot check (quantity parsing, referenced objects,
//! ESSD size limits) is checked by [`crate::validate`] and reported as `Ready=False,
//! reason=InvalidSpec`.

// kube's derive takes several `printcolumn(type_ = …)` entries, which this lint misreads.
#![allow(clippy::duplicated_attributes)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of every resource, label and finalizer this operator owns.
pub const GROUP: &str = "venus.filecoin.io";

/// Desired state of one venus chain service: auth → gateway → node → messager → miner.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "venus.filecoin.io",
    version = "v1alpha1",
    kind = "ChainService",
    namespaced,
    shortname = "chainsvc",
    status = "ChainServiceStatus",
    doc = "A venus chain service (venus-auth, venus-gateway, venus node, venus-messager, venus-miner) managed as one unit",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Head",
        type_ = "integer",
        description = "height of the chain's head as the node pods report it (read at most every 30 s)",
        json_path = ".status.chain.headHeight"
    ),
    printcolumn(
        name = "Messager",
        type_ = "string",
        description = "messager primary (holder of its role Lease)",
        json_path = ".status.components.messager.primary"
    ),
    printcolumn(
        name = "Miner",
        type_ = "string",
        description = "miner primary (holder of its role Lease)",
        json_path = ".status.components.miner.primary"
    ),
    printcolumn(
        name = "Paused",
        type_ = "boolean",
        priority = 1,
        json_path = ".spec.reconciliationPaused"
    ),
    printcolumn(
        name = "Network",
        type_ = "string",
        priority = 1,
        json_path = ".spec.network.name"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    validation = Rule::new("!has(self.auth) || !has(self.auth.replicas) || self.auth.replicas <= 1 || (has(self.auth.database) && self.auth.database.type == 'mysql')")
        .message("spec.auth.replicas > 1 needs spec.auth.database.type: mysql (sqlite serves one replica)")
        .field_path(".auth.replicas"),
    validation = Rule::new("!has(self.messager) || !has(self.messager.replicas) || self.messager.replicas <= 1 || (has(self.messager.database) && self.messager.database.type == 'mysql')")
        .message("spec.messager.replicas > 1 needs spec.messager.database.type: mysql (standbys share the primary's database)")
        .field_path(".messager.replicas"),
    validation = Rule::new("!has(self.gateway) || !has(self.gateway.database)")
        .message("spec.gateway.database is not supported: only auth and messager use a database")
        .field_path(".gateway.database"),
    validation = Rule::new("!has(self.node) || !has(self.node.database)")
        .message("spec.node.database is not supported: only auth and messager use a database")
        .field_path(".node.database"),
    validation = Rule::new("!has(self.miner) || !has(self.miner.database)")
        .message("spec.miner.database is not supported: only auth and messager use a database")
        .field_path(".miner.database"),
)]
#[serde(rename_all = "camelCase")]
pub struct ChainServiceSpec {
    /// The Filecoin network the node joins; immutable once created.
    pub network: NetworkSpec,
    /// Container images for every component.
    #[serde(default)]
    pub image: ImageSpec,
    /// Hardware profile: `production` (the deployment guide's sizes) or `small` (test clusters).
    #[serde(default)]
    pub profile: Profile,
    /// Where the persistent volumes come from.
    #[serde(default)]
    pub storage: StorageSpec,
    /// venus-auth: users, tokens, the JWT secret.
    #[serde(default)]
    pub auth: ComponentSpec,
    /// venus-gateway: wallet and prover connections.
    #[serde(default)]
    pub gateway: ComponentSpec,
    /// venus node: chain sync and the full-node API.
    #[serde(default)]
    pub node: ComponentSpec,
    /// venus-messager: message selection and push (primary/standby).
    #[serde(default)]
    pub messager: ComponentSpec,
    /// venus-miner: block production (primary/standby).
    #[serde(default)]
    pub miner: ComponentSpec,
    /// Stop every change the operator makes to this chain service (objects, role labels,
    /// Secrets) until set back to false; the status says so (`ReconciliationPaused=True`).
    /// For maintenance by hand, as Stackable's `clusterOperation.reconciliationPaused`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconciliation_paused: bool,
    /// A NetworkPolicy per component: each accepts only its callers.
    #[serde(default, skip_serializing_if = "NetworkPolicySpec::is_default")]
    pub network_policy: NetworkPolicySpec,
}

/// The NetworkPolicies the operator renders (ingress only).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicySpec {
    /// Render them (default true). Set false on clusters without a policy engine, where they
    /// would only mislead.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Who besides the chain service itself may call the client-facing components (gateway,
    /// node, messager, miner): the mining clusters' wallets, provers and tools. Empty: any pod
    /// of any namespace (venus-auth stays reachable from the chain service only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer>,
    /// Who may scrape `/metrics` and probe health on every component (e.g. the monitoring
    /// namespace); these peers reach venus-auth too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitoring: Vec<k8s_openapi::api::networking::v1::NetworkPolicyPeer>,
}

fn default_true() -> bool {
    true
}

impl Default for NetworkPolicySpec {
    fn default() -> Self {
        Self {
            enabled: true,
            clients: Vec::new(),
            monitoring: Vec::new(),
        }
    }
}

impl NetworkPolicySpec {
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// Which chain the node follows.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(
    validation = Rule::new("self == oldSelf").message("spec.network is immutable: a node repo cannot change networks"),
    validation = Rule::new("self.name != '2k' || has(self.genesis) || has(self.devnet)")
        .message("spec.network.genesis or spec.network.devnet is required for a private (2k) network")
        .field_path(".genesis"),
    validation = Rule::new("!has(self.devnet) || self.name == '2k'")
        .message("spec.network.devnet needs spec.network.name: 2k")
        .field_path(".devnet"),
    validation = Rule::new("!has(self.devnet) || !has(self.genesis)")
        .message("spec.network: set either genesis or devnet, not both")
        .field_path(".devnet"),
)]
#[serde(rename_all = "camelCase")]
pub struct NetworkSpec {
    /// Network name as `venus daemon --network` takes it.
    pub name: NetworkName,
    /// Genesis CAR of a private network, read from a ConfigMap (binaryData or data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genesis: Option<GenesisSource>,
    /// A devnet the operator makes (2k only, instead of `genesis`): a Job pre-seals the
    /// miners and builds the genesis once, and a devnet wallet and prover hold their keys and
    /// sectors. Never regenerated over an existing chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devnet: Option<DevnetSpec>,
}

/// `spec.network.devnet`: the devnet's genesis miners.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DevnetSpec {
    /// Genesis miners (t01000, t01001, …), each with pre-sealed sectors; 1 to 16.
    #[serde(default = "default_devnet_miners")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 16").message("spec.network.devnet.miners must be between 1 and 16"))]
    pub miners: i32,
    /// Size of the pre-sealed sectors: 2KiB, 8MiB, 512MiB, 32GiB or 64GiB.
    #[serde(default = "default_devnet_sector_size")]
    #[x_kube(validation = Rule::new("self in ['2KiB', '8MiB', '512MiB', '32GiB', '64GiB']").message("spec.network.devnet.sectorSize must be one of 2KiB, 8MiB, 512MiB, 32GiB, 64GiB"))]
    pub sector_size: String,
    /// Block time in seconds; the 2k network's is 4 (the only value the node supports).
    #[serde(default = "default_devnet_block_delay")]
    #[x_kube(validation = Rule::new("self == 4").message("spec.network.devnet.blockDelaySecs must be 4 (the 2k network's block time)"))]
    pub block_delay_secs: i32,
}

impl Default for DevnetSpec {
    fn default() -> Self {
        Self {
            miners: default_devnet_miners(),
            sector_size: default_devnet_sector_size(),
            block_delay_secs: default_devnet_block_delay(),
        }
    }
}

fn default_devnet_miners() -> i32 {
    1
}

fn default_devnet_sector_size() -> String {
    "2KiB".into()
}

fn default_devnet_block_delay() -> i32 {
    4
}

/// Networks the venus node knows.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NetworkName {
    #[default]
    #[serde(rename = "mainnet")]
    Mainnet,
    #[serde(rename = "calibrationnet")]
    Calibrationnet,
    #[serde(rename = "butterflynet")]
    Butterflynet,
    #[serde(rename = "interopnet")]
    Interopnet,
    #[serde(rename = "forcenet")]
    Forcenet,
    /// A private devnet with 2 KiB sectors; needs `genesis`.
    #[serde(rename = "2k")]
    TwoK,
}

impl NetworkName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mainnet => "mainnet",
            Self::Calibrationnet => "calibrationnet",
            Self::Butterflynet => "butterflynet",
            Self::Interopnet => "interopnet",
            Self::Forcenet => "forcenet",
            Self::TwoK => "2k",
        }
    }

    /// venus's `parameters.networkType` in config.json (`types.NetworkType`).
    pub fn network_type(self) -> u8 {
        match self {
            Self::Mainnet => 1,
            Self::TwoK => 2,
            Self::Calibrationnet => 4,
            Self::Interopnet => 6,
            Self::Forcenet => 7,
            Self::Butterflynet => 8,
        }
    }
}

/// A genesis CAR stored in a ConfigMap.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GenesisSource {
    /// ConfigMap name, in the ChainService's namespace.
    pub config_map: String,
    /// Key holding the CAR file.
    #[serde(default = "default_genesis_key")]
    pub key: String,
}

fn default_genesis_key() -> String {
    "genesis.car".into()
}

/// Image repository, tag and pull settings shared by all components.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Registry and path; each component's image is `<repository>/<binary>:<tag>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Defaults to the operator's own version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    /// Names of Secrets of type kubernetes.io/dockerconfigjson.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<String>,
}

/// Per-component image override; unset fields fall back to `spec.image`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// Hardware profile.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub enum Profile {
    /// The deployment guide's hardware: node 32 CPU / 128 GiB / 2 TiB ESSD; auth+messager,
    /// gateway and miner 16 CPU / 32 GiB / 200 GiB ESSD each.
    #[default]
    Production,
    /// A few hundred millicores and small disks, for test clusters.
    Small,
}

/// Storage for the components' data volumes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(
    validation = Rule::new("!(has(self.className) && has(self.preset))")
        .message("spec.storage: set either className or preset, not both"),
)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Use this existing StorageClass for every volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Or let the operator create StorageClasses for a cloud's disks. Neither set: the
    /// cluster's default StorageClass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<StoragePreset>,
    /// Encrypt disks the operator's classes create (ESSD, EBS).
    #[serde(default)]
    pub encrypted: bool,
    /// What happens to the PVCs when the ChainService is deleted or scaled down.
    #[serde(default)]
    pub retention: PvcRetention,
}

/// StorageClass presets the operator creates (cluster-scoped, shared, reclaim Retain).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum StoragePreset {
    /// Alibaba Cloud ESSD (`diskplugin.csi.alibabacloud.com`, `type: cloud_essd`), the
    /// performance level chosen per disk size.
    AlicloudEssd,
    /// AWS EBS gp3 (`ebs.csi.aws.com`); the node disk gets provisioned IOPS/throughput.
    AwsGp3,
    /// AWS EBS io2.
    AwsIo2,
    /// GCP persistent disk SSD (`pd.csi.storage.gke.io`).
    GcpPdSsd,
}

/// StatefulSet `persistentVolumeClaimRetentionPolicy`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PvcRetention {
    /// On ChainService deletion. Default Retain: 2 TiB of synced chain is not thrown away.
    #[serde(default)]
    pub when_deleted: RetentionAction,
    /// On scale-down.
    #[serde(default)]
    pub when_scaled: RetentionAction,
}

impl Default for PvcRetention {
    fn default() -> Self {
        Self {
            when_deleted: RetentionAction::Retain,
            when_scaled: RetentionAction::Retain,
        }
    }
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RetentionAction {
    #[default]
    Retain,
    Delete,
}

impl RetentionAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retain => "Retain",
            Self::Delete => "Delete",
        }
    }
}

/// Settings of one component. Unset fields take the profile's defaults.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// Pods; default 1. Messager and miner run one primary and the rest as standbys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 16").message("replicas must be between 0 and 16"))]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageOverride>,
    /// Replaces the profile's requests/limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<ComponentStorage>,
    /// auth and messager only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseSpec>,
    /// Appended to the component's command line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_env: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "Scheduling::is_empty")]
    pub scheduling: Scheduling,
    /// Type of the Service callers use; default ClusterIP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceType>,
}

/// The data volume of one component.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStorage {
    /// Volume size, a Kubernetes quantity (use `2Ti`, not `2T`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))").message("storage.size must be a positive Kubernetes quantity such as 200Gi"))]
    pub size: Option<String>,
    /// ESSD performance level (preset alicloudEssd); default PL1, allowed by size:
    /// PL2 needs ≥ 461 GiB, PL3 ≥ 1,261 GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_level: Option<PerformanceLevel>,
}

#[derive(
    JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
pub enum PerformanceLevel {
    PL0,
    PL1,
    PL2,
    PL3,
}

impl PerformanceLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PL0 => "PL0",
            Self::PL1 => "PL1",
            Self::PL2 => "PL2",
            Self::PL3 => "PL3",
        }
    }
}

/// The component's database.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[x_kube(
    validation = Rule::new("self.type != 'mysql' || has(self.dsnSecret)")
        .message("database.dsnSecret is required when database.type is mysql")
        .field_path(".dsnSecret"),
)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    #[serde(rename = "type", default)]
    pub kind: DatabaseKind,
    /// Secret key holding the MySQL DSN (`user:pass@(host:3306)/db?parseTime=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsn_secret: Option<SecretKeyRef>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub enum DatabaseKind {
    #[default]
    Sqlite,
    Mysql,
}

/// A key of a Secret in the ChainService's namespace.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    #[serde(default = "default_dsn_key")]
    pub key: String,
}

fn default_dsn_key() -> String {
    "dsn".into()
}

/// Pod placement.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Scheduling {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
}

impl Scheduling {
    pub fn is_empty(&self) -> bool {
        self.node_selector.is_empty()
            && self.affinity.is_none()
            && self.tolerations.is_empty()
            && self.topology_spread_constraints.is_empty()
    }
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceType {
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClusterIP => "ClusterIP",
            Self::NodePort => "NodePort",
            Self::LoadBalancer => "LoadBalancer",
        }
    }
}

/// Observed state, written by the operator only.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChainServiceStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Pending, Progressing, Ready, Degraded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Ready, Progressing, Degraded and AuthReady … MinerReady.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Per component: replicas, primaries, endpoints.
    #[serde(default)]
    pub components: ComponentsStatus,
    /// Secret holding the admin token the chain service's own components use (key `token`).
    /// Not for clients: they get their own named tokens from venus-auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token_secret: Option<String>,
    /// The chain as the node pods report it. Written by the operator's head reader (its own
    /// field manager, at most once per interval and only when the head moved), not by the
    /// reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<ChainStatus>,
}

/// `status.chain`: the head of the highest ready node pod, from its unauthenticated `/metrics`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChainStatus {
    /// Height (epoch) of the head tipset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_height: Option<i64>,
    /// When the head tipset was made (its timestamp, RFC 3339): how stale the head is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_time: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Progressing,
    Ready,
    Degraded,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Progressing => "Progressing",
            Self::Ready => "Ready",
            Self::Degraded => "Degraded",
            Self::Failed => "Failed",
        }
    }
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentsStatus {
    #[serde(default)]
    pub auth: ComponentStatus,
    #[serde(default)]
    pub gateway: ComponentStatus,
    #[serde(default)]
    pub node: ComponentStatus,
    #[serde(default)]
    pub messager: ComponentStatus,
    #[serde(default)]
    pub miner: ComponentStatus,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ComponentStatus {
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub ready_replicas: i32,
    /// Pods running the current template (an upgrade is done when it equals `replicas`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Pod holding the role Lease (messager, miner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    /// In-cluster address callers use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}
