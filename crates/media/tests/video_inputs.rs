//! Every video function on hostile and odd inputs: what cannot be read fails with an
//! `InvalidInput.*` code and a message (never a crash or an internal error); what is merely odd
//! (turned by a display matrix, variable frame rate, odd sizes, no audio, a first timestamp far
//! from 0) works, with outputs the right way up, of even size and of the right length.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

mod video_common;

use std::path::{Path, PathBuf};

use iprod_core::FunctionName;
use iprod_media::video::hardware::VideoEncoder;
use video_common::*;

const FUNCTIONS: [(FunctionName, &str, &str); 4] = [
    (FunctionName::Cover, "", "oss://media/o/{source}-{sequenceId}.jpg"),
    (FunctionName::VideoClip, r#"{"Duration":1.5,"MinSegmentDuration":0.5}"#, "oss://media/o/{source}.mp4"),
    (FunctionName::VideoH2V, "", "oss://media/o/{source}.mp4"),
    (FunctionName::VideoDelogo, r#"{"Logo":[[0.05,0.05,0.2,0.15]]}"#, "oss://media/o/{source}.mp4"),
];

fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut all: Vec<&str> = args.to_vec();
    all.push(path.to_str().unwrap());
    ffmpeg(&all);
    path
}

#[tokio::test]
async fn unreadable_inputs_fail_with_invalid_input_codes() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let noise = dir.path().join("noise.mp4");
    std::fs::write(&noise, (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>()).unwrap();
    let clip = make(dir.path(), "clip.mp4", &["-f", "lavfi", "-i", "testsrc=s=320x180:r=25:d=3"]);
    let bytes = std::fs::read(&clip).unwrap();
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let tone = make(dir.path(), "tone.m4a", &["-f", "lavfi", "-i", "sine=duration=2"]);
    let picture = repo(".iprod/test-media/astronaut.png");
    for (name, input, code) in [
        ("empty", &empty, "InvalidInput.Media"),
        ("noise", &noise, "InvalidInput.Media"),
        ("truncated (no index)", &truncated, "InvalidInput.Media"),
        ("audio only", &tone, "InvalidInput.Format"),
        ("a still picture", &picture, "InvalidInput.Format"),
    ] {
        for (function, params, template) in FUNCTIONS {
            let work = tempfile::tempdir().unwrap();
            let e = run(function, params, input, work.path(), template).await.unwrap_err();
            assert_eq!(e.code(), code, "{function} on {name}: {}", e.message());
            assert!(!e.message().is_empty());
        }
    }
}

#[tokio::test]
async fn odd_but_valid_inputs_work_the_right_way_up() {
    let dir = tempfile::tempdir().unwrap();
    // A phone video held upright: stored 320×180, displayed 180×320.
    let plain = make(dir.path(), "plain.mp4", &["-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=3"]);
    let turned = make(
        dir.path(),
        "turned.mp4",
        &["-i", plain.to_str().unwrap(), "-c", "copy", "-metadata:s:v:0", "rotate=90"],
    );
    // Variable frame rate: 1.5 s at 10 fps, then 1.5 s at 30 fps, timestamps kept.
    let vfr = make(
        dir.path(),
        "vfr.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=s=320x180:r=10:d=1.5",
            "-f",
            "lavfi",
            "-i",
            "smptebars=s=320x180:r=30:d=1.5",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1:a=0[v]",
            "-map",
            "[v]",
            "-fps_mode",
            "vfr",
        ],
    );
    // Odd sides (4:4:4 H.264 allows them) and a tone.
    let odd = make(
        dir.path(),
        "odd.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=321x181:r=25",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=3",
            "-t",
            "3",
            "-pix_fmt",
            "yuv444p",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
        ],
    );
    // An MPEG-TS whose first timestamp is ~11.4 s (broadcast captures start anywhere): ffmpeg's
    // filters count from 0 all the same, so cut and removal times must too.
    let late = make(
        dir.path(),
        "late.ts",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x180:r=25:d=3",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=3",
            "-output_ts_offset",
            "10",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    for (name, input, displayed) in [
        ("turned", &turned, (180, 320)),
        ("vfr", &vfr, (320, 180)),
        ("odd", &odd, (321, 181)),
        ("late", &late, (320, 180)),
    ] {
        for (function, params, template) in FUNCTIONS {
            let work = tempfile::tempdir().unwrap();
            let out = run(function, params, input, work.path(), template)
                .await
                .unwrap_or_else(|e| panic!("{function} on {name}: {} {}", e.code(), e.message()));
            let file = &out.files[0];
            let size: Vec<u32> = ffprobe(file, "stream=width,height", Some("v:0"))
                .split(',')
                .map(|v| v.trim().parse().unwrap())
                .collect();
            match function {
                FunctionName::Cover => {
                    assert_eq!(
                        (size[0], size[1]),
                        displayed,
                        "{function} on {name}: the cover is the picture"
                    )
                }
                FunctionName::VideoH2V => {
                    assert!(size[0] < size[1] && size[1] <= displayed.1, "{function} on {name}: {size:?}")
                }
                _ => {
                    let even = (displayed.0 & !1, displayed.1 & !1);
                    assert!(
                        (size[0], size[1]) == displayed || (size[0], size[1]) == even,
                        "{function} on {name}: {size:?}"
                    );
                }
            }
            if function != FunctionName::Cover {
                let duration: f64 = ffprobe(file, "format=duration", None).parse().unwrap();
                assert!(duration > 1.0, "{function} on {name}: {duration} s");
            }
        }
    }
}

