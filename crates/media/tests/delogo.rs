//! Detection and removal of synthetic logos pasted onto real photos (ground truth known).
//!
//! Needs `.iprod/test-media/{astronaut.png,grace_hopper.jpg}`, laid out by
//! `layers/fetch-test-media.sh` (`make test` runs it). Run with `--nocapture` to see the numbers.

mod logo_cases;

use image::RgbImage;
use iprod_media::image::delogo::detect::{LOGO_SCORE_THRESHOLD, detect_logos};
use iprod_media::image::delogo::mask::overlay_mask;
use iprod_media::image::delogo::telea::inpaint_telea;
use iprod_media::imaging::geometry::PixelBox;
use logo_cases::*;

const PHOTOS: [&str; 2] = ["astronaut.png", "grace_hopper.jpg"];
const RADIUS: u32 = 7;

/// Cases the detector is known to miss or only just hit (see the module docs of `detect`):
/// translucent shapes without inner structure, faint translucent text next to the shuttle, a logo
/// pasted straight onto a high-contrast object cut by the frame (Grace Hopper's button), and
/// translucent text half over the flag, half over the bright backdrop (only the half over the
/// flag is found: IoU 0.50, too close to the bar to assert).
const KNOWN_MISSES: &[(&str, &str)] = &[
    ("astronaut.png", "translucent-tl-14"),
    ("astronaut.png", "translucent-right-10"),
    ("astronaut.png", "shape-bl-10"),
    ("astronaut.png", "shape-tr-16"),
    ("grace_hopper.jpg", "outlined-bottom-15"),
    ("grace_hopper.jpg", "shape-bl-10"),
    ("grace_hopper.jpg", "shape-tr-16"),
];

/// The photo with the case's logo pasted and the result re-encoded as JPEG (quality 90).
fn with_logo(clean: &RgbImage, case: &(&str, Style, &str, Place, f32, f32)) -> (RgbImage, PixelBox) {
    let &(_, style, text, place, frac, aspect) = case;
    let mut img = clean.clone();
    let b = place_box(img.width(), img.height(), place, frac, aspect);
    paste(&mut img, b, style, text);
    (jpeg_roundtrip(&img, 90), b)
}

#[test]
fn pasted_logos_are_detected_in_corners_and_along_edges() {
    let (mut hits, mut expected, mut ious) = (0, 0, Vec::new());
    let mut failures = Vec::new();
    for photo in PHOTOS {
        let clean = load(photo);
        for case in cases() {
            let (img, truth) = with_logo(&clean, &case);
            let found = detect_logos(&img);
            let best = found
                .iter()
                .filter(|d| d.score >= LOGO_SCORE_THRESHOLD)
                .map(|d| (iou(d.region, truth), d.score))
                .fold((0.0f32, 0.0f32), |a, b| if b.0 > a.0 { b } else { a });
            let known = KNOWN_MISSES.contains(&(photo, case.0));
            println!(
                "{photo:17} {:22} truth {:?} IoU {:.2} score {:.2}{}",
                case.0,
                (truth.x, truth.y, truth.width, truth.height),
                best.0,
                best.1,
                if known { "  (known miss or marginal)" } else { "" }
            );
            if known {
                continue;
            }
            expected += 1;
            if best.0 >= 0.5 {
                hits += 1;
                ious.push(best.0);
            } else {
                failures.push(format!("{photo} {}: IoU {:.2}, detections {found:?}", case.0, best.0));
            }
        }
    }
    let mean = ious.iter().sum::<f32>() / ious.len().max(1) as f32;
    println!("detected {hits}/{expected} expected cases with IoU >= 0.5 (mean IoU {mean:.2})");
    assert!(failures.is_empty(), "missed:\n{}", failures.join("\n"));
}

#[test]
fn clean_photos_have_no_confident_detection() {
    for photo in PHOTOS {
        let clean = load(photo);
        let found = detect_logos(&clean);
        let max = found.iter().map(|d| d.score).fold(0.0f32, f32::max);
        println!(
            "{photo}: {} weak detections, highest score {max:.2} (threshold {LOGO_SCORE_THRESHOLD})",
            found.len()
        );
        assert!(max < LOGO_SCORE_THRESHOLD, "{photo}: {found:?}");
        // And well below, not by a hair.
        assert!(max < 0.7 * LOGO_SCORE_THRESHOLD, "{photo}: {found:?}");
    }
}

