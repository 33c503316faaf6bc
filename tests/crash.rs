//! `kill -9` of a real server process: running jobs are re-queued on restart (the attempt is
//! counted), a job whose worker is lost too often fails with a code, and a callback written
//! before the crash is still delivered, once.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use iprod_tests::{WebhookReceiver, queue_lines};
use serde_json::Value;

struct ServerProcess {
    child: Child,
    base: String,
}

fn start(data_root: &std::path::Path, delay_ms: u64, max_attempts: u32) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iprod-test-server"))
        .env("IPROD_TEST_DATA_ROOT", data_root)
        .env("IPROD_TEST_DELAY_MS", delay_ms.to_string())
        .env("IPROD_TEST_MAX_ATTEMPTS", max_attempts.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("test server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    ServerProcess { child, base: format!("http://{address}/") }
}

impl ServerProcess {
    fn kill9(mut self) {
        // SIGKILL: no shutdown code runs, exactly like a crash.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn call(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let mut form = vec![("Action", action)];
        form.extend_from_slice(params);
        reqwest::Client::new().post(&self.base).form(&form).send().await.unwrap().json().await.unwrap()
    }

    async fn wait_for(&self, job_id: &str, states: &[&str]) -> Value {
        self.wait_until(job_id, |job| states.contains(&job["State"].as_str().unwrap_or(""))).await
    }

    async fn wait_until(&self, job_id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let job = self.call("QueryIProductionJob", &[("JobId", job_id)]).await;
            if done(&job) {
                return job;
            }
            assert!(tokio::time::Instant::now() < deadline, "job never got there: {job}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn put(root: &std::path::Path, key: &str) {
    let path = root.join("buckets/media").join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, b"video bytes").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_running_at_a_crash_is_requeued_and_completes_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "in/long.mp4");
    let server = start(dir.path(), 60_000, 3);
    let submitted = server
        .call(
            "SubmitIProductionJob",
            &[
                ("FunctionName", "VideoH2V"),
                ("Input", "oss://media/in/long.mp4"),
                ("Output", "oss://media/out/{source}.mp4"),
                ("NotifyUrl", "mns://x/queues/done"),
            ],
        )
        .await;
    let id = submitted["JobId"].as_str().unwrap().to_owned();
    let running = server.wait_for(&id, &["Analysing"]).await;
    assert_eq!(running["Attempts"], 1);
    server.kill9();

    let server = start(dir.path(), 0, 3);
    let job = server.wait_for(&id, &["Success", "Fail"]).await;
    assert_eq!(job["State"], "Success", "{job}");
    assert_eq!(job["Attempts"], 2, "the lost attempt is counted");
    assert!(dir.path().join("buckets/media/out/long.mp4").is_file());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let lines = queue_lines(dir.path(), "done");
    assert_eq!(lines.len(), 1, "one callback: {lines:?}");
    assert_eq!(lines[0]["JobId"], id.as_str());
    server.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_is_lost_too_often_fails_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "in/doomed.mp4");
    let mut id = String::new();
    for attempt in 1..=2 {
        let server = start(dir.path(), 60_000, 2);
        if attempt == 1 {
            let submitted = server
                .call(
                    "SubmitIProductionJob",
                    &[
                        ("FunctionName", "VideoH2V"),
                        ("Input", "oss://media/in/doomed.mp4"),
                        ("Output", "oss://media/out/{source}.mp4"),
                        ("NotifyUrl", "mns://x/queues/doomed"),
                    ],
                )
                .await;
            id = submitted["JobId"].as_str().unwrap().to_owned();
        }
        // After a restart the job is re-queued and started again as the next attempt.
        server.wait_until(&id, |job| job["State"] == "Analysing" && job["Attempts"] == attempt).await;
        server.kill9();
    }
    let server = start(dir.path(), 0, 2);
    let job = server.wait_for(&id, &["Fail", "Success"]).await;
    assert_eq!(job["State"], "Fail", "{job}");
    assert_eq!(job["Code"], "InternalError.AttemptsExhausted");
    assert!(job["Message"].as_str().unwrap().contains("2 times"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let lines = queue_lines(dir.path(), "doomed");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["Code"], "InternalError.AttemptsExhausted");
    server.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_pending_at_a_crash_is_delivered_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), "in/a.mp4");
    // A port with nothing listening yet: the first delivery attempts are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let server = start(dir.path(), 0, 3);
    let submitted = server
        .call(
            "SubmitIProductionJob",
            &[
                ("FunctionName", "VideoH2V"),
                ("Input", "oss://media/in/a.mp4"),
                ("Output", "oss://media/out/{source}.mp4"),
                ("NotifyUrl", &url),
            ],
        )
        .await;
    let id = submitted["JobId"].as_str().unwrap().to_owned();
    let job = server.wait_for(&id, &["Success"]).await;
    assert_eq!(job["Callbacks"][0]["State"], "Pending", "{job}");
    server.kill9();

    let hook = WebhookReceiver::start_on(port).await;
    let server = start(dir.path(), 0, 3);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while hook.received.lock().unwrap().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the callback was never delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let bodies = hook.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["JobId"], id.as_str());
    let job = server.call("QueryIProductionJob", &[("JobId", &id)]).await;
    assert_eq!(job["Callbacks"][0]["State"], "Delivered");
    server.kill9();
}
