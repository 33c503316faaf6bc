//! How long finished jobs are kept: the embedded service sweeps them from SQLite after this,
//! the AWS deployment lets DynamoDB's TTL expire them.

use std::time::Duration;

/// Days a finished job is kept unless configured.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// `days` as a duration; `None` (keep forever) for 0.
pub fn retention(days: u32) -> Option<Duration> {
    (days > 0).then(|| Duration::from_secs(u64::from(days) * 86_400))
}
