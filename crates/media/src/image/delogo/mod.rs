//! ImageDelogo: logos, watermarks and burnt-in text found (or given) and removed — un-blended
//! where they let the picture show through (repeated stock marks, a stock mark's one word across
//! the middle, translucent shapes), filled otherwise (Telea or an exemplar fill, whichever
//! measures better around the mark).

pub mod blend;
pub mod blended_line;
mod coverage;
pub mod cut;
pub mod detect;
pub mod find;
pub mod flat_graphic;
pub mod likeness;
pub mod mask;
pub mod patchmatch;
pub mod repeated;
pub mod rows;
mod stroke_edges;
pub mod strokes;
pub mod telea;
#[cfg(test)]
mod test_marks;
pub mod tiled;
pub mod translucent;
pub mod turned;

use image::RgbImage;
use iprod_core::Result;
use iprod_core::params::LogoBox;
use serde_json::{Value, json};

use crate::imaging::geometry::PixelBox;
use crate::onnx::OnnxRuntime;
use crate::vision::{overlay_text, text};
use find::{Evidence, find_marks};
use mask::overlay_mask;

/// Neighbourhood of known pixels each filled pixel is estimated from.
const INPAINT_RADIUS: u32 = 7;
/// A line is left rather than filled where its mask covers this share of its box, the picture
/// around has this much texture, and shows through the box at this share of it ([`seen_through`]).
const FLOODED: f32 = 0.9;
const BUSY: f32 = 13.0;
const SEEN_THROUGH: f32 = 0.6;
/// A mark whose pixels cover more than this fraction of the picture is reported, not filled:
/// inpainting from the borders of so large a hole invents a smear, not the picture under it.
const MAX_FILL_FRACTION: f64 = 0.2;

/// A given box in normalised coordinates → pixels, at least 1×1 and inside the image.
pub fn to_pixels(logo: &LogoBox, width: u32, height: u32) -> PixelBox {
    // A tolerance keeps decimal noise (0.95 × 1000 = 950.000…1) from adding a pixel row.
    let (down, up) = (|v: f64| (v + 1e-6).floor(), |v: f64| (v - 1e-6).ceil());
    let x = (down(logo.x * f64::from(width)) as u32).min(width.saturating_sub(1));
    let y = (down(logo.y * f64::from(height)) as u32).min(height.saturating_sub(1));
    let right = up((logo.x + logo.width) * f64::from(width)).min(f64::from(width)) as u32;
    let bottom = up((logo.y + logo.height) * f64::from(height)).min(f64::from(height)) as u32;
    PixelBox { x, y, width: right.saturating_sub(x).max(1), height: bottom.saturating_sub(y).max(1) }
}

