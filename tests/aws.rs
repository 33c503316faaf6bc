//! The AWS deployment's three handlers end to end against the moto emulator: submit (API Gateway
//! and S3 upload events) → process (SQS events) → notify (DynamoDB stream and schedule events),
//! with the real image engine, real S3 objects, the job records and the callbacks in SQS.
//!
//! Events are built from the fixtures in `events/`, with this test's names put in. The S3 upload
//! case also feeds the handler the notifications moto itself sends, which lack `userIdentity`,
//! `requestParameters` and `responseElements` and percent-encode `/`: the handler parses S3 events
//! leniently (not through `aws_lambda_events`' strict `S3Event`), so both shapes work.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_s3::primitives::ByteStream;
use iprod_aws::dynamo::schema::create_table;
use iprod_aws::stack::{AwsStack, worker_settings};
use iprod_aws::{AwsClients, AwsSettings};
use iprod_core::ports::{JobStore, MediaEngine};
use iprod_core::processing::{Outcome, Processor, ProcessorSettings};
use iprod_core::route::Runner;
use iprod_core::{JobId, JobState, Timestamp};
use iprod_media::{Engine, EngineSettings};
use iprod_notify::NotifyEvent;
use iprod_tests::moto::{Moto, unique};
use iprod_tests::{CopyEngine, repo_root};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};

struct World {
    _moto: Moto,
    clients: AwsClients,
    stack: Arc<AwsStack>,
    bucket: String,
    callbacks: String,
    callbacks_url: String,
    _scratch: tempfile::TempDir,
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("events").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn world() -> World {
    world_with_fleet(None).await
}

/// A world whose deployment has a worker fleet with these routes (its own queue).
async fn world_with_fleet(routes: Option<&str>) -> World {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let table = unique("jobs");
    create_table(&clients.dynamodb, &table).await.unwrap();
    let bucket = unique("media");
    clients.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let jobs = clients.sqs.create_queue().queue_name(unique("jobs")).send().await.unwrap();
    let callbacks = unique("callbacks");
    let callbacks_url =
        clients.sqs.create_queue().queue_name(&callbacks).send().await.unwrap().queue_url.unwrap();
    let mut settings = AwsSettings {
        table,
        queue_url: jobs.queue_url.unwrap(),
        buckets: vec![bucket.clone()],
        default_concurrency: 10,
        topic_arn_prefix: None,
        webhook_hosts: vec![],
        // The webhook receiver of these tests listens on 127.0.0.1.
        webhook_allow_private: true,
        max_pipelines: 3,
        retention_days: 30,
        max_job_secs: 600,
        kms_key: None,
        tenants: Default::default(),
        fleet_queue_url: None,
        fleet_routes: Default::default(),
    };
    if let Some(routes) = routes {
        let fleet = clients.sqs.create_queue().queue_name(unique("fleet")).send().await.unwrap();
        settings.fleet_queue_url = fleet.queue_url;
        settings.fleet_routes = iprod_core::route::FleetRoutes::parse("routes", routes).unwrap();
    }
    let stack = Arc::new(AwsStack::new(clients.clone(), settings).await.unwrap());
    World {
        _moto: moto,
        clients,
        stack,
        bucket,
        callbacks,
        callbacks_url,
        _scratch: tempfile::tempdir().unwrap(),
    }
}

fn image_engine() -> Arc<dyn MediaEngine> {
    let settings =
        EngineSettings { model_dir: repo_root().join(".iprod/model-pack"), ..EngineSettings::default() };
    Arc::new(Engine::new(settings))
}

impl World {
    fn submit_fn(&self, rules: &str) -> iprod_submit::Submit {
        iprod_submit::Submit::new(&self.stack, iprod_aws::uploads::parse_rules(rules).unwrap())
    }

    fn process_fn(&self, engine: Arc<dyn MediaEngine>, dead_letter: Option<&str>) -> iprod_process::Process {
        iprod_process::Process::new(
            self.stack.clone(),
            engine,
            self._scratch.path().to_owned(),
            dead_letter.map(str::to_owned),
            iprod_core::route::Runner::Lambda,
        )
    }

    /// Calls the API through the submit handler as API Gateway would (HTTP API, payload 2.0,
    /// IAM-authenticated).
    async fn api(&self, submit: &iprod_submit::Submit, params: &[(&str, &str)]) -> (u16, Value) {
        self.call_api(submit, params, true).await
    }

    /// Calls it as the template's SdkAccess API would: no IAM authorizer in front.
    async fn sdk_api(&self, submit: &iprod_submit::Submit, params: &[(&str, &str)]) -> (u16, Value) {
        self.call_api(submit, params, false).await
    }

    async fn call_api(
        &self,
        submit: &iprod_submit::Submit,
        params: &[(&str, &str)],
        iam: bool,
    ) -> (u16, Value) {
        let mut event = fixture("submit-http.json");
        if !iam {
            event["requestContext"].as_object_mut().unwrap().remove("authorizer");
        }
        let mut body = url_encode(&[("Action", params[0].1)]);
        for (k, v) in &params[1..] {
            body.push('&');
            body.push_str(&url_encode(&[(k, v)]));
        }
        event["body"] = json!(body);
        let response = submit.handle(LambdaEvent::new(event, Context::default())).await.unwrap();
        let status = response["statusCode"].as_u64().unwrap() as u16;
        (status, serde_json::from_str(response["body"].as_str().unwrap()).unwrap())
    }

    /// Submits an ImageH2V job on `input` (a key in the test bucket) through the API.
    async fn submit_image(
        &self,
        submit: &iprod_submit::Submit,
        input: &str,
        output: &str,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let input = format!("oss://{}/{input}", self.bucket);
        let output = format!("oss://{}/{output}", self.bucket);
        let mut params = vec![
            ("Action", "SubmitIProductionJob"),
            ("FunctionName", "ImageH2V"),
            ("Input", input.as_str()),
            ("Output", output.as_str()),
        ];
        params.extend_from_slice(extra);
        self.api(submit, &params).await
    }

