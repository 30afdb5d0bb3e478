//! The standard Prometheus `process_*` metrics (memory, file handles, CPU, threads) read from
//! `/proc/self` at scrape time, so every service's memory and handle use can be graphed and
//! alerted on without a sidecar. Names and units are the Prometheus client libraries' own.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// Linux's USER_HZ, the unit of the CPU times in `/proc/self/stat`; it is 100 on every
/// architecture Linux exposes to user space.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// The collector registered in every service's registry (see `observe::Metrics`).
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// One reading of `/proc/self`; a field is `None` where the kernel did not say.
#[derive(Debug, Default, PartialEq)]
pub struct ProcessSample {
    pub resident_memory_bytes: Option<u64>,
    pub virtual_memory_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    pub cpu_seconds: Option<f64>,
    pub threads: Option<u64>,
}

impl ProcessSample {
    /// Reads `/proc/self`; on a system without it every field is `None`.
    pub fn read() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as u64);
        Self {
            resident_memory_bytes: status_kib(&status, "VmRSS:").map(|k| k * 1024),
            virtual_memory_bytes: status_kib(&status, "VmSize:").map(|k| k * 1024),
            open_fds,
            max_fds: max_open_files(&limits),
            cpu_seconds: cpu_seconds(&stat),
            threads: status_kib(&status, "Threads:"),
        }
    }
}

/// A `Key:   123 kB` (or plain number) line of `/proc/self/status`.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// utime + stime of `/proc/self/stat`, in seconds. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted after its closing parenthesis.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15 (1-based, man 5 proc).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / CLOCK_TICKS_PER_SECOND)
}

impl prometheus_client::collector::Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = ProcessSample::read();
        let mut gauge = |name: &str, help: &str, unit: Option<&Unit>, v: Option<u64>| {
            if let Some(v) = v {
                let m = encoder.encode_descriptor(name, help, unit, MetricType::Gauge)?;
                ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX)).encode(m)?;
            }
            Ok::<(), std::fmt::Error>(())
        };
        gauge(
            "process_resident_memory",
            "Resident memory size",
            Some(&Unit::Bytes),
            s.resident_memory_bytes,
        )?;
        gauge(
            "process_virtual_memory",
            "Virtual memory size",
            Some(&Unit::Bytes),
            s.virtual_memory_bytes,
        )?;
        gauge(
            "process_open_fds",
            "Number of open file descriptors",
            None,
            s.open_fds,
        )?;
        gauge(
            "process_max_fds",
            "Maximum number of open file descriptors",
            None,
            s.max_fds,
        )?;
        gauge("process_threads", "Number of OS threads", None, s.threads)?;
        if let Some(cpu) = s.cpu_seconds {
            let m = encoder.encode_descriptor(
                "process_cpu",
                "Total user and system CPU time spent",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?;
            ConstCounter::new(cpu).encode(m)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_proc_files() {
        let status = "Name:\tvenus\nVmSize:\t  204800 kB\nVmRSS:\t   10240 kB\nThreads:\t7\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(status, "VmSize:"), Some(204800));
        assert_eq!(status_kib(status, "Threads:"), Some(7));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        // A command name with spaces and a parenthesis must not shift the fields.
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 7 0 1 2 3";
        assert_eq!(cpu_seconds(stat), Some(4.0));
    }

    #[test]
    fn reads_this_process() {
        let s = ProcessSample::read();
        assert!(
            s.resident_memory_bytes.is_some_and(|b| b > 1024 * 1024),
            "{s:?}"
        );
        assert!(s.open_fds.is_some_and(|n| n >= 3), "{s:?}");
        assert!(s.threads.is_some_and(|n| n >= 1), "{s:?}");
        assert!(s.cpu_seconds.is_some(), "{s:?}");
    }
}
