//! ImageDelogo on the development set (`marks/`): recall of the marks, no false positive on the
//! clean controls, and the PSNR gain in each mark's box against the clean source.
//!
//! Run with `--nocapture` for the per-case table (docs/functions.md records it).

mod marks;

use std::path::Path;

use image::RgbImage;
use iprod_media::image::delogo;
use iprod_media::imaging::geometry::PixelBox;
use iprod_media::onnx::OnnxRuntime;
use marks::*;
use serde_json::{Value, json};

fn runtime() -> OnnxRuntime {
    OnnxRuntime::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.iprod/model-pack"), 2)
}

/// The boxes the function reported as found (detected logos only).
fn reported(result: &Value) -> Vec<PixelBox> {
    boxes_in(&result["Logos"])
}

/// The tiles a Result lists for its tiled watermark.
fn tiles_of(result: &Value) -> Vec<PixelBox> {
    boxes_in(&result["TiledWatermark"]["Tiles"])
}

/// A Result's list of boxes (`X`, `Y`, `Width`, `Height` each); none where there is no list.
fn boxes_in(list: &Value) -> Vec<PixelBox> {
    let boxes = list.as_array().map(Vec::as_slice).unwrap_or_default();
    let at = |b: &Value, key: &str| b[key].as_u64().unwrap_or(0) as u32;
    boxes
        .iter()
        .map(|b| PixelBox { x: at(b, "X"), y: at(b, "Y"), width: at(b, "Width"), height: at(b, "Height") })
        .collect()
}

/// A mark is found when one reported box covers at least half of it and is at most 4 times its
/// area (a box over half the picture finds everything and removes nothing well).
fn found(truth: PixelBox, boxes: &[PixelBox]) -> bool {
    let area = truth.width * truth.height;
    boxes.iter().any(|b| 2 * intersection(truth, *b) >= area && b.width * b.height <= 4 * area)
}

/// Cases that must be found and cleaned by at least 6 dB in every mark's box: overlay text of
/// every kind, real colour logos with a word, and text next to a logo.
const MUST_CLEAN: &[&str] = &[
    "text-news-tl",
    "sheer-photo-flower",
    "sheer-word-tr",
    "sheer-name-rocket",
    "sheer-word-bl",
    "text-copyright-br",
    "text-url-bc",
    "text-live-tr",
    "text-small-br",
    "text-big-1600",
    "icon-url-bl",
    "icon-url-grace",
    "ring-and-word",
    "logo-and-url",
    "mpl-logo-tl-20",
    "mpl-logo-br-25",
    "mpl-logo-portrait-bc",
    "faint-ident-tl",
    "sk-logo-br-14",
    "sk-logo-bl-18-a50",
    "sk-logo-portrait-br",
    "disc-bl-22-a50",
    "disc-br-18-a40",
    "disc-bl-25-a35",
    "badge-br-12",
    "tiled-123rf-badge",
    "tiled-stock-flower",
    "tiled-preview-coffee",
    "tiled-123rf-1280",
    "tiled-sample-chelsea-902",
    "tiled-123rf-rocket-1920",
    "tiled-123rf-3840",
    "tiled-diagonal-sample-rocket",
    "tiled-diagonal-preview-coffee",
    "tiled-cut-grid-chelsea",
];

/// Floors for the whole set, where it stands today (77 of 85 found, 90.6 %, and 69 of 85 at
/// least 6 dB, since translucent marks' coverage is cut as a whole (`coverage`); see the table in docs/functions.md; a faint ident, a badge, a tiled mark, one of
/// the signatures drawn on 2026-12-07 and four of the twelve held out later that day are not
/// found; the five centred stock marks drawn after them are, since `blended_line`, and the white
/// disc over a grey wall, since `blend` judges colourless rims), and no false positive on the
/// controls. They keep what works from sliding back.
const MIN_HITS: usize = 77;
const MIN_GAINS: usize = 69;

struct Outcome {
    marks: usize,
    hits: usize,
    gains: Vec<f64>,
}

