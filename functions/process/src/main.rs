//! `process`: the SQS-triggered Lambda; `process --worker [--visibility SECS] [--drain SECS]`: a
//! long-polling worker with the same code, for container hosts. SIGTERM (a container stop, an
//! ECS scale-in) or Ctrl-C stops it: no new message is taken, and a job still running after
//! `--drain` seconds (20 by default; keep it under the stop timeout) is handed back to the queue.

use std::sync::Arc;
use std::time::Duration;

use iprod_core::route::Runner;
use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    iprod_aws::logging::init();
    // One job per instance: each invocation clears the scratch directory of killed attempts,
    // which would delete a concurrent job's files. With AWS_LAMBDA_MAX_CONCURRENCY unset or 1
    // (classic Lambda; cargo lambda watch sets 1) `run_concurrent` polls one event at a time.
    if let Some(n) =
        std::env::var("AWS_LAMBDA_MAX_CONCURRENCY").ok().and_then(|v| v.trim().parse::<u32>().ok())
        && n > 1
    {
        return Err(format!(
            "AWS_LAMBDA_MAX_CONCURRENCY is {n}: the process function runs one job per instance; set the function's per-instance concurrency to 1"
        )
        .into());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let worker = args.first().map(String::as_str) == Some("--worker");
    let runner = if worker { Runner::Fleet } else { Runner::Lambda };
    let process = Arc::new(iprod_process::Process::from_env(runner).await?);
    if worker {
        let visibility = seconds_flag(&args, "--visibility", 300)?;
        let drain = seconds_flag(&args, "--drain", 20)?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            iprod_host::shutdown::requested().await;
            let _ = stop.send(true);
        });
        process.run_worker(Duration::from_secs(visibility), Duration::from_secs(drain), stopped).await;
        return Ok(());
    }
    lambda_runtime::run_concurrent(service_fn(move |event| {
        let process = process.clone();
        async move { process.handle(event).await }
    }))
    .await
}

/// `FLAG SECS` from the arguments, or `default`.
fn seconds_flag(args: &[String], flag: &str, default: u64) -> Result<u64, Error> {
    match args.iter().position(|a| a == flag) {
        Some(i) => Ok(args.get(i + 1).and_then(|v| v.parse().ok()).ok_or(format!("{flag} takes seconds"))?),
        None => Ok(default),
    }
}
