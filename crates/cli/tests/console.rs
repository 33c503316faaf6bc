//! The web console in a real browser (Debian's chromium through chromedriver), against a real
//! `iprod serve` with the real engine; and its object endpoints over plain HTTP.
//!
//! Screenshots of the pages land in `target/console-screenshots/` (test artefacts).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

#[path = "support/server.rs"]
mod server;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use server::{repo_path, serve};
use webdriver::Browser;

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots")
}

/// A data root with the test photo and video in the `media` bucket.
fn data_root(dir: &Path) -> PathBuf {
    let root = dir.join("data");
    std::fs::create_dir_all(root.join("buckets/media/in")).unwrap();
    for name in ["astronaut.png", "bikes.mp4"] {
        std::fs::copy(
            repo_path(&format!(".iprod/test-media/{name}")),
            root.join("buckets/media/in").join(name),
        )
        .expect("test media present (make test fetches it)");
    }
    root
}

fn model_dir() -> String {
    format!("engine.model_dir={}", repo_path(".iprod/model-pack"))
}

/// The JobId the form's status line links to after a submit.
fn submitted_job(browser: &Browser) -> String {
    let id = browser.wait_for(
        "the submit's answer",
        20,
        "const a = document.querySelector('#submit-form .status a'); return a && a.textContent;",
    );
    id.as_str().unwrap().to_owned()
}

