//! The SAM template, validated offline: `cfn-lint` and `sam validate --lint` must pass, and the
//! checks those linters do not make are made here (queue visibility against the function's
//! timeout, SQS batch sizes and MaximumConcurrency, least-privilege resources, the table's
//! indexes against the DynamoDB store's schema).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::process::Command;

use iprod_aws::dynamo::schema::{INDEXES, KEY};
use iprod_tests::repo_root;
use serde_json::{Value, json};

fn venv_tool(name: &str) -> std::path::PathBuf {
    repo_root().join(".iprod/aws-venv/bin").join(name)
}

fn run(tool: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(venv_tool(tool))
        .args(args)
        .current_dir(repo_root())
        .env("AWS_REGION", "us-east-1")
        .env("SAM_CLI_TELEMETRY", "0")
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs (scripts/setup.sh test installs it): {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The template as JSON; short-form intrinsics (`!Ref`, `!Sub`…) become their long forms.
fn template() -> Value {
    const TO_JSON: &str = r#"
import json, sys, yaml
class Loader(yaml.SafeLoader):
    pass
def intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix if suffix in ("Ref", "Condition") else "Fn::" + suffix: value}
Loader.add_multi_constructor("!", intrinsic)
print(json.dumps(yaml.load(open(sys.argv[1]), Loader=Loader)))
"#;
    let (ok, text) = run("python", &["-c", TO_JSON, "template.yaml"]);
    assert!(ok, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn cfn_lint_passes() {
    let (ok, text) = run("cfn-lint", &["template.yaml"]);
    assert!(ok, "cfn-lint found problems:\n{text}");
}

#[test]
fn sam_validate_lint_passes() {
    let (ok, text) = run("sam", &["validate", "--lint", "-t", "template.yaml"]);
    assert!(ok && text.contains("is a valid SAM Template"), "{text}");
}

fn resources_of(t: &Value, kind: &str) -> Vec<(String, Value)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.clone(), r.clone()))
        .collect()
}

/// A number written literally, or the smallest value a parameter allows.
fn least(t: &Value, v: &Value) -> i64 {
    match v.get("Ref").and_then(Value::as_str) {
        Some(param) => {
            t["Parameters"][param]["MinValue"].as_i64().expect("a numeric parameter has a MinValue")
        }
        None => v.as_i64().unwrap_or_else(|| v.as_str().unwrap().parse().unwrap()),
    }
}

#[test]
fn sqs_event_sources_are_within_limits_and_report_item_failures() {
    let t = template();
    let function_timeout = |name: &str| t["Resources"][name]["Properties"]["Timeout"].as_i64().unwrap();
    let mut seen = 0;
    for (name, function) in resources_of(&t, "AWS::Serverless::Function") {
        for event in function["Properties"]["Events"].as_object().into_iter().flat_map(|e| e.values()) {
            if event["Type"] != "SQS" {
                continue;
            }
            seen += 1;
            let p = &event["Properties"];
            let batch = p["BatchSize"].as_i64().unwrap();
            assert!((1..=10).contains(&batch), "{name}: BatchSize {batch} (1-10 without a batching window)");
            assert!(
                least(&t, &p["ScalingConfig"]["MaximumConcurrency"]) >= 2,
                "{name}: MaximumConcurrency < 2"
            );
            assert_eq!(p["FunctionResponseTypes"], serde_json::json!(["ReportBatchItemFailures"]), "{name}");
            let queue = p["Queue"]["Fn::GetAtt"].as_str().unwrap().split('.').next().unwrap().to_owned();
            let visibility = t["Resources"][&queue]["Properties"]["VisibilityTimeout"].as_i64().unwrap();
            assert!(
                visibility >= 6 * function_timeout(&name),
                "{queue}'s visibility {visibility}s is under six times {name}'s timeout"
            );
        }
    }
    assert_eq!(seen, 2, "the job queue and its dead-letter queue feed the process function");
    let redrive = &t["Resources"]["JobQueue"]["Properties"]["RedrivePolicy"];
    assert_eq!(redrive["deadLetterTargetArn"]["Fn::GetAtt"], "JobDeadLetterQueue.Arn");
    assert!(redrive["maxReceiveCount"].as_i64().unwrap() >= 3);
}

