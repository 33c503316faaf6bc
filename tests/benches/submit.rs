//! Submit throughput and latency against an embedded server on loopback with its durable SQLite
//! store (WAL, synchronous=FULL, group commit). The baseline is the same server's `/healthz`
//! round trip with the same client and concurrency, so the ratio shows what a submit costs on top
//! of plain HTTP on this machine, whatever else the machine is doing.
//!
//! `cargo bench -p iprod-tests --bench submit` (env: BENCH_SUBMITS, BENCH_CONCURRENCY).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::sync::Arc;
use std::time::{Duration, Instant};

use iprod_tests::{CopyEngine, TestServer, test_config};

struct Run {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn drive(
    total: usize,
    concurrency: usize,
    request: Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>,
) -> Run {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, request) = (client.clone(), next.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let t = Instant::now();
                let response = request(&client).send().await.expect("request sent");
                assert!(response.status().is_success(), "status {}", response.status());
                let _ = response.bytes().await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    Run {
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let total = env_or("BENCH_SUBMITS", 20_000);
    let concurrency = env_or("BENCH_CONCURRENCY", 32);
    // The server gets its own runtime (its own threads), as a separate process would.
    let server_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server =
        server_rt.block_on(TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())));
    let client_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let base = format!("http://{}/", server.address);
    // Submits go to a paused pipeline: this measures accepting a job, not running it.
    let pipeline = server_rt.block_on(async {
        let (_, body) = server.call("AddPipeline", &[("Name", "bench"), ("State", "Paused")]).await;
        body["Pipeline"]["PipelineId"].as_str().unwrap().to_owned()
    });

    let health_url = format!("{base}healthz");
    let health: Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync> =
        Arc::new(move |c| c.get(&health_url));
    let submit_base = base;
    let submit: Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync> = Arc::new(move |c| {
        c.post(&submit_base).form(&[
            ("Action", "SubmitIProductionJob"),
            ("FunctionName", "VideoH2V"),
            ("Input", "oss://media/in/clip.mp4"),
            ("Output", "oss://media/out/{source}-{timestamp}.mp4"),
            ("PipelineId", pipeline.as_str()),
            ("UserData", "{\"campaign\":\"bench\"}"),
        ])
    });

    client_rt.block_on(drive(total / 10, concurrency, health.clone())); // warm-up
    let baseline = client_rt.block_on(drive(total, concurrency, health));
    let submits = client_rt.block_on(drive(total, concurrency, submit));
    let stored: u64 =
        server_rt.block_on(server.embedded.store.state_counts()).unwrap().iter().map(|(_, n)| n).sum();
    assert_eq!(stored as usize, total, "every acknowledged submit is stored");

    println!(
        "submit benchmark: {total} requests, {concurrency} concurrent connections, loopback, SQLite WAL synchronous=FULL"
    );
    println!("{:<26} {:>12} {:>10} {:>10}", "", "req/s", "p50", "p99");
    for (name, run) in [("baseline GET /healthz", &baseline), ("SubmitIProductionJob", &submits)] {
        println!("{name:<26} {:>12.0} {:>10.2?} {:>10.2?}", run.per_second, run.p50, run.p99);
    }
    println!(
        "ratio submit/baseline: throughput {:.2}x, p50 {:.2}x, p99 {:.2}x",
        submits.per_second / baseline.per_second,
        submits.p50.as_secs_f64() / baseline.p50.as_secs_f64(),
        submits.p99.as_secs_f64() / baseline.p99.as_secs_f64()
    );
    server_rt.block_on(server.stop());
}
