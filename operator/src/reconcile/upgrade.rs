//! `upgrade`: the operator-driven rollout of the primary/standby components (messager, miner),
//! as CloudNativePG does it. Their StatefulSets use `updateStrategy: OnDelete`, so the
//! StatefulSet controller never replaces a pod on its own; after a template change (an image
//! bump, a config change) the operator deletes the pods itself, one at a time:
//!
//! 1. every standby still on the old revision, each only once the pods before it are back and
//!    Ready on the new revision;
//! 2. then the primary — a **switchover**: deleted gracefully (SIGTERM; the service releases its
//!    Lease on the way out) only when every other pod runs the new revision and is Ready, so a
//!    standby on the new version takes the Lease at once.
//!
//! A single replica has no standby: its pod is replaced (the component has no primary until the
//! new pod takes the Lease). An updated pod that is not Ready stops the rollout — the primary
//! stays on the old version until the new one proves itself. [`plan`] is pure; [`advance`]
//! reads the watch caches and sends at most one DELETE per component and reconcile.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use tracing::{info, warn};

use super::Context;
use super::fetch::{Fetched, component_pods};
use crate::build::Names;
use crate::component::{Component, HaMode};
use crate::crd::ChainService;
use crate::error::{Error, Result};
use crate::keys::{event, reason};
use crate::status::RolloutNote;

/// The label the StatefulSet controller puts on each pod: the revision of its template.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// What the planner needs to know of one pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodState {
    pub name: String,
    /// Its template revision ([`REVISION_LABEL`]).
    pub revision: Option<String>,
    pub ready: bool,
    pub terminating: bool,
}

/// The next step of a primary/standby rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Every pod runs the update revision: nothing to delete.
    UpToDate,
    /// The StatefulSet controller has not computed the current template's revision yet.
    NotObserved,
    /// Nothing may be deleted now (the reason says what is awaited).
    Wait(String),
    /// Delete this standby: it runs the old revision.
    RollStandby(String),
    /// Every other pod runs the new revision and is Ready: stop the primary gracefully, a
    /// standby takes the Lease.
    Switchover {
        primary: String,
        standbys: Vec<String>,
    },
    /// The only replica runs the old revision: replace it (no standby to hand over to).
    ReplaceSingle(String),
}

/// The next step for one component — pure. `update_revision` is the StatefulSet's (known only
/// once its controller has seen the current generation), `replicas` its desired count,
/// `primary` the pod holding the role Lease.
pub fn plan(
    update_revision: Option<&str>,
    replicas: i32,
    pods: &[PodState],
    primary: Option<&str>,
) -> Step {
    let Some(update) = update_revision else {
        return Step::NotObserved;
    };
    // A pod without a revision label is not known to be outdated: never deleted for it.
    let outdated = |p: &PodState| p.revision.as_deref().is_some_and(|r| r != update);
    if !pods.iter().any(|p| outdated(p) && !p.terminating) {
        return Step::UpToDate;
    }
    if let Some(p) = pods.iter().find(|p| p.terminating) {
        return Step::Wait(format!("waiting for {} to stop", p.name));
    }
    let expected = usize::try_from(replicas.max(0)).unwrap_or(0);
    if pods.len() < expected {
        return Step::Wait(format!(
            "waiting for {} of {expected} pods to be recreated",
            expected - pods.len()
        ));
    }
    if let Some(p) = pods.iter().find(|p| !outdated(p) && !p.ready) {
        return Step::Wait(format!(
            "waiting for {} to be ready on the new revision",
            p.name
        ));
    }
    let is_primary = |p: &PodState| primary == Some(p.name.as_str());
    // Standbys first; a broken one (not Ready) before a serving one.
    let mut standbys: Vec<&PodState> = pods
        .iter()
        .filter(|p| outdated(p) && !is_primary(p))
        .collect();
    standbys.sort_by_key(|p| (p.ready, p.name.clone()));
    if let Some(p) = standbys.first() {
        return Step::RollStandby(p.name.clone());
    }
    // Only the primary is left on the old revision.
    let Some(old_primary) = pods.iter().find(|p| is_primary(p)) else {
        return Step::UpToDate;
    };
    let updated: Vec<String> = pods
        .iter()
        .filter(|p| !is_primary(p) && !outdated(p) && p.ready)
        .map(|p| p.name.clone())
        .collect();
    if updated.is_empty() {
        if pods.len() == 1 {
            return Step::ReplaceSingle(old_primary.name.clone());
        }
        return Step::Wait("waiting for a standby ready on the new revision".into());
    }
    Step::Switchover {
        primary: old_primary.name.clone(),
        standbys: updated,
    }
}

