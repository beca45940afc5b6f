//! This process's resident memory against the budget it is meant to stay within
//! (`MEMORY_BUDGET_BYTES`), for `/api/health/detailed` and the operator console. The same
//! figures reach Prometheus as `process_resident_memory_bytes` and
//! `vitrine_memory_budget_bytes`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryReport {
    /// Resident set size; `null` where `/proc/self/status` cannot be read (not Linux).
    pub resident_bytes: Option<u64>,
    /// `null` when no budget is set (`MEMORY_BUDGET_BYTES=0`).
    pub budget_bytes: Option<u64>,
    /// resident / budget, when both are known.
    pub usage_ratio: Option<f64>,
}

/// The `VmRSS:` line of a `/proc/<pid>/status` text, in bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let n: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => n.checked_mul(1024),
        _ => None,
    }
}

/// The resident set size of this process.
pub fn resident_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .as_deref()
        .and_then(parse_vm_rss)
}

pub fn report(budget_bytes: u64) -> MemoryReport {
    let resident = resident_bytes();
    let budget = (budget_bytes > 0).then_some(budget_bytes);
    MemoryReport {
        resident_bytes: resident,
        budget_bytes: budget,
        usage_ratio: resident.zip(budget).map(|(r, b)| r as f64 / b as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmRSS:\t  1234 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("VmRSS:\t12 MB\n"), None);
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn the_ratio_needs_a_budget() {
        assert_eq!(report(0).budget_bytes, None);
        assert_eq!(report(0).usage_ratio, None);
        let r = report(1 << 40);
        assert_eq!(r.budget_bytes, Some(1 << 40));
        if cfg!(target_os = "linux") {
            assert!(r.resident_bytes.is_some_and(|b| b > 0));
            assert!(r.usage_ratio.is_some_and(|x| x > 0.0 && x < 1.0));
        }
    }
}
