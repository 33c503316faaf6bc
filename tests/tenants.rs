//! Tenant isolation through the API: requests signed with one tenant's access key (signature V2,
//! as the old SDK signs) never see or touch another tenant's jobs, pipelines or client tokens.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::sync::Arc;

use iprod_api::signature::{v2_signature, v2_string_to_sign};
use iprod_core::ports::JobStore;
use iprod_tests::{CopyEngine, TestServer, test_config};
use serde_json::Value;

struct Tenant {
    key: String,
    secret: String,
}

impl Tenant {
    /// Calls `action` signed with this tenant's key; the status and the JSON answer.
    async fn call(&self, server: &TestServer, action: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let now = iprod_core::Timestamp::now().rfc3339();
        let mut pairs: Vec<(String, String)> = [
            ("Action", action),
            ("Version", "2014-06-18"),
            ("Format", "JSON"),
            ("AccessKeyId", &self.key),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", &nonce),
            ("Timestamp", &now),
        ]
        .iter()
        .chain(params)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let signature = v2_signature(&self.secret, &v2_string_to_sign("GET", pairs.iter()));
        pairs.push(("Signature".into(), signature));
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        let response = server.client.get(format!("http://{}/?{query}", server.address)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_never_sees_or_touches_another_tenants_jobs_and_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;
    server.put_input("in/hang.mp4", b"runs until cancelled");
    let tenant = |name: &str| {
        let (key, secret) = server.keys.add(name).unwrap();
        Tenant { key, secret }
    };
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    // GIVEN acme's pipeline and a job in it, submitted with a client token
    let (_, added) = acme.call(&server, "AddPipeline", &[("Name", "acme-only")]).await;
    let pipeline = added["Pipeline"]["PipelineId"].as_str().unwrap().to_owned();
    let submit = [
        ("FunctionName", "Cover"),
        ("Input", "oss://media/in/hang.mp4"),
        ("Output", "oss://media/out/{source}.jpg"),
        ("ClientToken", "order-17"),
    ];
    let with_pipeline: Vec<(&str, &str)> =
        submit.iter().copied().chain([("PipelineId", pipeline.as_str())]).collect();
    let (status, job) = acme.call(&server, "SubmitIProductionJob", &with_pipeline).await;
    assert_eq!(status, 200, "{job}");
    let job = job["JobId"].as_str().unwrap().to_owned();

    // THEN beta gets NotFound for all of it, and its lists leave it out
    for (action, params) in [
        ("QueryIProductionJob", vec![("JobId", job.as_str())]),
        ("CancelIProductionJob", vec![("JobId", job.as_str())]),
        ("UpdatePipeline", vec![("PipelineId", pipeline.as_str()), ("State", "Paused")]),
        ("DeletePipeline", vec![("PipelineId", pipeline.as_str())]),
        ("ListIProductionJobs", vec![("PipelineId", pipeline.as_str())]),
        ("SubmitIProductionJob", with_pipeline.clone()),
    ] {
        let (status, body) = beta.call(&server, action, &params).await;
        assert_eq!(status, 404, "{action}: {body}");
        assert!(body["Code"].as_str().unwrap().starts_with("NotFound."), "{action}: {body}");
    }
    let (_, listed) = beta.call(&server, "ListIProductionJobs", &[]).await;
    assert_eq!(listed["Jobs"], Value::Array(vec![]), "{listed}");
    let (_, queried) = beta.call(&server, "QueryIProductionJobList", &[("JobIds", &job)]).await;
    assert_eq!(queried["NonExistIds"][0], job.as_str());
    let (_, pipelines) = beta.call(&server, "QueryPipelineList", &[]).await;
    let ids: Vec<&str> = pipelines["PipelineList"]["Pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["default"], "beta sees the default pipeline only");
    // AND the same client token makes beta its own job
    let (_, beta_job) = beta.call(&server, "SubmitIProductionJob", &submit).await;
    assert_ne!(beta_job["JobId"].as_str().unwrap(), job);
    // AND acme still has all of it, and can cancel its job
    let (_, mine) = acme.call(&server, "ListIProductionJobs", &[]).await;
    let mine: Vec<&str> =
        mine["Jobs"].as_array().unwrap().iter().map(|j| j["JobId"].as_str().unwrap()).collect();
    assert_eq!(mine, [job.as_str()]);
    let (status, cancelled) = acme.call(&server, "CancelIProductionJob", &[("JobId", &job)]).await;
    assert_eq!((status, cancelled["State"].as_str()), (200, Some("Cancelled")), "{cancelled}");
    // (and beta's own job is stopped for the test's end)
    beta.call(&server, "CancelIProductionJob", &[("JobId", beta_job["JobId"].as_str().unwrap())]).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_keeps_to_its_buckets_and_its_submit_rate() {
    // GIVEN acme limited to the archive bucket, and beta to 2 submits a second
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.tenants.insert(
        "acme".into(),
        iprod_core::tenant::TenantPolicy { buckets: vec!["archive".into()], ..Default::default() },
    );
    config.tenants.insert(
        "beta".into(),
        iprod_core::tenant::TenantPolicy { submits_per_second: 2, ..Default::default() },
    );
    let server = TestServer::start(config, Arc::new(CopyEngine::default())).await;
    server.put_input("in/a.mp4", b"a video");
    let tenant = |name: &str| {
        let (key, secret) = server.keys.add(name).unwrap();
        Tenant { key, secret }
    };
    let (acme, beta) = (tenant("acme"), tenant("beta"));
    let submit = [
        ("FunctionName", "Cover"),
        ("Input", "oss://media/in/a.mp4"),
        ("Output", "oss://media/out/{source}.jpg"),
    ];
    // THEN acme may not use the media bucket, which the deployment allows
    let (status, body) = acme.call(&server, "SubmitIProductionJob", &submit).await;
    assert_eq!((status, body["Code"].as_str()), (400, Some("InvalidParameter.Input")), "{body}");
    assert!(body["Message"].as_str().unwrap().contains("archive"), "{body}");
    // AND beta's third submit within the second is throttled, with the cloud's code
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (status, body) = beta.call(&server, "SubmitIProductionJob", &submit).await;
        codes.push((status, body["Code"].as_str().unwrap_or("ok").to_owned()));
    }
    assert_eq!(codes[..2], [(200, "ok".to_owned()), (200, "ok".to_owned())]);
    assert_eq!(codes[2], (400, "Throttling.User".to_owned()));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_running_limit_holds_across_pipelines() {
    // GIVEN a tenant that may run one job at a time, and two long jobs of it
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config
        .tenants
        .insert("gamma".into(), iprod_core::tenant::TenantPolicy { max_running: 1, ..Default::default() });
    let server = TestServer::start(config, Arc::new(CopyEngine::default())).await;
    server.put_input("in/hang.mp4", b"runs until cancelled");
    let (key, secret) = server.keys.add("gamma").unwrap();
    let gamma = Tenant { key, secret };
    let submit = [
        ("FunctionName", "Cover"),
        ("Input", "oss://media/in/hang.mp4"),
        ("Output", "oss://media/out/{source}.jpg"),
    ];
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let (status, body) = gamma.call(&server, "SubmitIProductionJob", &submit).await;
        assert_eq!(status, 200, "{body}");
        jobs.push(body["JobId"].as_str().unwrap().to_owned());
    }
    let states = |server: &TestServer, jobs: Vec<String>| {
        let store = server.embedded.store.clone();
        async move {
            let mut out = Vec::new();
            for id in jobs {
                let job = store.job(&iprod_core::JobId::parse(&id).unwrap()).await.unwrap().unwrap();
                out.push(job.state.as_str().to_owned());
            }
            out
        }
    };
    // THEN one runs and the other waits, though the default pipeline has room for ten
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let mut now = states(&server, jobs.clone()).await;
    now.sort();
    assert_eq!(now, ["Analysing", "Queuing"]);
    // WHEN the running one is cancelled THEN the other starts
    let running = if states(&server, vec![jobs[0].clone()]).await[0] == "Analysing" { 0 } else { 1 };
    gamma.call(&server, "CancelIProductionJob", &[("JobId", &jobs[running])]).await;
    let other = jobs[1 - running].clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while states(&server, vec![other.clone()]).await[0] != "Analysing" {
        assert!(std::time::Instant::now() < deadline, "the waiting job never started");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    gamma.call(&server, "CancelIProductionJob", &[("JobId", &other)]).await;
    server.stop().await;
}
