//! The operator's vocabulary in one place: label and annotation keys, role values, condition
//! types, reasons and Event reasons. Everything that writes or reads one of these strings
//! uses the constant, so build, reconcile, status and the tests cannot drift apart.

/// Field manager for server-side apply, and the `managed-by` label value.
pub const MANAGER: &str = "venus-operator";
/// Finalizer that runs [`crate::reconcile`]'s cleanup before a ChainService goes.
pub const FINALIZER: &str = "venus.filecoin.io/cleanup";

/// Between the pod name and the pod UID in a role Lease's holder identity
/// (`VENUS_LEASE_IDENTITY=$(POD_NAME)_$(POD_UID)`, client-go's `<host>_<uuid>` convention).
pub const LEASE_IDENTITY_SEPARATOR: &str = "_";

/// Label keys (the recommended `app.kubernetes.io/*` set plus the role).
pub mod label {
    pub const NAME: &str = "app.kubernetes.io/name";
    pub const INSTANCE: &str = "app.kubernetes.io/instance";
    pub const COMPONENT: &str = "app.kubernetes.io/component";
    pub const PART_OF: &str = "app.kubernetes.io/part-of";
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    pub const VERSION: &str = "app.kubernetes.io/version";
    /// `primary`/`standby` on messager and miner pods, set from the role Lease holder.
    pub const ROLE: &str = "venus.filecoin.io/role";
    /// `"true"` on every object of a `spec.network.devnet` that exists only for the devnet
    /// (its genesis Job, ConfigMap and Secrets, wallet and prover).
    pub const DEVNET: &str = "venus.filecoin.io/devnet";
    /// Value of [`PART_OF`].
    pub const PART_OF_VALUE: &str = "venus-chain-service";
}

/// Annotation keys.
pub mod annotation {
    /// Hash of the config file, so a config change rolls the pods.
    pub const CONFIG_HASH: &str = "venus.filecoin.io/config-hash";
}

/// Values of [`label::ROLE`].
pub mod role {
    pub const PRIMARY: &str = "primary";
    pub const STANDBY: &str = "standby";
}

/// Condition types of `status.conditions` (the per-component ones come from
/// [`crate::component::Component::condition_type`]).
pub mod condition {
    pub const READY: &str = "Ready";
    pub const PROGRESSING: &str = "Progressing";
    pub const DEGRADED: &str = "Degraded";
    /// True while `spec.reconciliationPaused` holds the operator back.
    pub const RECONCILIATION_PAUSED: &str = "ReconciliationPaused";
    pub const TRUE: &str = "True";
    pub const FALSE: &str = "False";
}

/// Condition reasons.
pub mod reason {
    pub const INVALID_SPEC: &str = "InvalidSpec";
    pub const ALL_READY: &str = "AllReady";
    pub const COMPONENTS_NOT_READY: &str = "ComponentsNotReady";
    pub const ROLLING_OUT: &str = "RollingOut";
    pub const UP_TO_DATE: &str = "UpToDate";
    pub const ALL_REPLICAS_READY: &str = "AllReplicasReady";
    pub const REPLICAS_UNAVAILABLE: &str = "ReplicasUnavailable";
    pub const NOT_CREATED: &str = "NotCreated";
    pub const READY: &str = "Ready";
    pub const NO_PRIMARY: &str = "NoPrimary";
    pub const NOT_READY: &str = "NotReady";
    pub const PAUSED: &str = "Paused";
    pub const RUNNING: &str = "Running";
    /// A primary/standby component is being upgraded (waiting for a pod, or replacing the
    /// only one).
    pub const UPGRADING: &str = "Upgrading";
    /// A standby is being replaced by one on the new revision (before the primary).
    pub const UPGRADING_STANDBY: &str = "UpgradingStandby";
    /// The primary is stopped gracefully so an updated standby takes over.
    pub const SWITCHOVER: &str = "Switchover";
}

/// Reasons of the Kubernetes Events the operator publishes besides condition changes.
pub mod event {
    /// A primary was elected where there was none.
    pub const PRIMARY_ELECTED: &str = "PrimaryElected";
    /// The primary changed from one pod to another.
    pub const FAILOVER: &str = "Failover";
    /// The primary is gone and no pod holds the Lease.
    pub const PRIMARY_LOST: &str = "PrimaryLost";
    pub const PAUSED: &str = "ReconciliationPaused";
    pub const RESUMED: &str = "ReconciliationResumed";
    pub const DELETED: &str = "Deleted";
    /// A standby (or a lone pod) deleted so it starts on the new revision.
    pub const UPGRADE_STANDBY: &str = "UpgradeStandby";
    /// The primary stopped gracefully for an updated standby to take over.
    pub const SWITCHOVER: &str = "Switchover";
}
