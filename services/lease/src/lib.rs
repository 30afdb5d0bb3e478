//! A primary/standby lease: of several instances of a service sharing one store, exactly one
//! is primary at a time. The primary renews the lease; a standby retries until it is free or
//! expired. The primary's term ends one renew interval BEFORE the lease could expire at the
//! others, so the old primary has stopped before a new one can start (time-based fencing).
//!
//! Backends: `Exclusive` (a single-instance store such as SQLite), a Kubernetes
//! `coordination.k8s.io/v1` Lease, and a row on a shared MySQL/MariaDB database.

mod backend;
pub mod decision;
mod kubernetes;
mod leadership;
mod metrics;
mod mysql;
mod settings;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use backend::{EXCLUSIVE_IDENTITY, LeaseBackend};
pub use leadership::{Leadership, Term};
pub use settings::LeaseSettings;
