//! Status computation — pure: observed facts in, `ChainServiceStatus` out. Transition times are
//! kept from the previous status when a condition's status did not change, so reconciling
//! twice in a row writes the same status (and emits no Event).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::build::Names;
use crate::component::{Component, HaMode};
use crate::crd::{ChainServiceSpec, ChainServiceStatus, ComponentsStatus, Phase};

/// What `dereference`/`apply` saw of one component.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// The StatefulSet exists.
    pub exists: bool,
    pub desired: i32,
    pub ready: i32,
    /// All pods run the current template and the controller has seen the latest spec.
    pub rolled_out: bool,
    /// Holder of the role Lease (messager, miner).
    pub primary: Option<String>,
}

impl Observed {
    /// Read readiness from a StatefulSet as the API server returned it.
    pub fn from_stateful_set(sts: &StatefulSet, primary: Option<String>) -> Self {
        let desired = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = sts.status.clone().unwrap_or_default();
        let generation_seen = match (sts.metadata.generation, st.observed_generation) {
            (Some(g), Some(o)) => o >= g,
            _ => false,
        };
        let revision_current =
            st.update_revision.is_none() || st.current_revision == st.update_revision;
        let updated = st.updated_replicas.unwrap_or(0);
        Observed {
            exists: true,
            desired,
            ready: st.ready_replicas.unwrap_or(0),
            rolled_out: generation_seen && (revision_current || updated >= desired),
            primary,
        }
    }

    /// Ready for the next component to proceed: rolled out, every replica ready, and a
    /// primary elected where the component needs one.
    pub fn is_ready(&self, mode: HaMode) -> bool {
        let primary_ok =
            mode != HaMode::PrimaryStandby || self.desired == 0 || self.primary.is_some();
        self.exists && self.rolled_out && self.ready >= self.desired && primary_ok
    }

    /// Serving at all (at least one ready pod, a primary where needed).
    pub fn is_serving(&self, mode: HaMode) -> bool {
        let primary_ok = mode != HaMode::PrimaryStandby || self.primary.is_some();
        self.exists && self.ready > 0 && primary_ok
    }
}

/// Inputs of [`compute`].
pub struct StatusInput<'a> {
    pub spec: &'a ChainServiceSpec,
    pub generation: Option<i64>,
    pub names: &'a Names,
    pub previous: Option<&'a ChainServiceStatus>,
    /// `Err(message)` when the spec was refused.
    pub validation: Result<(), String>,
    pub observed: &'a [(Component, Observed)],
    /// Component the rollout is waiting at, if any.
    pub waiting_at: Option<Component>,
    pub now: Time,
}

pub const REASON_INVALID_SPEC: &str = "InvalidSpec";

