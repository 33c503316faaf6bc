//! The `iprod` binary itself: serve refuses unsafe binds, prints its layered config, and a
//! submitted job travels through the real engine (probe first, then the honest
//! `Unsupported.Function` until the algorithm lands); `iprod run` reports the same.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const IPROD: &str = env!("CARGO_BIN_EXE_iprod");

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

fn ffmpeg_clip(path: &std::path::Path) {
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-t",
            "1",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(path)
        .status()
        .expect("ffmpeg is installed (make test installs it)");
    assert!(status.success());
}

#[test]
fn a_job_submitted_with_the_cli_reaches_a_terminal_state_with_an_honest_code() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    std::fs::create_dir_all(root.join("buckets/media/in")).unwrap();
    ffmpeg_clip(&root.join("buckets/media/in/clip.mp4"));
    std::fs::write(root.join("buckets/media/in/broken.mp4"), b"this is not a video").unwrap();
    let mut server = Command::new(IPROD)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-root"])
        .arg(&root)
        .env_remove("IPROD_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_owned();

    let submit = |input: &str| {
        let out = iprod(&[
            "submit",
            "--server",
            &url,
            "VideoH2V",
            input,
            "oss://media/out/{source}.mp4",
            "--user-data",
            "u1",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let good = submit("oss://media/in/clip.mp4");
    let broken = submit("oss://media/in/broken.mp4");
    assert_eq!(good.len(), 32);

    let wait = |id: &str| {
        let out = iprod(&["query", "--server", &url, "--json", "--wait", id]);
        assert!(!out.status.success(), "a failed job makes `query --wait` exit non-zero");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let job = wait(&good);
    assert_eq!(
        (job["State"].as_str(), job["Code"].as_str()),
        (Some("Fail"), Some("Unsupported.Function")),
        "{job}"
    );
    assert!(job["Message"].as_str().unwrap().contains("VideoH2V"));
    let job = wait(&broken);
    assert_eq!(job["Code"], "InvalidInput.Media", "probing rejects a non-video: {job}");

    let listed = iprod(&["jobs", "--server", &url]);
    let text = String::from_utf8(listed.stdout).unwrap();
    assert!(text.contains(&good) && text.contains("Fail"), "{text}");
    let refused =
        iprod(&["submit", "--server", &url, "VideoH2V", "oss://media/in/clip.mp4", "oss://media/out/x.png"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("InvalidParameter.Output"));
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn run_on_local_files_validates_and_reports_the_engine_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.mp4");
    ffmpeg_clip(&clip);
    let out_path = dir.path().join("vertical.mp4");
    let out = iprod(&["run", "VideoH2V", clip.to_str().unwrap(), out_path.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unsupported.Function"));
    assert!(!out_path.exists(), "no output is invented");
    let bad = iprod(&[
        "run",
        "VideoDelogo",
        clip.to_str().unwrap(),
        out_path.to_str().unwrap(),
        "--params",
        r#"{"Logo":[[0.9,0,0.5,0.1]]}"#,
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("InvalidParameter.JobParams"));
}
