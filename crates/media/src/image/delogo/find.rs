//! Which parts of a picture are marks laid over it, from the evidence a person uses:
//!
//! - **overlay text** (PP-OCRv5's text lines): horizontal, rendered sharp, in the band within
//!   `TEXT_BAND` of a border (`vision::overlay_text`); lines of one caption are joined into one block;
//! - **graphic marks** (`detect`): compact, dense, crisp edges standing out from their ring,
//!   near the borders;
//! - a text block and a graphic mark that touch (a word under a ring logo, an icon beside a URL)
//!   are one mark.
//!
//! Text that belongs to the scene (signs, badges, labels, handwriting) is told apart by what
//! rendering leaves and photography rarely does: level lines, a position near the frame's border
//! rather than on the subject (a name tag on a uniform), and sharp glyph edges (`crispness`; it
//! only drops blurred text: sharp scene lettering measures as crisp as rendered text). A line
//! among many of its size (coins' lettering at random angles, a circuit board's labels) is one
//! of them.

use image::RgbImage;
use iprod_core::Result;

use super::detect::{DetectedLogo, LOGO_SCORE_THRESHOLD, detect_logos, graphic_beside};
use crate::imaging::geometry::PixelBox;
use crate::onnx::OnnxRuntime;
use crate::vision::Rect;
use crate::vision::overlay_text::{CAPTION_HEIGHT, MAX_TILT, Placement, is_overlay_word, placement};
use crate::vision::saliency::{self, SaliencyMap};
use crate::vision::text::{self, TextLine};

/// A graphic mark found by its edges alone is at least this many pixels across either way:
/// smaller, no one could read it as a logo (a 128 px gift-box icon's ribbon and highlights were
/// taken for four marks of 6-14 px).
const MIN_GRAPHIC_SIDE: u32 = 12;
/// Mean saliency around a line above which it is on the subject.
const ON_SUBJECT: f32 = 0.4;
/// …and an overlay holds at least one line this much wider than high: overlay text carries words
/// (a channel's name, a URL, a date: the development set's lines measured 2.4 and up), while a
/// coin's relief and fragments of one or two letters of scene writing measured 1.8–2.0. Shorter
/// lines count only beside such a line (the "©" before a copyright line).
const WORD_ASPECT: f32 = 2.2;
/// At least this many graphic marks in a line (centres within [`ROW_BAND`] of the picture's
/// size) are scene elements, not marks.
const ROW: usize = 3;
const ROW_BAND: f32 = 0.06;
/// Scene text at random angles (coins in a tray, signs down a street, spines on a shelf): when at
/// least this many confident lines of a height are tilted past [`MAX_TILT`], a level line of
/// about that height (within [`FAMILY_HEIGHT`]×) is one of them that happens to lie level.
const FAMILY: usize = 3;
const FAMILY_HEIGHT: f32 = 2.0;
/// Confident lines, for [`FAMILY`].
const FAMILY_SCORE: f32 = 0.9;
/// A picture crowded with text (a circuit board's labels, a page, a screen): when at least this
/// many lines read at [`CROWD_SCORE`] or more are between [`CROWD_BELOW`] and [`CROWD_ABOVE`]
/// times a line's height (the detector reads two rows of small labels as one line twice their
/// height), the line is one of them, printed in the scene, not laid over it. The development
/// set's marked photos hold at most 3 such confident lines (≥ 0.9; the coins' lettering 9); a
/// photo of a circuit board 18, whose two rows of pin labels along its bottom edge had been
/// un-blended as grey text at 73 %; screenshots 21–203. Counted from 0.75, the board's small
/// component labels ("R15", "C15", 9 px high among 55 lines) are a crowd too (7 at 0.9, which
/// had left two of them un-blended or reported); the development set's outcome is the same.
const CROWD: usize = 10;
const CROWD_SCORE: f32 = 0.75;
const CROWD_BELOW: f32 = 0.4;
const CROWD_ABOVE: f32 = 1.5;

/// Where a found mark's evidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Evidence {
    Text,
    Graphic,
    TextAndGraphic,
    /// An opaque plate (`blend`) and what it carries.
    Plate,
}

/// One mark found over the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FoundMark {
    pub region: PixelBox,
    pub score: f32,
    pub evidence: Evidence,
}

