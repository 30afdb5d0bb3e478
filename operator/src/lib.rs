//! Kubernetes operator for the `ChainService` custom resource: one resource becomes a running
//! venus chain service (auth → gateway → node → messager → miner).
//!
//! The reconcile is a pipeline (see `reconcile`): fetch → validate → build → apply → report,
//! one file per stage. Only fetch, apply and report talk to the API server; validation
//! (including the references) and [`build`] are pure. [`keys`] holds the vocabulary (labels,
//! conditions, reasons, roles); [`triggers`] decides which watch events wake the reconcile.

pub mod build;
pub mod chain_head;
pub mod component;
pub mod crd;
pub mod error;
pub mod keys;
pub mod leader;
pub mod metrics;
pub mod profile;
pub mod quantity;
pub mod reconcile;
pub mod run;
pub mod secrets;
pub mod status;
pub mod storage;
pub mod triggers;
pub mod validate;

pub use crd::{ChainService, ChainServiceSpec, ChainServiceStatus};

/// The CRD as YAML, exactly as `venus-operator crd` prints it and `crds/` holds it.
pub fn crd_yaml() -> Result<String, serde_yaml_ng::Error> {
    use kube::CustomResourceExt;
    serde_yaml_ng::to_string(&ChainService::crd())
}
