//! A job's life through the real embedded service: outputs, callbacks (file sink and signed
//! webhook), idempotent submits, cancel, paused pipelines, priorities, retries, upload triggers.

use std::sync::Arc;
use std::time::Duration;

use iprod_core::signing::verify;
use iprod_core::trigger::TriggerRule;
use iprod_tests::{CopyEngine, TestServer, WebhookReceiver, queue_lines, test_config};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The job's own webhook key, in the Standard Webhooks form.
const JOB_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A VideoClip job on `in/hang.mp4`, which the copy engine runs until it is stopped.
async fn submit_hanging(server: &TestServer) -> String {
    server.put_input("in/hang.mp4", b"v");
    server
        .submit(&[
            ("FunctionName", "VideoClip"),
            ("Input", "oss://media/in/hang.mp4"),
            ("Output", "oss://media/out/{source}.mp4"),
        ])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_writes_its_outputs_and_announces_itself_once_per_target() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;
    let hook = WebhookReceiver::start().await;
    let (_, added) = server
        .call(
            "AddPipeline",
            &[
                ("Name", "covers"),
                ("NotifyUrl", "mns://1.mns.cn-shanghai.aliyuncs.com/queues/cover-done"),
                ("Secret", "pipeline-owner-secret-0123"),
            ],
        )
        .await;
    let pipeline = added["Pipeline"]["PipelineId"].as_str().unwrap().to_owned();
    assert_eq!(added["Pipeline"]["Signed"], true);
    assert!(added["Pipeline"].get("Secret").is_none(), "the secret is never shown");
    server.put_input("in/beach day.mp4", b"not really a video");
    let id = server
        .submit(&[
            ("FunctionName", "Cover"),
            ("Input", "oss://media.oss-cn-shanghai.aliyuncs.com/in/beach day.mp4"),
            ("Output", "oss://archive/covers/{source}-{timestamp}.jpg"),
            ("PipelineId", &pipeline),
            ("UserData", r#"{"order":17}"#),
            ("NotifyUrl", &hook.url),
            ("NotifySecret", JOB_SECRET),
        ])
        .await;
    assert_eq!(id.len(), 32);
    let job = server.wait_terminal(&id, WAIT).await;
    assert_eq!(job["State"], "Success", "{job}");
    assert_eq!(job["Progress"], 100);
    assert_eq!(job["ModelId"], "centerface");
    assert_eq!(serde_json::from_str::<Value>(job["Result"].as_str().unwrap()).unwrap()["Copied"], 3);
    // Three covers and no {sequenceId}: _0.._2 before the extension, none overwritten.
    let files: Vec<String> =
        job["OutputFiles"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
    assert_eq!(files.len(), 3);
    let start = job["StartTime"].as_str().unwrap();
    for (i, file) in files.iter().enumerate() {
        let key = file.strip_prefix("oss://archive/").unwrap();
        assert!(key.starts_with("covers/beach day-") && key.ends_with(&format!("_{i}.jpg")), "{key}");
        assert_eq!(server.object("archive", key).unwrap(), b"not really a video");
    }
    assert!(start.ends_with('Z'));

    // The pipeline's queue and the job's webhook each get the callback exactly once.
    let expected = format!(
        r#"{{"Code":"Success","Details":[],"FunctionName":"Cover","JobId":"{id}","Message":"success","State":"Success","Type":"IProduction","UserData":"{{\"order\":17}}"}}"#
    );
    until("the webhook", || hook.received.lock().unwrap().len() == 1).await;
    until("the queue file", || queue_lines(dir.path(), "cover-done").len() == 1).await;
    let raw_line = std::fs::read_to_string(dir.path().join("queues/cover-done.jsonl")).unwrap();
    assert_eq!(raw_line.trim_end(), expected);
    let (headers, body) = hook.received.lock().unwrap()[0].clone();
    assert_eq!(body, expected);
    // Signed with the job's own secret (Standard Webhooks: id, time and body), not the pipeline's.
    let now = iprod_core::Timestamp::now().unix_seconds();
    let signed = |secret: &str| {
        verify(
            secret,
            &headers["webhook-id"],
            &headers["webhook-timestamp"],
            body.as_bytes(),
            &headers["webhook-signature"],
            now,
        )
    };
    signed(JOB_SECRET).unwrap();
    assert!(signed("pipeline-owner-secret-0123").is_err());
    assert!(headers["x-iproduction-delivery"].starts_with(&id));
    assert_eq!(headers["webhook-id"], headers["x-iproduction-delivery"]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(hook.received.lock().unwrap().len(), 1, "delivered exactly once");
    let (_, job) = server.call("QueryIProductionJob", &[("JobId", &id)]).await;
    let states: Vec<&str> =
        job["Callbacks"].as_array().unwrap().iter().map(|c| c["State"].as_str().unwrap()).collect();
    assert_eq!(states, ["Delivered", "Delivered"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_token_makes_a_retried_submit_return_the_same_job() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;
    let params = [
        ("FunctionName", "ImageMatting"),
        ("Input", "oss://media/in/p.jpg"),
        ("Output", "oss://media/out/{source}.png"),
        ("ClientToken", "retry-1"),
    ];
    let first = server.submit(&params).await;
    let second = server.submit(&params).await;
    assert_eq!(first, second);
    let (_, list) = server.call("ListIProductionJobs", &[]).await;
    assert_eq!(list["Jobs"].as_array().unwrap().len(), 1);
    // The input does not exist: the job fails with a code naming it, and the service goes on.
    let job = server.wait_terminal(&first, WAIT).await;
    assert_eq!((job["State"].as_str(), job["Code"].as_str()), (Some("Fail"), Some("InvalidInput.NotFound")));
    assert!(job["Message"].as_str().unwrap().contains("in/p.jpg"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_pipeline_keeps_its_jobs_and_resumes_in_priority_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(CopyEngine::default());
    let server = TestServer::start(test_config(dir.path()), engine.clone()).await;
    let (_, added) =
        server.call("AddPipeline", &[("Name", "batch"), ("Concurrency", "1"), ("State", "Paused")]).await;
    let pipeline = added["Pipeline"]["PipelineId"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for (name, priority) in [("p6a", "6"), ("p2", "2"), ("p9", "9"), ("p6b", "6"), ("p10", "10")] {
        server.put_input(&format!("in/{name}.jpg"), b"img");
        let input = format!("oss://media/in/{name}.jpg");
        ids.push(
            server
                .submit(&[
                    ("FunctionName", "ImageH2V"),
                    ("Input", &input),
                    ("Output", "oss://media/out/{source}.jpg"),
                    ("PipelineId", &pipeline),
                    ("Priority", priority),
                ])
                .await,
        );
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (_, queued) =
        server.call("ListIProductionJobs", &[("PipelineId", &pipeline), ("State", "Queuing")]).await;
    assert_eq!(queued["Jobs"].as_array().unwrap().len(), 5, "a paused pipeline starts nothing");
    assert!(engine.started.lock().unwrap().is_empty());

    // Cancel one while queued: it never runs and announces its cancellation.
    let (status, cancelled) = server.call("CancelIProductionJob", &[("JobId", &ids[1])]).await;
    assert_eq!((status, cancelled["State"].as_str()), (200, Some("Cancelled")));

    let (status, _) = server.call("UpdatePipeline", &[("PipelineId", &pipeline), ("State", "Active")]).await;
    assert_eq!(status, 200);
    for id in &ids {
        server.wait_terminal(id, WAIT).await;
    }
    let order = engine.started.lock().unwrap().clone();
    assert_eq!(order, ["p10.jpg", "p9.jpg", "p6a.jpg", "p6b.jpg"], "larger priority first, FIFO within one");
    let (_, job) = server.call("QueryIProductionJob", &[("JobId", &ids[1])]).await;
    assert_eq!(job["State"], "Cancelled");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_can_be_cancelled_and_its_worker_stops() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.lease_secs = 3; // heartbeats every second
    let engine = Arc::new(CopyEngine::default());
    let server = TestServer::start(config, engine.clone()).await;
    let id = submit_hanging(&server).await;
    until("the job to start", || !engine.started.lock().unwrap().is_empty()).await;
    let (status, body) = server.call("CancelIProductionJob", &[("JobId", &id)]).await;
    assert_eq!(status, 200, "{body}");
    let job = server.wait_terminal(&id, WAIT).await;
    assert_eq!(job["State"], "Cancelled");
    assert!(job["OutputFiles"].as_array().unwrap().is_empty());
    // The worker dropped the work rather than waiting for the engine to notice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(engine.processed.load(std::sync::atomic::Ordering::Relaxed), 0);
    server.stop().await;
}

/// A cancel stops the work within about a second, whatever the heartbeat's period, and only
/// then is the pipeline's slot given back: the next job of a one-at-a-time pipeline starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_running_work_within_two_seconds_and_frees_its_slot() {
    // GIVEN a pipeline that runs one job at a time, busy with a job that would take a minute
    // (the default lease: heartbeats every 10 s)
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(CopyEngine::with_delay(Duration::from_secs(60)));
    let server = TestServer::start(test_config(dir.path()), engine.clone()).await;
    let (_, added) = server.call("AddPipeline", &[("Name", "single"), ("Concurrency", "1")]).await;
    let pipeline = added["Pipeline"]["PipelineId"].as_str().unwrap().to_owned();
    server.put_input("in/long.mp4", b"v");
    server.put_input("in/next.mp4", b"v");
    let submit = |input: &'static str| {
        let pipeline = pipeline.clone();
        let server = &server;
        async move {
            server
                .submit(&[
                    ("FunctionName", "VideoClip"),
                    ("Input", input),
                    ("Output", "oss://media/out/{source}.mp4"),
                    ("PipelineId", &pipeline),
                ])
                .await
        }
    };
    let long = submit("oss://media/in/long.mp4").await;
    until("the long job to start", || engine.started.lock().unwrap().len() == 1).await;
    submit("oss://media/in/next.mp4").await;
    // WHEN the running job is cancelled
    let cancelled_at = std::time::Instant::now();
    let (status, body) = server.call("CancelIProductionJob", &[("JobId", &long)]).await;
    assert_eq!(status, 200, "{body}");
    // THEN its work stops and the next job starts within two seconds (a minute before)
    until("the next job to start", || engine.started.lock().unwrap().len() == 2).await;
    let took = cancelled_at.elapsed();
    assert!(took < Duration::from_millis(2500), "the slot came back {took:?} after the cancel");
    assert_eq!(engine.processed.load(std::sync::atomic::Ordering::Relaxed), 0, "the cancelled work ran on");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_the_workers_time_limit_fails_with_a_code_and_is_not_retried() {
    // GIVEN a worker whose jobs may run 1 s, and a job that never finishes by itself
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(CopyEngine::default());
    let config = iprod_local::EmbeddedConfig { max_job_secs: 1, ..test_config(dir.path()) };
    let server = TestServer::start(config, engine.clone()).await;
    let id = submit_hanging(&server).await;
    // THEN it fails with InternalError.Timeout after one attempt, its scratch gone
    let job = server.wait_terminal(&id, Duration::from_secs(10)).await;
    assert_eq!(
        (job["State"].as_str(), job["Code"].as_str()),
        (Some("Fail"), Some("InternalError.Timeout")),
        "{job}"
    );
    assert_eq!(job["Attempts"], 1, "a timeout is not retried: it would run out of time again");
    assert!(job["Message"].as_str().unwrap().contains("max_job_secs"), "{job}");
    let scratch: Vec<_> = std::fs::read_dir(dir.path().join("scratch")).unwrap().collect();
    assert!(scratch.is_empty(), "the attempt's work directory is removed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_are_retried_then_fail_with_their_code() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.max_attempts = 2;
    let engine = Arc::new(CopyEngine::default());
    let server = TestServer::start(config, engine.clone()).await;
    server.put_input("in/flaky.jpg", b"img");
    server.put_input("in/fail.jpg", b"img");
    let flaky = server
        .submit(&[
            ("FunctionName", "ImageDelogo"),
            ("Input", "oss://media/in/flaky.jpg"),
            ("Output", "oss://media/out/{source}.jpg"),
        ])
        .await;
    let bad = server
        .submit(&[
            ("FunctionName", "ImageDelogo"),
            ("Input", "oss://media/in/fail.jpg"),
            ("Output", "oss://media/out/{source}.jpg"),
        ])
        .await;
    let bad_job = server.wait_terminal(&bad, WAIT).await;
    assert_eq!(
        (bad_job["Code"].as_str(), bad_job["Attempts"].as_u64()),
        (Some("InvalidInput.Media"), Some(1)),
        "bad media is not retried"
    );
    let flaky_job = server.wait_terminal(&flaky, WAIT).await;
    assert_eq!(flaky_job["State"], "Fail");
    assert_eq!(flaky_job["Code"], "ServiceUnavailable.Test");
    assert_eq!(flaky_job["Attempts"], 2, "retried once with backoff, then failed");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_under_a_trigger_prefix_submits_one_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.trigger_scan_secs = 1;
    config.triggers = vec![TriggerRule {
        bucket: "media".into(),
        prefix: "incoming/".into(),
        function_name: "ImageMatting".into(),
        output: "oss://media/cutouts/{source}.png".into(),
        job_params: String::new(),
        pipeline_id: String::new(),
        model_id: String::new(),
    }];
    let server = TestServer::start(config, Arc::new(CopyEngine::default())).await;
    server.put_input("incoming/portrait one.jpg", b"person");
    server.put_input("elsewhere/ignored.jpg", b"x");
    until("the cut-out", || server.object("media", "cutouts/portrait one.png").is_some()).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, list) = server.call("ListIProductionJobs", &[]).await;
    let jobs = list["Jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "one upload, one job: {list}");
    assert_eq!(jobs[0]["Input"], "oss://media/incoming/portrait one.jpg");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_through_jobs_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.default_concurrency = 1;
    let server = TestServer::start(config, Arc::new(CopyEngine::default())).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let input = format!("oss://media/in/{i}.jpg");
        ids.push(
            server
                .submit(&[
                    ("FunctionName", "ImageH2V"),
                    ("Input", &input),
                    ("Output", "oss://media/o/{source}.jpg"),
                ])
                .await,
        );
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let mut params = vec![("MaxResults", "2")];
        if !token.is_empty() {
            params.push(("NextPageToken", &token));
        }
        let (_, page) = server.call("ListIProductionJobs", &params).await;
        seen.extend(page["Jobs"].as_array().unwrap().iter().map(|j| j["JobId"].as_str().unwrap().to_owned()));
        match page["NextPageToken"].as_str() {
            Some(t) => token = t.to_owned(),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let joined = format!("{},{},ffffffffffffffffffffffffffffffff", ids[0], ids[1]);
    let (_, found) = server.call("QueryIProductionJobList", &[("JobIds", &joined)]).await;
    assert_eq!(found["Jobs"].as_array().unwrap().len(), 2);
    assert_eq!(found["NonExistIds"], serde_json::json!(["ffffffffffffffffffffffffffffffff"]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_that_keeps_failing_is_given_up_and_recorded_on_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.callback_max_attempts = 2;
    let server = TestServer::start(config, Arc::new(CopyEngine::default())).await;
    // Nothing listens on this port: every delivery is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    server.put_input("in/a.jpg", b"img");
    let id = server
        .submit(&[
            ("FunctionName", "ImageH2V"),
            ("Input", "oss://media/in/a.jpg"),
            ("Output", "oss://media/o/{source}.jpg"),
            ("NotifyUrl", &url),
        ])
        .await;
    server.wait_terminal(&id, WAIT).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let callback = loop {
        let (_, job) = server.call("QueryIProductionJob", &[("JobId", &id)]).await;
        if job["Callbacks"][0]["State"] == "GaveUp" {
            break job["Callbacks"][0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "never gave up: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(callback["Attempts"], 2);
    assert_eq!(callback["Target"], url.as_str());
    assert!(callback["LastError"].as_str().unwrap().contains("gave up after 2 attempts"), "{callback}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;
    let doc: Value = server
        .client
        .get(format!("http://{}/openapi.json", server.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let action = doc["paths"]["/"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Action")
        .unwrap();
    let listed: Vec<&str> =
        action["schema"]["enum"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(listed, iprod_api::ACTIONS);
    server.stop().await;
}
