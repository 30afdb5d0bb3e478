//! Where the lease lives (`LeaseBackend`), choosing it from the environment, and the running
//! form of each backend the loop drives.

use anyhow::Context as _;
use sqlx::MySqlPool;

use crate::kubernetes::KubeLease;
use crate::mysql::MySqlLease;
use crate::settings::Timing;

/// Where the lease lives.
pub enum LeaseBackend {
    /// Only one instance can exist (SQLite): always the holder, never lost.
    Exclusive,
    /// A coordination.k8s.io/v1 Lease (in-cluster config, or $KUBECONFIG).
    Kubernetes {
        client: kube::Client,
        namespace: String,
        name: String,
        identity: String,
    },
    /// A row in table `venus_leases(name PK, holder, expires_at, transitions, …)` on a shared
    /// MySQL/MariaDB database, with expiry judged by the DATABASE's clock (NOW(6)), never the
    /// instances' clocks.
    MySql {
        pool: MySqlPool,
        name: String,
        identity: String,
    },
}

/// The identity reported for the Exclusive backend.
pub const EXCLUSIVE_IDENTITY: &str = "exclusive";

impl LeaseBackend {
    /// VENUS_LEASE_NAME + VENUS_LEASE_NAMESPACE (+ optional VENUS_LEASE_IDENTITY, default
    /// $POD_NAME, then the host name) → Kubernetes; otherwise `mysql` given → MySql with
    /// `default_name` and identity "<hostname>-<pid>-<random>"; otherwise Exclusive.
    /// A half-set VENUS_LEASE_* is an error naming the missing variable.
    pub async fn from_env(default_name: &str, mysql: Option<MySqlPool>) -> anyhow::Result<Self> {
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.trim().is_empty());
        match choose(env, mysql.is_some())? {
            Choice::Kubernetes {
                name,
                namespace,
                identity,
            } => {
                let client = kube::Client::try_default().await.context(
                    "VENUS_LEASE_NAME is set but no Kubernetes client could be configured \
                     (no in-cluster service account and no usable $KUBECONFIG)",
                )?;
                Ok(Self::Kubernetes {
                    client,
                    namespace,
                    name,
                    identity: identity.unwrap_or_else(pod_or_host_name),
                })
            }
            Choice::MySql => match mysql {
                Some(pool) => Ok(Self::MySql {
                    pool,
                    name: default_name.to_owned(),
                    identity: instance_identity(),
                }),
                None => Ok(Self::Exclusive),
            },
            Choice::Exclusive => Ok(Self::Exclusive),
        }
    }

    pub fn identity(&self) -> &str {
        match self {
            Self::Exclusive => EXCLUSIVE_IDENTITY,
            Self::Kubernetes { identity, .. } | Self::MySql { identity, .. } => identity,
        }
    }

    /// A short description for logs (never credentials).
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Exclusive => "exclusive (single instance)".to_owned(),
            Self::Kubernetes {
                namespace, name, ..
            } => format!("Kubernetes Lease {namespace}/{name}"),
            Self::MySql { name, .. } => format!("MySQL row venus_leases/{name}"),
        }
    }

    pub(crate) fn into_driver(self, timing: &Timing) -> Driver {
        match self {
            Self::Exclusive => Driver::Exclusive,
            Self::Kubernetes {
                client,
                namespace,
                name,
                identity,
            } => Driver::Kubernetes(Box::new(KubeLease::new(
                client, &namespace, name, identity, timing,
            ))),
            Self::MySql {
                pool,
                name,
                identity,
            } => Driver::MySql(MySqlLease::new(pool, name, identity, timing.duration)),
        }
    }
}

/// What one round found: whether we hold the lease now, and who does (if anyone, live).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    pub mine: bool,
    pub holder: Option<String>,
}

/// A backend as the loop drives it.
pub(crate) enum Driver {
    Exclusive,
    Kubernetes(Box<KubeLease>),
    MySql(MySqlLease),
}

impl Driver {
    pub async fn acquire_or_renew(&mut self) -> anyhow::Result<Observed> {
        Ok(match self {
            Self::Exclusive => Observed {
                mine: true,
                holder: Some(EXCLUSIVE_IDENTITY.to_owned()),
            },
            Self::Kubernetes(k) => k.acquire_or_renew().await?,
            Self::MySql(m) => m.acquire_or_renew().await?,
        })
    }