#[test]
fn an_image_job_submitted_through_the_form_is_watched_to_success_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_root(dir.path());
    let (mut server, url) = serve(&root, &["--set", &model_dir()]);
    let browser = Browser::start(1280, 1000);
    browser.goto(&format!("{url}/console"));

    // The input is picked by browsing the bucket, as a user would.
    browser.choose("#submit-FunctionName", "ImageMatting");
    browser.click("details.browser summary");
    browser.click("button[aria-label='Use in/astronaut.png as the input']");
    assert_eq!(
        browser.eval("return document.getElementById('submit-Input').value"),
        "oss://media/in/astronaut.png"
    );
    assert_eq!(
        browser.eval("return document.getElementById('submit-Output').value"),
        "oss://media/out/{source}-cutout.png",
        "the output template starts from the function's default"
    );
    // A mark on the page: a reload would drop it.
    browser.eval("window.consoleMark = 'no reload'");
    browser.click("#submit-form button[type=submit]");
    let job_id = submitted_job(&browser);

    // The jobs list shows it reach Success by polling, without a reload.
    let row = format!("#jobs-table tr[data-job='{job_id}']");
    browser.wait_for(
        "the job to reach Success on the jobs list",
        90,
        &format!("const r = document.querySelector(\"{row}\"); return r && r.dataset.state === 'Success';"),
    );
    assert_eq!(browser.eval("return window.consoleMark"), "no reload");
    assert!(browser.text(&format!("{row} .progress-cell")).contains("100 %"));
    browser.resize(1280, 1500);
    browser.screenshot(&screenshots().join("home.png"));

    // Its page renders the output image beside the input (a before/after slider).
    browser.click(&format!("{row} a"));
    let size = browser.wait_for(
        "the output image to render",
        30,
        "const i = document.getElementById('output-image'); return i && i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight];",
    );
    assert_eq!(size, json!([512, 512]));
    assert!(browser.text("#job-state").contains("Success"));
    browser.find("#slider"); // a before/after slider
    assert!(
        browser.eval("return document.querySelector('.after').classList.contains('checker')") == json!(true),
        "a cut-out is shown on a checkerboard"
    );
    browser.screenshot(&screenshots().join("job-image.png"));

    // At phone width nothing runs off the side.
    browser.goto(&format!("{url}/console"));
    browser.resize(390, 844);
    browser.wait_for(
        "the jobs list",
        20,
        "return document.querySelectorAll('#jobs-table tr[data-job]').length",
    );
    let overflow = browser.eval("return document.documentElement.scrollWidth - window.innerWidth");
    assert!(overflow.as_i64().unwrap() <= 0, "the page is {overflow} px wider than a phone");
    browser.screenshot(&screenshots().join("home-phone.png"));
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn a_bad_parameter_shows_the_apis_message_next_to_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_root(dir.path());
    let (mut server, url) = serve(&root, &["--set", &model_dir()]);
    let browser = Browser::start(1280, 1000);
    browser.goto(&format!("{url}/console"));

    // The Cover form has the fields of Cover's JobParams, from the same table the API checks.
    browser.choose("#submit-FunctionName", "Cover");
    assert_eq!(browser.eval("return document.getElementById('param-Count').max"), "20");
    browser.fill("#submit-Input", "oss://media/in/bikes.mp4");
    browser.fill("#param-Count", "50");
    browser.click("#submit-form button[type=submit]");
    let shown = browser.wait_for(
        "the error beside Count",
        20,
        "return document.getElementById('param-Count-error').textContent",
    );
    // The very message the API gives for the same request.
    let api = Command::new("curl")
        .args(["-s", "-g", &format!("{url}/?Action=SubmitIProductionJob&FunctionName=Cover&Input=oss://media/in/bikes.mp4&Output=oss://media/out/x-{{sequenceId}}.jpg&JobParams=%7B%22Count%22:50%7D")])
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&api.stdout).unwrap();
    assert_eq!(answer["Code"], "InvalidParameter.JobParams");
    assert!(shown.as_str().unwrap().contains(answer["Message"].as_str().unwrap()), "{shown} vs {answer}");
    assert_eq!(
        browser.eval("return document.getElementById('param-Count').getAttribute('aria-invalid')"),
        "true"
    );
    assert_eq!(browser.eval("return document.activeElement.id"), "param-Count", "focus moves to the field");

    // A missing input is shown beside the Input field.
    browser.fill("#param-Count", "2");
    browser.fill("#submit-Input", "");
    browser.click("#submit-form button[type=submit]");
    let missing = browser.wait_for(
        "the error beside Input",
        20,
        "return document.getElementById('submit-Input-error').textContent",
    );
    assert!(missing.as_str().unwrap().contains("MissingParameter.Input"), "{missing}");
    assert_eq!(browser.text("#param-Count-error"), "", "the earlier error is cleared");
    browser.screenshot(&screenshots().join("form-error.png"));
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn a_video_jobs_page_plays_the_output_and_draws_the_crop_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_root(dir.path());
    let (mut server, url) = serve(&root, &["--set", &model_dir()]);
    let browser = Browser::start(1280, 1000);
    browser.goto(&format!("{url}/console"));
    browser.choose("#submit-FunctionName", "VideoH2V");
    browser.fill("#submit-Input", "oss://media/in/bikes.mp4");
    browser.click("#submit-form button[type=submit]");
    let job_id = submitted_job(&browser);
    // While it runs, the jobs list updates in place: nothing on the page moves.
    let row = format!("#jobs-table tr[data-job='{job_id}']");
    let layout = format!(
        "const r = document.querySelector(\"{row}\"); const p = document.getElementById('pipelines-title'); \
         return r && [r.dataset.state, r.getBoundingClientRect().top, r.getBoundingClientRect().height, p.getBoundingClientRect().top];"
    );
    let running = browser.wait_for("the job on the list", 20, &layout);
    assert_ne!(running[0], "Success", "seen while it runs (the list refreshes right after a submit)");
    browser.wait_for(
        "the job to reach Success on the list",
        180,
        &format!("const r = document.querySelector(\"{row}\"); return r && r.dataset.state === 'Success';"),
    );
    let done = browser.eval(&layout);
    let place = |v: &Value| v.as_array().unwrap()[1..].to_vec();
    assert_eq!(place(&running), place(&done), "the list moved while the job ran: {running} then {done}");
    browser.goto(&format!("{url}/console/jobs/{job_id}"));
    browser.wait_for(
        "the job to succeed",
        180,
        "const s = document.getElementById('job-state'); return s && s.textContent === 'Success';",
    );
    let ready = browser.wait_for(
        "the output video to be playable",
        30,
        "const v = document.getElementById('output-video'); return v && v.readyState >= 2 && v.readyState;",
    );
    assert!(ready.as_i64().unwrap() >= 2);
    // The crop window is drawn over the source, as tall as the source (a 9:16 window of 640x272).
    let window = browser.wait_for(
        "the crop window over the source",
        20,
        "const b = document.querySelector('.box-crop'); return b && b.style.height && [b.style.height, b.style.width];",
    );
    assert_eq!(window[0], "100%", "{window}");
    browser.resize(1280, 1400);
    browser.screenshot(&screenshots().join("job-video.png"));
    server.kill().unwrap();
    let _ = server.wait();
}

/// Submits through the API (curl) and returns the JobId.
fn submit(url: &str, function: &str, input: &str, output: &str, params: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", &format!("{url}/"), "--data-urlencode", "Action=SubmitIProductionJob"])
        .args(["--data-urlencode", &format!("FunctionName={function}")])
        .args(["--data-urlencode", &format!("Input={input}")])
        .args(["--data-urlencode", &format!("Output={output}")])
        .args(["--data-urlencode", &format!("JobParams={params}")])
        .output()
        .unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["JobId"].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned()
}

