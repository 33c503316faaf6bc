//! The cloud's own Python SDKs against `iprod serve` with a tenant's access key, unchanged but for
//! the endpoint: the old SDK (aliyun-python-sdk-mts on aliyun-python-sdk-core, signature V2) and
//! the current one (alibabacloud-mts20140618, signature V3, Action in headers, ScheduleParams).
//! `tests/sdk/clients.py` drives both and provokes every signature error; this checks the outcomes
//! and what they left in the store.

use std::process::Command;
use std::sync::Arc;

use iprod_core::ports::JobStore;
use iprod_core::{JobId, PipelineId, PipelineState};
use iprod_tests::{CopyEngine, TestServer, repo_root, test_config};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sdk_generations_work_with_an_access_key_and_every_signature_error_has_its_code() {
    // GIVEN a server with a tenant's key and a disabled key of another tenant
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;
    server.put_input("in/a.mp4", b"a video");
    server.put_input("in/hang.mp4", b"a video that runs until cancelled");
    let (key, secret) = server.keys.add("acme").unwrap();
    let (disabled, disabled_secret) = server.keys.add("other").unwrap();
    server.keys.set_enabled(&disabled, false).unwrap();
    // WHEN both SDKs are pointed at it
    let python = repo_root().join(".iprod/sdk-venv/bin/python");
    assert!(python.exists(), "{}: run scripts/setup.sh test (make test does)", python.display());
    let script = repo_root().join("tests/sdk/clients.py");
    let endpoint = server.address.to_string();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([&endpoint, &key, &secret, &disabled, &disabled_secret])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the SDK script failed:\n{stderr}");
    let out: Value = serde_json::from_slice(&run.stdout).unwrap();

    // THEN the old SDK submitted, queried, cancelled, listed and made a pipeline
    let job = out["old_query"]["JobId"].as_str().unwrap();
    assert_eq!(out["old_cancel"]["JobId"], job);
    assert!(out["old_list"].as_array().unwrap().iter().any(|j| j == job), "{out}");
    assert_eq!(out["old_pipeline_list"][0], out["old_pipeline"]);
    // AND the current SDK did the same, its ScheduleParams priority kept
    let new_job = JobId::parse(out["new_query"]["JobId"].as_str().unwrap()).unwrap();
    let stored = server.embedded.store.job(&new_job).await.unwrap().unwrap();
    assert_eq!(stored.priority.get(), 9, "ScheduleParams.Priority");
    assert_eq!(out["new_pipeline_list"][0], out["new_pipeline"]);
    let renamed = PipelineId::parse(out["new_pipeline"].as_str().unwrap()).unwrap();
    let renamed = server.embedded.store.pipeline(&renamed).await.unwrap().unwrap();
    assert_eq!((renamed.name.as_str(), renamed.state), ("renamed", PipelineState::Paused));
    assert_eq!(out["new_bad_schedule"], "InvalidParameter.ScheduleParams");
    // AND every signature error came back with the cloud's code
    for (case, code) in [
        ("wrong_secret", "SignatureDoesNotMatch"),
        ("new_wrong_secret", "SignatureDoesNotMatch"),
        ("unknown_key", "InvalidAccessKeyId.NotFound"),
        ("disabled_key", "Forbidden.AccessKeyDisabled"),
        ("stale_timestamp", "InvalidTimeStamp.Expired"),
        ("first_nonce", "no error"),
        ("reused_nonce", "SignatureNonceUsed"),
    ] {
        assert_eq!(out[case], code, "{case}: {out}");
    }
    // AND a request without a signature is refused now that keys exist
    let (status, body) = server.call("ListIProductionJobs", &[]).await;
    assert_eq!((status, body["Code"].as_str()), (400, Some("IncompleteSignature")), "{body}");
    server.stop().await;
}