/// The marks over `image`, best first, with `lines` its text lines (`text::detect`).
pub fn find_marks(runtime: &OnnxRuntime, image: &RgbImage, lines: &[TextLine]) -> Result<Vec<FoundMark>> {
    // The subject is asked for only when some text is far enough in to be on it.
    let small = |l: &TextLine| l.line_height() < CAPTION_HEIGHT * image.height() as f32;
    let interior = lines.iter().any(|l| small(l) && placement(image, l) == Placement::Interior);
    let subject = if interior { Some(saliency::saliency(runtime, image)?) } else { None };
    let readable = |d: &DetectedLogo| d.region.width.min(d.region.height) >= MIN_GRAPHIC_SIDE;
    let graphics: Vec<DetectedLogo> =
        detect_logos(image).into_iter().filter(|d| d.score >= LOGO_SCORE_THRESHOLD && readable(d)).collect();
    Ok(combine(image, lines, &graphics, subject.as_ref()))
}

/// Joins the overlay text blocks and graphic marks of one picture; `subject` is needed to judge
/// text in the interior band (without it such text is not used).
pub fn combine(
    image: &RgbImage,
    lines: &[TextLine],
    graphics: &[DetectedLogo],
    subject: Option<&SaliencyMap>,
) -> Vec<FoundMark> {
    let (w, h) = image.dimensions();
    let tilted: Vec<f32> = lines
        .iter()
        .filter(|l| l.score >= FAMILY_SCORE && l.tilt.abs() > MAX_TILT)
        .map(TextLine::line_height)
        .collect();
    let in_family = |l: &TextLine| {
        let hh = l.line_height();
        let alike = tilted.iter().filter(|&&t| t <= FAMILY_HEIGHT * hh && hh <= FAMILY_HEIGHT * t).count();
        alike >= FAMILY || crowded(lines, hh, |_| true)
    };
    let overlay: Vec<&TextLine> = lines
        .iter()
        .filter(|l| !in_family(l))
        .filter(|l| match placement(image, l) {
            Placement::Edge => true,
            Placement::Interior => {
                l.line_height() >= CAPTION_HEIGHT * h as f32
                    || subject.is_some_and(|s| !on_subject(s, l.rect, w, h))
            }
            Placement::NotOverlay => false,
        })
        .collect();
    // A short word or sign read apart ("M." before "Lee", a "©") is too square to be told alone;
    // beside an overlay word on its row, at its height, it is part of the same mark.
    let beside: Vec<&TextLine> =
        lines.iter().filter(|l| !in_family(l) && is_overlay_word(image, l)).collect();
    // A line is a line of words when it is wide enough itself, or together with such a word or
    // sign on its row: the detector parts a large signature into its words ("M." and "Lee", 2.17
    // times wider than high, at 3,200 px), where a coin's relief is one short fragment.
    let wide = |r: Rect| r.width >= WORD_ASPECT * r.height;
    let wordy = |l: &TextLine| {
        wide(l.rect) || beside.iter().any(|o| *o != l && same_line(l, o) && wide(span(l.rect, o.rect)))
    };
    let mut overlay: Vec<&TextLine> = overlay
        .iter()
        .copied()
        .filter(|l| {
            wordy(l)
                || overlay.iter().any(|o| wordy(o) && touching(to_box(o.rect, w, h), to_box(l.rect, w, h)))
        })
        .collect();
    let words: Vec<&TextLine> = beside
        .iter()
        .copied()
        .filter(|l| !overlay.contains(l))
        .filter(|l| overlay.iter().any(|o| wordy(o) && same_line(o, l)))
        .collect();
    overlay.extend(words);
    let mut marks: Vec<FoundMark> = text::join_lines(&overlay)
        .into_iter()
        .map(|(rect, score)| FoundMark { region: to_box(rect, w, h), score, evidence: Evidence::Text })
        .collect();
    // A graphic close beside a line, on the line, is its icon or logo (`graphic_beside`), unless
    // it lines up with graphics away from the text (a lamp beside a word, among the lamps of a
    // launch pad).
    let away: Vec<DetectedLogo> = graphics
        .iter()
        .copied()
        .filter(|g| !overlay.iter().any(|l| touching(to_box(l.rect, w, h), g.region)))
        .collect();
    for line in &overlay {
        let line_box = to_box(line.rect, w, h);
        let Some(icon) = graphic_beside(image, line_box) else { continue };
        let beside: Vec<DetectedLogo> =
            away.iter().copied().filter(|g| g.region.intersection(&icon) == 0).collect();
        if lines_up(&DetectedLogo { region: icon, score: 0.0 }, &beside, w, h) {
            continue;
        }
        if let Some(m) = marks.iter_mut().find(|m| m.region.intersection(&line_box) > 0) {
            m.region = m.region.union(&icon);
            m.evidence = Evidence::TextAndGraphic;
        }
    }
    // Graphics touching text belong to it (an icon, a glyph's shadow); the rest must not line up.
    // (A lamp that a word's box reaches is still one of the row of lamps beside it.)
    let lone: Vec<DetectedLogo> =
        graphics.iter().copied().filter(|g| !marks.iter().any(|m| touching(m.region, g.region))).collect();
    for g in graphics.iter().filter(|g| !lines_up(g, &lone, w, h)) {
        let near = marks.iter().position(|m| touching(m.region, g.region));
        match near {
            Some(i) => {
                marks[i].region = marks[i].region.union(&g.region);
                marks[i].score = marks[i].score.max(g.score);
                marks[i].evidence = Evidence::TextAndGraphic;
            }
            None => marks.push(FoundMark { region: g.region, score: g.score, evidence: Evidence::Graphic }),
        }
    }
    merge_touching(marks)
}

