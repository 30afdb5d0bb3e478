//! `<prefix>_lease_holder` and `<prefix>_lease_transitions_total`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Default)]
pub(crate) struct LeaseMetrics {
    /// 1 while this instance holds the lease.
    pub holder: Gauge,
    /// Acquisitions by this instance.
    pub transitions: Counter,
}

impl LeaseMetrics {
    /// Registers under `<prefix>_lease_…`; an empty prefix registers `lease_…` (for a registry
    /// that already carries the component's prefix).
    pub fn register(registry: &mut Registry, prefix: &str) -> Self {
        let m = Self::default();
        let name = |suffix: &str| {
            if prefix.is_empty() {
                suffix.to_owned()
            } else {
                format!("{prefix}_{suffix}")
            }
        };
        registry.register(
            name("lease_holder"),
            "1 while this instance holds the primary lease",
            m.holder.clone(),
        );
        // The encoder appends `_total` to counters.
        registry.register(
            name("lease_transitions"),
            "Times this instance acquired the primary lease",
            m.transitions.clone(),
        );
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(r: &Registry) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, r).expect("encodes");
        out
    }

    #[test]
    fn names_carry_the_prefix() {
        let mut r = Registry::default();
        let m = LeaseMetrics::register(&mut r, "venus_messager");
        m.holder.set(1);
        m.transitions.inc();
        let text = encode(&r);
        assert!(text.contains("venus_messager_lease_holder 1"), "{text}");
        assert!(
            text.contains("venus_messager_lease_transitions_total 1"),
            "{text}"
        );
    }

    #[test]
    fn empty_prefix_uses_the_registry_prefix() {
        let mut r = Registry::with_prefix("venus_operator");
        LeaseMetrics::register(&mut r, "");
        let text = encode(&r);
        assert!(text.contains("venus_operator_lease_holder 0"), "{text}");
    }
}
