//! How many jobs this machine runs at once when the configuration does not say: no more than its
//! CPUs, and no more than its memory holds at the engine's per-job budget (a container's cgroup
//! limit counts, not the host's memory).

/// The share of memory jobs may take; the rest is the service, the page cache and the system.
const JOB_SHARE: f64 = 0.8;

pub fn default_workers(job_memory: Option<u64>) -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    match (job_memory, memory_limit()) {
        (Some(per_job), Some(memory)) if per_job > 0 => workers_for(cpus, memory, per_job),
        _ => cpus,
    }
}

pub fn workers_for(cpus: usize, memory: u64, per_job: u64) -> usize {
    let fit = (memory as f64 * JOB_SHARE / per_job as f64).floor() as usize;
    cpus.min(fit).max(1)
}

/// The memory this process may use: the machine's, or its cgroup's limit when lower.
fn memory_limit() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    })?;
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find_map(|v| v.trim().parse::<u64>().ok());
    Some(cgroup.map_or(total, |limit| limit.min(total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1 << 30;

    #[test]
    fn workers_are_bounded_by_cpus_and_by_memory() {
        assert_eq!(workers_for(2, 24 * GB, 4 * GB), 2, "our machines: the CPUs bound it");
        assert_eq!(workers_for(64, 32 * GB, 4 * GB), 6, "a big CPU box with little memory");
        assert_eq!(workers_for(8, 2 * GB, 4 * GB), 1, "always at least one");
        assert!(default_workers(Some(4 * GB)) >= 1);
    }
}