#[tokio::test]
async fn a_missing_model_pack_fails_before_any_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let clip = make(dir.path(), "clip.mp4", &["-f", "lavfi", "-i", "testsrc=s=320x180:r=25:d=2"]);
    let engine = iprod_media::Engine::new(iprod_media::EngineSettings {
        model_dir: dir.path().join("no-models"),
        ..iprod_media::EngineSettings::default()
    });
    for (function, params, template) in FUNCTIONS {
        // Given boxes need no model; finding logos reads overlay text, so ask for that.
        let params = if function == FunctionName::VideoDelogo { "" } else { params };
        let task = iprod_core::ports::MediaTask {
            job_id: iprod_core::JobId::generate(),
            pipeline_id: iprod_core::PipelineId::default_pipeline(),
            function,
            model_id: String::new(),
            params: iprod_core::params::JobParams::parse(function, params).unwrap(),
            input: clip.clone(),
            work_dir: dir.path().to_owned(),
            outputs: iprod_core::ports::OutputNaming {
                input: iprod_core::object_url::ObjectUrl {
                    bucket: "media".into(),
                    key: "in/clip.mp4".into(),
                },
                template: iprod_core::template::OutputTemplate::parse(template).unwrap(),
                timestamp: 0,
            },
        };
        let progress = Recorder::default();
        let e = iprod_core::ports::MediaEngine::process(&engine, &task, &progress).await.unwrap_err();
        assert_eq!(e.code(), "InternalError.ModelPack", "{function}: {}", e.message());
        assert!(progress.0.lock().unwrap().iter().all(|p| *p < 5), "{function}: failed before the analysis");
    }
}

#[tokio::test]
async fn a_gpu_engine_without_a_usable_nvenc_renders_with_x264() {
    // The GPU image runs with engine.gpu on; on a host whose GPU (or driver, or container
    // capability) cannot encode, the job must still render, on the CPU.
    let dir = tempfile::tempdir().unwrap();
    let clip = make(dir.path(), "clip.mp4", &["-f", "lavfi", "-i", "testsrc=s=320x180:r=25:d=2"]);
    let engine = iprod_media::Engine::new(iprod_media::EngineSettings {
        model_dir: repo(".iprod/model-pack"),
        gpu: true,
        ..iprod_media::EngineSettings::default()
    });
    let task =
        video_common::task(FunctionName::VideoH2V, "", &clip, dir.path(), "oss://media/out/{source}.mp4");
    let output = iprod_core::ports::MediaEngine::process(&engine, &task, &Quiet).await.unwrap();
    let file = &output.files[0];
    assert_eq!(ffprobe(file, "stream=codec_name", Some("v:0")), "h264");
    if !Path::new("/dev/nvidia0").exists() {
        assert_eq!(engine.video_encoder(), VideoEncoder::X264, "no GPU here: x264");
    }
}