#[test]
fn each_functions_page_draws_what_the_job_decided() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_root(dir.path());
    let (mut server, url) = serve(&root, &["--set", &model_dir()]);
    let delogo = submit(
        &url,
        "ImageDelogo",
        "oss://media/in/astronaut.png",
        "oss://media/out/{source}-clean.png",
        r#"{"Logo":[[0.02,0.02,0.3,0.1]]}"#,
    );
    let covers = submit(&url, "Cover", "oss://media/in/bikes.mp4", "oss://media/out/c-{sequenceId}.jpg", "");
    let clip =
        submit(&url, "VideoClip", "oss://media/in/bikes.mp4", "oss://media/out/sum.mp4", r#"{"Duration":4}"#);
    let video_delogo = submit(
        &url,
        "VideoDelogo",
        "oss://media/in/bikes.mp4",
        "oss://media/out/dl.mp4",
        r#"{"Logo":[[0.8,0.05,0.15,0.1]]}"#,
    );
    let browser = Browser::start(1280, 1000);
    let open = |job: &str| {
        browser.goto(&format!("{url}/console/jobs/{job}"));
        browser.wait_for(
            "the job to succeed",
            120,
            "const s = document.getElementById('job-state'); return s && s.textContent === 'Success';",
        );
    };
    open(&delogo);
    // The given box, drawn where it is: 2 % in, 30 % wide.
    let mark = browser.wait_for(
        "the mark's box",
        20,
        "const b = document.querySelector('#marks .box'); return b && [b.style.left, b.style.width];",
    );
    assert!(mark[1].as_str().unwrap().starts_with("30."), "{mark}");
    browser.find("#slider");
    open(&covers);
    let captions = browser.wait_for(
        "the covers",
        20,
        "const f = document.querySelectorAll('#covers figure img'); \
         return f.length && [...f].every(i => i.complete && i.naturalWidth > 0) && \
         [...document.querySelectorAll('#covers figcaption')].map(c => c.textContent);",
    );
    assert_eq!(captions.as_array().unwrap().len(), 3, "{captions}");
    assert!(captions[0].as_str().unwrap().contains("score"), "{captions}");
    open(&clip);
    let segments = browser.wait_for(
        "the segments on the timeline",
        20,
        "return document.querySelectorAll('#timeline .segment').length;",
    );
    let result = browser.eval("return document.querySelector('pre').textContent");
    let listed: Value = serde_json::from_str(result.as_str().unwrap()).unwrap();
    assert_eq!(segments, json!(listed["VideoSummaryList"].as_array().unwrap().len()));
    open(&video_delogo);
    let logo = browser.wait_for(
        "the logo box over the source",
        20,
        "const b = document.querySelector('.stage .box'); return b && b.textContent;",
    );
    assert!(logo.as_str().unwrap().contains("0–10 s"), "its Shown range: {logo}");
    browser.wait_for(
        "the output video to be playable",
        30,
        "const v = document.getElementById('output-video'); return v && v.readyState >= 2;",
    );
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn with_a_token_the_console_asks_once_and_never_puts_it_in_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_root(dir.path());
    let token = "console-test-token-5f2c";
    let (mut server, url) = serve(&root, &["--set", &model_dir(), "--api-token", token]);
    let browser = Browser::start(1280, 1000);
    browser.goto(&format!("{url}/console"));
    browser.wait_for("the token dialog", 20, "return document.getElementById('token-dialog').open");
    browser.fill("#token-input", token);
    browser.click("#token-form button[type=submit]");
    // The page loads with it: the bucket listing and the jobs list answer.
    browser.choose("#submit-FunctionName", "ImageMatting");
    browser.fill("#submit-Input", "oss://media/in/astronaut.png");
    browser.click("#submit-form button[type=submit]");
    let job_id = submitted_job(&browser);
    browser.goto(&format!("{url}/console/jobs/{job_id}"));
    browser.wait_for(
        "the output image, fetched with the token",
        90,
        "const i = document.getElementById('output-image'); return i && i.complete && i.naturalWidth > 0;",
    );
    let dialog_open = browser.eval("return document.getElementById('token-dialog').open");
    assert_eq!(dialog_open, json!(false), "a second page does not ask again");
    let urls = browser.eval(
        "return performance.getEntries().map(e => e.name).concat([location.href, document.getElementById('output-image').src])");
    assert!(!urls.to_string().contains(token), "the token is in a URL: {urls}");
    server.kill().unwrap();
    let _ = server.wait();
}