/// What the status says of a step (reason, message), `None` when there is nothing to say.
pub fn note(component: Component, step: &Step, updated: i32, desired: i32) -> Option<RolloutNote> {
    let progress = format!("{updated}/{desired} on the new revision");
    let (reason, message) = match step {
        Step::UpToDate | Step::NotObserved => return None,
        Step::Wait(why) => (
            reason::UPGRADING,
            format!("{component}: {why} ({progress})"),
        ),
        Step::RollStandby(pod) => (
            reason::UPGRADING_STANDBY,
            format!("{component}: updating standby {pod} first ({progress})"),
        ),
        Step::Switchover { primary, standbys } => (
            reason::SWITCHOVER,
            format!(
                "{component}: switchover from primary {primary} to the updated standby {} \
                 ({progress})",
                standbys.join(", ")
            ),
        ),
        Step::ReplaceSingle(pod) => (
            reason::UPGRADING,
            format!(
                "{component}: replacing its only pod {pod}, no standby to hand over to ({progress})"
            ),
        ),
    };
    Some(RolloutNote {
        reason: reason.into(),
        message,
    })
}

fn pod_state(pod: &Pod) -> PodState {
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    PodState {
        name: pod.name_any(),
        revision: pod.labels().get(REVISION_LABEL).cloned(),
        ready,
        terminating: pod.metadata.deletion_timestamp.is_some(),
    }
}

/// The StatefulSet's update revision once its controller has seen the current generation.
fn update_revision(sts: &StatefulSet) -> Option<&str> {
    let st = sts.status.as_ref()?;
    let seen = match (sts.metadata.generation, st.observed_generation) {
        (Some(g), Some(o)) => o >= g,
        _ => false,
    };
    seen.then_some(st.update_revision.as_deref()).flatten()
}

/// Plan and take one step for each primary/standby component the rollout has reached
/// (`reached`: not held back by a predecessor). Returns the notes for the status.
pub async fn advance(
    cs: &ChainService,
    ctx: &Context,
    names: &Names,
    fetched: &Fetched,
    reached: impl Fn(Component) -> bool,
) -> Result<Vec<(Component, RolloutNote)>> {
    let mut notes = Vec::new();
    for c in Component::ALL
        .into_iter()
        .filter(|c| c.ha_mode(&cs.spec) == HaMode::PrimaryStandby && reached(*c))
    {
        let Some(sts) = fetched.stateful_sets.get(&c) else {
            continue;
        };
        let pods = component_pods(&ctx.stores, names, c);
        let states: Vec<PodState> = pods.iter().map(|p| pod_state(p)).collect();
        let replicas = c.replicas(&cs.spec);
        let update = update_revision(sts);
        // `primaries` holds pod names (fetch maps a holder identity back to its pod).
        let step = plan(
            update,
            replicas,
            &states,
            fetched.primaries.get(&c).map(String::as_str),
        );
        let updated = states
            .iter()
            .filter(|p| update.is_some() && p.revision.as_deref() == update && !p.terminating)
            .count();
        let updated = i32::try_from(updated).unwrap_or(i32::MAX);
        if let Some(n) = note(c, &step, updated, replicas) {
            notes.push((c, n));
        }
        let (victim, event_reason, message) = match &step {
            Step::RollStandby(pod) => (
                pod,
                event::UPGRADE_STANDBY,
                format!("{c}: standby {pod} deleted to start on the new revision"),
            ),
            Step::Switchover { primary, standbys } => (
                primary,
                event::SWITCHOVER,
                format!(
                    "{c}: primary {primary} stopped gracefully; the updated standby {} takes over",
                    standbys.join(", ")
                ),
            ),
            Step::ReplaceSingle(pod) => (
                pod,
                event::UPGRADE_STANDBY,
                format!("{c}: its only pod {pod} deleted to start on the new revision"),
            ),
            Step::UpToDate | Step::NotObserved | Step::Wait(_) => continue,
        };
        let uid = pods
            .iter()
            .find(|p| p.name_any() == *victim)
            .and_then(|p| p.metadata.uid.clone());
        delete_pod(ctx, names, victim, uid.clone()).await?;
        info!(component = %c, pod = %victim, %message, "upgrade step");
        let ev = Event {
            type_: EventType::Normal,
            reason: event_reason.into(),
            note: Some(message),
            action: "Upgrade".into(),
            // Per pod, or the Recorder folds the miner's step into the messager's Event.
            secondary: Some(super::report::pod_reference(&names.namespace, victim, uid)),
        };
        if let Err(e) = ctx.recorder.publish(&ev, &cs.object_ref(&())).await {
            warn!(error = %e, "publishing event failed");
        }
    }
    Ok(notes)
}