#[test]
fn functions_are_least_privilege_and_built_from_this_workspace() {
    let t = template();
    let functions = resources_of(&t, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 3);
    for (name, function) in &functions {
        let binary = function["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
        let manifest = std::fs::read_to_string(repo_root().join("functions").join(binary).join("Cargo.toml"))
            .unwrap_or_else(|_| {
                panic!("{name} builds binary {binary}, which functions/{binary} must define")
            });
        assert!(manifest.contains(&format!("name = \"{binary}\"")), "{name}");
        // process is x86_64 like its ffmpeg layer; the others follow the Architecture parameter.
        let arch = &function["Properties"]["Architectures"][0];
        let expected = if binary == "process" { json!("x86_64") } else { json!({"Ref": "Architecture"}) };
        assert_eq!(arch, &expected, "{name}");
        for policy in function["Properties"]["Policies"].as_array().unwrap() {
            for statement in policy["Statement"].as_array().unwrap() {
                let text = statement.to_string();
                assert!(!text.contains("\"*\""), "{name}: no wildcard action or resource: {text}");
                if text.contains("s3:") {
                    assert!(
                        text.contains("-media-") || text.contains("ExtraBuckets"),
                        "{name}: S3 only on the allowed buckets: {text}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_table_matches_the_store_schema() {
    let t = template();
    let table = &t["Resources"]["JobTable"]["Properties"];
    assert_eq!(table["KeySchema"][0]["AttributeName"], KEY);
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "NEW_IMAGE", "notify reads the stream");
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], iprod_aws::dynamo::schema::EXPIRES);
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true, "retention needs TTL on");
    let types: std::collections::HashMap<&str, &str> = table["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["AttributeName"].as_str().unwrap(), a["AttributeType"].as_str().unwrap()))
        .collect();
    let gsis = table["GlobalSecondaryIndexes"].as_array().unwrap();
    assert_eq!(gsis.len(), INDEXES.len());
    for index in INDEXES {
        let gsi = gsis
            .iter()
            .find(|g| g["IndexName"] == index.name)
            .unwrap_or_else(|| panic!("index {}", index.name));
        assert_eq!(gsi["KeySchema"][0]["AttributeName"], index.partition, "{}", index.name);
        assert_eq!(gsi["KeySchema"][1]["AttributeName"], index.sort.0, "{}", index.name);
        assert_eq!(gsi["Projection"]["ProjectionType"], "ALL");
        assert_eq!(types[index.partition], "S");
        assert_eq!(types[index.sort.0], if index.sort.1 { "N" } else { "S" }, "{}", index.name);
    }
}

#[test]
fn sam_builds_the_whole_stack_offline_within_lambdas_size_limits() {
    // `sam build` itself, as a newcomer runs it (x86_64: the arm64 Rust target cannot be
    // installed here). It builds each function with cargo lambda (release), and copies layers/
    // to a scratch directory under /tmp to run its Makefile there: the fetch scripts must still
    // use the checkout's cache and pack (nothing may be fetched again: this machine's registry
    // may not be reachable) and write nothing outside it.
    let out = tempfile::tempdir().unwrap();
    let scratch = out.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let built = out.path().join("build");
    // The checkout's cache, as a user's first `layers/fetch-ffmpeg.sh` (or an earlier build)
    // leaves it; downloading once is allowed here, not under `sam build`.
    let warm = Command::new(repo_root().join("layers/fetch-ffmpeg.sh"))
        .arg(out.path().join("warm"))
        .output()
        .unwrap();
    assert!(warm.status.success(), "{}", String::from_utf8_lossy(&warm.stderr));
    let sam = Command::new(venv_tool("sam"))
        .args(["build", "-t", "template.yaml", "--parameter-overrides", "Architecture=x86_64", "--build-dir"])
        .arg(&built)
        .current_dir(repo_root())
        // cargo lambda, from the same tools directory.
        .env("PATH", format!("{}:{}", venv_tool("").display(), std::env::var("PATH").unwrap_or_default()))
        .env("AWS_REGION", "us-east-1")
        .env("SAM_CLI_TELEMETRY", "0")
        // An unoptimised release build (opt-level 0, no LTO): 201 s alone on two cores, against
        // 341 s at opt-level 1 and 595 s with a deployment's optimisation. This test ran beside
        // the rest of the suite for 726 s at opt-level 1 and set the length of CI's test run.
        // Its binaries come out larger than a deployment's (process 34.1 MB against 20.4 MB), so
        // the size check below bounds a deployment's from above. iprod-media is optimised all
        // the same (Cargo.toml: its generic SIMD resizing, unoptimised, added ~10 MB).
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_LTO", "off")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("TMPDIR", &scratch)
        .env_remove("IPROD_CACHE_DIR")
        // pip would fail offline; a download attempt shows up as this message instead.
        .env("PIP_NO_INDEX", "1")
        .output()
        .unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&sam.stdout), String::from_utf8_lossy(&sam.stderr));
    assert!(sam.status.success() && log.contains("Build Succeeded"), "{log}");
    assert!(!log.contains("downloading"), "a layer fetched again instead of using the cache:\n{log}");
    assert!(!scratch.join(".iprod").exists(), "a layer wrote a cache beside SAM's scratch copy");

    let ffmpeg = built.join("FfmpegLayer/bin/ffmpeg");
    let version = Command::new(&ffmpeg).arg("-version").output().unwrap();
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("--enable-libx264"),
        "the layer's ffmpeg encodes H.264"
    );
    let models = built.join("ModelLayer/model-pack");
    for file in [
        "libonnxruntime.so",
        "u2netp.onnx",
        "u2netp-dynamic.onnx",
        "centerface-dynamic.onnx",
        "ppocrv5-det.onnx",
    ] {
        assert!(models.join(file).exists(), "{file} is in the model layer");
    }
    assert!(!models.join("u2net.onnx").exists(), "the full U²-Net does not fit a Lambda");
    // Lambda allows 250 MB unzipped for a function and its layers together.
    const LIMIT: u64 = 250 * 1000 * 1000;
    let layers = dir_size(&built.join("FfmpegLayer")) + dir_size(&built.join("ModelLayer"));
    for (function, with_layers) in
        [("SubmitFunction", false), ("ProcessFunction", true), ("NotifyFunction", false)]
    {
        let bootstrap = built.join(function).join("bootstrap");
        let size = std::fs::metadata(&bootstrap).unwrap().len() + if with_layers { layers } else { 0 };
        assert!(
            size < LIMIT,
            "{function} and its layers take {} MB unzipped, over Lambda's 250 MB",
            size / 1_000_000
        );
        let head = std::fs::read(&bootstrap).unwrap();
        assert_eq!(&head[..4], b"\x7fELF", "{function}'s bootstrap is an executable");
    }
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() { dir_size(&e.path()) } else { meta.len() }
        })
        .sum()
}

