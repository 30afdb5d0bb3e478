//! `report` (update_status): the status by server-side apply — written only when it changed —
//! and Kubernetes Events for condition transitions, role changes and failovers.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{info, warn};

use super::Context;
use crate::build::Names;
use crate::component::Component;
use crate::crd::{ChainService, ChainServiceStatus};
use crate::error::{Error, Result};
use crate::keys::{MANAGER, condition, reason};
use crate::status::{self, Observed, StatusInput};

pub async fn update_status(
    cs: &ChainService,
    ctx: &Context,
    names: &Names,
    validation: Result<(), String>,
    observed: &[(Component, Observed)],
    waiting_at: Option<Component>,
) -> Result<ChainServiceStatus> {
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    let next = status::compute(&StatusInput {
        spec: &cs.spec,
        generation: cs.metadata.generation,
        names,
        previous: cs.status.as_ref(),
        validation,
        observed,
        waiting_at,
        paused: cs.spec.reconciliation_paused,
        now,
    });
    for event in events(cs.status.as_ref(), &next, &names.namespace) {
        // An Event that cannot be written must not block the rollout.
        if let Err(e) = ctx.recorder.publish(&event, &cs.object_ref(&())).await {
            warn!(error = %e, "publishing event failed");
        }
    }
    if cs.status.as_ref() != Some(&next) {
        let api: Api<ChainService> = Api::namespaced(ctx.client.clone(), &names.namespace);
        let patch = json!({
            "apiVersion": ChainService::api_version(&()),
            "kind": ChainService::kind(&()),
            "status": without_chain(&next),
        });
        api.patch_status(
            &cs.name_any(),
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(Error::UpdateStatus)?;
    }
    Ok(next)
}

/// The status as the reconcile applies it: `chain` belongs to the head reader's field manager
/// ([`crate::chain_head`]), so leaving it out neither claims nor removes it.
pub fn without_chain(status: &ChainServiceStatus) -> ChainServiceStatus {
    ChainServiceStatus {
        chain: None,
        ..status.clone()
    }
}

/// The Events a status change deserves — pure.
pub fn events(
    previous: Option<&ChainServiceStatus>,
    next: &ChainServiceStatus,
    namespace: &str,
) -> Vec<Event> {
    let mut out = Vec::new();
    for change in status::transitions(previous, next) {
        let warning = change.reason == reason::INVALID_SPEC
            || (change.type_ == condition::DEGRADED && change.status == condition::TRUE);
        out.push(Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: format!(
                "{}{}",
                change.type_,
                if change.status == condition::TRUE {
                    ""
                } else {
                    "False"
                }
            ),
            note: Some(truncate(
                &format!("{}: {}", change.reason, change.message),
                1000,
            )),
            // The condition's own reason as the action: the Recorder folds Events of one
            // reason and action into a series that keeps the first one's note, and a condition
            // moving between two reasons of one status is news, not a repeat.
            action: change.reason.clone(),
            secondary: None,
        });
    }
    for change in status::role_changes(previous, next) {
        let message = change.message();
        info!(component = %change.component, %message, "role change");
        out.push(Event {
            // A primary lost is worth a look; an election or failover is the system working.
            type_: if change.to.is_none() {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: change.event_reason().into(),
            note: Some(message),
            action: "Failover".into(),
            // The pod keeps the messager's and the miner's role changes apart: the Recorder
            // folds Events of one reason, action and `related` object into a series that
            // keeps the first one's note.
            secondary: change
                .to
                .as_deref()
                .or(change.from.as_deref())
                .map(|pod| pod_reference(namespace, pod, None)),
        });
    }
    out
}

/// The `related` object of an Event about one pod.
pub fn pod_reference(namespace: &str, pod: &str, uid: Option<String>) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(pod.into()),
        namespace: Some(namespace.into()),
        uid,
        ..ObjectReference::default()
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::event;

    fn with_primaries(messager: Option<&str>, miner: Option<&str>) -> ChainServiceStatus {
        let mut s = ChainServiceStatus::default();
        s.components.messager.primary = messager.map(Into::into);
        s.components.miner.primary = miner.map(Into::into);
        s
    }

    #[test]
    fn failover_election_and_loss_are_events() {
        let before = with_primaries(Some("cs-messager-0"), None);
        let after = with_primaries(Some("cs-messager-1"), Some("cs-miner-0"));
        let ev = events(Some(&before), &after, "ns");
        let failover = ev
            .iter()
            .find(|e| e.reason == event::FAILOVER)
            .expect("failover event");
        assert_eq!(
            failover.note.as_deref(),
            Some("messager primary moved from cs-messager-0 to cs-messager-1")
        );
        let related = failover.secondary.as_ref().expect("the new primary's pod");
        assert_eq!(
            (related.kind.as_deref(), related.name.as_deref()),
            (Some("Pod"), Some("cs-messager-1"))
        );
        assert_eq!(related.namespace.as_deref(), Some("ns"));
        assert!(ev.iter().any(|e| e.reason == event::PRIMARY_ELECTED
            && e.note.as_deref() == Some("miner primary is cs-miner-0")));

        let lost = events(
            Some(&after),
            &with_primaries(Some("cs-messager-1"), None),
            "ns",
        );
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].reason, event::PRIMARY_LOST);
        assert_eq!(lost[0].type_, EventType::Warning);
        assert!(
            events(Some(&after), &after, "ns").is_empty(),
            "no change, no event"
        );
    }
}