/// Cleans `image` in place: the given boxes, or (none given) the confidently detected ones.
/// Returns the job's `Result`: the boxes, in pixels and normalised, each with `Removed` (and a
/// `Reason` when it was too large to fill).
pub fn clean(runtime: &OnnxRuntime, image: &mut RgbImage, given: &[LogoBox]) -> Result<Value> {
    let (w, h) = image.dimensions();
    // A screenshot, a document or a chart is all crisp text and sharp graphics: found
    // automatically, its own content would be taken for marks and erased.
    let flat = given.is_empty().then(|| flat_graphic::flatness(image)).filter(|f| f.is_graphic());
    if let Some(flat) = flat {
        return Ok(json!({
            "Logos": [], "Width": w, "Height": h,
            "Reason": format!(
                "a flat graphic (a screenshot, a document, a chart: {:.0} % of its pixels equal their \
                 neighbours, where a photo's hardly do): its text and graphics are its content, so nothing is \
                 looked for; give the mark's box as JobParams.Logo to remove it",
                flat.flat * 100.0
            )
        }));
    }
    let mut unblended = None;
    let mut tilt: Option<f32> = None;
    let mut blended: Vec<blend::BlendMark> = Vec::new();
    let mut plates: Vec<PixelBox> = Vec::new();
    // A stock mark's rows that could not be un-blended: reported, never filled.
    let mut left_rows: Vec<PixelBox> = Vec::new();
    // The marks read only in the light view: translucent by how they were found.
    let mut light_only: Vec<PixelBox> = Vec::new();
    // A stock mark's one translucent word across the middle, un-blended: its box and blend.
    let mut centred_mark: Option<(PixelBox, translucent::Blend)> = None;
    // The blends the picture's edges fit, as last read (read again only where it changed since).
    let mut edges: Option<blend::EdgeFits> = None;
    let regions: Vec<(PixelBox, Option<(f32, Evidence)>)> = if given.is_empty() {
        let lines = text::detect(runtime, image)?;
        // A stock mark repeated over the picture is un-blended first; its tiles are then no
        // longer marks to fill.
        // The tiles found, those like them, and where their lattice says more should be.
        // The detector may read only one tile whole (a dark mark over clutter): its likeness
        // over the picture finds the rest.
        let least = likeness::least_seed((w, h));
        // (Tiles among a crowd of other text of their size are labels repeated in the scene.)
        unblended = likeness::mark_tiles(image, &lines, least)
            .filter(|tiles| !among_scene_text(&lines, tiles, (w, h)))
            .and_then(|tiles| repeated::remove_all(image, &tiles));
        // A mark running diagonally is read and un-blended on the picture turned level.
        if unblended.is_none()
            && let Some(mark) = turned::remove(runtime, image, &lines)?
        {
            tilt = Some(mark.tilt);
            unblended = Some(mark.mark);
        }
        // Rows of a stock mark that none of that could take are left, not filled line by line.
        if unblended.is_none() {
            // Rows among a crowd of other text of their size are the scene's (a circuit board's
            // rows of pin labels among its component labels), not a stock mark's.
            left_rows = Some(rows::stock_rows(&lines, (w, h)))
                .filter(|rows| !among_scene_text(&lines, rows, (w, h)))
                .unwrap_or_default();
        }
        // The blends the picture's edges fit, read once for the marks found from them.
        let mut read = blend::EdgeFits::of(image);
        // A stock preview's one word across the middle, where there is no repeated mark.
        if unblended.is_none()
            && left_rows.is_empty()
            && let Some(mark) = blended_line::find(image, &read)
        {
            centred_mark = translucent::unblend_known(image, &mark.letters, mark.region, mark.blend)
                .map(|r| (r, mark.blend));
            read = blend::EdgeFits::of(image);
        }
        let edges = edges.insert(read);
        // What is done with already: the un-blended tiles or centred word, or the rows left.
        let mut done: Vec<PixelBox> =
            unblended.as_ref().map_or(left_rows.clone(), |m: &repeated::RepeatedMark| m.tiles.clone());
        done.extend(centred_mark.map(|(r, _)| r));
        let inside = |b: PixelBox| mostly_within(b, done.iter());
        let rest: Vec<text::TextLine> =
            lines.into_iter().filter(|l| !inside(find::to_box(l.rect, w, h))).collect();
        // Marks blended as one shape (translucent discs, plates) are inverted where they can be;
        // what they hold (a letter, a logo on the plate) is then no longer a separate mark.
        for mark in blend::find_in(edges) {
            if inside(mark.region) || of_left_rows(mark.region, &left_rows) {
                continue;
            }
            if mark.opaque() {
                // Nothing to invert: the plate is filled with what it carries, as other marks.
                plates.push(mark.region);
            } else {
                mark.remove(image);
                blended.push(mark);
            }
        }
        let in_blend = |b: PixelBox| mostly_within(b, blended.iter().map(|m| &m.region));
        let rest: Vec<text::TextLine> =
            rest.into_iter().filter(|l| !in_blend(find::to_box(l.rect, w, h))).collect();
        // Blocks the detector merged (a word run into a flag's stars) are read again closer, and
        // white or grey marks it does not read in colour at all are read in the light view
        // (where it did, its colour reading is kept: the light one also takes in glare).
        let rest = overlay_text::read_blocks_closer(runtime, image, rest)?;
        let light: Vec<text::TextLine> = overlay_text::light_lines(runtime, image)?
            .into_iter()
            .filter(|l| {
                let b = find::to_box(l.rect, w, h);
                let read = rest.iter().any(|r| l.rect.intersection(&r.rect) > 0.0);
                !read && !inside(b) && !in_blend(b)
            })
            .collect();
        let touches = |m: PixelBox, lines: &[text::TextLine]| {
            lines.iter().any(|l| m.intersection(&find::to_box(l.rect, w, h)) > 0)
        };
        let mut lines = rest.clone();
        lines.extend(light.iter().copied());
        let marks: Vec<find::FoundMark> = find::with_plates(find_marks(runtime, image, &lines)?, &plates)
            .into_iter()
            .filter(|m| !inside(m.region) && !in_blend(m.region))
            .collect();
        light_only = marks
            .iter()
            .filter(|m| touches(m.region, &light) && !touches(m.region, &rest))
            .map(|m| m.region)
            .collect();
        marks.into_iter().map(|m| (m.region, Some((m.score, m.evidence)))).collect()
    } else {
        given.iter().map(|l| (to_pixels(l, w, h), None)).collect()
    };
    let mut logos = Vec::new();
    // What was found and left as it is on purpose (a stock mark's rows, translucent text no blend
    // explains, a mark too large to fill): not to be un-blended by a later look.
    let mut left: Vec<PixelBox> = left_rows.clone();
    for (region, score) in regions {
        // Only the overlay's own pixels are filled, not the whole rectangle around them.
        let mask = overlay_mask(image, region);
        let covered = mask.pixels().filter(|p| p.0[0] > 0).count() as f64 / (f64::from(w) * f64::from(h));
        // A translucent mark of one colour is inverted, whatever its size; the rest is filled
        // where a fill is plausible.
        // Detected text, with or without its icon or "©", is followed past its box by the
        // blend's strokes ("© Ana Lima" was boxed to "© Ana L").
        let text = matches!(score, Some((_, Evidence::Text | Evidence::TextAndGraphic)));
        let inverted = translucent::unblend(image, &mask, region, text);
        // A line of text un-blended may have taken in glyphs the detector left out of its box.
        let region = inverted.map_or(region, |(_, grown)| grown);
        let inverted = inverted.map(|(blend, _)| blend);
        // Text read only in the light view is translucent: where no blend explains it (over
        // foliage its strokes cannot be told from the leaves), a fill would smear the picture
        // under it, so it is reported and left. So is a line that shows the picture through it
        // as busy as around it while its mask floods its box (`seen_through`).
        // (A faint ident with a graphic beside it is filled as before: "northfilm" +2.5 dB.)
        let line_alone = matches!(score, Some((_, Evidence::Text)));
        let left_translucent = inverted.is_none()
            && (light_only.contains(&region) || (line_alone && seen_through(image, &mask, region)));
        let removed = inverted.is_some() || (covered <= MAX_FILL_FRACTION && !left_translucent);
        if removed {
            // The picture changed: its edges are read again for the look below.
            edges = None;
        } else {
            left.push(region);
        }
        let fill =
            (removed && inverted.is_none()).then(|| patchmatch::fill_best(image, &mask, INPAINT_RADIUS));
        let mut entry = box_json(region, w, h);
        entry["Source"] = json!(if score.is_some() { "detected" } else { "given" });
        entry["Removed"] = json!(removed);
        if let Some(fill) = fill {
            entry["Fill"] = json!(fill.name());
        }
        if let Some(blend) = inverted {
            entry["Method"] = json!("unblend");
            entry["Alpha"] = json!(round4(f64::from(blend.alpha)));
            entry["Colour"] = json!(blend.colour_name());
        }
        if left_translucent {
            entry["Reason"] = json!(
                "translucent text over a busy picture that no single blend explains: left as it is, since a \
                 fill would smear the picture under it"
            );
        } else if !removed {
            entry["Reason"] = json!(format!(
                "the mark covers {:.0} % of the picture (at most {:.0} % can be filled plausibly): left as it is",
                covered * 100.0,
                MAX_FILL_FRACTION * 100.0
            ));
        }
        if let Some((score, evidence)) = score {
            entry["Score"] = json!(round4(f64::from(score)));
            entry["Evidence"] = json!(evidence);
        }
        logos.push(entry);
    }
    // A translucent signature the text detector did not read, looked for once what it read is
    // removed (so that nothing is un-blended twice), away from what was left on purpose.
    // (The translucent shapes un-blended before the loop changed the picture too.)
    if !blended.is_empty() {
        edges = None;
    }
    if given.is_empty()
        && let Some(mark) = blended_line::find_at(
            image,
            edges.get_or_insert_with(|| blend::EdgeFits::of(image)),
            blended_line::Place::Border,
        )
        && !left.iter().any(|b| b.overlaps(&mark.region))
        && let Some(region) = translucent::unblend_known(image, &mark.letters, mark.region, mark.blend)
    {
        logos.push(unblended_entry(region, mark.blend.alpha, mark.blend.colour_name(), w, h));
    }
    if let Some((region, blend)) = centred_mark {
        logos.push(unblended_entry(region, blend.alpha, blend.colour_name(), w, h));
    }
    for mark in &blended {
        logos.push(unblended_entry(mark.region, mark.alpha, mark.tint.name(), w, h));
    }
    let mut result = json!({"Logos": logos, "Width": w, "Height": h});
    if let Some(mark) = unblended {
        let tiles = tile_list(&mark.tiles);
        result["TiledWatermark"] = json!({
            "Tiles": tiles, "Alpha": round4(f64::from(mark.alpha)),
            "Colour": if mark.colour == 255 { "white" } else { "black" }, "Removed": true, "Method": "unblend"
        });
        if let Some(tilt) = tilt {
            // Degrees the mark's lines rise (positive) or fall from level, left to right.
            result["TiledWatermark"]["Angle"] = json!(round4(f64::from(-tilt)));
        }
    } else if !left_rows.is_empty() {
        result["TiledWatermark"] = json!({
            "Tiles": tile_list(&left_rows), "Removed": false,
            "Reason": "a mark repeated in rows over the picture that could not be un-blended: left as it is, since \
                       filling its lines would smear the photo under them (faces included)"
        });
    } else if given.is_empty()
        && let Some(mark) = tiled::detect_tiled(image)
    {
        // Reported, not removed (see `tiled`): the user learns the picture carries a stock mark.
        let tiles = tile_list(&mark.tiles);
        result["TiledWatermark"] = json!({
            "PeriodX": round4(f64::from(mark.period_x)), "PeriodY": round4(f64::from(mark.period_y)),
            "Strength": round4(f64::from(mark.strength)), "Tiles": tiles, "Removed": false
        });
    }
    Ok(result)
}