#[test]
fn sdk_access_is_off_by_default_and_when_on_only_signed_requests_pass_the_iam_free_api() {
    let t = template();
    assert_eq!(t["Parameters"]["SdkAccess"]["Default"], "Disabled");
    // Everything SdkAccess adds exists only with it.
    for name in ["AccessKeySealingKey", "SdkApi", "SdkApiInvoke"] {
        assert_eq!(t["Resources"][name]["Condition"], "SdkAccessEnabled", "{name}");
    }
    // The SDKs' API has no authorizer and reaches the submit function only.
    let sdk = &t["Resources"]["SdkApi"]["Properties"];
    assert_eq!(sdk["ProtocolType"], "HTTP");
    assert_eq!(sdk["Target"], json!({"Fn::GetAtt": "SubmitFunction.Arn"}));
    assert!(sdk.get("AuthorizationType").is_none() && sdk.get("Authorizer").is_none());
    // The IAM API stays IAM-only.
    assert_eq!(t["Resources"]["Api"]["Properties"]["Auth"]["DefaultAuthorizer"], "AWS_IAM");
    // The submit function verifies signatures exactly when the key exists (IPROD_KMS_KEY set),
    // and may only unseal with it: adding keys is the administrators' (kms:Encrypt).
    let submit = &t["Resources"]["SubmitFunction"]["Properties"];
    let kms_key = &submit["Environment"]["Variables"]["IPROD_KMS_KEY"]["Fn::If"];
    assert_eq!(kms_key[0], "SdkAccessEnabled");
    assert_eq!(kms_key[2], "");
    let policies = submit["Policies"].to_string();
    assert!(policies.contains("kms:Decrypt") && !policies.contains("kms:Encrypt"), "{policies}");
    for name in ["Process", "Notify"] {
        let text = t["Resources"][format!("{name}Function")]["Properties"]["Policies"].to_string();
        assert!(!text.contains("kms:"), "{name}: {text}");
    }
}