    /// A new SQS queue of this test: its URL and ARN.
    async fn queue(&self, prefix: &str) -> (String, String) {
        use aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let sqs = &self.clients.sqs;
        let url = sqs.create_queue().queue_name(unique(prefix)).send().await.unwrap().queue_url.unwrap();
        let attributes =
            sqs.get_queue_attributes().queue_url(&url).attribute_names(QueueArn).send().await.unwrap();
        let arn = attributes.attributes.unwrap()[&QueueArn].clone();
        (url, arn)
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.clients
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let got = self.clients.s3.get_object().bucket(&self.bucket).key(key).send().await.ok()?;
        Some(got.body.collect().await.unwrap().to_vec())
    }

    /// Takes every message waiting in a queue (as the SQS event source would).
    async fn drain(&self, url: &str) -> Vec<String> {
        let mut bodies = Vec::new();
        loop {
            let out = self
                .clients
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            for m in messages {
                bodies.push(m.body.clone().unwrap());
                self.clients
                    .sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(m.receipt_handle.unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    async fn job_messages(&self) -> Vec<String> {
        self.drain(&self.stack.settings.queue_url).await
    }

    async fn job(&self, id: &str) -> iprod_core::Job {
        self.stack.store.job(&JobId::parse(id).unwrap()).await.unwrap().unwrap()
    }

    /// The notify function's stream event for every callback of `job`.
    fn stream_event(delivery_ids: &[String]) -> NotifyEvent {
        let template = fixture("notify-stream.json");
        let records: Vec<Value> = delivery_ids
            .iter()
            .map(|id| {
                let mut r = template["Records"][0].clone();
                r["dynamodb"]["Keys"]["Id"]["S"] = json!(format!("callback#{id}"));
                r["dynamodb"]["NewImage"]["Id"]["S"] = json!(format!("callback#{id}"));
                r
            })
            .collect();
        serde_json::from_value(json!({ "Records": records })).unwrap()
    }
}

fn url_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        out.push_str(&format!("{}={}", enc(k), enc(v)));
    }
    out
}

/// An SQS event for the process function, from the fixture.
fn sqs_event(bodies: &[String], source_arn: &str) -> SqsEvent {
    let template = fixture("process-sqs.json");
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut r = template["Records"][0].clone();
            r["messageId"] = json!(format!("message-{i}"));
            r["body"] = json!(body);
            r["eventSourceARN"] = json!(source_arn);
            r
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

const JOBS_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:jobs";
const DLQ_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:jobs-dlq";

fn astronaut() -> Vec<u8> {
    std::fs::read(repo_root().join(".iprod/test-media/astronaut.png")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_goes_from_submit_through_process_to_notify() {
    let w = world().await;
    w.put("in/astronaut.png", astronaut()).await;
    let submit = w.submit_fn("");
    let (status, answer) = w
        .api(
            &submit,
            &[
                ("Action", "SubmitIProductionJob"),
                ("FunctionName", "ImageH2V"),
                ("Input", &format!("oss://{}/in/astronaut.png", w.bucket)),
                ("Output", &format!("s3://{}/out/{{source}}-vertical.jpg", w.bucket)),
                ("NotifyUrl", &format!("mns://endpoint/queues/{}", w.callbacks)),
                ("UserData", "{\"shot\":42}"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    let messages = w.job_messages().await;
    assert_eq!(messages.len(), 1, "one message per job");

    let process = w.process_fn(image_engine(), Some(DLQ_ARN));
    let batch = process.handle_records(&sqs_event(&messages, JOBS_ARN), Duration::from_secs(120)).await;
    assert!(batch.batch_item_failures.is_empty(), "{:?}", batch.batch_item_failures);

    let (_, queried) = w.api(&submit, &[("Action", "QueryIProductionJob"), ("JobId", &job_id)]).await;
    assert_eq!(queried["State"], "Success", "{queried}");
    assert_eq!(queried["Attempts"], 1);
    let output = format!("s3://{}/out/astronaut-vertical.jpg", w.bucket);
    assert_eq!(queried["OutputFiles"], json!([output]));
    let bytes = w.object("out/astronaut-vertical.jpg").await.expect("the output object is in S3");
    let vertical = image::load_from_memory(&bytes).unwrap();
    assert_eq!((vertical.width(), vertical.height()), (288, 512), "9:16 at the source's height");

    // The terminal state wrote one callback; the stream event delivers it to the SQS queue.
    let callbacks = w.stack.store.callbacks_of(&JobId::parse(&job_id).unwrap()).await.unwrap();
    let ids: Vec<String> = callbacks.iter().map(|c| c.delivery_id.clone()).collect();
    assert_eq!(ids.len(), 1);
    // Retention: the finished job and its callback record expire together, 30 days on (TTL).
    let in_30_days = Timestamp::now().unix_seconds() + 30 * 86_400;
    for id in [job_id.clone(), format!("callback#{}", ids[0])] {
        let item = w
            .clients
            .dynamodb
            .get_item()
            .table_name(&w.stack.settings.table)
            .key("Id", aws_sdk_dynamodb::types::AttributeValue::S(id.clone()))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        let expires: i64 = item["Expires"].as_n().unwrap().parse().unwrap();
        assert!((expires - in_30_days).abs() < 300, "{id} expires at {expires}");
    }
    let notify = iprod_notify::Notify::new(&w.stack).unwrap();
    let report = notify.handle_event(&World::stream_event(&ids)).await.unwrap();
    assert_eq!((report.delivered, report.failed), (1, 0));
    let delivered = w.drain(&w.callbacks_url).await;
    assert_eq!(delivered.len(), 1);
    let message: Value = serde_json::from_str(&delivered[0]).unwrap();
    assert_eq!(
        (message["JobId"].as_str(), message["State"].as_str()),
        (Some(job_id.as_str()), Some("Success"))
    );
    assert_eq!(message["UserData"], "{\"shot\":42}");
    let (_, queried) = w.api(&submit, &[("Action", "QueryIProductionJob"), ("JobId", &job_id)]).await;
    assert_eq!(queried["Callbacks"][0]["State"], "Delivered", "the delivery is recorded on the job");
    assert_eq!(
        queried["Callbacks"][0]["Target"],
        format!("mns://endpoint/queues/{}", w.callbacks),
        "the target as the client gave it"
    );

    // Duplicate deliveries are acknowledged no-ops: the same SQS message, the same stream record.
    let again = process.handle_records(&sqs_event(&messages, JOBS_ARN), Duration::from_secs(60)).await;
    assert!(again.batch_item_failures.is_empty(), "{:?}", again.batch_item_failures);
    assert_eq!(w.job(&job_id).await.attempts, 1, "a duplicate message does not run the job again");
    let report = notify.handle_event(&World::stream_event(&ids)).await.unwrap();
    assert_eq!(report.delivered, 0);
    assert!(w.drain(&w.callbacks_url).await.is_empty(), "the callback is sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_killed_invocations_left_in_scratch_is_cleared_before_the_next_job() {
    // GIVEN a warm container's scratch holding an attempt killed at its deadline
    let w = world().await;
    let stale = w._scratch.path().join("0123-1");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("input"), vec![0u8; 1 << 20]).unwrap();
    w.put("in/a.png", b"bytes".to_vec()).await;
    let submit = w.submit_fn("");
    let (status, answer) = w.submit_image(&submit, "in/a.png", "out/{source}.jpg", &[]).await;
    assert_eq!(status, 200, "{answer}");
    // WHEN the next invocation runs a job
    let process = w.process_fn(Arc::new(CopyEngine::default()), None);
    let messages = w.job_messages().await;
    let batch = process.handle_records(&sqs_event(&messages, JOBS_ARN), Duration::from_secs(60)).await;
    assert!(batch.batch_item_failures.is_empty(), "{:?}", batch.batch_item_failures);
    // THEN the stale attempt is gone, and so is the finished one's
    assert!(!stale.exists(), "a killed attempt's scratch is cleared");
    assert_eq!(std::fs::read_dir(w._scratch.path()).unwrap().count(), 0);
    assert_eq!(w.job(answer["JobId"].as_str().unwrap()).await.state, JobState::Success);
}

/// `params` (Action first) with the old SDK's common parameters and its V2 signature.
fn signed_v2(key: &str, secret: &str, params: &[(&str, &str)]) -> Vec<(String, String)> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let now = Timestamp::now().rfc3339();
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .copied()
        .chain([
            ("Version", "2014-06-18"),
            ("AccessKeyId", key),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", nonce.as_str()),
            ("Timestamp", now.as_str()),
        ])
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let signature = iprod_api::signature::v2_signature(
        secret,
        &iprod_api::signature::v2_string_to_sign("POST", pairs.iter()),
    );
    pairs.push(("Signature".into(), signature));
    pairs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_signatures_are_verified_with_keys_sealed_by_kms_and_tenants_kept_apart() {
    use iprod_core::access::AccessKeys;
    // GIVEN a deployment that verifies signatures, with two tenants' keys sealed by KMS
    let w = world().await;
    let kms_key = w.clients.kms.create_key().send().await.unwrap().key_metadata.unwrap().key_id;
    let mut settings = w.stack.settings.clone();
    settings.kms_key = Some(kms_key);
    let stack = AwsStack::new(w.clients.clone(), settings).await.unwrap();
    let keys = stack.access_keys().unwrap();
    let (acme, acme_secret) = keys.add("acme").await.unwrap();
    let (beta, beta_secret) = keys.add("beta").await.unwrap();
    // THEN the table holds only ciphertext, and a nonce is accepted once
    let raw = w
        .clients
        .dynamodb
        .get_item()
        .table_name(&stack.settings.table)
        .key("Id", aws_sdk_dynamodb::types::AttributeValue::S(format!("accesskey#{acme}")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let sealed = raw["Secret"].as_b().unwrap().as_ref().to_vec();
    assert!(!sealed.windows(acme_secret.len()).any(|w| w == acme_secret.as_bytes()), "sealed");
    assert_eq!(keys.key(&acme).await.unwrap().unwrap().secret, acme_secret);
    let now = Timestamp::now().unix_seconds();
    assert!(keys.first_use(&acme, "n-1", now).await.unwrap());
    assert!(!keys.first_use(&acme, "n-1", now).await.unwrap(), "a nonce is used once");
    // WHEN the SDK's requests reach the submit function
    w.put("in/a.png", b"bytes".to_vec()).await;
    let submit = iprod_submit::Submit::new(&stack, Vec::new());
    let call = |pairs: Vec<(String, String)>| {
        let submit = &submit;
        let w = &w;
        async move {
            let params: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            w.sdk_api(submit, &params).await
        }
    };
    let input = format!("oss://{}/in/a.png", w.bucket);
    let output = format!("oss://{}/out/{{source}}.jpg", w.bucket);
    let job = [
        ("Action", "SubmitIProductionJob"),
        ("FunctionName", "ImageH2V"),
        ("Input", &input),
        ("Output", &output),
    ];
    let (status, body) = call(signed_v2(&acme, &acme_secret, &job)).await;
    assert_eq!(status, 200, "{body}");
    let job_id = body["JobId"].as_str().unwrap().to_owned();
    // THEN an unsigned or wrongly signed request is refused, and beta cannot see acme's job
    let (status, body) = w.sdk_api(&submit, &job).await;
    assert_eq!((status, body["Code"].as_str()), (400, Some("IncompleteSignature")), "{body}");
    // while the IAM-authenticated API is the operator's: unsigned, and it sees every tenant
    let (status, body) =
        w.api(&submit, &[("Action", "QueryIProductionJob"), ("JobId", job_id.as_str())]).await;
    assert_eq!((status, body["JobId"].as_str()), (200, Some(job_id.as_str())), "{body}");
    let (_, body) = call(signed_v2(&acme, "not-the-secret", &job)).await;
    assert_eq!(body["Code"], "SignatureDoesNotMatch");
    let query = [("Action", "QueryIProductionJob"), ("JobId", job_id.as_str())];
    let (status, body) = call(signed_v2(&beta, &beta_secret, &query)).await;
    assert_eq!((status, body["Code"].as_str()), (404, Some("NotFound.Job")), "{body}");
    let (status, body) = call(signed_v2(&acme, &acme_secret, &query)).await;
    assert_eq!((status, body["JobId"].as_str()), (200, Some(job_id.as_str())), "{body}");
    let (_, listed) = call(signed_v2(&beta, &beta_secret, &[("Action", "ListIProductionJobs")])).await;
    assert_eq!(listed["Jobs"], json!([]), "{listed}");
    keys.set_enabled(&beta, false).await.unwrap();
    let (_, body) = call(signed_v2(&beta, &beta_secret, &query)).await;
    assert_eq!(body["Code"], "Forbidden.AccessKeyDisabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_processing_attempt_is_retried_and_completes() {
    let w = world().await;
    w.put("in/astronaut.png", astronaut()).await;
    let submit = w.submit_fn("");
    let (_, answer) = w.submit_image(&submit, "in/astronaut.png", "out/{source}.jpg", &[]).await;
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    let messages = w.job_messages().await;
    // An invocation claims the job and dies (out of memory, killed) before it settles anything:
    // its lease runs out and SQS, never told otherwise, delivers the message again.
    let crashed = w
        .stack
        .store
        .claim(&JobId::parse(&job_id).unwrap(), Timestamp::now(), Duration::from_millis(1))
        .await
        .unwrap();
    assert!(matches!(crashed, iprod_core::ports::Claim::Started(_)));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let process = w.process_fn(image_engine(), None);
    let outcome = process.processor().handle(&messages[0]).await.unwrap();
    assert_eq!(outcome, Outcome::Ran(JobState::Success));
    let job = w.job(&job_id).await;
    assert_eq!((job.state, job.attempts), (JobState::Success, 2), "the second attempt completed it");
    assert!(w.object("out/astronaut.jpg").await.is_some());
    // Recovery announced the job again; that message is now a harmless duplicate.
    let leftovers = w.job_messages().await;
    assert_eq!(leftovers.len(), 1);
    assert_eq!(
        process.processor().handle(&leftovers[0]).await.unwrap(),
        Outcome::NotQueued(JobState::Success)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_with_spaces_and_unicode_submit_one_job_each() {
    let w = world().await;
    // Moto's own S3 → SQS notifications, as a deployment's bucket would send them.
    let (uploads, arn) = w.queue("uploads").await;
    let config = aws_sdk_s3::types::NotificationConfiguration::builder()
        .queue_configurations(
            aws_sdk_s3::types::QueueConfiguration::builder()
                .queue_arn(arn)
                .events(aws_sdk_s3::types::Event::S3ObjectCreated)
                .build()
                .unwrap(),
        )
        .build();
    w.clients
        .s3
        .put_bucket_notification_configuration()
        .bucket(&w.bucket)
        .notification_configuration(config)
        .send()
        .await
        .unwrap();
    let rules = format!(
        r#"[{{"bucket":"{b}","prefix":"incoming/","function_name":"ImageH2V","output":"oss://{b}/vertical/{{source}}.jpg"}}]"#,
        b = w.bucket
    );
    let submit = w.submit_fn(&rules);
    w.put("incoming/my photo ü.png", astronaut()).await;
    w.put("elsewhere/ignored.png", astronaut()).await;
    let events = w.drain(&uploads).await;
    assert!(events.len() >= 2, "moto sent a test event and the uploads: {events:?}");
    let mut submitted = Vec::new();
    for event in &events {
        let event: Value = serde_json::from_str(event).unwrap();
        let answer = submit.handle(LambdaEvent::new(event.clone(), Context::default())).await.unwrap();
        // A duplicate delivery of the same event submits nothing new.
        let twice = submit.handle(LambdaEvent::new(event, Context::default())).await.unwrap();
        assert_eq!(answer, twice);
        for upload in answer["Uploads"].as_array().unwrap() {
            if let Some(id) = upload["JobId"].as_str() {
                submitted.push((upload["Key"].as_str().unwrap().to_owned(), id.to_owned()));
            }
        }
    }
    assert_eq!(submitted.len(), 1, "only the upload under the rule's prefix: {submitted:?}");
    assert_eq!(submitted[0].0, "incoming/my photo ü.png", "the key is decoded");
    let job = w.job(&submitted[0].1).await;
    assert_eq!(job.input, format!("oss://{}/incoming/my photo ü.png", w.bucket));
    // The fixture's shape (with the fields moto omits) is handled the same way.
    let mut fixture_event = fixture("s3-upload.json");
    fixture_event["Records"][0]["s3"]["bucket"]["name"] = json!(w.bucket);
    let answer = submit.handle(LambdaEvent::new(fixture_event, Context::default())).await.unwrap();
    assert_eq!(answer["Uploads"][0]["Key"], "incoming/my photo ü.png");
    // The job runs on the object whose key has a space and a non-ASCII letter.
    let process = w.process_fn(image_engine(), None);
    let messages = w.job_messages().await;
    for body in &messages {
        process.processor().handle(body).await.unwrap();
    }
    assert_eq!(w.job(&submitted[0].1).await.state, JobState::Success);
    assert!(w.object("vertical/my photo ü.jpg").await.is_some());
    // The API shows it (its client token's item shares the callbacks' index: it is not one).
    let (status, queried) =
        w.api(&submit, &[("Action", "QueryIProductionJob"), ("JobId", &submitted[0].1)]).await;
    assert_eq!((status, &queried["State"]), (200, &json!("Success")), "{queried}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_and_vanished_inputs_end_cleanly() {
    let w = world().await;
    let submit = w.submit_fn("");
    let process = w.process_fn(image_engine(), Some(DLQ_ARN));
    // Malformed bodies and unknown jobs are acknowledged, not retried for ever.
    let unknown = format!("{{\"JobId\":\"{}\",\"PipelineId\":\"default\"}}", JobId::generate());
    let bodies = vec!["not json".to_owned(), "{\"JobId\":\"../etc\"}".to_owned(), unknown];
    let batch = process.handle_records(&sqs_event(&bodies, JOBS_ARN), Duration::from_secs(60)).await;
    assert!(batch.batch_item_failures.is_empty(), "nothing comes back");
    assert!(matches!(process.processor().handle("not json").await.unwrap(), Outcome::Malformed(_)));

    // The input is deleted between submit and processing: the job fails with a code and says so.
    w.put("in/gone.png", astronaut()).await;
    let (_, answer) = w.submit_image(&submit, "in/gone.png", "out/{source}.jpg", &[]).await;
    let gone = answer["JobId"].as_str().unwrap().to_owned();
    w.clients.s3.delete_object().bucket(&w.bucket).key("in/gone.png").send().await.unwrap();
    let messages = w.job_messages().await;
    let batch = process.handle_records(&sqs_event(&messages, JOBS_ARN), Duration::from_secs(60)).await;
    assert!(batch.batch_item_failures.is_empty(), "{:?}", batch.batch_item_failures);
    let job = w.job(&gone).await;
    assert_eq!(job.state, JobState::Fail);
    let error = job.error.unwrap();
    assert_eq!(error.code, "InvalidInput.NotFound");
    assert!(error.message.contains("in/gone.png"), "{}", error.message);

    // A message the queue gave up on (the dead-letter queue) fails its job with a code.
    let (_, answer) = w.submit_image(&submit, "in/never.png", "out/{source}.jpg", &[]).await;
    let stuck = answer["JobId"].as_str().unwrap().to_owned();
    let messages = w.job_messages().await;
    let batch = process.handle_records(&sqs_event(&messages, DLQ_ARN), Duration::from_secs(60)).await;
    assert!(batch.batch_item_failures.is_empty(), "{:?}", batch.batch_item_failures);
    let job = w.job(&stuck).await;
    assert_eq!(
        (job.state, job.error.unwrap().code.as_str()),
        (JobState::Fail, "InternalError.AttemptsExhausted")
    );
    // With a fleet the function consumes two dead-letter queues (IPROD_DEAD_LETTER_ARN lists
    // both): the fleet's dead letters fail their jobs the same way.
    let fleet_dlq = "arn:aws:sqs:us-east-1:000000000000:fleet-dlq";
    let both = w.process_fn(image_engine(), Some(&format!("{DLQ_ARN},{fleet_dlq}")));
    let (_, answer) = w.submit_image(&submit, "in/never.png", "out/{source}-2.jpg", &[]).await;
    let stuck = answer["JobId"].as_str().unwrap().to_owned();
    let messages = w.job_messages().await;
    both.handle_records(&sqs_event(&messages, fleet_dlq), Duration::from_secs(60)).await;
    assert_eq!(w.job(&stuck).await.error.unwrap().code, "InternalError.AttemptsExhausted");
    // A bad request through the API is refused with its code and writes nothing.
    let (status, refused) = w
        .api(
            &submit,
            &[
                ("Action", "SubmitIProductionJob"),
                ("FunctionName", "ImageH2V"),
                ("Input", "oss://other-bucket/a.png"),
                ("Output", "oss://other-bucket/b.jpg"),
            ],
        )
        .await;
    assert_eq!((status, refused["Code"].as_str()), (400, Some("InvalidParameter.Input")), "{refused}");
    assert!(w.job_messages().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_processors_hold_a_pipeline_concurrency() {
    let w = world().await;
    let submit = w.submit_fn("");
    let (_, added) =
        w.api(&submit, &[("Action", "AddPipeline"), ("Name", "race"), ("Concurrency", "2")]).await;
    let pipeline = added["Pipeline"]["PipelineId"].as_str().unwrap().to_owned();
    let engine = Arc::new(CopyEngine::with_delay(Duration::from_millis(300)));
    let mut ids = Vec::new();
    for i in 0..6 {
        let key = format!("in/race-{i}.png");
        w.put(&key, b"not really a png".to_vec()).await;
        let (status, answer) =
            w.submit_image(&submit, &key, "out/{source}.jpg", &[("PipelineId", &pipeline)]).await;
        assert_eq!(status, 200, "{answer}");
        ids.push(answer["JobId"].as_str().unwrap().to_owned());
    }
    // Four processors, like four concurrent Lambda invocations, long-polling one queue.
    let scratch = tempfile::tempdir().unwrap();
    let processors: Vec<Arc<Processor>> = (0..4)
        .map(|_| {
            let worker = w.stack.worker(
                engine.clone(),
                worker_settings(scratch.path().to_owned(), Duration::from_secs(30), Duration::from_secs(600)),
            );
            Arc::new(Processor::new(
                w.stack.job_store(),
                w.stack.job_queue(),
                worker,
                ProcessorSettings { full_delay: Duration::from_secs(1) },
            ))
        })
        .collect();
    let sqs = w.clients.sqs.clone();
    let url = w.stack.settings.queue_url.clone();
    let outcomes: Arc<std::sync::Mutex<HashMap<String, usize>>> = Arc::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let tasks: Vec<_> = processors
        .into_iter()
        .map(|processor| {
            let (sqs, url, outcomes) = (sqs.clone(), url.clone(), outcomes.clone());
            tokio::spawn(async move {
                while tokio::time::Instant::now() < deadline {
                    let out = sqs
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(1)
                        .wait_time_seconds(1)
                        .send()
                        .await
                        .unwrap();
                    for m in out.messages.unwrap_or_default() {
                        let outcome = processor.handle(m.body().unwrap()).await.unwrap();
                        *outcomes.lock().unwrap().entry(format!("{outcome:?}")).or_default() += 1;
                        sqs.delete_message()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle().unwrap())
                            .send()
                            .await
                            .unwrap();
                    }
                    if outcomes.lock().unwrap().get("Ran(Success)") == Some(&6) {
                        return;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for id in &ids {
        let job = w.job(id).await;
        assert_eq!(job.state, JobState::Success, "{job:?} {:?}", outcomes.lock().unwrap());
    }
    let slots =
        w.stack.store.pipeline_slots(&iprod_core::PipelineId::parse(&pipeline).unwrap()).await.unwrap();
    assert_eq!(slots.map(|(_, running)| running), Some(0), "every slot was given back");
    let peak = engine.max_running()[&pipeline];
    assert_eq!(peak, 2, "two at a time, never more: {:?}", outcomes.lock().unwrap());
    assert!(outcomes.lock().unwrap().get("PipelineFull").copied().unwrap_or(0) > 0, "some had to wait");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_pipeline_keeps_its_jobs_and_resuming_announces_them_again() {
    let w = world().await;
    w.put("in/astronaut.png", astronaut()).await;
    let submit = w.submit_fn("");
    let (_, added) =
        w.api(&submit, &[("Action", "AddPipeline"), ("Name", "later"), ("State", "Paused")]).await;
    let pipeline = added["Pipeline"]["PipelineId"].as_str().unwrap().to_owned();
    let (_, answer) =
        w.submit_image(&submit, "in/astronaut.png", "out/{source}.jpg", &[("PipelineId", &pipeline)]).await;
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    let process = w.process_fn(image_engine(), None);
    let messages = w.job_messages().await;
    assert_eq!(process.processor().handle(&messages[0]).await.unwrap(), Outcome::PipelinePaused);
    assert_eq!(w.job(&job_id).await.state, JobState::Queuing, "the job waits");
    assert!(w.job_messages().await.is_empty(), "its message was consumed");
    let (status, _) =
        w.api(&submit, &[("Action", "UpdatePipeline"), ("PipelineId", &pipeline), ("State", "Active")]).await;
    assert_eq!(status, 200);
    let announced = w.job_messages().await;
    assert_eq!(announced.len(), 1, "resuming announced the queued job again");
    assert_eq!(process.processor().handle(&announced[0]).await.unwrap(), Outcome::Ran(JobState::Success));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_whose_job_cannot_be_queued_fails_cleanly_and_leaves_no_job() {
    let w = world().await;
    let mut settings = w.stack.settings.clone();
    settings.queue_url = format!("{}/123456789012/{}", w._moto.endpoint, unique("deleted-queue"));
    let broken = AwsStack::new(w.clients.clone(), settings).await.unwrap();
    let submit = iprod_submit::Submit::new(&broken, Vec::new());
    let (status, answer) =
        w.submit_image(&submit, "in/a.png", "out/{source}.jpg", &[("ClientToken", "retry-me")]).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["Code"], "ServiceUnavailable.Queue");
    let message = answer["Message"].as_str().unwrap();
    assert!(
        message.contains("queue does not exist") && message.len() < 300,
        "short and to the point: {message}"
    );
    let (_, listed) = w.api(&submit, &[("Action", "ListIProductionJobs")]).await;
    assert_eq!(listed["Jobs"], json!([]), "the job was withdrawn");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_announces_a_job_whose_message_was_lost() {
    let w = world().await;
    w.put("in/astronaut.png", astronaut()).await;
    let submit = w.submit_fn("");
    let (_, answer) = w.submit_image(&submit, "in/astronaut.png", "out/{source}.jpg", &[]).await;
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    assert_eq!(w.job_messages().await.len(), 1, "the message is taken and lost");
    let notify = iprod_notify::Notify::new(&w.stack).unwrap();
    let report =
        notify.handle_event(&serde_json::from_value(fixture("notify-schedule.json")).unwrap()).await.unwrap();
    assert_eq!(report.reannounced, 0, "a job queued a moment ago is not stale");
    let eager = iprod_notify::Notify::new(&w.stack).unwrap().with_stale_after(Duration::ZERO);
    let report =
        eager.handle_event(&serde_json::from_value(fixture("notify-schedule.json")).unwrap()).await.unwrap();
    assert_eq!(report.reannounced, 1);
    let announced = w.job_messages().await;
    let process = w.process_fn(image_engine(), None);
    assert_eq!(process.processor().handle(&announced[0]).await.unwrap(), Outcome::Ran(JobState::Success));
    assert_eq!(w.job(&job_id).await.state, JobState::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_reach_an_sns_topic_and_a_signed_webhook() {
    let w = world().await;
    let topic = unique("iprod-events");
    let topic_arn = w.clients.sns.create_topic().name(&topic).send().await.unwrap().topic_arn.unwrap();
    let (inbox, inbox_arn) = w.queue("inbox").await;
    w.clients.sns.subscribe().topic_arn(&topic_arn).protocol("sqs").endpoint(inbox_arn).send().await.unwrap();
    let hook = iprod_tests::WebhookReceiver::start().await;
    let submit = w.submit_fn("");
    let (status, added) = w
        .api(
            &submit,
            &[
                ("Action", "AddPipeline"),
                ("Name", "announced"),
                ("NotifyUrl", &format!("mns://sns/topics/{topic}")),
                ("Secret", "pipeline-owner-secret-0123"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{added}");
    let pipeline = added["Pipeline"]["PipelineId"].as_str().unwrap().to_owned();
    w.put("in/a.png", b"bytes".to_vec()).await;
    let (status, answer) = w
        .submit_image(
            &submit,
            "in/a.png",
            "out/{source}.jpg",
            &[("PipelineId", &pipeline), ("NotifyUrl", &hook.url)],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    let process = w.process_fn(Arc::new(CopyEngine::default()), None);
    for body in w.job_messages().await {
        process.processor().handle(&body).await.unwrap();
    }
    let callbacks = w.stack.store.callbacks_of(&JobId::parse(&job_id).unwrap()).await.unwrap();
    assert_eq!(callbacks.len(), 2, "the pipeline's topic and the job's webhook");
    let ids: Vec<String> = callbacks.iter().map(|c| c.delivery_id.clone()).collect();
    // No stream event here: the sweep makes the first attempts, and says so.
    let notify = iprod_notify::Notify::new(&w.stack).unwrap();
    let report = notify.sweep().await.unwrap();
    assert_eq!((report.delivered, report.failed, report.gave_up, report.retried), (2, 0, 0, 0), "{report:?}");

    let envelopes = w.drain(&inbox).await;
    assert_eq!(envelopes.len(), 1);
    let envelope: Value = serde_json::from_str(&envelopes[0]).unwrap();
    let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(
        (message["JobId"].as_str(), message["State"].as_str()),
        (Some(job_id.as_str()), Some("Success"))
    );

    let received = hook.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (headers, body) = &received[0];
    // The pipeline's secret signs only the pipeline's target: the job's own webhook, given no
    // NotifySecret, is not signed with it.
    assert!(!headers.contains_key("webhook-signature"), "{headers:?}");
    assert!(ids.contains(&headers["x-iproduction-delivery"]), "the delivery id is sent for de-duplication");
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["JobId"].as_str(), Some(job_id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_keeps_a_long_jobs_message_hidden_until_it_is_done() {
    use aws_sdk_sqs::types::QueueAttributeName::{
        ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible,
    };
    let w = world().await;
    w.put("in/slow.png", b"bytes".to_vec()).await;
    let submit = w.submit_fn("");
    let (_, answer) = w.submit_image(&submit, "in/slow.png", "out/{source}.jpg", &[]).await;
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    // The job takes 4 s; the message's visibility is 2 s, renewed every 2/3 s while it runs.
    let engine = Arc::new(CopyEngine::with_delay(Duration::from_secs(4)));
    let process = Arc::new(w.process_fn(engine.clone(), None));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = {
        let process = process.clone();
        tokio::spawn(async move {
            process.run_worker(Duration::from_secs(2), Duration::from_secs(20), stopped).await
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counts = w
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&w.stack.settings.queue_url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(w.job(&job_id).await.state, JobState::Analysing, "still running at 3 s");
    assert_eq!(
        counts[&ApproximateNumberOfMessages], "0",
        "past its 2 s visibility, the message is still hidden"
    );
    assert_eq!(counts[&ApproximateNumberOfMessagesNotVisible], "1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while w.job(&job_id).await.state != JobState::Success {
        assert!(tokio::time::Instant::now() < deadline, "the worker finished the job");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop.send(true);
    worker.await.unwrap();
    assert!(w.job_messages().await.is_empty(), "the settled message was deleted");
    assert_eq!(engine.processed.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_hands_its_running_job_back_and_another_finishes_it() {
    let w = world().await;
    w.put("in/long.png", b"bytes".to_vec()).await;
    let submit = w.submit_fn("");
    let (_, answer) = w.submit_image(&submit, "in/long.png", "out/{source}.jpg", &[]).await;
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    // A job far longer than the drain: SIGTERM (the stop signal) reaches the worker mid-job.
    let slow = Arc::new(CopyEngine::with_delay(Duration::from_secs(120)));
    let process = Arc::new(w.process_fn(slow.clone(), None));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = {
        let process = process.clone();
        tokio::spawn(async move {
            process.run_worker(Duration::from_secs(30), Duration::from_secs(1), stopped).await
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while w.job(&job_id).await.state != JobState::Analysing {
        assert!(tokio::time::Instant::now() < deadline, "the worker started the job");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let asked = tokio::time::Instant::now();
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(10), worker).await.expect("the worker stops").unwrap();
    assert!(asked.elapsed() < Duration::from_secs(5), "it stopped after the 1 s drain, not the job");
    let job = w.job(&job_id).await;
    assert_eq!((job.state, job.attempts), (JobState::Queuing, 1), "handed back, its attempt counted");
    assert_eq!(slow.processed.load(std::sync::atomic::Ordering::Relaxed), 0);
    // The message is visible again at once (not after its 30 s visibility): another worker
    // receives it and finishes the job.
    let messages = w.job_messages().await;
    assert_eq!(messages.len(), 1, "the job's message came back");
    let fast = w.process_fn(Arc::new(CopyEngine::default()), None);
    fast.processor().handle(&messages[0]).await.unwrap();
    assert_eq!(w.job(&job_id).await.state, JobState::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_the_routes_name_run_on_the_fleet_and_say_so() {
    let w = world_with_fleet(Some(r#"{"models": ["u2net"], "functions": ["VideoDelogo"]}"#)).await;
    let fleet_url = w.stack.settings.fleet_queue_url.clone().unwrap();
    w.put("in/a.png", b"bytes".to_vec()).await;
    let submit = w.submit_fn("");
    let input = format!("oss://{}/in/a.png", w.bucket);
    let (status, cutout) = w
        .api(
            &submit,
            &[
                ("Action", "SubmitIProductionJob"),
                ("FunctionName", "ImageMatting"),
                ("ModelId", "u2net"),
                ("Input", &input),
                ("Output", &format!("oss://{}/out/{{source}}.png", w.bucket)),
            ],
        )
        .await;
    assert_eq!(status, 200, "{cutout}");
    let (_, vertical) = w.submit_image(&submit, "in/a.png", "out/{source}.jpg", &[]).await;
    let (fleet_job, lambda_job) = (cutout["JobId"].as_str().unwrap(), vertical["JobId"].as_str().unwrap());
    for (id, runner) in [(fleet_job, "Fleet"), (lambda_job, "Lambda")] {
        let (_, queried) = w.api(&submit, &[("Action", "QueryIProductionJob"), ("JobId", id)]).await;
        assert_eq!(queried["Runner"], runner, "the choice is recorded on the job: {queried}");
    }
    // Each job's message is on its runner's queue.
    let on_lambda = w.job_messages().await;
    assert_eq!(on_lambda.len(), 1);
    assert!(on_lambda[0].contains(lambda_job));
    // A fleet host's worker polls the fleet queue and runs the fleet's job.
    let process = Arc::new(w.process_fn(Arc::new(CopyEngine::default()), None));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = {
        let process = process.clone();
        tokio::spawn(async move {
            process.run_worker(Duration::from_secs(30), Duration::from_secs(5), stopped).await
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while w.job(fleet_job).await.state != JobState::Success {
        assert!(tokio::time::Instant::now() < deadline, "the fleet's worker ran the job");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(true);
    worker.await.unwrap();
    assert!(w.drain(&fleet_url).await.is_empty(), "the fleet's message was settled");
    assert_eq!(w.job(lambda_job).await.state, JobState::Queuing, "the Lambda's job stays for the Lambda");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_hands_a_video_too_long_for_it_to_the_fleet_before_any_work() {
    let w = world_with_fleet(Some(r#"{"longer_than_secs": 600}"#)).await;
    let fleet_url = w.stack.settings.fleet_queue_url.clone().unwrap();
    w.put("in/long.mp4", b"bytes".to_vec()).await;
    let submit = w.submit_fn("");
    let (status, answer) = w
        .api(
            &submit,
            &[
                ("Action", "SubmitIProductionJob"),
                ("FunctionName", "VideoH2V"),
                ("Input", &format!("oss://{}/in/long.mp4", w.bucket)),
                ("Output", &format!("oss://{}/out/{{source}}.mp4", w.bucket)),
            ],
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let job_id = answer["JobId"].as_str().unwrap().to_owned();
    assert_eq!(w.job(&job_id).await.runner, Some(Runner::Lambda), "no rule names it at submit");
    // The Lambda downloads it and finds 40 minutes: it hands the job on without running it.
    let long = Arc::new(CopyEngine::with_duration(2400.0));
    let lambda = w.process_fn(long.clone(), None);
    let messages = w.job_messages().await;
    let batch = lambda.handle_records(&sqs_event(&messages, JOBS_ARN), Duration::from_secs(60)).await;
    assert!(batch.batch_item_failures.is_empty());
    assert_eq!(long.processed.load(std::sync::atomic::Ordering::Relaxed), 0, "no work on the Lambda");
    let job = w.job(&job_id).await;
    assert_eq!((job.state, job.runner), (JobState::Queuing, Some(Runner::Fleet)), "recorded on the job");
    let (_, queried) = w.api(&submit, &[("Action", "QueryIProductionJob"), ("JobId", &job_id)]).await;
    assert_eq!(queried["Runner"], "Fleet");
    // Its message is now on the fleet's queue, where a fleet host (which hands nothing on)
    // runs it whatever its length.
    let on_fleet = w.drain(&fleet_url).await;
    assert_eq!(on_fleet.len(), 1);
    let fleet = iprod_process::Process::new(
        w.stack.clone(),
        long.clone(),
        tempfile::tempdir().unwrap().path().to_owned(),
        None,
        Runner::Fleet,
    );
    fleet.processor().handle(&on_fleet[0]).await.unwrap();
    assert_eq!(w.job(&job_id).await.state, JobState::Success);
    assert_eq!(long.processed.load(std::sync::atomic::Ordering::Relaxed), 1);
    // A short video stays on the Lambda.
    let (_, short) = w
        .api(
            &submit,
            &[
                ("Action", "SubmitIProductionJob"),
                ("FunctionName", "VideoH2V"),
                ("Input", &format!("oss://{}/in/long.mp4", w.bucket)),
                ("Output", &format!("oss://{}/out/short-{{source}}.mp4", w.bucket)),
            ],
        )
        .await;
    let brief = Arc::new(CopyEngine::with_duration(30.0));
    let messages = w.job_messages().await;
    w.process_fn(brief, None).handle_records(&sqs_event(&messages, JOBS_ARN), Duration::from_secs(60)).await;
    assert_eq!(w.job(short["JobId"].as_str().unwrap()).await.state, JobState::Success);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_policies_hold_on_aws_buckets_submit_rates_and_running_limits() {
    use iprod_core::ports::Claim;
    use iprod_core::service::SubmitRequest;
    use iprod_core::tenant::Scope;
    let w = world().await;
    // GIVEN IPROD_TENANTS as the template passes it: acme may use only the media bucket, submit
    // 3 jobs a second, and run one job at a time
    let base = |tenants: &str| {
        let vars: HashMap<&str, String> = HashMap::from([
            ("IPROD_TABLE", w.stack.settings.table.clone()),
            ("IPROD_QUEUE_URL", w.stack.settings.queue_url.clone()),
            ("IPROD_BUCKETS", format!("{},archive", w.bucket)),
            ("IPROD_WEBHOOK_ALLOW_PRIVATE", "true".into()),
            ("IPROD_TENANTS", tenants.to_owned()),
        ]);
        AwsSettings::from_env(move |k| vars.get(k).cloned())
    };
    let refused = base(r#"{"acme": {"buckets": ["elsewhere"]}}"#).unwrap_err();
    assert!(refused.contains("IPROD_TENANTS") && refused.contains("elsewhere"), "{refused}");
    let policy =
        format!(r#"{{"acme": {{"buckets": ["{}"], "submits_per_second": 3, "max_running": 1}}}}"#, w.bucket);
    let stack = AwsStack::new(w.clients.clone(), base(&policy).unwrap()).await.unwrap();
    let service = stack.service();
    let acme = Scope::Tenant("acme".into());
    let request = |output_bucket: &str| SubmitRequest {
        function_name: Some("ImageH2V".into()),
        input: Some(format!("oss://{}/in/a.png", w.bucket)),
        output: Some(format!("oss://{output_bucket}/out/{{source}}.jpg")),
        ..SubmitRequest::default()
    };
    // WHEN acme writes to a bucket of the deployment that is not its own, it is refused by name
    let e = service.submit(request("archive"), Timestamp::now(), &acme).await.unwrap_err();
    assert!(e.code().starts_with("InvalidParameter") && e.message().contains("archive"), "{e:?}");
    // and past its rate (that refusal took one of its three), Throttling.User
    let mut jobs = Vec::new();
    for _ in 0..2 {
        jobs.push(service.submit(request(&w.bucket), Timestamp::now(), &acme).await.unwrap().id);
    }
    let e = service.submit(request(&w.bucket), Timestamp::now(), &acme).await.unwrap_err();
    assert_eq!(e.code(), "Throttling.User");
    // THEN of its two jobs one runs; the other waits though the pipeline has room, and the
    // operator's job runs beside them
    let theirs = service.submit(request("archive"), Timestamp::now(), &Scope::All).await.unwrap().id;
    let (now, lease) = (Timestamp::now(), Duration::from_secs(60));
    let Claim::Started(first) = stack.store.claim(&jobs[0], now, lease).await.unwrap() else {
        panic!("claim")
    };
    assert!(matches!(stack.store.claim(&jobs[1], now, lease).await.unwrap(), Claim::PipelineFull));
    assert!(matches!(stack.store.claim(&theirs, now, lease).await.unwrap(), Claim::Started(_)));
    // and when it ends, its slot is the next one's
    let mut done = *first;
    done.succeed(json!({}), vec![], Timestamp::now()).unwrap();
    stack.store.save_transition(&done, JobState::Analysing, vec![]).await.unwrap();
    let Claim::Started(second) = stack.store.claim(&jobs[1], Timestamp::now(), lease).await.unwrap() else {
        panic!("the freed slot is taken")
    };
    assert_eq!(second.tenant.as_deref(), Some("acme"));
}

/// Every fixture of events/ reads as the event type of the function it is for (what
/// `cargo lambda invoke --data-file` sends): typed edges, no untyped JSON.
#[test]
fn the_event_fixtures_are_the_functions_typed_events() {
    let sqs: SqsEvent = serde_json::from_value(fixture("process-sqs.json")).unwrap();
    assert!(sqs.records[0].body.is_some() && sqs.records[0].event_source_arn.is_some());
    let stream: NotifyEvent = serde_json::from_value(fixture("notify-stream.json")).unwrap();
    assert!(
        matches!(stream, NotifyEvent::Stream(ref e) if e.records[0].event_name == "INSERT"),
        "{stream:?}"
    );
    let schedule: NotifyEvent = serde_json::from_value(fixture("notify-schedule.json")).unwrap();
    assert!(
        matches!(schedule, NotifyEvent::Schedule(ref e) if e.detail_type == "Scheduled Event"),
        "{schedule:?}"
    );
    for http in ["submit-http.json", "query-http.json"] {
        let request: Result<lambda_http::request::LambdaRequest, _> = serde_json::from_value(fixture(http));
        assert!(request.is_ok(), "{http}");
    }
}
