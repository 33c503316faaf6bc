//! Bad input gets a clear error and loses nothing: for each case, the exact Code, the HTTP
//! status, a message naming the field, and no job record or queue entry created.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::sync::Arc;

use iprod_core::ports::{JobStore, PipelineQuery};
use iprod_local::EmbeddedConfig;
use std::time::Duration;

use iprod_tests::{CopyEngine, TestServer, test_config};

const GOOD: [(&str, &str); 3] = [
    ("FunctionName", "VideoDelogo"),
    ("Input", "oss://media.oss-cn-shanghai.aliyuncs.com/in/clip.mp4"),
    ("Output", "oss://media/out/{source}.mp4"),
];

fn submit_with(overrides: &[(&'static str, &'static str)], remove: &str) -> Vec<(&'static str, String)> {
    let mut params: Vec<(&'static str, String)> =
        GOOD.iter().filter(|(k, _)| *k != remove).map(|(k, v)| (*k, (*v).to_owned())).collect();
    for (k, v) in overrides {
        params.retain(|(pk, _)| pk != k);
        params.push((k, (*v).to_owned()));
    }
    params
}

struct Case {
    name: &'static str,
    action: &'static str,
    params: Vec<(&'static str, String)>,
    status: u16,
    code: &'static str,
    /// The message must name this (the field, or the offending value).
    names: &'static str,
}

async fn pipeline_count(server: &TestServer) -> usize {
    let all = PipelineQuery { tenant: None, max_results: 100, page_token: None };
    server.embedded.store.list_pipelines(&all).await.unwrap().pipelines.len()
}

async fn job_count(server: &TestServer) -> u64 {
    server.embedded.store.state_counts().await.unwrap().iter().map(|(_, n)| n).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_is_refused_with_its_code_and_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;

    // A finished job, to try to cancel.
    server.put_input("in/done.mp4", b"video");
    let done = server
        .submit(&[
            ("FunctionName", "VideoH2V"),
            ("Input", "oss://media/in/done.mp4"),
            ("Output", "oss://media/out/{source}.mp4"),
        ])
        .await;
    assert_eq!(server.wait_terminal(&done, Duration::from_secs(20)).await["State"], "Success");

    let big_user_data: &'static str = Box::leak("u".repeat(1025).into_boxed_str());
    let cases = vec![
        Case {
            name: "unknown Action",
            action: "SubmitIProductionJobs",
            params: submit_with(&[], ""),
            status: 400,
            code: "InvalidAction.NotFound",
            names: "Action",
        },
        Case {
            name: "missing Input",
            action: "SubmitIProductionJob",
            params: submit_with(&[], "Input"),
            status: 400,
            code: "MissingParameter.Input",
            names: "Input",
        },
        Case {
            name: "missing FunctionName",
            action: "SubmitIProductionJob",
            params: submit_with(&[], "FunctionName"),
            status: 400,
            code: "MissingParameter.FunctionName",
            names: "FunctionName",
        },
        Case {
            name: "unknown FunctionName",
            action: "SubmitIProductionJob",
            params: submit_with(&[("FunctionName", "VideoH2H")], ""),
            status: 400,
            code: "InvalidParameter.FunctionName",
            names: "FunctionName",
        },
        Case {
            name: "malformed JobParams",
            action: "SubmitIProductionJob",
            params: submit_with(&[("JobParams", "{\"Logo\": [[0.1,")], ""),
            status: 400,
            code: "InvalidParameter.JobParams",
            names: "JobParams",
        },
        Case {
            name: "out-of-range Logo box",
            action: "SubmitIProductionJob",
            params: submit_with(&[("JobParams", r#"{"Logo":[[0.9,0.1,0.2,0.1]]}"#)], ""),
            status: 400,
            code: "InvalidParameter.JobParams",
            names: "Logo[0]",
        },
        Case {
            name: "negative Logo value",
            action: "SubmitIProductionJob",
            params: submit_with(&[("JobParams", r#"{"Logo":[[-0.1,0.1,0.2,0.1]]}"#)], ""),
            status: 400,
            code: "InvalidParameter.JobParams",
            names: "Logo[0]",
        },
        Case {
            name: "three Logo boxes",
            action: "SubmitIProductionJob",
            params: submit_with(
                &[("JobParams", r#"{"Logo":[[0,0,0.1,0.1],[0.2,0,0.1,0.1],[0.4,0,0.1,0.1]]}"#)],
                "",
            ),
            status: 400,
            code: "InvalidParameter.JobParams",
            names: "Logo",
        },
        Case {
            name: "unknown JobParams key",
            action: "SubmitIProductionJob",
            params: submit_with(&[("JobParams", r#"{"Logos":[]}"#)], ""),
            status: 400,
            code: "InvalidParameter.JobParams",
            names: "Logos",
        },
        Case {
            // The size bomb that took the server down: an 8192x819200 picture (20 GB).
            name: "an output too large for its Aspect and Width",
            action: "SubmitIProductionJob",
            params: submit_with(
                &[
                    ("FunctionName", "ImageH2V"),
                    ("Input", "oss://media/in/p.png"),
                    ("Output", "oss://media/out/{source}.jpg"),
                    ("JobParams", r#"{"Aspect":"1:100","Width":8192}"#),
                ],
                "",
            ),
            status: 400,
            code: "InvalidParameter.JobParams",
            names: "Width of at most 81",
        },
        Case {
            // Retried three times as a storage error before: a file name past 255 bytes.
            name: "an output file name longer than 255 bytes",
            action: "SubmitIProductionJob",
            params: vec![
                ("FunctionName", "VideoDelogo".to_owned()),
                ("Input", "oss://media/in/clip.mp4".to_owned()),
                ("Output", format!("oss://media/out/{}.mp4", "n".repeat(300))),
            ],
            status: 400,
            code: "InvalidParameter.Output",
            names: "255 bytes",
        },
        Case {
            // A long input name spliced in by {source} makes the output name too long.
            name: "an output name {source} makes too long",
            action: "SubmitIProductionJob",
            params: vec![
                ("FunctionName", "VideoDelogo".to_owned()),
                ("Input", format!("oss://media/in/{}.mp4", "s".repeat(250))),
                ("Output", "oss://media/out/{source}-clean.mp4".to_owned()),
            ],
            status: 400,
            code: "InvalidParameter.Output",
            names: "255 bytes",
        },
        Case {
            name: "bad URL scheme",
            action: "SubmitIProductionJob",
            params: submit_with(&[("Input", "ftp://media/in/clip.mp4")], ""),
            status: 400,
            code: "InvalidParameter.Input",
            names: "Input",
        },
        Case {
            name: "bucket not allowed",
            action: "SubmitIProductionJob",
            params: submit_with(&[("Output", "oss://secrets/out/{source}.mp4")], ""),
            status: 400,
            code: "InvalidParameter.Output",
            names: "secrets",
        },
        Case {
            name: "'..' in the key",
            action: "SubmitIProductionJob",
            params: submit_with(&[("Input", "oss://media/in/../../etc/passwd")], ""),
            status: 400,
            code: "InvalidParameter.Input",
            names: "Input",
        },
        Case {
            name: "unknown placeholder",
            action: "SubmitIProductionJob",
            params: submit_with(&[("Output", "oss://media/out/{name}.mp4")], ""),
            status: 400,
            code: "InvalidParameter.Output",
            names: "{name}",
        },
        Case {
            name: "wrong output extension",
            action: "SubmitIProductionJob",
            params: submit_with(&[("Output", "oss://media/out/{source}.png")], ""),
            status: 400,
            code: "InvalidParameter.Output",
            names: ".mp4",
        },
        Case {
            name: "unknown ModelId",
            action: "SubmitIProductionJob",
            params: submit_with(&[("ModelId", "u2netp")], ""),
            status: 400,
            code: "InvalidParameter.ModelId",
            names: "ModelId",
        },
        Case {
            name: "oversized UserData",
            action: "SubmitIProductionJob",
            params: submit_with(&[("UserData", big_user_data)], ""),
            status: 400,
            code: "InvalidParameter.UserData",
            names: "UserData",
        },
        Case {
            name: "Priority out of range",
            action: "SubmitIProductionJob",
            params: submit_with(&[("Priority", "11")], ""),
            status: 400,
            code: "InvalidParameter.Priority",
            names: "Priority",
        },
        Case {
            name: "unknown PipelineId",
            action: "SubmitIProductionJob",
            params: submit_with(&[("PipelineId", "nope")], ""),
            status: 404,
            code: "NotFound.Pipeline",
            names: "PipelineId",
        },
        Case {
            name: "webhook refused by policy",
            action: "SubmitIProductionJob",
            params: submit_with(&[("NotifyUrl", "http://169.254.169.254/latest/meta-data/")], ""),
            status: 403,
            code: "Forbidden.NotifyTarget",
            names: "NotifyUrl",
        },
        Case {
            name: "unknown JobId",
            action: "QueryIProductionJob",
            params: vec![("JobId", "0123456789abcdef0123456789abcdef".into())],
            status: 404,
            code: "NotFound.Job",
            names: "JobId",
        },
        Case {
            name: "malformed JobId",
            action: "QueryIProductionJob",
            params: vec![("JobId", "42".into())],
            status: 400,
            code: "InvalidParameter.JobId",
            names: "JobId",
        },
        Case {
            name: "cancel of a finished job",
            action: "CancelIProductionJob",
            params: vec![("JobId", done.clone())],
            status: 409,
            code: "Conflict.JobState",
            names: "cancelled",
        },
        Case {
            name: "unknown pipeline update",
            action: "UpdatePipeline",
            params: vec![("PipelineId", "nope".into()), ("State", "Paused".into())],
            status: 404,
            code: "NotFound.Pipeline",
            names: "PipelineId",
        },
        Case {
            name: "a webhook secret for a queue",
            action: "SubmitIProductionJob",
            params: submit_with(
                &[
                    ("NotifyUrl", "mns://endpoint/queues/done"),
                    ("NotifySecret", "a long enough plain secret"),
                ],
                "",
            ),
            status: 400,
            code: "InvalidParameter.NotifySecret",
            names: "http(s) NotifyUrl",
        },
        Case {
            name: "a guessable webhook secret",
            action: "SubmitIProductionJob",
            params: submit_with(&[("NotifyUrl", "https://example.com/hook"), ("NotifySecret", "k3y")], ""),
            status: 400,
            code: "InvalidParameter.NotifySecret",
            names: "too short",
        },
        Case {
            name: "a pipeline secret that is not base64",
            action: "AddPipeline",
            params: vec![("Name", "p".into()), ("Secret", "whsec_not base64!".into())],
            status: 400,
            code: "InvalidParameter.Secret",
            names: "base64",
        },
        Case {
            name: "bad pipeline concurrency",
            action: "AddPipeline",
            params: vec![("Name", "p".into()), ("Concurrency", "0".into())],
            status: 400,
            code: "InvalidParameter.Concurrency",
            names: "Concurrency",
        },
        Case {
            name: "deleting the default pipeline",
            action: "DeletePipeline",
            params: vec![("PipelineId", "default".into())],
            status: 400,
            code: "InvalidParameter.PipelineId",
            names: "pause it instead",
        },
        Case {
            name: "deleting an unknown pipeline",
            action: "DeletePipeline",
            params: vec![("PipelineId", "nope".into())],
            status: 404,
            code: "NotFound.Pipeline",
            names: "nope",
        },
        Case {
            name: "a pipeline page too large",
            action: "QueryPipelineList",
            params: vec![("MaxResults", "1000".into())],
            status: 400,
            code: "InvalidParameter.MaxResults",
            names: "MaxResults",
        },
        Case {
            name: "too many pipeline ids",
            action: "QueryPipelineList",
            params: vec![("PipelineIds", vec!["p"; 101].join(","))],
            status: 400,
            code: "InvalidParameter.PipelineIds",
            names: "at most 100",
        },
    ];

    for case in &cases {
        let before = job_count(&server).await;
        let pipelines_before = pipeline_count(&server).await;
        let params: Vec<(&str, &str)> = case.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = server.call(case.action, &params).await;
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["Code"], case.code, "{}: {body}", case.name);
        let message = body["Message"].as_str().unwrap();
        assert!(
            message.contains(case.names),
            "{}: message {message:?} should name {:?}",
            case.name,
            case.names
        );
        assert!(body["RequestId"].as_str().is_some_and(|r| !r.is_empty()), "{}", case.name);
        assert_eq!(job_count(&server).await, before, "{}: a job record was created", case.name);
        assert_eq!(pipeline_count(&server).await, pipelines_before, "{}", case.name);
    }
    // Nothing was queued by any of them: the only job ever stored is the finished one.
    let (_, list) = server.call("ListIProductionJobs", &[]).await;
    assert_eq!(list["Jobs"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_are_capped_paged_and_deleted_only_when_idle() {
    // GIVEN a service that holds at most 3 added pipelines
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedConfig { max_pipelines: 3, ..test_config(dir.path()) };
    let server = TestServer::start(config, Arc::new(CopyEngine::default())).await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        let (status, body) = server.call("AddPipeline", &[("Name", name), ("State", "Paused")]).await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["Pipeline"]["PipelineId"].as_str().unwrap().to_owned());
    }
    // WHEN a fourth is added THEN it is refused with what to do
    let (status, body) = server.call("AddPipeline", &[("Name", "d")]).await;
    assert_eq!((status, body["Code"].as_str()), (403, Some("QuotaExceeded.Pipelines")), "{body}");
    assert!(body["Message"].as_str().unwrap().contains("DeletePipeline"), "{body}");
    // AND all four (the default too) come back two to a page
    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let mut params = vec![("MaxResults", "2")];
        if !token.is_empty() {
            params.push(("NextPageToken", token.as_str()));
        }
        let (status, page) = server.call("QueryPipelineList", &params).await;
        assert_eq!(status, 200, "{page}");
        for p in page["PipelineList"].as_array().unwrap() {
            listed.push(p["PipelineId"].as_str().unwrap().to_owned());
        }
        match page["NextPageToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(listed, ["default", &ids[0], &ids[1], &ids[2]]);
    // WHEN a pipeline holds a queued job THEN it is not deleted
    server.put_input("in/a.mp4", b"video");
    let job = server
        .submit(&[
            ("FunctionName", "Cover"),
            ("Input", "oss://media/in/a.mp4"),
            ("Output", "oss://media/out/{source}.jpg"),
            ("PipelineId", &ids[0]),
        ])
        .await;
    let (status, body) = server.call("DeletePipeline", &[("PipelineId", &ids[0])]).await;
    assert_eq!((status, body["Code"].as_str()), (409, Some("Conflict.PipelineBusy")), "{body}");
    // WHEN its job is cancelled THEN it goes, its job stays queryable, and there is room again
    server.call("CancelIProductionJob", &[("JobId", &job)]).await;
    let (status, body) = server.call("DeletePipeline", &[("PipelineId", &ids[0])]).await;
    assert_eq!((status, body["PipelineId"].as_str()), (200, Some(ids[0].as_str())), "{body}");
    let (_, gone) = server.call("QueryPipelineList", &[("PipelineIds", &ids[0])]).await;
    assert_eq!(gone["NonExistIds"][0], ids[0].as_str());
    let (_, kept) = server.call("QueryIProductionJob", &[("JobId", &job)]).await;
    assert_eq!(kept["State"], "Cancelled");
    let (status, body) = server.call("AddPipeline", &[("Name", "d")]).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_params_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;
    let huge = "x".repeat(1024 * 1024 + 10);
    let response = server
        .client
        .post(format!("http://{}/", server.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("Action=SubmitIProductionJob&UserData={huge}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["Code"], "InvalidParameter.Body");
    assert!(body["Message"].as_str().unwrap().contains("1048576"));

    let params = format!(r#"{{"Logo":"{}"}}"#, "y".repeat(64 * 1024));
    let mut form = submit_with(&[], "");
    form.push(("JobParams", params));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = server.call("SubmitIProductionJob", &form).await;
    assert_eq!((status, body["Code"].as_str()), (400, Some("InvalidParameter.JobParams")), "{body}");
    assert!(body["Message"].as_str().unwrap().contains("65536"));
    let page = server
        .embedded
        .store
        .list_jobs(&iprod_core::ports::JobQuery { tenant: None, max_results: 10, ..Default::default() })
        .await
        .unwrap();
    assert!(page.jobs.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_protected_server_refuses_requests_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let embedded = iprod_local::Embedded::start(&test_config(dir.path()), Arc::new(CopyEngine::default()))
        .await
        .unwrap();
    let app = iprod_api::router(Arc::new(iprod_api::ApiState {
        service: embedded.service.clone(),
        api_token: Some("s3cret".into()),
        allowed_hosts: Some(Vec::new()),
        access_keys: None,
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/?Action=QueryPipelineList", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::new();
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["Code"], "Forbidden.Token");
    let wrong = client.get(&url).bearer_auth("s3cre7").send().await.unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    let ok = client.get(&url).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    embedded.shutdown().await;
}

/// The browser-borne attacks on a token-less loopback server: a DNS-rebinding page (a foreign
/// `Host`), a cross-origin `text/plain` body holding JSON (CSRF), and a cross-origin form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_a_web_page_makes_for_another_origin_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path()), Arc::new(CopyEngine::default())).await;
    let url = format!("http://{}/", server.address);
    let pipelines = || async {
        let (_, body) = server.call("QueryPipelineList", &[]).await;
        body["PipelineList"].as_array().map_or(0, Vec::len)
    };
    let before = pipelines().await;
    let attempts = [
        // DNS rebinding: the page's name, re-pointed at 127.0.0.1.
        (
            vec![("Host", "rebind.attacker.example")],
            "application/x-www-form-urlencoded",
            "Action=AddPipeline&Name=a".to_owned(),
            "Forbidden.Host",
        ),
        // CSRF with a simple request: text/plain holding JSON, from another origin.
        (
            vec![("Origin", "http://evil.example")],
            "text/plain",
            r#"{"Action":"AddPipeline","Name":"b"}"#.to_owned(),
            "InvalidParameter.ContentType",
        ),
        // The same JSON from a page that did not set an Origin (a typeless blob).
        (vec![], "", r#"{"Action":"AddPipeline","Name":"c"}"#.to_owned(), "InvalidParameter.ContentType"),
        // A cross-origin form post.
        (
            vec![("Origin", "http://evil.example")],
            "application/x-www-form-urlencoded",
            "Action=AddPipeline&Name=d".to_owned(),
            "Forbidden.CrossOrigin",
        ),
        // An image or link URL on another site (current browsers say so in Sec-Fetch-Site).
        (
            vec![("Sec-Fetch-Site", "cross-site")],
            "application/x-www-form-urlencoded",
            "Action=AddPipeline&Name=e".to_owned(),
            "Forbidden.CrossOrigin",
        ),
    ];
    for (headers, content_type, body, code) in attempts {
        let mut request = server.client.post(&url).body(body.clone());
        if !content_type.is_empty() {
            request = request.header("Content-Type", content_type);
        }
        for (k, v) in &headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["Code"], code, "{headers:?} {body}: {answer}");
        assert!(status == 400 || status == 403, "{status}");
    }
    assert_eq!(pipelines().await, before, "no attempt may create a pipeline");
    // The same write from this server's own origin, as JSON, goes through.
    let own = format!("http://{}", server.address);
    let response = server
        .client
        .post(&url)
        .header("Origin", own)
        .json(&serde_json::json!({"Action": "AddPipeline", "Name": "mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(pipelines().await, before + 1);
    server.stop().await;
}