#[test]
fn the_walkthroughs_env_file_sets_every_variable_the_template_sets() {
    let t = template();
    let mut in_template = std::collections::BTreeSet::new();
    let globals = t["Globals"]["Function"]["Environment"]["Variables"].as_object().unwrap();
    in_template.extend(globals.keys().cloned());
    for (_, resource) in t["Resources"].as_object().unwrap() {
        if resource["Type"] == "AWS::Serverless::Function"
            && let Some(vars) = resource["Properties"]["Environment"]["Variables"].as_object()
        {
            in_template.extend(vars.keys().cloned());
        }
    }
    let env_file = std::fs::read_to_string(repo_root().join("events/local.env")).unwrap();
    let in_file: std::collections::BTreeSet<String> = env_file
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_owned()))
        .filter(|k| k.starts_with("IPROD_") || k == "RUST_LOG")
        .collect();
    assert!(in_template.contains("IPROD_TRIGGERS"), "{in_template:?}");
    assert_eq!(in_file, in_template, "events/local.env and template.yaml name different variables");
}

#[test]
fn the_worker_dockerfile_is_hadolint_clean_and_runs_the_worker_unprivileged() {
    let (ok, text) = run("hadolint", &["--failure-threshold", "error", "Dockerfile"]);
    assert!(ok, "hadolint found errors:\n{text}");
    // `make test` builds the CPU target and runs jobs in it (scripts/try-aws-local.sh
    // --worker-image); what only the GPU target has is checked here.
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    let gpu = dockerfile.split("AS gpu").nth(1).unwrap().split("\nFROM ").next().unwrap();
    for needed in ["IPROD_GPU=true", "LD_LIBRARY_PATH=/opt/iprod/cuda", "compute,utility,video"] {
        assert!(gpu.contains(needed), "the GPU target sets {needed}");
    }
    assert!(dockerfile.contains("USER 10001:10001") && dockerfile.contains("CMD [\"--worker\"]"));
}

