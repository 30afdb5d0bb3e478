//! Status computation — pure: observed facts in, `ChainServiceStatus` out. Transition times are
//! kept from the previous status when a condition's status did not change, so reconciling
//! twice in a row writes the same status (and emits no Event).

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::build::Names;
use crate::component::{Component, HaMode};
use crate::crd::{ChainServiceSpec, ChainServiceStatus, ComponentsStatus, Phase};
use crate::keys::{condition, event, reason};

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
    /// Pods on the StatefulSet's update revision.
    pub updated: i32,
    /// A primary/standby upgrade under way (see [`crate::reconcile`]'s `upgrade`).
    pub rollout: Option<RolloutNote>,
}

/// What an operator-driven upgrade step says in the status: the reason of the component's
/// condition and of `Progressing`, and a message naming the pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolloutNote {
    pub reason: String,
    pub message: String,
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
            updated,
            rollout: None,
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
    /// `spec.reconciliationPaused`: nothing was applied, the status says so.
    pub paused: bool,
    pub now: Time,
}

pub const REASON_INVALID_SPEC: &str = reason::INVALID_SPEC;

pub fn compute(input: &StatusInput) -> ChainServiceStatus {
    let mut components = ComponentsStatus::default();
    let mut conditions = Vec::new();
    let mut all_ready = true;
    let mut degraded = Vec::new();
    let mut any_serving = false;

    let cond = |type_: &str, ok: bool, reason: &str, message: String| Condition {
        type_: type_.into(),
        status: if ok {
            condition::TRUE
        } else {
            condition::FALSE
        }
        .into(),
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
        st.updated_replicas = observed.exists.then_some(observed.updated);
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
                reason::NOT_CREATED,
                format!("waiting for {} before creating {c}", waiting_for(c)),
            )
        } else if ready {
            (
                reason::READY,
                format!("{}/{} replicas ready", observed.ready, observed.desired),
            )
        } else if let Some(note) = &observed.rollout {
            (note.reason.as_str(), note.message.clone())
        } else if mode == HaMode::PrimaryStandby
            && observed.primary.is_none()
            && observed.desired > 0
        {
            (
                reason::NO_PRIMARY,
                format!("no pod holds Lease {}", input.names.lease(c)),
            )
        } else if !observed.rolled_out {
            (
                reason::ROLLING_OUT,
                format!("rolling out: {}/{} ready", observed.ready, observed.desired),
            )
        } else {
            (
                reason::NOT_READY,
                format!("{}/{} replicas ready", observed.ready, observed.desired),
            )
        };
        conditions.push(cond(c.condition_type(), ready, reason, message));
    }

    let phase;
    match &input.validation {
        Err(message) => {
            phase = Phase::Failed;
            conditions.push(cond(
                condition::READY,
                false,
                REASON_INVALID_SPEC,
                message.clone(),
            ));
            conditions.push(cond(
                condition::PROGRESSING,
                false,
                REASON_INVALID_SPEC,
                "fix the spec to continue".into(),
            ));
        }
        Ok(()) => {
            let upgrading: Vec<&RolloutNote> = input
                .observed
                .iter()
                .filter_map(|(_, o)| o.rollout.as_ref())
                .collect();
            let progressing = !all_ready || !upgrading.is_empty();
            phase = if all_ready && degraded.is_empty() && upgrading.is_empty() {
                Phase::Ready
            } else if !upgrading.is_empty() {
                Phase::Progressing
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
                condition::READY,
                all_ready,
                if all_ready {
                    reason::ALL_READY
                } else {
                    reason::COMPONENTS_NOT_READY
                },
                ready_msg,
            ));
            let mut progress_msg = match input.waiting_at {
                Some(c) => format!("waiting for {} to be ready before {c}", waiting_for(c)),
                None if progressing => "rolling out".into(),
                None => "up to date".into(),
            };
            // An upgrade step says where it is (a GitOps tool shows this message).
            let progress_reason = match upgrading.first() {
                Some(first) => {
                    let steps: Vec<&str> = upgrading.iter().map(|n| n.message.as_str()).collect();
                    progress_msg = match input.waiting_at {
                        Some(_) => format!("{}; {progress_msg}", steps.join("; ")),
                        None => steps.join("; "),
                    };
                    first.reason.as_str()
                }
                None if progressing => reason::ROLLING_OUT,
                None => reason::UP_TO_DATE,
            };
            if input.paused {
                conditions.push(cond(
                    condition::PROGRESSING,
                    false,
                    reason::PAUSED,
                    "spec.reconciliationPaused is true: no change is applied".into(),
                ));
            } else {
                conditions.push(cond(
                    condition::PROGRESSING,
                    progressing,
                    progress_reason,
                    progress_msg,
                ));
            }
        }
    }
    conditions.push(cond(
        condition::DEGRADED,
        !degraded.is_empty(),
        if degraded.is_empty() {
            reason::ALL_REPLICAS_READY
        } else {
            reason::REPLICAS_UNAVAILABLE
        },
        if degraded.is_empty() {
            "no replica missing".into()
        } else {
            degraded.join("; ")
        },
    ));

    conditions.push(if input.paused {
        cond(
            condition::RECONCILIATION_PAUSED,
            true,
            reason::PAUSED,
            "spec.reconciliationPaused is true: the operator changes nothing until it is false"
                .into(),
        )
    } else {
        cond(
            condition::RECONCILIATION_PAUSED,
            false,
            reason::RUNNING,
            "reconciling".into(),
        )
    });

    keep_transition_times(&mut conditions, input.previous);
    ChainServiceStatus {
        observed_generation: input.generation,
        phase: Some(phase),
        conditions,
        components,
        admin_token_secret: Some(input.names.admin_token_secret()),
        // The head reader's (crate::chain_head); kept so an unchanged status compares equal.
        chain: input.previous.and_then(|p| p.chain.clone()),
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

/// A change of a primary/standby component's primary between two statuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleChange {
    pub component: Component,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl RoleChange {
    /// Event reason: elected (none → pod), failover (pod → other pod), lost (pod → none).
    pub fn event_reason(&self) -> &'static str {
        match (&self.from, &self.to) {
            (Some(_), Some(_)) => event::FAILOVER,
            (None, _) => event::PRIMARY_ELECTED,
            (Some(_), None) => event::PRIMARY_LOST,
        }
    }

    pub fn message(&self) -> String {
        let c = self.component;
        match (&self.from, &self.to) {
            (Some(a), Some(b)) => format!("{c} primary moved from {a} to {b}"),
            (None, Some(b)) => format!("{c} primary is {b}"),
            (Some(a), None) => format!("{c} has no primary: {a} stopped holding the Lease"),
            (None, None) => format!("{c} has no primary"),
        }
    }
}