fn evaluate(rt: &OnnxRuntime, case: &Case) -> Outcome {
    let mut out = case.marked.clone();
    let result = delogo::clean(rt, &mut out, &[]).expect("ImageDelogo");
    let boxes = reported(&result);
    // MARKS_DUMP=dir writes each case before and after, to look at.
    if let Ok(dir) = std::env::var("MARKS_DUMP") {
        case.marked.save(format!("{dir}/{}.in.png", case.name)).expect("dump");
        out.save(format!("{dir}/{}.out.png", case.name)).expect("dump");
        case.clean.save(format!("{dir}/{}.clean.png", case.name)).expect("dump");
    }
    let mut o = Outcome { marks: 0, hits: 0, gains: Vec::new() };
    let whole = PixelBox { x: 0, y: 0, width: out.width(), height: out.height() };
    if case.tiled {
        o.marks += 1;
        // Found means un-blended: a tiled mark only reported leaves the picture as it was.
        o.hits += usize::from(result["TiledWatermark"]["Removed"] == true);
        o.gains.push(psnr_in(&out, &case.clean, whole) - psnr_in(&case.marked, &case.clean, whole));
    }
    for t in &case.truth {
        o.marks += 1;
        let hit = found(*t, &boxes);
        o.hits += usize::from(hit);
        o.gains.push(psnr_in(&out, &case.clean, *t) - psnr_in(&case.marked, &case.clean, *t));
    }
    let gains: Vec<String> = o.gains.iter().map(|g| format!("{g:+.1}")).collect();
    println!(
        "| {:24} | {}x{} | {}/{} | {} | {} |",
        case.name,
        out.width(),
        out.height(),
        o.hits,
        o.marks,
        gains.join(" "),
        result["Logos"].as_array().map_or(0, Vec::len)
    );
    o
}

#[test]
fn marks_are_found_and_removed_and_controls_stay_untouched() {
    let rt = runtime();
    println!("| case | size | found | PSNR gain in box (dB) | reported |\n|---|---|---|---|---|");
    let (mut marks, mut hits, mut gained, mut n_cases) = (0, 0, 0, 0);
    let mut must_failures = Vec::new();
    for case in cases() {
        let o = evaluate(&rt, &case);
        if MUST_CLEAN.contains(&case.name.as_str()) && (o.hits < o.marks || o.gains.iter().any(|g| *g < 6.0))
        {
            must_failures.push(case.name.clone());
        }
        marks += o.marks;
        hits += o.hits;
        gained += o.gains.iter().filter(|g| **g >= 6.0).count();
        n_cases += 1;
    }
    let false_positives = touched_controls(&rt, CONTROLS);
    let recall = hits as f64 / marks as f64;
    println!(
        "{n_cases} cases, {marks} marks: recall {:.0} % ({hits}/{marks}), PSNR gain >= 6 dB on {gained}/{marks}; \
         false positives on {}/{} controls: {false_positives:?}",
        recall * 100.0,
        false_positives.len(),
        CONTROLS.len()
    );
    assert!(n_cases >= 30 && CONTROLS.len() >= 15);
    assert!(must_failures.is_empty(), "not found or not cleaned by 6 dB: {must_failures:?}");
    assert!(hits >= MIN_HITS, "recall fell to {hits}/{marks}");
    assert!(gained >= MIN_GAINS, "PSNR gain >= 6 dB fell to {gained}/{marks}");
    assert!(false_positives.is_empty(), "false positives: {false_positives:?}");
}

/// The controls (by [`control`] name) that ImageDelogo reported a mark on or changed, with a row
/// of the table for each control.
fn touched_controls<'a>(rt: &OnnxRuntime, names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut touched = Vec::new();
    for name in names {
        let clean: RgbImage = control(name);
        let mut out = clean.clone();
        let result = delogo::clean(rt, &mut out, &[]).expect("ImageDelogo");
        let n = result["Logos"].as_array().map_or(0, Vec::len)
            + usize::from(result.get("TiledWatermark").is_some());
        println!(
            "| control {name:24} | {}x{} | {n} reported | {} |",
            clean.width(),
            clean.height(),
            result["Logos"]
        );
        if n > 0 || out != clean {
            touched.push(name);
        }
    }
    touched
}

