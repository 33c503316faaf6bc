//! The embedded service with the test engine, as its own process, so crash tests can `kill -9`
//! a real server. Settings come from the environment:
//! `IPROD_TEST_DATA_ROOT` (required), `IPROD_TEST_DELAY_MS`, `IPROD_TEST_MAX_ATTEMPTS`.
//! Prints `listening <addr>` once ready.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use iprod_tests::{CopyEngine, test_config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let root = std::env::var("IPROD_TEST_DATA_ROOT").context("IPROD_TEST_DATA_ROOT is required")?;
    let delay: u64 = std::env::var("IPROD_TEST_DELAY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut config = test_config(std::path::Path::new(&root));
    config.lease_secs = 3;
    if let Some(n) = std::env::var("IPROD_TEST_MAX_ATTEMPTS").ok().and_then(|v| v.parse().ok()) {
        config.max_attempts = n;
    }
    let embedded =
        iprod_local::Embedded::start(&config, Arc::new(CopyEngine::with_delay(Duration::from_millis(delay))))
            .await?;
    let app = iprod_api::router(Arc::new(iprod_api::ApiState {
        service: embedded.service.clone(),
        api_token: None,
        allowed_hosts: Some(Vec::new()),
        access_keys: None,
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