/// Whether the mark in `region` is a translucent line over a busy picture whose strokes cannot
/// be told from it: its mask floods the box (at least [`FLOODED`] of it), the picture around is
/// busy (a mean neighbour step of at least [`BUSY`]) and shows through the box at least
/// [`SEEN_THROUGH`] as busy. A fill of the box would smear that picture: "STUDIO K" at 35 % over
/// a garage's shelves was filled at −5.3 dB. An opaque caption bar hides what is under it.
fn seen_through(image: &RgbImage, mask: &image::GrayImage, region: PixelBox) -> bool {
    let (x1, y1) = (region.right().min(image.width()), region.bottom().min(image.height()));
    let inside = (region.y..y1).flat_map(|y| (region.x..x1).map(move |x| (x, y)));
    let marked = inside.filter(|&(x, y)| mask.get_pixel(x, y)[0] > 0).count();
    let flooded = marked as f32 >= FLOODED * region.area() as f32;
    let around = patchmatch::ring_texture(image, mask, region);
    flooded && around >= BUSY && patchmatch::box_texture(image, region) >= SEEN_THROUGH * around
}

/// Whether `lines` other than those in `boxes` (a repeated mark's tiles, a stock mark's rows)
/// crowd the picture at the boxes' size ([`find::crowded`]): the boxes are then the scene's own
/// lettering repeated (a circuit board's labels), not a mark laid over it. A stock mark is
/// mostly alone with its own lines on a photo.
fn among_scene_text(lines: &[text::TextLine], boxes: &[PixelBox], (w, h): (u32, u32)) -> bool {
    let Some(height) = median_height(boxes) else { return false };
    let other = |l: &text::TextLine| !mostly_within(find::to_box(l.rect, w, h), boxes.iter());
    find::crowded(lines, height as f32, other)
}

