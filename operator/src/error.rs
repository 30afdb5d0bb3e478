//! One error type, a variant per pipeline stage, so a failure says where it happened.

use crate::validate::InvalidSpec;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ChainService has no namespace")]
    NotNamespaced,
    #[error("the watch caches of StatefulSets, Leases and pods are not filled yet")]
    CacheNotReady,
    #[error("dereference {what}: {source}")]
    Dereference { what: String, source: kube::Error },
    /// Reported in status and an Event, never retried until the spec changes.
    #[error(transparent)]
    InvalidSpec(#[from] InvalidSpec),
    #[error("create secret {name}: {source}")]
    Secrets { name: String, source: kube::Error },
    #[error("apply {object}: {source}")]
    Apply { object: String, source: kube::Error },
    #[error("label {pod} as {role}: {source}")]
    RoleLabel {
        pod: String,
        role: &'static str,
        source: kube::Error,
    },
    #[error("update status: {0}")]
    UpdateStatus(kube::Error),
    #[error("cleanup: {0}")]
    Cleanup(kube::Error),
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// The pipeline stage, used as the `stage` label of the error metric.
    pub fn stage(&self) -> &'static str {
        match self {
            Self::NotNamespaced | Self::CacheNotReady | Self::Dereference { .. } => "dereference",
            Self::InvalidSpec(_) => "validate",
            Self::Secrets { .. } | Self::Apply { .. } | Self::RoleLabel { .. } => "apply",
            Self::UpdateStatus(_) => "update_status",
            Self::Cleanup(_) => "cleanup",
            Self::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.stage(),
                _ => "finalizer",
            },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
