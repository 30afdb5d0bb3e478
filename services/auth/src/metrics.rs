//! Prometheus metrics, named after the original's (`token/verify`, `token/amount`,
//! `user/amount`, `api/state`) under the `venus_auth_` prefix.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use venus_rpc::observe;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerifyLabels {
    pub perm: String,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PermLabel {
    pub perm: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    pub state: String,
}

pub struct Metrics {
    /// The shared registry (`venus_rpc::observe`), also the one `/metrics` serves.
    pub registry: observe::Metrics,
    pub verify: Family<VerifyLabels, Counter>,
    pub tokens: Family<PermLabel, Gauge>,
    pub users: Family<StateLabel, Gauge>,
    pub up: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = observe::Metrics::new();
        let verify = Family::<VerifyLabels, Counter>::default();
        let tokens = Family::<PermLabel, Gauge>::default();
        let users = Family::<StateLabel, Gauge>::default();
        let up = Gauge::default();
        registry.register(
            "venus_auth_token_verify",
            "Token verifications by permission and result",
            verify.clone(),
        );
        registry.register(
            "venus_auth_tokens",
            "Registered tokens by permission",
            tokens.clone(),
        );
        registry.register(
            "venus_auth_users",
            "Users by state (1 enabled, 2 disabled)",
            users.clone(),
        );
        registry.register(
            "venus_auth_api_state",
            "1 while the API is serving",
            up.clone(),
        );
        Self {
            registry,
            verify,
            tokens,
            users,
            up,
        }
    }
}

impl Metrics {
    pub fn verified(&self, perm: &str, ok: bool) {
        let labels = VerifyLabels {
            perm: perm.to_owned(),
            result: if ok { "success" } else { "failed" },
        };
        self.verify.get_or_create(&labels).inc();
    }

    pub fn encode(&self) -> String {
        self.registry.encode()
    }
}