#[test]
fn the_gpu_fleet_is_off_by_default_and_runs_one_gpu_worker_per_job_scaled_on_its_own_queue() {
    let t = template();
    let resources = t["Resources"].as_object().unwrap();
    assert_eq!(t["Parameters"]["GpuFleet"]["Default"], "Disabled", "the default deploy is Lambda-only");
    let fleet: Vec<&String> = resources.keys().filter(|k| k.starts_with("Fleet")).collect();
    assert!(fleet.len() >= 15, "{fleet:?}");
    for name in &fleet {
        assert_eq!(resources[*name]["Condition"], "GpuFleetEnabled", "{name} exists only with the fleet");
    }
    // One GPU per task, the worker image in worker mode, a drain shorter than the stop timeout.
    let task = &resources["FleetTaskDefinition"]["Properties"];
    let worker = &task["ContainerDefinitions"][0];
    assert_eq!(worker["ResourceRequirements"], json!([{"Type": "GPU", "Value": "1"}]));
    assert_eq!(worker["Image"], json!({"Ref": "GpuWorkerImage"}));
    let command: Vec<&str> =
        worker["Command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(command[0], "--worker");
    let drain: u64 = command[command.iter().position(|a| *a == "--drain").unwrap() + 1].parse().unwrap();
    assert!(drain < worker["StopTimeout"].as_u64().unwrap(), "a running job is handed back before SIGKILL");
    let env: std::collections::HashMap<&str, &Value> = worker["Environment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["Name"].as_str().unwrap(), &e["Value"]))
        .collect();
    assert_eq!(
        env["IPROD_FLEET_QUEUE_URL"],
        &json!({"Ref": "FleetQueue"}),
        "the worker polls the fleet's queue"
    );
    assert_eq!(env["IPROD_QUEUE_URL"], &json!({"Ref": "JobQueue"}), "and announces Lambda jobs on theirs");
    // GPU instances from the ECS GPU-optimised AMI, joining the cluster with GPU support.
    let launch = resources["FleetLaunchTemplate"]["Properties"]["LaunchTemplateData"].to_string();
    assert!(launch.contains("/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/"), "{launch}");
    assert!(launch.contains("ECS_ENABLE_GPU_SUPPORT=true"), "{launch}");
    // Scaling: from the fleet queue's backlog (waiting + running), down to zero when idle.
    let target = &resources["FleetScalableTarget"]["Properties"];
    assert_eq!(
        (&target["MinCapacity"], &target["MaxCapacity"]),
        (&json!(0), &json!({"Ref": "GpuFleetMaxTasks"}))
    );
    for alarm in ["FleetBacklogAlarm", "FleetIdleAlarm"] {
        let text = resources[alarm]["Properties"]["Metrics"].to_string();
        assert!(
            text.contains("ApproximateNumberOfMessagesVisible")
                && text.contains("ApproximateNumberOfMessagesNotVisible")
        );
        assert!(text.contains("FleetQueue.QueueName"), "{alarm} watches the fleet's queue");
    }
    assert_eq!(
        resources["FleetIdleAlarm"]["Properties"]["AlarmActions"],
        json!([{"Ref": "FleetScaleToZero"}])
    );
    let to_zero = &resources["FleetScaleToZero"]["Properties"]["StepScalingPolicyConfiguration"];
    assert_eq!(
        (&to_zero["AdjustmentType"], &to_zero["StepAdjustments"][0]["ScalingAdjustment"]),
        (&json!("ExactCapacity"), &json!(0))
    );
    // Its own dead-letter queue, consumed by the process function, which fails their jobs.
    assert_eq!(
        resources["FleetQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"],
        json!({"Fn::GetAtt": "FleetDeadLetterQueue.Arn"})
    );
    let dead_letters = &resources["FleetDeadLetters"]["Properties"];
    assert_eq!(dead_letters["EventSourceArn"], json!({"Fn::GetAtt": "FleetDeadLetterQueue.Arn"}));
    assert_eq!(dead_letters["FunctionName"], json!({"Ref": "ProcessFunction"}));
    let process = &resources["ProcessFunction"]["Properties"];
    assert!(
        process["Environment"]["Variables"]["IPROD_DEAD_LETTER_ARN"]
            .to_string()
            .contains("FleetDeadLetterQueue.Arn")
    );
    // Least privilege: no wildcard, the fleet's queue only for receiving, nothing to publish.
    let role = resources["FleetTaskRole"]["Properties"]["Policies"].to_string();
    assert!(!role.contains("\"*\"") && !role.contains("sns:") && !role.contains("kms:"), "{role}");
    for statement in resources["FleetTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
    {
        if statement["Action"].to_string().contains("sqs:ReceiveMessage") {
            assert_eq!(statement["Resource"], json!({"Fn::GetAtt": "FleetQueue.Arn"}));
        }
    }
    // Every function may announce a fleet job (submit, retries, the sweep), only with the fleet.
    let globals = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(globals["IPROD_FLEET_QUEUE_URL"]["Fn::If"][0], "GpuFleetEnabled");
    for name in ["SubmitFunction", "ProcessFunction", "NotifyFunction"] {
        let text = resources[name]["Properties"]["Policies"].to_string();
        assert!(text.contains("GpuFleetEnabled") && text.contains("FleetQueue.Arn"), "{name}: {text}");
    }
}