/// Whether at least [`CROWD`] of `lines` that `counts` are read surely ([`CROWD_SCORE`]) and
/// between [`CROWD_BELOW`] and [`CROWD_ABOVE`] times `height` high: text of that size crowds the
/// picture, and a line of it is the scene's.
pub(super) fn crowded(lines: &[TextLine], height: f32, counts: impl Fn(&TextLine) -> bool) -> bool {
    let near = |t: f32| t <= CROWD_ABOVE * height && t >= CROWD_BELOW * height;
    lines.iter().filter(|l| l.score >= CROWD_SCORE && near(l.line_height()) && counts(l)).count() >= CROWD
}

/// Whether `g` stands in a row or column of at least [`ROW`] alike graphic marks with `others`
/// (which may hold `g` itself): lights along a launch pad, windows, fence posts. A logo is one
/// element; repeated scene elements line up.
fn lines_up(g: &DetectedLogo, others: &[DetectedLogo], w: u32, h: u32) -> bool {
    let centre = |d: &DetectedLogo| {
        let r = d.region;
        (r.x as f32 + r.width as f32 / 2.0, r.y as f32 + r.height as f32 / 2.0)
    };
    let (gx, gy) = centre(g);
    let others = || others.iter().filter(|o| *o != g);
    let across = others().filter(|o| (centre(o).1 - gy).abs() <= ROW_BAND * h as f32).count();
    let down = others().filter(|o| (centre(o).0 - gx).abs() <= ROW_BAND * w as f32).count();
    across + 1 >= ROW || down + 1 >= ROW
}

/// `marks` with the opaque plates `blend` found: a plate joins the marks it touches (the logo it
/// carries, a word beside it).
pub fn with_plates(mut marks: Vec<FoundMark>, plates: &[PixelBox]) -> Vec<FoundMark> {
    for p in plates {
        marks.push(FoundMark { region: *p, score: LOGO_SCORE_THRESHOLD, evidence: Evidence::Plate });
    }
    merge_touching(marks)
}

/// Marks that touch become one; unions can make marks overlap, so until none do (a grown box may
/// reach an earlier one).
fn merge_touching(mut marks: Vec<FoundMark>) -> Vec<FoundMark> {
    loop {
        let before = marks.len();
        let mut merged: Vec<FoundMark> = Vec::new();
        for m in marks {
            match merged.iter().position(|o| touching(o.region, m.region)) {
                Some(i) => {
                    merged[i].region = merged[i].region.union(&m.region);
                    merged[i].score = merged[i].score.max(m.score);
                    if merged[i].evidence != m.evidence {
                        let plate = merged[i].evidence == Evidence::Plate || m.evidence == Evidence::Plate;
                        merged[i].evidence = if plate { Evidence::Plate } else { Evidence::TextAndGraphic };
                    }
                }
                None => merged.push(m),
            }
        }
        marks = merged;
        if marks.len() == before {
            break;
        }
    }
    marks.sort_by(|a, b| b.score.total_cmp(&a.score));
    marks
}

