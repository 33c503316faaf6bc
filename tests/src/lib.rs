//! Test support: a fast, observable media engine and an in-process embedded server on loopback.
//! The engine is a test double for the algorithms only; everything around it (API, SQLite,
//! dispatcher, relay, buckets) is the real embedded service.
// Test support: a failed unwrap is a failed test, which is what it should be.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use iprod_api::{ApiState, router};
use iprod_core::ports::{MediaEngine, MediaOutput, MediaTask, Progress};
use iprod_core::{Error, FunctionName, Result};
use iprod_local::{Embedded, EmbeddedConfig};
use serde_json::{Value, json};

pub mod contract;
pub mod moto;

/// The repository's root directory.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repository").to_owned()
}

/// What the test engine does with a job, chosen by the input's file name.
/// `*fail*` → `InvalidInput.Media`; `*flaky*` → a transient error; `*hang*` → runs until
/// cancelled; otherwise copies the input to one output (three for Cover).
#[derive(Default)]
pub struct CopyEngine {
    pub delay: Duration,
    /// What `input_duration` says of every input (`None`: nothing, as for images).
    pub duration: Option<f64>,
    running: Mutex<HashMap<String, usize>>,
    max_running: Mutex<HashMap<String, usize>>,
    pub started: Mutex<Vec<String>>,
    pub processed: AtomicUsize,
}

impl CopyEngine {
    pub fn with_delay(delay: Duration) -> Self {
        Self { delay, ..Self::default() }
    }

    /// An engine whose every input lasts `seconds` (a video, as far as routing can tell).
    pub fn with_duration(seconds: f64) -> Self {
        Self { duration: Some(seconds), ..Self::default() }
    }

    /// The most jobs of each pipeline this engine ever saw running at once.
    pub fn max_running(&self) -> HashMap<String, usize> {
        self.max_running.lock().unwrap().clone()
    }

    fn enter(&self, pipeline: &str, input_name: String) {
        let mut running = self.running.lock().unwrap();
        let now = running.entry(pipeline.to_owned()).or_default();
        *now += 1;
        let mut max = self.max_running.lock().unwrap();
        let peak = max.entry(pipeline.to_owned()).or_default();
        *peak = (*peak).max(*now);
        self.started.lock().unwrap().push(input_name);
    }

    fn leave(&self, pipeline: &str) {
        *self.running.lock().unwrap().entry(pipeline.to_owned()).or_default() -= 1;
    }
}

#[async_trait]
impl MediaEngine for CopyEngine {
    async fn input_duration(&self, _function: FunctionName, _input: &std::path::Path) -> Result<Option<f64>> {
        Ok(self.duration)
    }

    async fn process(&self, task: &MediaTask, progress: &dyn Progress) -> Result<MediaOutput> {
        let original = task.outputs.input.file_name().to_owned();
        self.enter(task.pipeline_id.as_str(), original.clone());
        let outcome = self.work(task, progress, &original).await;
        self.leave(task.pipeline_id.as_str());
        self.processed.fetch_add(1, Ordering::Relaxed);
        outcome
    }
}

impl CopyEngine {
    async fn work(&self, task: &MediaTask, progress: &dyn Progress, original: &str) -> Result<MediaOutput> {
        if original.contains("hang") {
            while !progress.is_cancelled() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            return Err(Error::job_state_conflict("cancelled"));
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        progress.report(50);
        if original.contains("fail") {
            return Err(Error::invalid_input("Media", "the test input is marked as bad media"));
        }
        if original.contains("flaky") {
            return Err(Error::transient("Test", "a transient failure"));
        }
        let count = if task.function == FunctionName::Cover { 3 } else { 1 };
        let mut files = Vec::new();
        for i in 0..count {
            let out = task.work_dir.join(format!("out{i}"));
            std::fs::copy(&task.input, &out).map_err(|e| Error::internal("copy failed").with_source(e))?;
            files.push(out);
        }
        Ok(MediaOutput { files, result: json!({"Copied": count}) })
    }
}

/// An embedded service with its HTTP API on an ephemeral loopback port.
pub struct TestServer {
    pub embedded: Embedded,
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub data_root: std::path::PathBuf,
    /// Tenants' access keys: none until a test adds one (then requests must be signed).
    pub keys: Arc<iprod_local::keys::KeyStore>,
    server: tokio::task::JoinHandle<()>,
}

pub fn test_config(data_root: &std::path::Path) -> EmbeddedConfig {
    EmbeddedConfig {
        data_root: data_root.to_owned(),
        buckets: vec!["media".into(), "archive".into()],
        workers: 4,
        // The webhook receivers of these tests listen on 127.0.0.1.
        webhooks: iprod_core::notify::WebhookPolicy { allow_private: true, ..Default::default() },
        ..EmbeddedConfig::default()
    }
}

impl TestServer {
    pub async fn start(config: EmbeddedConfig, engine: Arc<dyn MediaEngine>) -> Self {
        let data_root = config.data_root.clone();
        let embedded = Embedded::start(&config, engine).await.expect("embedded service starts");
        let keys =
            Arc::new(iprod_local::keys::KeyStore::open(&data_root, None).expect("the key store opens"));
        let app = router(Arc::new(ApiState {
            service: embedded.service.clone(),
            api_token: None,
            allowed_hosts: Some(Vec::new()),
            access_keys: Some(keys.clone()),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { embedded, address, client: reqwest::Client::new(), data_root, keys, server }
    }

    /// POSTs a form with `Action` and the parameters; returns the status and the JSON body.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![("Action", action)];
        form.extend_from_slice(params);
        let response =
            self.client.post(format!("http://{}/", self.address)).form(&form).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub fn put_input(&self, key: &str, bytes: &[u8]) {
        let path = self.data_root.join("buckets/media").join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.data_root.join("buckets").join(bucket).join(key)).ok()
    }

    pub async fn submit(&self, params: &[(&str, &str)]) -> String {
        let (status, body) = self.call("SubmitIProductionJob", params).await;
        assert_eq!(status, 200, "{body}");
        body["JobId"].as_str().unwrap().to_owned()
    }

    /// Polls until the job is terminal (or panics after `timeout`).
    pub async fn wait_terminal(&self, job_id: &str, timeout: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (_, job) = self.call("QueryIProductionJob", &[("JobId", job_id)]).await;
            if matches!(job["State"].as_str(), Some("Success" | "Fail" | "Cancelled")) {
                return job;
            }
            assert!(tokio::time::Instant::now() < deadline, "job {job_id} did not finish: {job}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop(self) {
        self.server.abort();
        self.embedded.shutdown().await;
    }
}

/// Lines of a `mns://…/queues/NAME` callback file.
pub fn queue_lines(data_root: &std::path::Path, name: &str) -> Vec<Value> {
    std::fs::read_to_string(data_root.join("queues").join(format!("{name}.jsonl")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One received webhook: its headers (lowercase names) and its body.
pub type Received = (HashMap<String, String>, String);

/// A webhook receiver on loopback that records every request (headers and body).
pub struct WebhookReceiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Listens on a given loopback port (0: any free port).
    pub async fn start_on(port: u16) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let sink = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let sink = sink.clone();
                async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    sink.lock().unwrap().push((headers, body));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, received, task }
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.received.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