/// [`evaluate`] over `cases`: marks found, marks cleaned by at least 6 dB, and marks.
fn tally(rt: &OnnxRuntime, cases: impl IntoIterator<Item = Case>) -> (usize, usize, usize) {
    let (mut hits, mut gained, mut marks) = (0, 0, 0);
    for case in cases {
        let o = evaluate(rt, &case);
        marks += o.marks;
        hits += o.hits;
        gained += o.gains.iter().filter(|g| **g >= 6.0).count();
    }
    (hits, gained, marks)
}

/// Floors for the large photos, where they stand today (2026-12-08): all 19 marks found, 17
/// cleaned by at least 6 dB (a centred "iStock" over a cup's rim and the matplotlib logo over
/// foliage, filled, are not).
const MIN_LARGE_HITS: usize = 19;
const MIN_LARGE_GAINS: usize = 17;

#[test]
fn marks_on_large_photos_are_found_and_removed_and_large_controls_stay_untouched() {
    let rt = runtime();
    println!("| case | size | found | PSNR gain in box (dB) | reported |\n|---|---|---|---|---|");
    let (hits, gained, _) = tally(&rt, large_cases());
    let controls = large_controls();
    let false_positives = touched_controls(&rt, controls.iter().map(String::as_str));
    println!(
        "large photos: found {hits}, PSNR gain >= 6 dB on {gained}; false positives on {}/{} controls: \
         {false_positives:?}",
        false_positives.len(),
        controls.len()
    );
    assert!(hits >= MIN_LARGE_HITS, "found fell to {hits}");
    assert!(gained >= MIN_LARGE_GAINS, "PSNR gain >= 6 dB fell to {gained}");
    assert!(false_positives.is_empty(), "false positives: {false_positives:?}");
}

/// Floors for the development set's marks on photos enlarged 4× after marking (2026-12-08):
/// 42 of 64 found, 22 cleaned by at least 6 dB. (With crispness judged shrunk by the whole
/// factor rounded down, 2 at 2,560 px, 27 and 13: ramps of 2 px are not rendered-looking.) Logos
/// and badges found by their edges, and marks drawn by hand, are mostly not found at this blur.
const MIN_ENLARGED_HITS: usize = 42;
const MIN_ENLARGED_GAINS: usize = 22;

#[test]
fn marks_on_photos_enlarged_after_marking_are_still_found() {
    let rt = runtime();
    println!("| case | size | found | PSNR gain in box (dB) | reported |\n|---|---|---|---|---|");
    // The single marks on photos up to 1,000 px (4,000 px enlarged); tiled marks have tables of
    // their own at 12 MP.
    let small = cases().into_iter().filter(|c| !c.tiled && c.marked.width() <= 1000);
    let (hits, gained, marks) = tally(&rt, small.map(|c| scaled_up(&c, 4)));
    println!("enlarged 4x: found {hits}/{marks}, PSNR gain >= 6 dB on {gained}/{marks}");
    assert!(hits >= MIN_ENLARGED_HITS, "found fell to {hits}/{marks}");
    assert!(gained >= MIN_ENLARGED_GAINS, "PSNR gain >= 6 dB fell to {gained}/{marks}");
}

/// What a set of stock marks in drawn styles must reach: how many are un-blended, how many by
/// 6 dB or more, and how many at most are made worse.
#[derive(Clone, Copy)]
struct Floors {
    found: usize,
    gains: usize,
    worse: usize,
}

/// The drawn sets (`marks::tiled_styles`) all come from this seed. The changes they measure were
/// developed on other draws of the same generator; this seed was first run after them.
const STYLES_SEED: u32 = 2026;

