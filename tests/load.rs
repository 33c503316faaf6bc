//! Load: 2,000 jobs across three pipelines through the real embedded service (HTTP submits,
//! SQLite, dispatcher, relay) with a fast test engine. Every job ends terminal, every callback
//! arrives exactly once, and no pipeline ever runs more jobs at once than its Concurrency.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iprod_tests::{CopyEngine, TestServer, WebhookReceiver, queue_lines, test_config};

const JOBS: usize = 2000;
const SUBMITTERS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_jobs_across_three_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.workers = 8;
    let engine = Arc::new(CopyEngine::with_delay(Duration::from_millis(3)));
    let server = Arc::new(TestServer::start(config, engine.clone()).await);
    let hook = WebhookReceiver::start().await;
    server.put_input("in/clip.mp4", b"v");

    let mut pipelines = Vec::new();
    for (name, concurrency) in [("small", "2"), ("medium", "3"), ("large", "4")] {
        let target = format!("mns://local/queues/{name}");
        let (_, body) = server
            .call("AddPipeline", &[("Name", name), ("Concurrency", concurrency), ("NotifyUrl", &target)])
            .await;
        pipelines.push((
            body["Pipeline"]["PipelineId"].as_str().unwrap().to_owned(),
            name,
            concurrency.parse::<usize>().unwrap(),
        ));
    }

    let started = Instant::now();
    let mut submitters = Vec::new();
    for s in 0..SUBMITTERS {
        let (server, pipelines, hook_url) = (server.clone(), pipelines.clone(), hook.url.clone());
        submitters.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (s..JOBS).step_by(SUBMITTERS) {
                let (pipeline, _, _) = &pipelines[i % 3];
                let priority = (1 + i % 10).to_string();
                let mut params = vec![
                    ("FunctionName", "VideoH2V"),
                    ("Input", "oss://media/in/clip.mp4"),
                    ("Output", "oss://media/out/{source}-{timestamp}.mp4"),
                    ("PipelineId", pipeline.as_str()),
                    ("Priority", priority.as_str()),
                ];
                // Every other job also has its own webhook.
                if i % 2 == 0 {
                    params.push(("NotifyUrl", hook_url.as_str()));
                }
                ids.push((server.submit(&params).await, i % 3, i % 2 == 0));
            }
            ids
        }));
    }
    let mut jobs = Vec::new();
    for s in submitters {
        jobs.extend(s.await.unwrap());
    }
    let submitted_in = started.elapsed();
    assert_eq!(jobs.len(), JOBS);

    // Every job reaches a terminal state.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let counts = server.embedded.store.state_counts().await.unwrap();
        let done: u64 = counts.iter().filter(|(s, _)| s == "Success").map(|(_, n)| n).sum();
        if done as usize == JOBS {
            break;
        }
        let unfinished: Vec<_> = counts.iter().filter(|(s, _)| s != "Success").collect();
        assert!(Instant::now() < deadline, "not all jobs finished: {unfinished:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let processed_in = started.elapsed();

    // Each callback exactly once: per pipeline queue, and per job webhook.
    let expected_hooks = jobs.iter().filter(|(_, _, hooked)| *hooked).count();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let queued: usize = pipelines.iter().map(|(_, name, _)| queue_lines(dir.path(), name).len()).sum();
        if queued >= JOBS && hook.received.lock().unwrap().len() >= expected_hooks {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "callbacks missing: {queued} queue lines, {} webhooks",
            hook.received.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (index, (_, name, _)) in pipelines.iter().enumerate() {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for line in queue_lines(dir.path(), name) {
            assert_eq!(line["State"], "Success");
            *seen.entry(line["JobId"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        let expected: Vec<&String> =
            jobs.iter().filter(|(_, p, _)| *p == index).map(|(id, _, _)| id).collect();
        assert_eq!(seen.len(), expected.len(), "pipeline {name}: one line per job");
        assert!(
            expected.iter().all(|id| seen.get(*id) == Some(&1)),
            "pipeline {name}: a callback missing or doubled"
        );
    }
    let mut hooked: HashMap<String, usize> = HashMap::new();
    for body in hook.bodies() {
        *hooked.entry(body["JobId"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(hooked.len(), expected_hooks);
    assert!(hooked.values().all(|n| *n == 1), "a webhook was delivered twice");

    // Concurrency per pipeline never exceeded, and actually reached (the limit was exercised).
    let peaks = engine.max_running();
    for (id, name, concurrency) in &pipelines {
        let peak = peaks.get(id).copied().unwrap_or(0);
        assert!(
            peak <= *concurrency,
            "pipeline {name} ran {peak} jobs at once, over its Concurrency {concurrency}"
        );
        assert!(peak >= 1);
        println!("pipeline {name}: Concurrency {concurrency}, measured peak {peak}");
    }
    assert!(
        pipelines.iter().any(|(id, _, c)| peaks.get(id) == Some(c)),
        "no pipeline ever reached its limit: {peaks:?}"
    );
    println!("{JOBS} jobs submitted in {submitted_in:.2?}, all finished in {processed_in:.2?}");
}
