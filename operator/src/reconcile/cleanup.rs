//! `cleanup` on deletion: owned objects go with the ChainService (owner references). PVCs
//! follow the retention policy; with `whenDeleted: Delete` they are deleted here too, for
//! clusters where the StatefulSet PVC auto-deletion is unavailable — one by one, and only the
//! claims the StatefulSets' templates made (`data-<cs>-<component>-<ordinal>`, with the
//! component's selector labels): a PVC that merely carries the instance label is left alone
//! and reported.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use tracing::{info, warn};

use super::Context;
use crate::component::Component;
use crate::crd::{ChainService, RetentionAction};
use crate::error::{Error, Result};
use crate::keys::{event, label};

/// Whether a PVC is one of this instance's data volumes — pure.
pub fn is_data_volume(instance: &str, pvc: &PersistentVolumeClaim) -> bool {
    let name = pvc.name_any();
    let labels = pvc.labels();
    Component::ALL.iter().any(|c| {
        let Some(ordinal) = name.strip_prefix(&format!("data-{instance}-{}-", c.name())) else {
            return false;
        };
        !ordinal.is_empty()
            && ordinal.bytes().all(|b| b.is_ascii_digit())
            && labels.get(label::INSTANCE).map(String::as_str) == Some(instance)
            && labels.get(label::COMPONENT).map(String::as_str) == Some(c.name())
            && labels.get(label::NAME).map(String::as_str) == Some(c.binary())
    })
}

pub async fn cleanup(cs: &ChainService, ctx: &Context) -> Result<Action> {
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    let instance = cs.name_any();
    let mut skipped = Vec::new();
    if cs.spec.storage.retention.when_deleted == RetentionAction::Delete {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
        let selector = format!("{}={instance}", label::INSTANCE);
        let list = pvcs
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(Error::Cleanup)?;
        for pvc in list {
            let name = pvc.name_any();
            if !is_data_volume(&instance, &pvc) {
                skipped.push(name);
                continue;
            }
            match pvcs.delete(&name, &DeleteParams::default()).await {
                Ok(_) => info!(pvc = %name, "deleted (whenDeleted: Delete)"),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(Error::Cleanup(e)),
            }
        }
    }
    super::apply::forget(ctx, cs);
    let volumes = match cs.spec.storage.retention.when_deleted {
        RetentionAction::Retain => "kept (retention Retain)".to_string(),
        RetentionAction::Delete if skipped.is_empty() => "deleted".to_string(),
        RetentionAction::Delete => format!(
            "deleted; left alone, not this instance's data volumes: {}",
            skipped.join(", ")
        ),
    };
    let event = Event {
        type_: if skipped.is_empty() {
            EventType::Normal
        } else {
            EventType::Warning
        },
        reason: event::DELETED.into(),
        note: Some(format!("chain service removed; volumes {volumes}")),
        action: "Cleanup".into(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder.publish(&event, &cs.object_ref(&())).await {
        warn!(error = %e, "publishing event failed");
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn pvc(name: &str, labels: &[(&str, &str)]) -> PersistentVolumeClaim {
        let mut p = PersistentVolumeClaim::default();
        p.metadata.name = Some(name.into());
        p.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect::<BTreeMap<_, _>>(),
        );
        p
    }

    #[test]
    fn only_the_templates_claims_are_data_volumes() {
        let own = [
            (label::INSTANCE, "cs"),
            (label::COMPONENT, "node"),
            (label::NAME, "venus"),
        ];
        assert!(is_data_volume("cs", &pvc("data-cs-node-0", &own)));
        assert!(is_data_volume("cs", &pvc("data-cs-node-12", &own)));
        // Someone else's claim with the same instance label.
        assert!(!is_data_volume(
            "cs",
            &pvc("postgres-data", &[(label::INSTANCE, "cs")])
        ));
        // Right shape, wrong labels; another instance whose name starts alike.
        assert!(!is_data_volume(
            "cs",
            &pvc("data-cs-node-0", &[(label::INSTANCE, "cs")])
        ));
        assert!(!is_data_volume("cs", &pvc("data-cs-node-x", &own)));
        assert!(!is_data_volume("cs-2", &pvc("data-cs-node-0", &own)));
    }
}