/// Stock marks in styles drawn at random, beside the hand-made ones, `count` of them looking
/// `look`: prints their table and holds them to `floors`.
fn drawn_styles_hold(look: StockLook, count: usize, floors: Floors) {
    let rt = runtime();
    println!("| case | size | found | PSNR gain (dB) | reported |\n|---|---|---|---|---|");
    let (mut found, mut gained, mut worse) = (0, 0, Vec::new());
    for case in tiled_styles(STYLES_SEED, count, look) {
        let o = evaluate(&rt, &case);
        found += o.hits;
        gained += o.gains.iter().filter(|g| **g >= 6.0).count();
        if o.gains.iter().any(|g| *g < -0.5) {
            worse.push(case.name.clone());
        }
    }
    println!("{count} stock marks: found {found}, PSNR gain >= 6 dB on {gained}, made worse: {worse:?}");
    assert!(found >= floors.found, "found fell to {found}/{count}");
    assert!(gained >= floors.gains, "PSNR gain >= 6 dB fell to {gained}/{count}");
    assert!(worse.len() <= floors.worse, "made worse: {worse:?}");
}

/// 24 level marks. The one made worse today is "stock" in a serif face over the garage: only
/// the bottom row is read, as two lines, and those are filled (−2.3 dB).
#[test]
fn stock_marks_in_many_styles_are_unblended() {
    drawn_styles_hold(StockLook::Level, 24, Floors { found: 22, gains: 22, worse: 1 });
}

/// 12 white marks with a dark drop shadow. The shadow was made for on the development set's two
/// shadowed cases; this set was drawn after. Under 6 dB today: "© dreamstime" down camera.png
/// (+4.1). The faint one over camera.png reached +6.1 once cut tiles were held to the mark's
/// shape; the faint (22 %) one over flower.jpg +6.3 (2026-12-08, from +5.0, filled line by line)
/// once the lattice was fitted from distinct steps, and it is un-blended as a whole.
#[test]
fn shadowed_stock_marks_in_many_styles_are_unblended() {
    drawn_styles_hold(StockLook::Shadowed, 12, Floors { found: 12, gains: 10, worse: 0 });
}

/// 12 marks turned 15–45° either way. Missed today: two faint ones (22 %) over the garage,
/// where the picture turned level is read only in part.
#[test]
fn turned_stock_marks_in_many_styles_are_unblended() {
    drawn_styles_hold(StockLook::Turned, 12, Floors { found: 10, gains: 8, worse: 0 });
}

#[test]
fn a_stock_mark_that_cannot_be_unblended_is_left_and_reported_not_smeared() {
    // GIVEN "© dreamstime" down one column of a photo, over a man's coat and face, where only
    // three of its five tiles look alike enough to be un-blended together
    let rt = runtime();
    let style = StockStyle {
        photo: "camera.png",
        word: "© dreamstime",
        font: STOCK_FONTS[2],
        height: 0.08,
        opacity: 0.4,
        scale: 2,
        staggered: false,
        gap_across: 6,
        rows_apart: 2.0,
        white: true,
        degrees: 0.0,
        shadow: false,
    };
    let case = stock_case("column", &style).expect("a stock mark");
    let mut out = case.marked.clone();
    // WHEN ImageDelogo cleans it
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    // THEN it is either un-blended, or reported as left with a reason and the picture left as
    // it was: never its lines filled over the face
    let mark = &result["TiledWatermark"];
    let whole = PixelBox { x: 0, y: 0, width: out.width(), height: out.height() };
    let gain = psnr_in(&out, &case.clean, whole) - psnr_in(&case.marked, &case.clean, whole);
    if mark["Removed"] == true {
        assert!(gain >= 6.0, "{gain:.1} dB: {result}");
    } else {
        assert_eq!(mark["Removed"], false, "{result}");
        assert!(mark["Reason"].as_str().is_some_and(|r| r.contains("un-blended")), "{result}");
        assert!(mark["Tiles"].as_array().is_some_and(|t| t.len() >= 3), "{result}");
        assert_eq!(result["Logos"].as_array().map(Vec::len), Some(0), "{result}");
        assert!(out == case.marked, "the picture was changed: {gain:+.1} dB");
    }
}

/// A case's marked picture (saved again as JPEG) and clean photo, scaled to 4240 px wide: a
/// 12 MP stock photo at 3:2.
fn at_twelve_megapixels(case: &Case) -> (RgbImage, RgbImage) {
    let (w, h) = case.marked.dimensions();
    let scaled = |img: &RgbImage| {
        image::imageops::resize(img, 4240, 4240 * h / w, image::imageops::FilterType::Triangle)
    };
    (jpeg_roundtrip(&scaled(&case.marked), 90), scaled(&case.clean))
}

