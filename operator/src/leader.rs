//! Leader election for running two operator replicas: a coordination.k8s.io/v1 Lease, taken
//! when free or expired, renewed every `retry` and given up by exiting. kube 5 has no lease
//! helper; this loop is the whole protocol (optimistic concurrency via resourceVersion).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tracing::{info, warn};

#[derive(Clone, Debug)]
pub struct LeaderConfig {
    pub lease_name: String,
    pub namespace: String,
    pub identity: String,
    pub lease_duration: Duration,
    /// How often to renew / retry (a third of the duration by default).
    pub retry: Duration,
}

/// What to do with the Lease as it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// We hold it: renew.
    Renew,
    /// Free or expired: take it.
    TakeOver,
    /// Someone else holds a live Lease.
    Wait,
}

/// Pure decision from the Lease's spec, our identity and the time.
pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else {
        return Decision::TakeOver;
    };
    match spec.holder_identity.as_deref() {
        Some(h) if h == identity => Decision::Renew,
        None | Some("") => Decision::TakeOver,
        Some(_) => {
            let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
            let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref());
            match renewed {
                Some(t) if t.0.as_second() + duration > now.as_second() => Decision::Wait,
                _ => Decision::TakeOver,
            }
        }
    }
}

fn lease_spec(
    cfg: &LeaderConfig,
    previous: Option<&LeaseSpec>,
    now: Timestamp,
    take_over: bool,
) -> LeaseSpec {
    let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(cfg.identity.clone()),
        lease_duration_seconds: Some(i32::try_from(cfg.lease_duration.as_secs()).unwrap_or(15)),
        acquire_time: if take_over {
            Some(MicroTime(now))
        } else {
            previous
                .and_then(|p| p.acquire_time.clone())
                .or(Some(MicroTime(now)))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if take_over && previous.is_some() {
            transitions + 1
        } else {
            transitions
        }),
        ..Default::default()
    }
}

/// One round: `Ok(true)` when we hold the Lease afterwards.
pub async fn try_acquire_or_renew(
    api: &Api<Lease>,
    cfg: &LeaderConfig,
) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let current = api.get_opt(&cfg.lease_name).await?;
    let Some(mut lease) = current else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(cfg.lease_name.clone()),
                ..Default::default()
            },
            spec: Some(lease_spec(cfg, None, now, true)),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        };
    };
    let decision = decide(lease.spec.as_ref(), &cfg.identity, now);
    if decision == Decision::Wait {
        return Ok(false);
    }
    // resourceVersion from the read makes this a compare-and-swap.
    lease.spec = Some(lease_spec(
        cfg,
        lease.spec.as_ref(),
        now,
        decision == Decision::TakeOver,
    ));
    match api
        .replace(&cfg.lease_name, &PostParams::default(), &lease)
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Block until this replica holds the Lease.
pub async fn acquire(api: &Api<Lease>, cfg: &LeaderConfig) {
    info!(lease = %cfg.lease_name, namespace = %cfg.namespace, identity = %cfg.identity, "waiting for leadership");
    loop {
        match try_acquire_or_renew(api, cfg).await {
            Ok(true) => {
                info!(identity = %cfg.identity, "became leader");
                return;
            }
            Ok(false) => {}
            Err(e) => warn!(error = %e, "leader lease request failed"),
        }
        tokio::time::sleep(cfg.retry).await;
    }
}

/// Renew until the Lease is lost (another holder, or no successful renewal within the lease
/// duration); then return so the process can exit before a new leader acts.
pub async fn hold(api: &Api<Lease>, cfg: &LeaderConfig) -> String {
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(cfg.retry).await;
        match try_acquire_or_renew(api, cfg).await {
            Ok(true) => last_ok = tokio::time::Instant::now(),
            Ok(false) => return "another replica holds the leader lease".into(),
            Err(e) => {
                warn!(error = %e, "renewing leader lease failed");
                // Stop before the Lease can expire under us.
                if last_ok.elapsed() + cfg.retry >= cfg.lease_duration {
                    return format!("could not renew the leader lease: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: &str, renewed: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed).expect("valid"))),
            ..Default::default()
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("valid")
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(None, "a", at(100)), Decision::TakeOver);
        assert_eq!(decide(Some(&spec("a", 100)), "a", at(101)), Decision::Renew);
        assert_eq!(decide(Some(&spec("b", 100)), "a", at(110)), Decision::Wait);
        assert_eq!(
            decide(Some(&spec("b", 100)), "a", at(116)),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&spec("", 100)), "a", at(101)),
            Decision::TakeOver
        );
    }

    #[test]
    fn take_over_counts_a_transition_and_renewal_keeps_acquire_time() {
        let cfg = LeaderConfig {
            lease_name: "l".into(),
            namespace: "ns".into(),
            identity: "a".into(),
            lease_duration: Duration::from_secs(15),
            retry: Duration::from_secs(5),
        };
        let mut prev = spec("b", 100);
        prev.lease_transitions = Some(3);
        prev.acquire_time = Some(MicroTime(at(50)));
        let taken = lease_spec(&cfg, Some(&prev), at(200), true);
        assert_eq!(taken.lease_transitions, Some(4));
        assert_eq!(taken.acquire_time, Some(MicroTime(at(200))));
        let renewed = lease_spec(&cfg, Some(&taken), at(205), false);
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(200))));
        assert_eq!(renewed.renew_time, Some(MicroTime(at(205))));
        assert_eq!(renewed.lease_transitions, Some(4));
    }
}
