//! The Kubernetes backend: a coordination.k8s.io/v1 Lease, read then created or replaced
//! with its resourceVersion (a compare-and-swap: of two racing writers, one gets 409).
//!
//! The holder renews from the object its last write returned, without reading it first: the
//! resourceVersion still makes the write a compare-and-swap (any write by someone else since
//! ours fails with 409, and the round falls back to reading), and it halves the API calls of
//! every holder at rest — one PUT per renew interval.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::time::Instant;

use crate::backend::Observed;
use crate::decision::{ChangeWatch, Decision, decide, lease_spec, released_spec};
use crate::settings::Timing;

pub(crate) struct KubeLease {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    standby_watch: Duration,
    watch: ChangeWatch,
    /// The Lease as our last successful write returned it, while we hold it.
    held: Option<Lease>,
}

impl KubeLease {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: String,
        identity: String,
        timing: &Timing,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name,
            identity,
            duration: timing.duration,
            standby_watch: timing.standby_watch,
            watch: ChangeWatch::default(),
            held: None,
        }
    }

    /// One round: take, renew or leave the Lease; says who holds it afterwards.
    pub async fn acquire_or_renew(&mut self) -> Result<Observed, kube::Error> {
        let now = Timestamp::now();
        if let Some(mut lease) = self.held.take() {
            lease.spec = Some(lease_spec(
                &self.identity,
                self.duration,
                lease.spec.as_ref(),
                now,
                false,
            ));
            match self
                .api
                .replace(&self.name, &PostParams::default(), &lease)
                .await
            {
                Ok(written) => return Ok(self.mine(written)),
                // Written by someone else since our renewal: read it and decide below.
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(lease_spec(&self.identity, self.duration, None, now, true)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(written) => Ok(self.mine(written)),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(Observed::default()),
                Err(e) => Err(e),
            };
        };
        let holder = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.clone())
            .filter(|h| !h.is_empty());
        let mut decision = decide(lease.spec.as_ref(), &self.identity, now);
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let unchanged = self.watch.unchanged_for(&version, Instant::now());
        if decision == Decision::TakeOver && holder.is_some() && unchanged < self.standby_watch {
            // Expired by its timestamps, but we have not yet watched it stand still for a
            // long enough ourselves: the clocks may disagree, so keep waiting.
            decision = Decision::Wait;
        }
        if decision == Decision::Wait {
            return Ok(Observed {
                mine: false,
                holder,
            });
        }
        lease.spec = Some(lease_spec(
            &self.identity,
            self.duration,
            lease.spec.as_ref(),
            now,
            decision == Decision::TakeOver,
        ));
        // The resourceVersion from the read makes this a compare-and-swap.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => Ok(self.mine(written)),
            // Someone else wrote first (a renewal or another takeover).
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Observed {
                mine: false,
                holder,
            }),
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up if we still hold it, so a standby takes it on its next try.
    pub async fn release(&mut self) -> Result<bool, kube::Error> {
        self.held = None;
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            return Ok(false);
        };
        let Some(spec) = lease.spec.as_ref() else {
            return Ok(false);
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        lease.spec = Some(released_spec(spec, Timestamp::now()));
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await?;
        Ok(true)
    }

    fn mine(&mut self, written: Lease) -> Observed {
        self.held = Some(written);
        Observed {
            mine: true,
            holder: Some(self.identity.clone()),
        }
    }
}
