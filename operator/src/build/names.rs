//! Object names and in-cluster addresses, derived from the ChainService's name.

use crate::component::Component;

/// The node pods' fixed libp2p port (container port `swarm`, on the headless Service).
pub const NODE_SWARM_PORT: i32 = 1347;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pub instance: String,
    pub namespace: String,
}

impl Names {
    pub fn new(instance: &str, namespace: &str) -> Self {
        Names {
            instance: instance.into(),
            namespace: namespace.into(),
        }
    }

    /// StatefulSet, ConfigMap, PDB and caller Service: `<cs>-<component>`.
    pub fn component(&self, c: Component) -> String {
        format!("{}-{}", self.instance, c.name())
    }

    /// Headless Service giving each pod a DNS name.
    pub fn headless(&self, c: Component) -> String {
        format!("{}-{}-headless", self.instance, c.name())
    }

    /// Service selecting only the primary (messager, miner).
    pub fn primary_service(&self, c: Component) -> String {
        format!("{}-{}-rw", self.instance, c.name())
    }

    /// Lease the component's pods contend for (messager, miner).
    pub fn lease(&self, c: Component) -> String {
        format!("{}-{}", self.instance, c.name())
    }

    /// Pod `i` of a component's StatefulSet.
    pub fn pod(&self, c: Component, i: i32) -> String {
        format!("{}-{i}", self.component(c))
    }

    /// The Secret with the node pods' libp2p identities (made once by the operator).
    pub fn node_identities(&self) -> String {
        format!("{}-node-identities", self.instance)
    }

    pub fn service_account(&self) -> String {
        format!("{}-venus", self.instance)
    }

    pub fn jwt_secret(&self) -> String {
        format!("{}-auth-jwt", self.instance)
    }

    pub fn admin_token_secret(&self) -> String {
        format!("{}-admin-token", self.instance)
    }

    /// `spec.network.devnet`: the ConfigMap with the genesis CAR (made by the genesis Job).
    pub fn devnet_genesis(&self) -> String {
        format!("{}-devnet-genesis", self.instance)
    }

    /// `spec.network.devnet`: the Secret with the miners' keys and pre-seal files.
    pub fn devnet_keys(&self) -> String {
        format!("{}-devnet-keys", self.instance)
    }

    /// `spec.network.devnet`: the Secret with the devnet wallet's and prover's tokens and the
    /// wallet's password (made by the operator).
    pub fn devnet_tokens(&self) -> String {
        format!("{}-devnet-tokens", self.instance)
    }

    /// The genesis Job, its ServiceAccount, Role and RoleBinding.
    pub fn devnet_job(&self) -> String {
        format!("{}-devnet-genesis", self.instance)
    }

    /// The devnet's wallet and prover Deployments: `<cs>-devnet-wallet`, `<cs>-devnet-prover`.
    pub fn devnet_part(&self, part: &str) -> String {
        format!("{}-devnet-{part}", self.instance)
    }

    fn service_host(&self, service: &str) -> String {
        format!("{service}.{}.svc", self.namespace)
    }

    /// `http://<cs>-auth.<ns>.svc:8989`, what venus-auth clients take.
    pub fn auth_url(&self) -> String {
        let c = Component::Auth;
        format!(
            "http://{}:{}",
            self.service_host(&self.component(c)),
            c.port()
        )
    }

    /// Multiaddr of the caller Service (`/dns/<svc>.<ns>.svc/tcp/<port>`).
    pub fn multiaddr(&self, c: Component) -> String {
        format!(
            "/dns/{}/tcp/{}",
            self.service_host(&self.component(c)),
            c.port()
        )
    }

    /// Multiaddr of the primary-only Service.
    pub fn primary_multiaddr(&self, c: Component) -> String {
        format!(
            "/dns/{}/tcp/{}",
            self.service_host(&self.primary_service(c)),
            c.port()
        )
    }

    /// Multiaddr of each pod through the headless Service: wallets and provers register with
    /// every gateway pod, not with one behind a load balancer.
    pub fn pod_multiaddrs(&self, c: Component, replicas: i32) -> Vec<String> {
        (0..replicas.max(1))
            .map(|i| {
                format!(
                    "/dns/{}-{i}.{}/tcp/{}",
                    self.component(c),
                    self.service_host(&self.headless(c)),
                    c.port()
                )
            })
            .collect()
    }

    /// libp2p address of node pod `i` through the headless Service, its peer ID written as
    /// `peer` (a `$(VAR)` the kubelet expands).
    pub fn node_swarm_multiaddr(&self, i: i32, peer: &str) -> String {
        let c = Component::Node;
        format!(
            "/dns4/{}.{}/tcp/{NODE_SWARM_PORT}/p2p/{peer}",
            self.pod(c, i),
            self.service_host(&self.headless(c)),
        )
    }

    /// Endpoint reported in status.
    pub fn endpoint(&self, c: Component) -> String {
        match c {
            Component::Auth => self.auth_url(),
            Component::Messager | Component::Miner => self.primary_multiaddr(c),
            _ => self.multiaddr(c),
        }
    }
}