/// The `tiles` of `out` further from `clean` than `marked` was, by more than 0.5 dB, and by how
/// much (PSNR in the tile's box).
fn made_worse(
    tiles: &[PixelBox],
    out: &RgbImage,
    marked: &RgbImage,
    clean: &RgbImage,
) -> Vec<(PixelBox, f64)> {
    tiles
        .iter()
        .map(|t| (*t, psnr_in(out, clean, *t) - psnr_in(marked, clean, *t)))
        .filter(|(_, gain)| *gain < -0.5)
        .collect()
}

#[test]
fn a_big_stock_photo_gets_no_tile_where_its_mark_is_not() {
    // GIVEN stock marks laid in whole tiles only, over 12 MP photos, where the lattice's places
    // across the edges hold nothing: one by a white curtain's edge beside red cloth, one over
    // a light sky (both once got "ck" and "SAM" painted at the edge)
    let rt = runtime();
    let cases = tiled_styles(7, 6, StockLook::Level);
    for case in
        cases.into_iter().filter(|c| c.name.starts_with("2-china") || c.name.starts_with("5-astronaut"))
    {
        let (marked, clean) = at_twelve_megapixels(&case);
        let mut out = marked.clone();
        // WHEN ImageDelogo cleans it
        let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
        // THEN the mark is un-blended, and no tile it lists is left further from the clean
        // photo than it was
        assert_eq!(result["TiledWatermark"]["Removed"], true, "{}: {result}", case.name);
        let tiles = tiles_of(&result);
        assert!(tiles.len() >= 8, "{}: {result}", case.name);
        let worse = made_worse(&tiles, &out, &marked, &clean);
        assert!(worse.is_empty(), "{}: tiles made worse (dB): {worse:?}", case.name);
    }
}

/// Drawn stock marks (seeds 7 and 11, every look) laid over 12 MP photos in whole tiles: no tile
/// the Result lists is left further from the clean photo than it was, and the table of what was
/// un-blended. About 6 minutes, so not in `make test`:
/// `cargo nextest run -p iprod-media --test marks_eval --run-ignored only --no-capture`.
#[test]
#[ignore = "a 12 MP development run of ~6 minutes"]
fn drawn_stock_marks_at_twelve_megapixels_get_no_false_tile() {
    let rt = runtime();
    let mut worse = Vec::new();
    println!("| case | size | un-blended | tiles | PSNR gain (dB) |\n|---|---|---|---|---|");
    for seed in [7, 11] {
        for look in [StockLook::Level, StockLook::Shadowed, StockLook::Turned] {
            for case in tiled_styles(seed, 6, look) {
                let (marked, clean) = at_twelve_megapixels(&case);
                let mut out = marked.clone();
                let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
                let whole = PixelBox { x: 0, y: 0, width: out.width(), height: out.height() };
                let gain = psnr_in(&out, &clean, whole) - psnr_in(&marked, &clean, whole);
                let tiles = tiles_of(&result);
                for (t, tile_gain) in made_worse(&tiles, &out, &marked, &clean) {
                    worse.push(format!("{} {t:?} {tile_gain:+.1} dB", case.name));
                }
                println!(
                    "| {}-{} | {}x{} | {} | {} | {gain:+.1} |",
                    seed,
                    case.name,
                    out.width(),
                    out.height(),
                    result["TiledWatermark"]["Removed"] == true,
                    tiles.len()
                );
            }
        }
    }
    assert!(worse.is_empty(), "tiles made worse: {worse:?}");
}

