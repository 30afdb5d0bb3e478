//! The pure part of the Kubernetes Lease protocol: what to do with a Lease as it stands, and
//! the spec to write. No I/O, so every case is unit-tested.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::LeaseSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use tokio::time::Instant;

/// What to do with the Lease as it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// We hold it: renew.
    Renew,
    /// Free, released or expired: take it.
    TakeOver,
    /// Someone else holds a live Lease.
    Wait,
}

/// Decision from the Lease's spec, our identity and the wall-clock time.
pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> Decision {
    let Some(spec) = spec else {
        return Decision::TakeOver;
    };
    match spec.holder_identity.as_deref() {
        Some(h) if h == identity => Decision::Renew,
        None | Some("") => Decision::TakeOver,
        Some(_) => {
            let duration_us = i64::from(spec.lease_duration_seconds.unwrap_or(15)) * 1_000_000;
            let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref());
            match renewed {
                Some(t) if t.0.as_microsecond() + duration_us > now.as_microsecond() => {
                    Decision::Wait
                }
                _ => Decision::TakeOver,
            }
        }
    }
}

/// The spec we write when renewing or taking over `previous`.
pub fn lease_spec(
    identity: &str,
    duration: Duration,
    previous: Option<&LeaseSpec>,
    now: Timestamp,
    take_over: bool,
) -> LeaseSpec {
    let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(duration_seconds(duration)),
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
        ..previous.cloned().unwrap_or_default()
    }
}

/// The spec that gives the Lease up: no holder, so any candidate takes it at once.
pub fn released_spec(previous: &LeaseSpec, now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        renew_time: Some(MicroTime(now)),
        ..previous.clone()
    }
}

/// The Lease API counts whole seconds; round up so the Lease never claims less than we hold.
pub fn duration_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs.max(1)).unwrap_or(i32::MAX)
}

/// Guards a takeover against clock skew between instances: a Lease held by another counts as
/// expired only after WE have seen it unchanged for longer than the holder's term (by our
/// monotonic clock), as well as by its timestamps. The holder's term is measured from before
/// it wrote, ours from after we saw the write, so it is over before we can take over whatever
/// the wall clocks say.
#[derive(Debug, Default)]
pub struct ChangeWatch {
    last: Option<(String, Instant)>,
}

impl ChangeWatch {
    /// Records the version seen at `now`; returns how long it has been unchanged.
    pub fn unchanged_for(&mut self, version: &str, now: Instant) -> Duration {
        match &self.last {
            Some((v, since)) if v == version => now.saturating_duration_since(*since),
            _ => {
                self.last = Some((version.to_owned(), now));
                Duration::ZERO
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
            renew_time: Some(MicroTime(at(renewed))),
            ..Default::default()
        }
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("valid")
    }

    #[test]
    fn free_lease_is_taken() {
        assert_eq!(decide(None, "a", at(100)), Decision::TakeOver);
        assert_eq!(
            decide(Some(&spec("", 100)), "a", at(101)),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&LeaseSpec::default()), "a", at(101)),
            Decision::TakeOver
        );
    }

    #[test]
    fn held_by_me_is_renewed() {
        assert_eq!(decide(Some(&spec("a", 100)), "a", at(101)), Decision::Renew);
        // Even when it has expired: nobody took it, so it is still ours to renew.
        assert_eq!(decide(Some(&spec("a", 100)), "a", at(500)), Decision::Renew);
    }

    #[test]
    fn held_by_other_waits_until_expired() {
        assert_eq!(decide(Some(&spec("b", 100)), "a", at(110)), Decision::Wait);
        assert_eq!(decide(Some(&spec("b", 100)), "a", at(114)), Decision::Wait);
        assert_eq!(
            decide(Some(&spec("b", 100)), "a", at(115)),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&spec("b", 100)), "a", at(116)),
            Decision::TakeOver
        );
    }

    #[test]
    fn expiry_has_microsecond_precision() {
        let mut s = spec("b", 100);
        s.lease_duration_seconds = Some(1);
        let just_before = Timestamp::from_microsecond(100_999_999).expect("valid");
        assert_eq!(decide(Some(&s), "a", just_before), Decision::Wait);
    }

    #[test]
    fn take_over_counts_a_transition_and_renewal_keeps_acquire_time() {
        let mut prev = spec("b", 100);
        prev.lease_transitions = Some(3);
        prev.acquire_time = Some(MicroTime(at(50)));
        let d = Duration::from_secs(15);
        let taken = lease_spec("a", d, Some(&prev), at(200), true);
        assert_eq!(taken.holder_identity.as_deref(), Some("a"));
        assert_eq!(taken.lease_transitions, Some(4));
        assert_eq!(taken.acquire_time, Some(MicroTime(at(200))));
        let renewed = lease_spec("a", d, Some(&taken), at(205), false);
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(200))));
        assert_eq!(renewed.renew_time, Some(MicroTime(at(205))));
        assert_eq!(renewed.lease_transitions, Some(4));
        // A brand-new Lease starts at zero transitions.
        let created = lease_spec("a", d, None, at(1), true);
        assert_eq!(created.lease_transitions, Some(0));
    }

    #[test]
    fn release_frees_the_lease_for_anyone() {
        let released = released_spec(&spec("a", 100), at(101));
        assert_eq!(released.holder_identity, None);
        assert_eq!(decide(Some(&released), "b", at(101)), Decision::TakeOver);
    }

    #[test]
    fn duration_rounds_up_to_whole_seconds() {
        assert_eq!(duration_seconds(Duration::from_secs(8)), 8);
        assert_eq!(duration_seconds(Duration::from_millis(8_001)), 9);
        assert_eq!(duration_seconds(Duration::from_millis(10)), 1);
    }

    #[test]
    fn change_watch_measures_time_since_the_last_change() {
        let t0 = Instant::now();
        let mut w = ChangeWatch::default();
        assert_eq!(w.unchanged_for("1", t0), Duration::ZERO);
        assert_eq!(
            w.unchanged_for("1", t0 + Duration::from_secs(3)),
            Duration::from_secs(3)
        );
        assert_eq!(
            w.unchanged_for("2", t0 + Duration::from_secs(4)),
            Duration::ZERO
        );
        assert_eq!(
            w.unchanged_for("2", t0 + Duration::from_secs(5)),
            Duration::from_secs(1)
        );
    }
}
