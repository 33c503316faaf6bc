//! Logs for CloudWatch: one line per event, no ANSI colours, no timestamp (CloudWatch adds its
//! own), level from `RUST_LOG` (default `info`).

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).without_time().try_init();
}
