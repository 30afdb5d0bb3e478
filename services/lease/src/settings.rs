//! Lease timings, and the derived ones the loop runs by (safety margin, call timeout).

use std::time::Duration;

/// Timings. Failover must complete within 10 s of the holder dying: with the defaults a
/// standby takes over at most `duration + retry_interval` (9 s) after the last renewal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseSettings {
    /// How long a renewal is valid (default 8 s).
    pub duration: Duration,
    /// How often the holder renews (default 2 s).
    pub renew_interval: Duration,
    /// How often a standby tries to acquire (default 1 s).
    pub retry_interval: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(8),
            renew_interval: Duration::from_secs(2),
            retry_interval: Duration::from_secs(1),
        }
    }
}

impl LeaseSettings {
    /// Checks that the term leaves room for at least one failed renewal:
    /// `duration >= 2 × renew_interval`, and no interval is zero.
    pub fn validate(&self) -> Result<(), String> {
        if self.renew_interval.is_zero() || self.retry_interval.is_zero() {
            return Err(format!(
                "lease renew_interval ({:?}) and retry_interval ({:?}) must be positive",
                self.renew_interval, self.retry_interval
            ));
        }
        if self.duration < self.renew_interval * 2 {
            return Err(format!(
                "lease duration ({:?}) must be at least twice renew_interval ({:?})",
                self.duration, self.renew_interval
            ));
        }
        Ok(())
    }
}

/// What the loop runs by, derived from valid settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    pub duration: Duration,
    pub renew_interval: Duration,
    pub retry_interval: Duration,
    /// How long after sending a successful renewal the term lasts: `duration − margin`, where
    /// the margin is one `renew_interval`, so the holder stops before the lease can expire.
    pub term_length: Duration,
    /// Upper bound on any one backend call; a hung API server or database is a failed call.
    pub call_timeout: Duration,
    /// How long a standby must itself watch another's Kubernetes Lease stand still before
    /// taking it (besides its timestamps having expired): longer than `term_length` by half a
    /// renew interval or more, measured from after the holder's write, so skewed clocks cannot
    /// let a standby in before the holder's term has ended.
    pub standby_watch: Duration,
}

impl Timing {
    /// Derives the timings; invalid settings are replaced by the nearest valid ones (and the
    /// reason returned, for a warning) rather than failing a running service.
    pub fn new(settings: &LeaseSettings) -> (Self, Option<String>) {
        let mut s = settings.clone();
        let problem = s.validate().err();
        if problem.is_some() {
            let floor = Duration::from_millis(100);
            s.duration = s.duration.max(floor * 4);
            if s.renew_interval.is_zero() || s.duration < s.renew_interval * 2 {
                s.renew_interval = s.duration / 4;
            }
            if s.retry_interval.is_zero() {
                s.retry_interval = s.renew_interval;
            }
        }
        let margin = s.renew_interval;
        (
            Self {
                duration: s.duration,
                renew_interval: s.renew_interval,
                retry_interval: s.retry_interval,
                term_length: s.duration - margin,
                call_timeout: s.renew_interval,
                standby_watch: s.duration - s.retry_interval.min(s.renew_interval / 2),
            },
            problem,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fail_over_within_ten_seconds() {
        let s = LeaseSettings::default();
        assert_eq!(s.validate(), Ok(()));
        let (t, problem) = Timing::new(&s);
        assert_eq!(problem, None);
        assert_eq!(t.term_length, Duration::from_secs(6));
        assert_eq!(t.standby_watch, Duration::from_secs(7));
        assert!(t.standby_watch > t.term_length);
        assert!(s.duration + s.retry_interval < Duration::from_secs(10));
    }

    #[test]
    fn invalid_settings_are_repaired_and_reported() {
        let s = LeaseSettings {
            duration: Duration::from_secs(3),
            renew_interval: Duration::from_secs(2),
            retry_interval: Duration::ZERO,
        };
        let (t, problem) = Timing::new(&s);
        assert!(problem.is_some_and(|p| p.contains("must be positive")));
        assert_eq!(t.renew_interval, Duration::from_millis(750));
        assert_eq!(t.retry_interval, Duration::from_millis(750));
        assert_eq!(t.term_length, Duration::from_millis(2250));
    }
}