/// Whether a blended shape is about as high as the rows of a stock mark left as it is (half to
/// one and a half times their median height): a piece of that mark (the "©" before each
/// "dreamstime", a white ring of one opacity), left with it rather than removed alone.
fn of_left_rows(b: PixelBox, rows: &[PixelBox]) -> bool {
    median_height(rows).is_some_and(|m| (m / 2..=m + m / 2).contains(&b.height))
}

/// The median height of `boxes` (a row read in part is lower than the rest); none if empty.
fn median_height(boxes: &[PixelBox]) -> Option<u32> {
    let mut heights: Vec<u32> = boxes.iter().map(|b| b.height).collect();
    heights.sort_unstable();
    heights.get(heights.len() / 2).copied()
}

/// Whether at least half of `b` lies in `boxes` (which do not overlap one another): the
/// detector may read two tiles of a row as one line.
fn mostly_within<'a>(b: PixelBox, boxes: impl Iterator<Item = &'a PixelBox>) -> bool {
    boxes.map(|o| b.intersection(o)).sum::<u32>() * 2 >= b.width * b.height
}

/// A mark's box in pixels and normalised, as the Result lists it.
fn box_json(r: PixelBox, w: u32, h: u32) -> Value {
    json!({
        "X": r.x, "Y": r.y, "Width": r.width, "Height": r.height,
        "Box": [
            round4(f64::from(r.x) / f64::from(w)), round4(f64::from(r.y) / f64::from(h)),
            round4(f64::from(r.width) / f64::from(w)), round4(f64::from(r.height) / f64::from(h))
        ],
    })
}