    /// Gives the lease up if we hold it; `Ok(true)` when something was released.
    pub async fn release(&mut self) -> anyhow::Result<bool> {
        Ok(match self {
            Self::Exclusive => false,
            Self::Kubernetes(k) => k.release().await?,
            Self::MySql(m) => m.release().await?,
        })
    }

    pub fn expires(&self) -> bool {
        !matches!(self, Self::Exclusive)
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Choice {
    Kubernetes {
        name: String,
        namespace: String,
        identity: Option<String>,
    },
    MySql,
    Exclusive,
}

const NAME: &str = "VENUS_LEASE_NAME";
const NAMESPACE: &str = "VENUS_LEASE_NAMESPACE";
const IDENTITY: &str = "VENUS_LEASE_IDENTITY";

/// The backend the environment asks for; a half-set VENUS_LEASE_* names what is missing.
fn choose(env: impl Fn(&str) -> Option<String>, have_mysql: bool) -> anyhow::Result<Choice> {
    let (name, namespace, identity) = (env(NAME), env(NAMESPACE), env(IDENTITY));
    match (name, namespace) {
        (Some(name), Some(namespace)) => Ok(Choice::Kubernetes {
            name,
            namespace,
            identity,
        }),
        (Some(_), None) => anyhow::bail!(
            "{NAME} is set but {NAMESPACE} is not: a Kubernetes lease needs both \
             ({IDENTITY} is optional)"
        ),
        (None, Some(_)) => anyhow::bail!(
            "{NAMESPACE} is set but {NAME} is not: a Kubernetes lease needs both \
             ({IDENTITY} is optional)"
        ),
        (None, None) if identity.is_some() => anyhow::bail!(
            "{IDENTITY} is set but {NAME} and {NAMESPACE} are not: set both for a Kubernetes \
             lease, or unset {IDENTITY}"
        ),
        (None, None) if have_mysql => Ok(Choice::MySql),
        (None, None) => Ok(Choice::Exclusive),
    }
}

/// $POD_NAME, else the host name, else "venus-<pid>".
fn pod_or_host_name() -> String {
    std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .or_else(host_name)
        .unwrap_or_else(|| format!("venus-{}", std::process::id()))
}

/// "<hostname>-<pid>-<random>": unique even for two instances on one host or a restart.
fn instance_identity() -> String {
    let host = host_name().unwrap_or_else(|| "venus".to_owned());
    let random: u32 = rand::random();
    format!("{host}-{}-{:06x}", std::process::id(), random & 0xff_ffff)
}

fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn kubernetes_when_name_and_namespace_are_set() {
        let c = choose(env(&[(NAME, "m"), (NAMESPACE, "ns")]), true).expect("valid");
        assert_eq!(
            c,
            Choice::Kubernetes {
                name: "m".into(),
                namespace: "ns".into(),
                identity: None
            }
        );
        let c = choose(
            env(&[(NAME, "m"), (NAMESPACE, "ns"), (IDENTITY, "pod-0")]),
            false,
        )
        .expect("valid");
        assert!(matches!(c, Choice::Kubernetes { identity: Some(i), .. } if i == "pod-0"));
    }

    #[test]
    fn mysql_then_exclusive_when_unset() {
        assert_eq!(choose(env(&[]), true).expect("valid"), Choice::MySql);
        assert_eq!(choose(env(&[]), false).expect("valid"), Choice::Exclusive);
    }

    #[test]
    fn half_set_names_the_missing_variable() {
        let e = choose(env(&[(NAME, "m")]), true).expect_err("half-set");
        assert!(
            e.to_string().contains("VENUS_LEASE_NAMESPACE is not"),
            "{e}"
        );
        let e = choose(env(&[(NAMESPACE, "ns")]), true).expect_err("half-set");
        assert!(e.to_string().contains("VENUS_LEASE_NAME is not"), "{e}");
        let e = choose(env(&[(IDENTITY, "i")]), true).expect_err("half-set");
        assert!(
            e.to_string()
                .contains("VENUS_LEASE_NAME and VENUS_LEASE_NAMESPACE are not")
        );
    }

    #[test]
    fn instance_identities_differ() {
        assert_ne!(instance_identity(), instance_identity());
    }
}