#[test]
fn a_diagonal_stock_mark_is_unblended_and_its_angle_reported() {
    // GIVEN "PREVIEW" tiled over a photo, falling 25° from level left to right
    let rt = runtime();
    let style = TileStyle { degrees: -25.0, ..TileStyle::white("PREVIEW") };
    let case = tiled_case_styled("diagonal", "coffee.png", style, 0.3, false, 1);
    let mut out = case.marked.clone();
    // WHEN ImageDelogo cleans it
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    // THEN the mark is un-blended, its angle said, and the picture is nearer the clean one
    let mark = &result["TiledWatermark"];
    assert_eq!(mark["Removed"], true, "{result}");
    assert_eq!(mark["Colour"], "white", "{result}");
    let angle = mark["Angle"].as_f64().expect("Angle");
    assert!((angle + 25.0).abs() <= 2.0, "{result}");
    assert!(mark["Tiles"].as_array().is_some_and(|t| t.len() >= 8), "{result}");
    let whole = PixelBox { x: 0, y: 0, width: out.width(), height: out.height() };
    let gain = psnr_in(&out, &case.clean, whole) - psnr_in(&case.marked, &case.clean, whole);
    assert!(gain >= 6.0, "{gain:.1} dB");
}

/// ImageDelogo on `case`'s one signature: it is found and un-blended in white; its reported
/// opacity and the PSNR gain in its box.
fn unblended_in_white(case: &marks::Case) -> (f64, f64) {
    let rt = runtime();
    let mut out = case.marked.clone();
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    let truth = case.truth[0];
    let logos = result["Logos"].as_array().expect("Logos");
    let logo = logos.iter().find(|l| found(truth, &boxes_in(&json!([l])))).expect("the signature found");
    assert_eq!(logo["Method"], "unblend", "{result}");
    assert_eq!(logo["Colour"], "white", "{result}");
    let gain = psnr_in(&out, &case.clean, truth) - psnr_in(&case.marked, &case.clean, truth);
    (logo["Alpha"].as_f64().unwrap_or(0.0), gain)
}

#[test]
fn a_translucent_signature_is_unblended_not_filled() {
    // GIVEN "PHOTO" in bold white at 45 % in a corner of a flower bed
    let mark = Mark { kind: MarkKind::SheerText("PHOTO", 0.14), at: Corner::BottomRight, opacity: 0.45 };
    let case = marked_case("sheer", "flower.jpg", &[mark]);
    // WHEN ImageDelogo cleans it, THEN the mark is found and inverted with its colour and opacity
    let (alpha, gain) = unblended_in_white(&case);
    assert!((alpha - 0.45).abs() <= 0.05, "{alpha}");
    // AND the flowers under it come back better than a fill rebuilds them (a fill: +11.8 dB)
    assert!(gain >= 14.0, "{gain:.1} dB");
}

#[test]
fn a_translucent_signature_in_a_large_photo_is_unblended_not_filled() {
    // GIVEN "© M. Rossi" in bold white at 50 % in the corner of a garage photo 3,000 px wide (the
    // development set's case at four times its size): its part is measured first on a shrunk
    // copy, where the body alone saw no blend and the signature was filled (−0.6 dB)
    let mark = Mark { kind: MarkKind::SheerText("© M. Rossi", 0.08), at: Corner::BottomRight, opacity: 0.5 };
    let case = marked_case("large", "motorcycle_right.png@3000", &[mark]);
    // WHEN ImageDelogo cleans it, THEN it is un-blended in white, and the floor under it comes
    // back (+20.8 dB on 2026-12-07)
    let (_, gain) = unblended_in_white(&case);
    assert!(gain >= 12.0, "{gain:.1} dB");
}

#[test]
fn a_translucent_name_run_into_lamps_is_read_closer_and_the_lamps_are_left() {
    // GIVEN "M. Lee" in bold white at 40 % over a launch pad at dusk, its letters running into
    // the glare of a row of lamps (the detector reads word and lamps as one tilted block)
    name_run_into_lamps_is_found_whole("rocket.jpg");
}

#[test]
fn a_translucent_name_parted_into_its_words_in_a_large_photo_is_found_whole() {
    // GIVEN the same at 3,200 px, where the closer reading parts the name into "M." and "Lee",
    // neither wide enough to be a line of words alone (2.17 times wider than high; it was left
    // but for a 380 px piece, +1.9 dB)
    name_run_into_lamps_is_found_whole("rocket.jpg@3200");
}