#[test]
fn overlay_mask_and_inpainting_restore_the_box() {
    let (mut sum_before, mut sum_after, mut n) = (0.0, 0.0, 0.0);
    for photo in PHOTOS {
        let clean = load(photo);
        for case in cases() {
            let (img, truth) = with_logo(&clean, &case);
            let before = mae_in(&img, &clean, truth);
            let mask = overlay_mask(&img, truth);
            let mut fixed = img.clone();
            inpaint_telea(&mut fixed, &mask, RADIUS);
            let after = mae_in(&fixed, &clean, truth);
            // Nothing outside the box changes.
            for (x, y, p) in fixed.enumerate_pixels() {
                let inside =
                    x >= truth.x && x < truth.x + truth.width && y >= truth.y && y < truth.y + truth.height;
                if !inside {
                    assert_eq!(p, img.get_pixel(x, y));
                }
            }
            println!("{photo:17} {:22} MAE in box: logo {before:6.2}  inpainted {after:6.2}", case.0);
            assert!(after < 0.7 * before, "{photo} {}: {after:.2} vs {before:.2}", case.0);
            sum_before += before;
            sum_after += after;
            n += 1.0;
        }
    }
    println!("mean MAE in box: logo {:.2}, inpainted {:.2}", sum_before / n, sum_after / n);
    assert!(sum_after < 0.3 * sum_before);
}

#[test]
fn detect_then_remove_end_to_end() {
    // The whole automatic path: detect, mask the confident boxes, inpaint; error over the truth box.
    let (mut sum_before, mut sum_after, mut n) = (0.0, 0.0, 0.0);
    for photo in PHOTOS {
        let clean = load(photo);
        for case in cases() {
            if KNOWN_MISSES.contains(&(photo, case.0)) {
                continue;
            }
            let (img, truth) = with_logo(&clean, &case);
            let mut fixed = img.clone();
            for d in detect_logos(&img).iter().filter(|d| d.score >= LOGO_SCORE_THRESHOLD) {
                let mask = overlay_mask(&fixed, d.region);
                inpaint_telea(&mut fixed, &mask, RADIUS);
            }
            sum_before += mae_in(&img, &clean, truth);
            sum_after += mae_in(&fixed, &clean, truth);
            n += 1.0;
        }
    }
    println!(
        "end to end, mean MAE in the truth box: logo {:.2}, cleaned {:.2}",
        sum_before / n,
        sum_after / n
    );
    assert!(sum_after < 0.4 * sum_before);
}

/// A translucent text mark stamped every `period` over the whole photo, as stock sites do.
fn tiled(clean: &RgbImage, period: (u32, u32)) -> RgbImage {
    let mut img = clean.clone();
    let (w, h) = img.dimensions();
    for row in 0..h.div_ceil(period.1) {
        for col in 0..w.div_ceil(period.0) {
            let b = PixelBox { x: col * period.0 + 8, y: row * period.1 + 10, width: 72, height: 24 };
            if b.x + b.width <= w && b.y + b.height <= h {
                paste(&mut img, b, Style::Translucent, "STOCK");
            }
        }
    }
    jpeg_roundtrip(&img, 90)
}

#[test]
fn tiled_watermarks_are_found_and_photos_are_left_alone() {
    use iprod_media::image::delogo::tiled::detect_tiled;
    for photo in PHOTOS {
        let clean = load(photo);
        assert!(detect_tiled(&clean).is_none(), "{photo}: a clean photo is not a tiled watermark");
        let marked = tiled(&clean, (128, 96));
        let mark = detect_tiled(&marked).unwrap_or_else(|| panic!("{photo}: tiled watermark not found"));
        println!(
            "{photo}: period {:.1} x {:.1}, strength {:.2}, {} tiles",
            mark.period_x,
            mark.period_y,
            mark.strength,
            mark.tiles.len()
        );
        assert!((mark.period_x - 128.0).abs() <= 4.0 && (mark.period_y - 96.0).abs() <= 4.0, "{mark:?}");
        // Every stamped mark is covered by a reported tile box.
        let (w, h) = clean.dimensions();
        let mut stamped = 0;
        for row in 0..h.div_ceil(96) {
            for col in 0..w.div_ceil(128) {
                let truth = PixelBox { x: col * 128 + 8, y: row * 96 + 10, width: 72, height: 24 };
                if truth.x + truth.width > w || truth.y + truth.height > h {
                    continue;
                }
                stamped += 1;
                let best = mark.tiles.iter().map(|t| iou(*t, truth)).fold(0.0, f32::max);
                assert!(best >= 0.5, "{photo}: mark {truth:?} best IoU {best:.2}");
            }
        }
        assert!(stamped >= 16);
    }
}