/// Primaries that changed from `previous` to `next` (messager, miner).
pub fn role_changes(
    previous: Option<&ChainServiceStatus>,
    next: &ChainServiceStatus,
) -> Vec<RoleChange> {
    [Component::Messager, Component::Miner]
        .into_iter()
        .filter_map(|c| {
            let from = previous.and_then(|p| c.status(&p.components).primary.clone());
            let to = c.status(&next.components).primary.clone();
            (from != to).then_some(RoleChange {
                component: c,
                from,
                to,
            })
        })
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
            updated: desired,
            rollout: None,
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
            paused: false,
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
                updated: 1,
                rollout: None,
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
    fn paused_says_so_and_stops_progressing() {
        let spec = ChainServiceSpec::default();
        let names = Names::new("cs", "ns");
        let obs = all_ready();
        let s = compute(&StatusInput {
            spec: &spec,
            generation: Some(3),
            names: &names,
            previous: None,
            validation: Ok(()),
            observed: &obs[..2],
            waiting_at: Some(Component::Node),
            paused: true,
            now: t(1000),
        });
        let paused = condition(&s, condition::RECONCILIATION_PAUSED);
        assert_eq!(
            (paused.status.as_str(), paused.reason.as_str()),
            ("True", "Paused")
        );
        let progressing = condition(&s, condition::PROGRESSING);
        assert_eq!(
            (progressing.status.as_str(), progressing.reason.as_str()),
            ("False", "Paused")
        );
        let running = run(&all_ready(), None, None, Ok(()));
        assert_eq!(
            condition(&running, condition::RECONCILIATION_PAUSED).status,
            "False"
        );
    }

    #[test]
    fn role_changes_name_the_component_and_the_pods() {
        let mut a = run(&all_ready(), None, None, Ok(()));
        let b = a.clone();
        assert!(role_changes(Some(&a), &b).is_empty());
        a.components.miner.primary = Some("cs-miner-0".into());
        let changes = role_changes(Some(&a), &b);
        assert_eq!(
            changes,
            [RoleChange {
                component: Component::Miner,
                from: Some("cs-miner-0".into()),
                to: Some("cs-miner-1".into()),
            }]
        );
        assert_eq!(changes[0].event_reason(), event::FAILOVER);
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
            paused: false,
            now: t(2000),
        });
        assert_eq!(first, second);
        assert!(transitions(Some(&first), &second).is_empty());
        // The head the reader wrote survives a reconcile's status.
        let mut with_head = first.clone();
        with_head.chain = Some(crate::crd::ChainStatus {
            head_height: Some(42),
            head_time: None,
        });
        let third = compute(&StatusInput {
            spec: &spec,
            generation: Some(3),
            names: &names,
            previous: Some(&with_head),
            validation: Ok(()),
            observed: &obs,
            waiting_at: None,
            paused: false,
            now: t(3000),
        });
        assert_eq!(third, with_head);
        assert_eq!(transitions(None, &first).len(), first.conditions.len());
    }

    #[test]
    fn an_upgrade_step_is_progressing_with_its_reason_and_message() {
        let mut obs = all_ready();
        obs[3].1.rolled_out = false;
        obs[3].1.updated = 1;
        obs[3].1.rollout = Some(RolloutNote {
            reason: reason::SWITCHOVER.into(),
            message: "messager: switchover from primary cs-messager-0 to the updated standby \
                      cs-messager-1 (1/2 on the new revision)"
                .into(),
        });
        let s = run(&obs, Some(Component::Miner), None, Ok(()));
        assert_eq!(s.phase, Some(Phase::Progressing));
        let progressing = condition(&s, condition::PROGRESSING);
        assert_eq!(
            (progressing.status.as_str(), progressing.reason.as_str()),
            ("True", reason::SWITCHOVER)
        );
        assert!(
            progressing
                .message
                .starts_with("messager: switchover from primary cs-messager-0"),
            "{}",
            progressing.message
        );
        assert_eq!(condition(&s, "MessagerReady").reason, reason::SWITCHOVER);
        assert_eq!(s.components.messager.updated_replicas, Some(1));
        assert_eq!(condition(&s, "Ready").status, "False");
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