/// Graceful delete (the pod's grace period) of exactly the pod the cache showed: a pod
/// recreated under the same name in the meantime is not touched.
async fn delete_pod(ctx: &Context, names: &Names, pod: &str, uid: Option<String>) -> Result<()> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &names.namespace);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid,
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match api.delete(pod, &params).await {
        Ok(_) => Ok(()),
        // Gone already, or replaced by a new pod of that name (uid precondition).
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(source) => Err(Error::Apply {
            object: format!("Pod/{pod} (delete for the upgrade)"),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, revision: &str, ready: bool) -> PodState {
        PodState {
            name: name.into(),
            revision: Some(revision.into()),
            ready,
            terminating: false,
        }
    }

    const NEW: Option<&str> = Some("new");

    #[test]
    fn the_standby_rolls_first_then_the_primary_hands_over() {
        let primary = Some("cs-messager-0");
        // Both on the old revision: the standby goes first, whichever ordinal it has.
        let both_old = [
            pod("cs-messager-0", "old", true),
            pod("cs-messager-1", "old", true),
        ];
        assert_eq!(
            plan(NEW, 2, &both_old, primary),
            Step::RollStandby("cs-messager-1".into())
        );
        assert_eq!(
            plan(NEW, 2, &both_old, Some("cs-messager-1")),
            Step::RollStandby("cs-messager-0".into())
        );
        // The standby is being recreated / starting: wait, never touch the primary.
        let mut stopping = both_old.clone();
        stopping[1].terminating = true;
        assert!(matches!(plan(NEW, 2, &stopping, primary), Step::Wait(_)));
        assert!(matches!(
            plan(NEW, 2, &both_old[..1], primary),
            Step::Wait(_)
        ));
        let starting = [
            pod("cs-messager-0", "old", true),
            pod("cs-messager-1", "new", false),
        ];
        assert_eq!(
            plan(NEW, 2, &starting, primary),
            Step::Wait("waiting for cs-messager-1 to be ready on the new revision".into())
        );
        // The standby is Ready on the new revision: switchover.
        let standby_done = [
            pod("cs-messager-0", "old", true),
            pod("cs-messager-1", "new", true),
        ];
        assert_eq!(
            plan(NEW, 2, &standby_done, primary),
            Step::Switchover {
                primary: "cs-messager-0".into(),
                standbys: vec!["cs-messager-1".into()]
            }
        );
        // The old primary is back as a standby on the new revision: done.
        let done = [
            pod("cs-messager-0", "new", true),
            pod("cs-messager-1", "new", true),
        ];
        assert_eq!(plan(NEW, 2, &done, Some("cs-messager-1")), Step::UpToDate);
    }

    #[test]
    fn a_broken_standby_goes_first_and_a_broken_update_stops_the_rollout() {
        let pods = [
            pod("cs-miner-0", "old", true),
            pod("cs-miner-1", "old", true),
            pod("cs-miner-2", "old", false),
        ];
        assert_eq!(
            plan(NEW, 3, &pods, Some("cs-miner-0")),
            Step::RollStandby("cs-miner-2".into())
        );
        // An updated pod that never gets Ready: nothing more is deleted, the primary stays.
        let stuck = [
            pod("cs-miner-0", "old", true),
            pod("cs-miner-1", "old", true),
            pod("cs-miner-2", "new", false),
        ];
        assert!(matches!(
            plan(NEW, 3, &stuck, Some("cs-miner-0")),
            Step::Wait(_)
        ));
    }

    #[test]
    fn without_a_primary_every_pod_is_a_standby_and_one_replica_is_replaced() {
        let pods = [
            pod("cs-miner-0", "old", true),
            pod("cs-miner-1", "old", true),
        ];
        assert_eq!(
            plan(NEW, 2, &pods, None),
            Step::RollStandby("cs-miner-0".into())
        );
        let single = [pod("cs-miner-0", "old", true)];
        assert_eq!(
            plan(NEW, 1, &single, Some("cs-miner-0")),
            Step::ReplaceSingle("cs-miner-0".into())
        );
        assert_eq!(
            plan(NEW, 1, &single, None),
            Step::RollStandby("cs-miner-0".into())
        );
    }

    #[test]
    fn nothing_happens_before_the_controller_saw_the_template_or_when_current() {
        let pods = [
            pod("cs-miner-0", "old", true),
            pod("cs-miner-1", "old", true),
        ];
        assert_eq!(plan(None, 2, &pods, Some("cs-miner-0")), Step::NotObserved);
        assert_eq!(note(Component::Miner, &Step::NotObserved, 0, 2), None);
        assert_eq!(
            plan(Some("old"), 2, &pods, Some("cs-miner-0")),
            Step::UpToDate
        );
        // A terminating pod on the old revision while every live pod is current: nothing left.
        let mut leaving = pods.clone();
        leaving[0].revision = Some("new".into());
        leaving[1].terminating = true;
        assert_eq!(plan(NEW, 2, &leaving, Some("cs-miner-0")), Step::UpToDate);
    }

    #[test]
    fn the_status_names_the_step() {
        let step = Step::Switchover {
            primary: "cs-messager-0".into(),
            standbys: vec!["cs-messager-1".into()],
        };
        let n = note(Component::Messager, &step, 1, 2).expect("a note");
        assert_eq!(n.reason, reason::SWITCHOVER);
        assert_eq!(
            n.message,
            "messager: switchover from primary cs-messager-0 to the updated standby \
             cs-messager-1 (1/2 on the new revision)"
        );
        assert_eq!(note(Component::Miner, &Step::UpToDate, 2, 2), None);
    }
}