fn curl(args: &[&str]) -> (u16, String, String) {
    // `Expect:` off: curl's 100-continue would put a second status line in front.
    let out =
        Command::new("curl").args(["-s", "-H", "Expect:", "-D", "-", "-o", "-"]).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn object_endpoints_read_ranges_list_and_take_uploads_within_the_apis_rules() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_root(dir.path());
    let token = "objects-token";
    let (mut server, url) =
        serve(&root, &["--set", &model_dir(), "--api-token", token, "--set", "server.max_upload_bytes=1000"]);
    let auth = format!("Authorization: Bearer {token}");
    let video = format!("{url}/objects/media/in/bikes.mp4");

    // Without the token nothing is read.
    let (status, _, body) = curl(&[&video]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Forbidden.Token"));

    // A range, as a player seeks; the whole length is stated.
    let size = std::fs::metadata(root.join("buckets/media/in/bikes.mp4")).unwrap().len();
    let (status, head, body) = curl(&["-H", &auth, "-H", "Range: bytes=100-199", &video]);
    assert_eq!(status, 206);
    assert!(head.contains(&format!("content-range: bytes 100-199/{size}")), "{head}");
    assert_eq!(body.len(), 100);
    assert!(head.contains("content-type: video/mp4") && head.contains("accept-ranges: bytes"));
    let (status, head, _) = curl(&["-H", &auth, "-H", &format!("Range: bytes={size}-"), &video]);
    assert_eq!(status, 416);
    assert!(head.contains(&format!("content-range: bytes */{size}")));

    // A listing by prefix.
    let (status, _, body) = curl(&["-H", &auth, &format!("{url}/objects/media?Prefix=in/")]);
    assert_eq!(status, 200);
    let listing: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> =
        listing["Objects"].as_array().unwrap().iter().map(|o| o["Key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["in/astronaut.png", "in/bikes.mp4"]);

    // An upload within the limit lands whole; an HTML file is served back as bytes in a sandbox.
    let page = dir.path().join("page.html");
    std::fs::write(&page, "<script>alert(1)</script>").unwrap();
    let upload = format!("{url}/objects/media/up/page.html");
    let (status, _, body) = curl(&["-H", &auth, "-T", page.to_str().unwrap(), &upload]);
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        std::fs::read_to_string(root.join("buckets/media/up/page.html")).unwrap(),
        "<script>alert(1)</script>"
    );
    let (_, head, _) = curl(&["-H", &auth, &upload]);
    assert!(head.contains("content-type: application/octet-stream") && head.contains("sandbox"), "{head}");

    // Over the limit: refused with a code, nothing left in the bucket.
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 5000]).unwrap();
    let (status, _, body) =
        curl(&["-H", &auth, "-T", big.to_str().unwrap(), &format!("{url}/objects/media/up/big.bin")]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("InvalidParameter.Body") && body.contains("server.max_upload_bytes"), "{body}");
    assert!(!root.join("buckets/media/up/big.bin").exists());
    let leftovers: Vec<_> = std::fs::read_dir(root.join("buckets"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".iprod-upload"))
        .collect();
    assert!(leftovers.is_empty(), "staging files left behind");

    // The API's rules: keys, buckets, and no writes from another origin.
    let (status, _, body) = curl(&["-H", &auth, &format!("{url}/objects/archive/x.mp4")]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not allowed on this service"), "{body}");
    let (status, _, body) = curl(&["-H", &auth, "--path-as-is", &format!("{url}/objects/media/in/../../x")]);
    assert!(status == 400 || status == 404, "{status} {body}");
    let (status, _, body) = curl(&[
        "-H",
        &auth,
        "-H",
        "Origin: http://evil.example",
        "-T",
        page.to_str().unwrap(),
        &format!("{url}/objects/media/up/evil.html"),
    ]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("Forbidden.CrossOrigin"));
    assert!(!root.join("buckets/media/up/evil.html").exists());
    let (status, _, body) = curl(&["-H", &auth, &format!("{url}/objects/media/in/missing.mp4")]);
    assert_eq!(status, 404, "{body}");
    server.kill().unwrap();
    let _ = server.wait();
}

#[test]
fn the_console_pages_allow_only_this_origin_and_no_framing() {
    let dir = tempfile::tempdir().unwrap();
    let root = data_root(dir.path());
    let (mut server, url) = serve(&root, &[]);
    for page in ["/console", "/console/jobs/0123456789abcdef0123456789abcdef"] {
        let (status, head, body) = curl(&[&format!("{url}{page}")]);
        assert_eq!(status, 200);
        assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"), "{head}");
        assert!(head.contains("x-frame-options: deny"));
        assert!(body.contains("/console/assets/console.js"));
    }
    let (status, head, _) = curl(&[&format!("{url}/console/assets/console.js")]);
    assert_eq!(status, 200);
    assert!(head.contains("text/javascript"));
    // The object endpoints the console uses are in the API's OpenAPI document.
    let (_, _, body) = curl(&[&format!("{url}/openapi.json")]);
    let doc: Value = serde_json::from_str(&body).unwrap();
    for (path, method) in [
        ("/objects", "get"),
        ("/objects/{bucket}", "get"),
        ("/objects/{bucket}/{key}", "get"),
        ("/objects/{bucket}/{key}", "put"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is not described");
    }
    server.kill().unwrap();
    let _ = server.wait();
}
