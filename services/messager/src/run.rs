//! The loops of a running messager, and how they are started:
//! - the head watcher (every instance): ChainNotify on the active node, with a poll as a
//!   safety net, publishing the newest head;
//! - the node checker (every instance): failover between the main and the extra nodes;
//! - the metrics refresher (every instance): queue sizes and ages from the database;
//! - the primary loop (the lease holder only): per head, track the chain, then after the
//!   head has been stable for a while run a selection round.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use venus_api::full_node as api;
use venus_api::messager::MessageState;
use venus_lease::Leadership;
use venus_types::{Address, HeadChangeType, TipSet};

use crate::metrics::{AddressLabels, AddressStateLabels};
use crate::pipeline::Pipeline;
use crate::service::Messager;
use crate::tracker::Tracker;

#[derive(Debug, Clone)]
pub struct LoopOptions {
    pub head_stable: Duration,
    pub node_health_interval: Duration,
    pub skip_process_head: bool,
    pub skip_push: bool,
}

/// Publishes the active node's newest head.
pub async fn watch_heads(
    m: Arc<Messager>,
    tx: watch::Sender<Option<TipSet>>,
    shutdown: CancellationToken,
) {
    let poll = (m.block_delay / 2).clamp(Duration::from_millis(500), Duration::from_secs(15));
    let publish = |head: TipSet| {
        m.head_height.store(head.height(), Ordering::Relaxed);
        tx.send_if_modified(|cur| {
            if cur.as_ref().map(TipSet::key) == Some(head.key()) {
                false
            } else {
                *cur = Some(head);
                true
            }
        });
    };
    while !shutdown.is_cancelled() {
        let node = m.nodes.active();
        let stream = match node.client().await {
            Ok(c) => c.subscribe(api::CHAIN_NOTIFY, ()).await.ok(),
            Err(_) => None,
        };
        let Some(mut stream) = stream else {
            // No channel (a node over plain HTTP, or down): poll.
            if let Ok(c) = m.nodes.client().await
                && let Ok(head) = c
                    .call_timeout(api::CHAIN_HEAD, (), Duration::from_secs(5))
                    .await
            {
                publish(head);
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        };
        loop {
            if !Arc::ptr_eq(&node, &m.nodes.active()) {
                break; // the active node changed: follow the new one
            }
            tokio::select! {
                item = stream.next() => match item {
                    Some(changes) => {
                        if let Some(last) = changes.into_iter().rfind(|c| c.change_type != HeadChangeType::Revert) {
                            publish(last.val);
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep(poll) => {
                    match node.client().await {
                        Ok(c) => match c.call_timeout(api::CHAIN_HEAD, (), Duration::from_secs(5)).await {
                            Ok(head) => publish(head),
                            Err(_) => break,
                        },
                        Err(_) => break,
                    }
                }
                _ = shutdown.cancelled() => return,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Health checks and failover; the extra nodes are re-read from the database.
pub async fn check_nodes(m: Arc<Messager>, every: Duration, shutdown: CancellationToken) {
    let mut n = 0u64;
    while !shutdown.is_cancelled() {
        if n.is_multiple_of(5) {
            match m.store.nodes().await {
                Ok(list) => m.nodes.set_extras(
                    &list
                        .into_iter()
                        .map(|x| (x.name, x.url, x.token))
                        .collect::<Vec<_>>(),
                ),
                Err(e) => tracing::warn!(error = %e, "reading the nodes table"),
            }
        }
        n += 1;
        m.nodes.check(every.max(Duration::from_secs(1)) * 2).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Queue gauges from the database.
pub async fn refresh_metrics(m: Arc<Messager>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Ok(counts) = m.store.counts().await {
            m.metrics.messages.clear();
            for (from, state, n) in counts {
                let Ok(addr) = Address::from_bytes(&from) else {
                    continue;
                };
                let st = MessageState::from_i64(state);
                m.metrics
                    .messages
                    .get_or_create(&AddressStateLabels {
                        address: addr.to_string(),
                        state: st.label().into(),
                    })
                    .set(n);
            }
        }
        if let Ok(rows) = m.store.oldest_pending().await {
            m.metrics.queue_oldest_age_seconds.clear();
            m.metrics.oldest_fill_age_epochs.clear();
            let now = crate::store::now_micros();
            let head = m.head_height.load(Ordering::Relaxed);
            for (from, oldest, fill_epoch) in rows {
                let Ok(addr) = Address::from_bytes(&from) else {
                    continue;
                };
                let l = AddressLabels {
                    address: addr.to_string(),
                };
                if let Some(t) = oldest {
                    m.metrics
                        .queue_oldest_age_seconds
                        .get_or_create(&l)
                        .set((now - t) / 1_000_000);
                }
                if let Some(e) = fill_epoch {
                    m.metrics
                        .oldest_fill_age_epochs
                        .get_or_create(&l)
                        .set((head - e).max(0));
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Waits for leadership, then works as primary until the term ends; again and again.
pub async fn primary_loop(
    m: Arc<Messager>,
    pipeline: Arc<Pipeline>,
    leadership: Leadership,
    heads: watch::Receiver<Option<TipSet>>,
    opts: LoopOptions,
    shutdown: CancellationToken,
) {
    let mut tracker = Tracker::new(m.clone());
    loop {
        let term = tokio::select! {
            t = leadership.acquired() => t,
            _ = shutdown.cancelled() => return,
        };
        tracing::info!(identity = %leadership.identity(), "primary: selecting, signing and pushing");
        tracker.reset();
        let still = {
            let term = term.clone();
            move || term.is_active()
        };
        tokio::select! {
            _ = work(&pipeline, &mut tracker, heads.clone(), &opts, &still) => {}
            _ = term.lost() => tracing::warn!("lost the lease: standing by"),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// How long a burst of accepted messages gathers before a between-heads round selects it.
const GATHER: Duration = Duration::from_millis(200);

async fn work(
    pipeline: &Pipeline,
    tracker: &mut Tracker,
    mut heads: watch::Receiver<Option<TipSet>>,
    opts: &LoopOptions,
    still: &(dyn Fn() -> bool + Sync),
) {
    heads.mark_changed();
    // The head the last round ran on (settled): new messages accepted meanwhile are selected
    // on it at once instead of waiting for the next head.
    let mut settled: Option<TipSet> = None;
    loop {
        let accepted = pipeline.messager().accepted.notified();
        tokio::select! {
            r = heads.changed() => {
                if r.is_err() {
                    return;
                }
            }
            _ = accepted, if settled.is_some() && !opts.skip_push => {
                tokio::time::sleep(GATHER).await;
                if let Some(head) = settled.as_ref()
                    && still()
                {
                    pipeline.round(head, true, still).await;
                }
                continue;
            }
        }
        let Some(mut head) = heads.borrow_and_update().clone() else {
            continue;
        };
        if !opts.skip_process_head
            && let Err(e) = tracker.process(&head).await
        {
            tracing::warn!(height = head.height(), error = %e, "tracking the chain");
        }
        if opts.skip_push {
            continue;
        }
        // Debounce: select once the head has been stable for a while.
        let mut since = Instant::now();
        while since.elapsed() < opts.head_stable {
            tokio::select! {
                _ = tokio::time::sleep(opts.head_stable.saturating_sub(since.elapsed())) => {}
                r = heads.changed() => {
                    if r.is_err() { return; }
                    let newer = heads.borrow_and_update().clone();
                    if let Some(h) = newer {
                        head = h;
                        if !opts.skip_process_head && let Err(e) = tracker.process(&head).await {
                            tracing::warn!(height = head.height(), error = %e, "tracking the chain");
                        }
                        since = Instant::now();
                    }
                }
            }
        }
        if still() {
            pipeline.round(&head, false, still).await;
            settled = Some(head);
        }
    }
}
