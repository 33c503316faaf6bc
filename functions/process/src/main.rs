//! `process`: the SQS-triggered Lambda; `process --worker [--visibility SECS]`: a long-polling
//! worker with the same code, for container hosts.

use std::sync::Arc;
use std::time::Duration;

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
    let process = Arc::new(iprod_process::Process::from_env().await?);
    if args.first().map(String::as_str) == Some("--worker") {
        let visibility = match args.iter().position(|a| a == "--visibility") {
            Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).ok_or("--visibility takes seconds")?,
            None => 300,
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop.send(true);
        });
        process.run_worker(Duration::from_secs(visibility), stopped).await;
        return Ok(());
    }
    lambda_runtime::run_concurrent(service_fn(move |event| {
        let process = process.clone();
        async move { process.handle(event).await }
    }))
    .await
}