/// "M. Lee" over the launch pad in `photo`: found with its "M.", un-blended in white, the lamps
/// beside it left, and cleaned by at least 6 dB.
fn name_run_into_lamps_is_found_whole(photo: &str) {
    let rt = runtime();
    let mark = Mark { kind: MarkKind::SheerText("M. Lee", 0.11), at: Corner::BottomLeft, opacity: 0.4 };
    let case = marked_case("sheer", photo, &[mark]);
    let mut out = case.marked.clone();
    // WHEN ImageDelogo cleans it
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    // THEN the name is found, the "M." with it, and un-blended in white
    let truth = case.truth[0];
    // (A fifth of the name's height: 6 px at 640 px.)
    let slack = u64::from(truth.height / 5);
    let logos = result["Logos"].as_array().expect("Logos");
    let logo = logos.iter().find(|l| found(truth, &boxes_in(&json!([l])))).expect("the name found");
    assert!(logo["X"].as_u64().unwrap_or(999) <= u64::from(truth.x) + slack / 3, "the M. is left: {result}");
    assert_eq!(logo["Method"], "unblend", "{result}");
    assert_eq!(logo["Colour"], "white", "{result}");
    // AND the lamp beside the last letter is not taken for the name's icon (it would be smeared)
    let right = logo["X"].as_u64().unwrap_or(0) + logo["Width"].as_u64().unwrap_or(0);
    assert!(right <= u64::from(truth.x + truth.width) + slack, "{result}");
    assert_eq!(logos.len(), 1, "{result}");
    let gain = psnr_in(&out, &case.clean, truth) - psnr_in(&case.marked, &case.clean, truth);
    assert!(gain >= 6.0, "{gain:.1} dB");
}

#[test]
fn a_white_signature_over_foliage_is_read_in_the_light_view_and_left_rather_than_smeared() {
    // GIVEN "Studio North" in bold white at 40 % across the foot of a photo of a pagoda among
    // trees: in colour the text detector gives it no probability at all
    let rt = runtime();
    let mark =
        Mark { kind: MarkKind::SheerText("Studio North", 0.1), at: Corner::BottomCentre, opacity: 0.4 };
    let case = marked_case("sheer", "china.jpg", &[mark]);
    let mut out = case.marked.clone();
    // WHEN ImageDelogo cleans it
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    // THEN it is found (read where its light strokes stand out)
    let truth = case.truth[0];
    let logos = result["Logos"].as_array().expect("Logos");
    let logo = logos.iter().find(|l| found(truth, &boxes_in(&json!([l])))).expect("the signature found");
    // AND, since no single blend explains it over the leaves, it is reported and left as it
    // was, not smeared by a fill
    assert_eq!(logo["Removed"], false, "{result}");
    assert!(logo["Reason"].as_str().unwrap_or("").contains("translucent"), "{result}");
    assert!(psnr_in(&out, &case.marked, truth) > 60.0, "the picture under it changed: {result}");
}

#[test]
fn a_translucent_word_over_busy_shelves_that_no_blend_explains_is_left_not_smeared() {
    // GIVEN "STUDIO K" in bold white at 35 % over a garage's shelves and boxes: no single blend
    // explains it there, and its mask floods its box
    let rt = runtime();
    let mark = Mark { kind: MarkKind::SheerText("STUDIO K", 0.1), at: Corner::TopRight, opacity: 0.35 };
    let case = marked_case("sheer", "motorcycle_left.png", &[mark]);
    let mut out = case.marked.clone();
    // WHEN ImageDelogo cleans it
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    // THEN it is found, and reported as left with the reason
    let truth = case.truth[0];
    let logos = result["Logos"].as_array().expect("Logos");
    let logo = logos.iter().find(|l| found(truth, &boxes_in(&json!([l])))).expect("the word found");
    assert_eq!(logo["Removed"], false, "{result}");
    assert!(logo["Reason"].as_str().unwrap_or("").contains("translucent"), "{result}");
    // AND the picture under it is not made worse (a fill of its box smeared the shelves: −5.3 dB)
    let gain = psnr_in(&out, &case.clean, truth) - psnr_in(&case.marked, &case.clean, truth);
    assert!(gain > -0.5, "PSNR in the word's box moved by {gain:+.1} dB: {result}");
}