/// Whether the salient subject surrounds `r` (mean saliency over a ring one line height wide).
fn on_subject(subject: &SaliencyMap, r: Rect, w: u32, h: u32) -> bool {
    let m = r.height.min(r.width);
    let (mw, mh) = (subject.width, subject.height);
    let (sx, sy) = (mw as f32 / w as f32, mh as f32 / h as f32);
    let cell = |v: f32, s: f32, cells: usize| ((v * s).max(0.0) as usize).min(cells - 1);
    let (x0, y0) = (cell(r.x - m, sx, mw), cell(r.y - m, sy, mh));
    let (x1, y1) = (cell(r.right() + m, sx, mw), cell(r.bottom() + m, sy, mh));
    let (ix0, iy0) = (cell(r.x, sx, mw), cell(r.y, sy, mh));
    let (ix1, iy1) = (cell(r.right(), sx, mw), cell(r.bottom(), sy, mh));
    let (mut sum, mut n) = (0.0f32, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if !(ix0..=ix1).contains(&x) || !(iy0..=iy1).contains(&y) {
                sum += subject.values[y * mw + x];
                n += 1;
            }
        }
    }
    n > 0 && sum / n as f32 >= ON_SUBJECT
}

/// Whether `word` continues `line`'s row: overlapping it by half the lower one's height, of about
/// its height (within 1.5×, or within 2× where the lower one lies inside the other's row: a word
/// read only in part, as "Jan" of a faint "Jane" over light wood beside its "Doe"), at most one
/// line height apart.
fn same_line(line: &TextLine, word: &TextLine) -> bool {
    let (a, b) = (line.rect, word.rect);
    let overlap = a.bottom().min(b.bottom()) - a.y.max(b.y);
    let gap = (b.x - a.right()).max(a.x - b.right());
    let (ha, hb) = (a.height, b.height);
    let (low, high) = (ha.min(hb), ha.max(hb));
    let inside = overlap >= low - 1.0;
    overlap >= 0.5 * low && (high <= 1.5 * low || (inside && high <= 2.0 * low)) && gap <= ha
}

/// The rectangle spanning `a` and `b`.
fn span(a: Rect, b: Rect) -> Rect {
    let (x, y) = (a.x.min(b.x), a.y.min(b.y));
    Rect { x, y, width: a.right().max(b.right()) - x, height: a.bottom().max(b.bottom()) - y }
}

/// A text line's (or any) rectangle as a pixel box inside a `w` × `h` picture.
pub(super) fn to_box(r: Rect, w: u32, h: u32) -> PixelBox {
    let x = (r.x.floor().max(0.0) as u32).min(w - 1);
    let y = (r.y.floor().max(0.0) as u32).min(h - 1);
    let x1 = (r.right().ceil() as u32).clamp(x + 1, w);
    let y1 = (r.bottom().ceil() as u32).clamp(y + 1, h);
    PixelBox { x, y, width: x1 - x, height: y1 - y }
}

/// Boxes that overlap or lie within a few pixels (a tenth of the smaller box's short side).
fn touching(a: PixelBox, b: PixelBox) -> bool {
    let m = (a.width.min(a.height).min(b.width.min(b.height)) / 10).max(2);
    a.x < b.x + b.width + m && b.x < a.x + a.width + m && a.y < b.y + b.height + m && b.y < a.y + a.height + m
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::level_line as line;
    use super::*;

    #[test]
    fn a_word_read_in_part_continues_the_row_of_the_word_beside_it() {
        // "Doe" read whole and "Jan" of "Jane" read only in its lower letters, at 3,000 px.
        let (doe, jan) = (line(663.0, 1745.0, 298.0, 136.0), line(381.0, 1784.0, 192.0, 82.0));
        assert!(same_line(&doe, &jan));
        // A line as low but half out of the row, or one over twice as high beside it, is not.
        assert!(!same_line(&doe, &line(381.0, 1840.0, 192.0, 82.0)));
        assert!(!same_line(&jan, &line(600.0, 1700.0, 300.0, 200.0)));
    }
}