pub fn compute(input: &StatusInput) -> ChainServiceStatus {
    let mut components = ComponentsStatus::default();
    let mut conditions = Vec::new();
    let mut all_ready = true;
    let mut degraded = Vec::new();
    let mut any_serving = false;

    let cond = |type_: &str, ok: bool, reason: &str, message: String| Condition {
        type_: type_.into(),
        status: if ok { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
        observed_generation: input.generation,
        last_transition_time: input.now.clone(),
    };

    for c in Component::ALL {
        let mode = c.ha_mode(input.spec);
        let observed = input
            .observed
            .iter()
            .find(|(oc, _)| *oc == c)
            .map(|(_, o)| o.clone())
            .unwrap_or_default();
        let st = c.status_mut(&mut components);
        st.replicas = observed.desired;
        st.ready_replicas = observed.ready;
        st.primary = observed.primary.clone();
        st.endpoint = observed.exists.then(|| input.names.endpoint(c));

        let ready = observed.is_ready(mode);
        all_ready &= ready;
        any_serving |= observed.is_serving(mode);
        if observed.is_serving(mode) && observed.ready < observed.desired {
            degraded.push(format!(
                "{c}: {}/{} ready",
                observed.ready, observed.desired
            ));
        }
        let (reason, message) = if !observed.exists {
            (
                "NotCreated",
                format!("waiting for {} before creating {c}", waiting_for(c)),
            )
        } else if ready {
            (
                "Ready",
                format!("{}/{} replicas ready", observed.ready, observed.desired),
            )
        } else if mode == HaMode::PrimaryStandby
            && observed.primary.is_none()
            && observed.desired > 0
        {
            (
                "NoPrimary",
                format!("no pod holds Lease {}", input.names.lease(c)),
            )
        } else if !observed.rolled_out {
            (
                "RollingOut",
                format!("rolling out: {}/{} ready", observed.ready, observed.desired),
            )
        } else {
            (
                "NotReady",
                format!("{}/{} replicas ready", observed.ready, observed.desired),
            )
        };
        conditions.push(cond(c.condition_type(), ready, reason, message));
    }

    let phase;
    match &input.validation {
        Err(message) => {
            phase = Phase::Failed;
            conditions.push(cond("Ready", false, REASON_INVALID_SPEC, message.clone()));
            conditions.push(cond(
                "Progressing",
                false,
                REASON_INVALID_SPEC,
                "fix the spec to continue".into(),
            ));
        }
        Ok(()) => {
            let progressing = !all_ready;
            phase = if all_ready && degraded.is_empty() {
                Phase::Ready
            } else if any_serving && !degraded.is_empty() && input.waiting_at.is_none() {
                Phase::Degraded
            } else if input.observed.iter().all(|(_, o)| !o.exists) {
                Phase::Pending
            } else {
                Phase::Progressing
            };
            let ready_msg = if all_ready {
                "all components ready".to_string()
            } else {
                let not_ready: Vec<_> = Component::ALL
                    .iter()
                    .filter(|c| {
                        !input
                            .observed
                            .iter()
                            .any(|(oc, o)| oc == *c && o.is_ready(c.ha_mode(input.spec)))
                    })
                    .map(|c| c.name())
                    .collect();
                format!("not ready: {}", not_ready.join(", "))
            };
            conditions.push(cond(
                "Ready",
                all_ready,
                if all_ready {
                    "AllReady"
                } else {
                    "ComponentsNotReady"
                },
                ready_msg,
            ));
            let progress_msg = match input.waiting_at {
                Some(c) => format!("waiting for {} to be ready before {c}", waiting_for(c)),
                None if progressing => "rolling out".into(),
                None => "up to date".into(),
            };
            conditions.push(cond(
                "Progressing",
                progressing,
                if progressing {
                    "RollingOut"
                } else {
                    "UpToDate"
                },
                progress_msg,
            ));
        }
    }
    conditions.push(cond(
        "Degraded",
        !degraded.is_empty(),
        if degraded.is_empty() {
            "AllReplicasReady"
        } else {
            "ReplicasUnavailable"
        },
        if degraded.is_empty() {
            "no replica missing".into()
        } else {
            degraded.join("; ")
        },
    ));

    keep_transition_times(&mut conditions, input.previous);
    ChainServiceStatus {
        observed_generation: input.generation,
        phase: Some(phase),
        conditions,
        components,
        admin_token_secret: Some(input.names.admin_token_secret()),
    }
}

fn waiting_for(c: Component) -> String {
    let p = c.predecessors();
    if p.is_empty() {
        "nothing".into()
    } else {
        p.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
    }
}

fn keep_transition_times(conditions: &mut [Condition], previous: Option<&ChainServiceStatus>) {
    let Some(prev) = previous else { return };
    for c in conditions.iter_mut() {
        if let Some(p) = prev.conditions.iter().find(|p| p.type_ == c.type_)
            && p.status == c.status
        {
            c.last_transition_time = p.last_transition_time.clone();
        }
    }
}

/// Condition changes worth an Event: `(type, new status, reason, message)`.
pub fn transitions(
    previous: Option<&ChainServiceStatus>,
    next: &ChainServiceStatus,
) -> Vec<Condition> {
    next.conditions
        .iter()
        .filter(|c| {
            previous
                .and_then(|p| p.conditions.iter().find(|p| p.type_ == c.type_))
                .is_none_or(|p| p.status != c.status || p.reason != c.reason)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(desired: i32, primary: Option<&str>) -> Observed {
        Observed {
            exists: true,
            desired,
            ready: desired,
            rolled_out: true,
            primary: primary.map(Into::into),
        }
    }

    fn t(secs: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(secs).expect("valid timestamp"))
    }

    fn run(
        observed: &[(Component, Observed)],
        waiting_at: Option<Component>,
        previous: Option<&ChainServiceStatus>,
        validation: Result<(), String>,
    ) -> ChainServiceStatus {
        let spec = ChainServiceSpec::default();
        let names = Names::new("cs", "ns");
        compute(&StatusInput {
            spec: &spec,
            generation: Some(3),
            names: &names,
            previous,
            validation,
            observed,
            waiting_at,
            now: t(1000),
        })
    }

    fn condition<'a>(s: &'a ChainServiceStatus, type_: &str) -> &'a Condition {
        s.conditions.iter().find(|c| c.type_ == type_).expect(type_)
    }

    fn all_ready() -> Vec<(Component, Observed)> {
        vec![
            (Component::Auth, ready(1, None)),
            (Component::Gateway, ready(2, None)),
            (Component::Node, ready(2, None)),
            (Component::Messager, ready(2, Some("cs-messager-0"))),
            (Component::Miner, ready(2, Some("cs-miner-1"))),
        ]
    }

    #[test]
    fn everything_ready_is_phase_ready_with_primaries_and_endpoints() {
        let s = run(&all_ready(), None, None, Ok(()));
        assert_eq!(s.phase, Some(Phase::Ready));
        assert_eq!(condition(&s, "Ready").status, "True");
        assert_eq!(condition(&s, "Progressing").status, "False");
        assert_eq!(condition(&s, "MinerReady").status, "True");
        assert_eq!(condition(&s, "Ready").observed_generation, Some(3));
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(s.components.miner.primary.as_deref(), Some("cs-miner-1"));
        assert_eq!(
            s.components.messager.endpoint.as_deref(),
            Some("/dns/cs-messager-rw.ns.svc/tcp/39812")
        );
        assert_eq!(
            s.components.auth.endpoint.as_deref(),
            Some("http://cs-auth.ns.svc:8989")
        );
        assert_eq!(s.admin_token_secret.as_deref(), Some("cs-admin-token"));
    }

    #[test]
    fn a_lost_standby_is_degraded_and_a_missing_primary_is_not_ready() {
        let mut obs = all_ready();
        obs[1].1.ready = 1; // one gateway pod down
        let s = run(&obs, None, None, Ok(()));
        assert_eq!(s.phase, Some(Phase::Degraded));
        assert_eq!(condition(&s, "Degraded").status, "True");
        assert!(condition(&s, "Degraded").message.contains("gateway: 1/2"));

        let mut obs = all_ready();
        obs[4].1.primary = None;
        let s = run(&obs, None, None, Ok(()));
        assert_eq!(condition(&s, "MinerReady").reason, "NoPrimary");
        assert_eq!(condition(&s, "Ready").status, "False");
    }

    #[test]
    fn waiting_rollout_names_the_blocking_components() {
        let obs = vec![(
            Component::Auth,
            Observed {
                exists: true,
                desired: 1,
                ready: 0,
                rolled_out: true,
                primary: None,
            },
        )];
        let s = run(&obs, Some(Component::Gateway), None, Ok(()));
        assert_eq!(s.phase, Some(Phase::Progressing));
        assert_eq!(
            condition(&s, "Progressing").message,
            "waiting for auth to be ready before gateway"
        );
        assert_eq!(condition(&s, "NodeReady").reason, "NotCreated");
        assert_eq!(s.components.node.endpoint, None);
    }

    #[test]
    fn invalid_spec_sets_ready_false_reason_invalid_spec() {
        let s = run(
            &[],
            None,
            None,
            Err("spec.messager.replicas > 1 needs mysql".into()),
        );
        assert_eq!(s.phase, Some(Phase::Failed));
        let ready = condition(&s, "Ready");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", REASON_INVALID_SPEC)
        );
        assert!(ready.message.contains("spec.messager.replicas"));
    }

    #[test]
    fn unchanged_conditions_keep_their_transition_time_and_yield_no_events() {
        let first = run(&all_ready(), None, None, Ok(()));
        let spec = ChainServiceSpec::default();
        let names = Names::new("cs", "ns");
        let obs = all_ready();
        let second = compute(&StatusInput {
            spec: &spec,
            generation: Some(3),
            names: &names,
            previous: Some(&first),
            validation: Ok(()),
            observed: &obs,
            waiting_at: None,
            now: t(2000),
        });
        assert_eq!(first, second);
        assert!(transitions(Some(&first), &second).is_empty());
        assert_eq!(transitions(None, &first).len(), first.conditions.len());
    }

    #[test]
    fn observed_reads_a_stateful_set_mid_rollout() {
        use k8s_openapi::api::apps::v1::{StatefulSetSpec, StatefulSetStatus};
        let sts = StatefulSet {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                generation: Some(2),
                ..Default::default()
            },
            spec: Some(StatefulSetSpec {
                replicas: Some(2),
                ..Default::default()
            }),
            status: Some(StatefulSetStatus {
                observed_generation: Some(2),
                ready_replicas: Some(2),
                updated_replicas: Some(1),
                current_revision: Some("a".into()),
                update_revision: Some("b".into()),
                ..Default::default()
            }),
        };
        let o = Observed::from_stateful_set(&sts, None);
        assert!(!o.rolled_out);
        assert!(!o.is_ready(HaMode::LoadBalanced));
    }
}