#[test]
fn a_screenshot_is_left_as_it_is_with_the_reason_and_a_given_box_is_still_removed() {
    // GIVEN a screenshot of a code listing: its lines alike enough to pass for a repeated stock
    // mark's, its icons as crisp as a logo (before the check, its lines were "un-blended" as a
    // tiled mark and a column of its letters filled)
    let rt = runtime();
    let shot = screenshot();
    let mut out = shot.clone();
    // WHEN ImageDelogo looks for marks on it
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    // THEN nothing is reported or changed, and the Result says why and what to give instead
    assert!(out == shot, "the screenshot was changed: {result}");
    assert_eq!(result["Logos"].as_array().map(Vec::len), Some(0), "{result}");
    assert!(result.get("TiledWatermark").is_none(), "{result}");
    let reason = result["Reason"].as_str().unwrap_or("");
    assert!(reason.contains("flat graphic") && reason.contains("JobParams.Logo"), "{result}");
    // AND the icons' box given as Logo is removed as asked
    let (w, h) = (f64::from(shot.width()), f64::from(shot.height()));
    let icons = iprod_core::params::LogoBox { x: 6.0 / w, y: 5.0 / h, width: 60.0 / w, height: 18.0 / h };
    let mut given = shot;
    let result = delogo::clean(&rt, &mut given, &[icons]).expect("ImageDelogo");
    assert_eq!(result["Logos"][0]["Removed"], true, "{result}");
    let blue =
        given.enumerate_pixels().filter(|(x, y, p)| *x < 70 && *y < 28 && p.0 == [60, 90, 200]).count();
    assert_eq!(blue, 0, "the blue icon is still there: {result}");
}

#[test]
fn a_circuit_boards_labels_are_the_scene_and_left_alone() {
    // GIVEN a photo carrying a circuit board's text: rows of pin labels along its top and bottom
    // edges and 48 small component labels, white and opaque, printed on it
    let rt = runtime();
    let board = labelled_board("motorcycle_right.png");
    let mut out = board.clone();
    // WHEN ImageDelogo looks for marks on it
    let result = delogo::clean(&rt, &mut out, &[]).expect("ImageDelogo");
    // THEN none of it is taken for a mark: not the rows (a stock mark's, at a glance), not the
    // labels near the edges, and the picture comes back as it was
    assert_eq!(result["Logos"].as_array().map(Vec::len), Some(0), "{result}");
    assert!(result.get("TiledWatermark").is_none(), "{result}");
    assert!(out == board, "the board was changed: {result}");
}

#[test]
fn a_mark_covering_most_of_the_picture_is_reported_not_smeared() {
    // GIVEN a photo with a big translucent plate over most of it, named as the logo box
    let rt = runtime();
    let mut img = control("china.jpg");
    for (x, y, p) in img.enumerate_pixels_mut() {
        if (40..600).contains(&x) && (30..400).contains(&y) && (x / 12 + y / 12) % 2 == 0 {
            p.0 = [250, 250, 250];
        }
    }
    let before = img.clone();
    let given = [iprod_core::params::LogoBox { x: 0.05, y: 0.05, width: 0.9, height: 0.9 }];
    // WHEN ImageDelogo cleans it
    let result = delogo::clean(&rt, &mut img, &given).expect("ImageDelogo");
    // THEN the mark is reported with Removed false and a reason, and the picture is unchanged
    let logo = &result["Logos"][0];
    assert_eq!(logo["Removed"], false, "{result}");
    assert!(logo["Reason"].as_str().unwrap_or("").contains("% of the picture"), "{result}");
    assert!(img == before);
    // while a small given box is removed as before
    let small = [iprod_core::params::LogoBox { x: 0.05, y: 0.05, width: 0.1, height: 0.1 }];
    let result = delogo::clean(&rt, &mut img, &small).expect("ImageDelogo");
    assert_eq!(result["Logos"][0]["Removed"], true, "{result}");
    assert!(img != before);
}
