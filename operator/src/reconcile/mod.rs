//! The reconcile pipeline, one stage per file (Stackable style), inside a finalizer:
//!
//! 1. [`fetch`] — read referenced objects (keys only) and the components' state (from the
//!    watch caches);
//! 2. validate — pure: [`crate::validate::check_references`] and [`crate::validate::validate`];
//! 3. build — pure: [`crate::build::build`];
//! 4. [`apply`] — the generated Secrets, server-side apply in deployment order (only objects
//!    whose desired content changed, plus a periodic drift resync), role labels;
//! 5. [`upgrade`] — the messager's and miner's pods replaced one at a time after a template
//!    change, standbys first, then a switchover from the primary (their StatefulSets are
//!    `OnDelete`);
//! 6. [`report`] — status, condition and role-change Events;
//!
//! and [`cleanup`] on deletion. Only fetch, apply, report and cleanup talk to the API server.

mod apply;
mod cleanup;
mod devnet;
mod fetch;
mod report;
#[cfg(test)]
mod tests;
pub mod upgrade;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use tracing::{instrument, warn};

use crate::build::{self, Names};
use crate::crd::ChainService;
use crate::error::{Error, Result};
use crate::keys::{FINALIZER, condition};
use crate::metrics::Metrics;
use crate::validate;

pub use apply::AppliedCache;
pub use fetch::live_holder;

/// Requeue while something is still rolling out or waiting.
const REQUEUE_BUSY: Duration = Duration::from_secs(15);
/// Resync when everything is ready (every change in between arrives through a watch).
pub const REQUEUE_IDLE: Duration = Duration::from_secs(600);
/// Requeue after a failure.
const REQUEUE_ERROR: Duration = Duration::from_secs(10);
/// An object whose desired content did not change is re-applied (drift correction) at most
/// this often.
pub const DRIFT_RESYNC: Duration = Duration::from_secs(1800);
/// How long a reconcile waits for the watch caches to be filled after a start.
const STORE_WAIT: Duration = Duration::from_secs(30);

/// Watch caches of the objects the controller watches anyway: reading them costs no request.
#[derive(Clone)]
pub struct Stores {
    pub stateful_sets: Store<StatefulSet>,
    pub leases: Store<Lease>,
    pub pods: Store<Pod>,
}

impl Stores {
    async fn wait_ready(&self) -> Result<()> {
        let ready = async {
            self.stateful_sets.wait_until_ready().await?;
            self.leases.wait_until_ready().await?;
            self.pods.wait_until_ready().await
        };
        match tokio::time::timeout(STORE_WAIT, ready).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(Error::CacheNotReady),
        }
    }
}

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub stores: Stores,
    /// What was applied when, per object, so an unchanged object is not re-sent.
    pub applied: Mutex<AppliedCache>,
}

impl Context {
    pub fn new(client: Client, recorder: Recorder, metrics: Arc<Metrics>, stores: Stores) -> Self {
        Context {
            client,
            recorder,
            metrics,
            stores,
            applied: Mutex::new(HashMap::new()),
        }
    }
}

#[instrument(skip_all, fields(chainservice = %cs.name_any(), namespace = cs.namespace().unwrap_or_default()))]
pub async fn reconcile(cs: Arc<ChainService>, ctx: Arc<Context>) -> Result<Action> {
    let _timer = ctx.metrics.start();
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    ctx.stores.wait_ready().await?;
    let api: Api<ChainService> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, FINALIZER, cs, |event| async {
        match event {
            FinalizerEvent::Apply(cs) => reconcile_live(&cs, &ctx).await,
            FinalizerEvent::Cleanup(cs) => cleanup::cleanup(&cs, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)))
}

/// Log, count and requeue. An invalid spec never gets here (it is a status, not an error).
pub fn error_policy(cs: Arc<ChainService>, error: &Error, ctx: Arc<Context>) -> Action {
    warn!(chainservice = %cs.name_any(), stage = error.stage(), %error, "reconcile failed");
    ctx.metrics.failed(error.stage());
    Action::requeue(REQUEUE_ERROR)
}

/// The pipeline for a ChainService that is not being deleted.
async fn reconcile_live(cs: &ChainService, ctx: &Context) -> Result<Action> {
    let ns = cs.namespace().ok_or(Error::NotNamespaced)?;
    let names = Names::new(&cs.name_any(), &ns);
    let fetched = fetch::fetch(cs, &names, &ctx.client, &ctx.stores).await?;
    let observed = apply::observe_existing(&fetched);

    if cs.spec.reconciliation_paused {
        // Nothing is changed; the status reports what is there and that it is paused.
        report::update_status(cs, ctx, &names, Ok(()), &observed, None).await?;
        return Ok(Action::requeue(REQUEUE_IDLE));
    }

    let referenced = validate::check_references(&cs.spec, &names, &fetched.lookups);
    let valid = match validate::validate(&cs.spec, &referenced) {
        Ok(v) => v,
        Err(invalid) => {
            let message = invalid.to_string();
            warn!(%message, "spec refused");
            report::update_status(cs, ctx, &names, Err(message), &observed, None).await?;
            // Nothing to retry until the spec (or a referenced object, via the resync) changes.
            return Ok(Action::requeue(REQUEUE_IDLE));
        }
    };

    let desired = build::build(cs, &valid);
    apply::ensure_secrets(cs, &names, &ctx.client, &fetched).await?;
    devnet::ensure_tokens(cs, &names, &ctx.client, fetched.devnet).await?;
    let (mut observed, waiting_at) = apply::apply_in_order(cs, ctx, &desired, &fetched).await?;
    apply::label_roles(ctx, &names, cs, &fetched.primaries).await?;
    // Only components the rollout has reached (not held back by a predecessor).
    let reached = |c: crate::component::Component| waiting_at.is_none_or(|w| c < w);
    for (c, note) in upgrade::advance(cs, ctx, &names, &fetched, reached).await? {
        if let Some((_, o)) = observed.iter_mut().find(|(oc, _)| *oc == c) {
            o.rollout = Some(note);
        }
    }
    let status = report::update_status(cs, ctx, &names, Ok(()), &observed, waiting_at).await?;

    let ready = status
        .conditions
        .iter()
        .any(|c| c.type_ == condition::READY && c.status == condition::TRUE);
    Ok(Action::requeue(if ready {
        REQUEUE_IDLE
    } else {
        REQUEUE_BUSY
    }))
}