/// A translucent mark found and un-blended, as the Result lists it.
fn unblended_entry(region: PixelBox, alpha: f32, colour: &str, w: u32, h: u32) -> Value {
    let mut entry = box_json(region, w, h);
    for (key, value) in [
        ("Source", json!("detected")),
        ("Removed", json!(true)),
        ("Evidence", json!("Translucent")),
        ("Alpha", json!(round4(f64::from(alpha)))),
        ("Colour", json!(colour)),
        ("Method", json!("unblend")),
    ] {
        entry[key] = value;
    }
    entry
}

/// Tile boxes as the Result lists them.
fn tile_list(tiles: &[PixelBox]) -> Vec<Value> {
    tiles.iter().map(|t| json!({"X": t.x, "Y": t.y, "Width": t.width, "Height": t.height})).collect()
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_boxes_cover_their_pixels() {
        let b = to_pixels(&LogoBox { x: 0.8, y: 0.05, width: 0.15, height: 0.1 }, 1000, 500);
        assert_eq!(b, PixelBox { x: 800, y: 25, width: 150, height: 50 });
        let edge = to_pixels(&LogoBox { x: 0.999, y: 0.999, width: 0.001, height: 0.001 }, 100, 100);
        assert_eq!((edge.x, edge.y, edge.width, edge.height), (99, 99, 1, 1));
    }
}
