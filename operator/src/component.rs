//! The five components of a chain service, in deployment order, and the facts about each
//! binary the operator relies on (names, ports, config files, HA mode).

use crate::crd::{ChainServiceSpec, ComponentSpec, ComponentStatus, ComponentsStatus};

/// Components in the order they are created and rolled: each waits for the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    Auth,
    Gateway,
    Node,
    Messager,
    Miner,
}

/// How the replicas of a component share work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HaMode {
    /// Every ready pod serves; the ClusterIP Service balances callers.
    LoadBalanced,
    /// One pod holds the role Lease and serves through `<name>-rw`; the others stand by.
    PrimaryStandby,
    /// sqlite cannot be shared: exactly one replica.
    Single,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Component::Auth,
        Component::Gateway,
        Component::Node,
        Component::Messager,
        Component::Miner,
    ];

    /// Short name used in object names and labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Gateway => "gateway",
            Self::Node => "node",
            Self::Messager => "messager",
            Self::Miner => "miner",
        }
    }

    /// Condition type reporting this component (`AuthReady` …).
    pub fn condition_type(self) -> &'static str {
        match self {
            Self::Auth => "AuthReady",
            Self::Gateway => "GatewayReady",
            Self::Node => "NodeReady",
            Self::Messager => "MessagerReady",
            Self::Miner => "MinerReady",
        }
    }

    /// The binary (and image name) — the originals' names.
    pub fn binary(self) -> &'static str {
        match self {
            Self::Auth => "venus-auth",
            Self::Gateway => "venus-gateway",
            Self::Node => "venus",
            Self::Messager => "venus-messager",
            Self::Miner => "venus-miner",
        }
    }

    /// API port; each binary also serves `/livez`, `/readyz` and `/metrics` on it.
    pub fn port(self) -> i32 {
        match self {
            Self::Auth => 8989,
            Self::Gateway => 45132,
            Self::Node => 3453,
            Self::Messager => 39812,
            Self::Miner => 12308,
        }
    }

    /// Name of the config file the binary reads on bare metal (in its repo directory).
    pub fn config_file(self) -> &'static str {
        match self {
            Self::Node => "config.json",
            _ => "config.toml",
        }
    }

    /// Whether this component may be given a database.
    pub fn has_database(self) -> bool {
        matches!(self, Self::Auth | Self::Messager)
    }

    pub fn spec(self, spec: &ChainServiceSpec) -> &ComponentSpec {
        match self {
            Self::Auth => &spec.auth,
            Self::Gateway => &spec.gateway,
            Self::Node => &spec.node,
            Self::Messager => &spec.messager,
            Self::Miner => &spec.miner,
        }
    }

    pub fn status(self, status: &ComponentsStatus) -> &ComponentStatus {
        match self {
            Self::Auth => &status.auth,
            Self::Gateway => &status.gateway,
            Self::Node => &status.node,
            Self::Messager => &status.messager,
            Self::Miner => &status.miner,
        }
    }

    pub fn status_mut(self, status: &mut ComponentsStatus) -> &mut ComponentStatus {
        match self {
            Self::Auth => &mut status.auth,
            Self::Gateway => &mut status.gateway,
            Self::Node => &mut status.node,
            Self::Messager => &mut status.messager,
            Self::Miner => &mut status.miner,
        }
    }

    /// Desired replicas (default 1).
    pub fn replicas(self, spec: &ChainServiceSpec) -> i32 {
        self.spec(spec).replicas.unwrap_or(1)
    }

    pub fn ha_mode(self, spec: &ChainServiceSpec) -> HaMode {
        match self {
            Self::Messager | Self::Miner => HaMode::PrimaryStandby,
            Self::Auth if !uses_mysql(self.spec(spec)) => HaMode::Single,
            _ => HaMode::LoadBalanced,
        }
    }

    /// Components that must be Ready before this one is created or changed.
    pub fn predecessors(self) -> &'static [Component] {
        let index = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        &Self::ALL[..index]
    }
}

pub fn uses_mysql(component: &ComponentSpec) -> bool {
    component
        .database
        .as_ref()
        .is_some_and(|db| db.kind == crate::crd::DatabaseKind::Mysql)
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_auth_gateway_node_messager_miner() {
        let names: Vec<_> = Component::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["auth", "gateway", "node", "messager", "miner"]);
        assert_eq!(Component::Auth.predecessors(), &[] as &[Component]);
        assert_eq!(
            Component::Messager.predecessors(),
            &[Component::Auth, Component::Gateway, Component::Node]
        );
    }

    #[test]
    fn auth_on_sqlite_is_single_and_on_mysql_load_balanced() {
        let mut spec = ChainServiceSpec::default();
        assert_eq!(Component::Auth.ha_mode(&spec), HaMode::Single);
        spec.auth.database = Some(crate::crd::DatabaseSpec {
            kind: crate::crd::DatabaseKind::Mysql,
            dsn_secret: None,
        });
        assert_eq!(Component::Auth.ha_mode(&spec), HaMode::LoadBalanced);
        assert_eq!(Component::Miner.ha_mode(&spec), HaMode::PrimaryStandby);
    }
}
