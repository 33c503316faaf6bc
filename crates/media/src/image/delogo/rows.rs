//! Text lines laid out as a stock mark's rows: when a repeated mark could not be un-blended
//! ([`super::repeated`], [`super::likeness`]), its lines must not be filled one by one. A fill
//! rebuilds a line's box from around it, and a stock mark's lines run over the subject: filling
//! "© dreamstime" down a photographer's face smeared the face, while the mark left as it is
//! only costs what it cost before. So such lines are reported, not removed.
//!
//! A person tells a stock mark's rows from a title or a paragraph by their spacing: the same
//! words at one size, row after row, evenly spaced and far apart (a title's lines sit a line's
//! height apart; a stock mark's rows leave room for the photo between them).

use crate::imaging::geometry::PixelBox;
use crate::vision::text::TextLine;

use super::find::to_box;
use super::repeated::MIN_HEIGHT;

/// Lines of one size: heights within this ratio of the larger.
const SAME_HEIGHT: f32 = 0.2;
/// At least this many rows…
const MIN_ROWS: usize = 3;
/// …whose centres are at least this many line heights apart, row to row…
const MIN_ROW_STEP: f32 = 1.8;
/// …and evenly so: each step within this ratio of the median step.
const EVEN_STEPS: f32 = 0.25;

/// The boxes of `lines` laid out as a stock mark's rows (see the module's notes), or none.
pub fn stock_rows(lines: &[TextLine], (w, h): (u32, u32)) -> Vec<PixelBox> {
    let words: Vec<&TextLine> = lines
        .iter()
        .filter(|l| {
            let r = l.rect;
            l.score >= 0.6 && l.tilt.abs() <= 5.0 && r.width >= 2.0 * r.height && r.height >= MIN_HEIGHT
        })
        .collect();
    let centre = |l: &TextLine| l.rect.y + l.rect.height / 2.0;
    let mut best: Option<(Vec<&TextLine>, f32, f32)> = None;
    for seed in &words {
        let size = seed.rect.height;
        let alike: Vec<&TextLine> = words
            .iter()
            .copied()
            .filter(|l| (l.rect.height - size).abs() <= SAME_HEIGHT * l.rect.height.max(size))
            .collect();
        if best.as_ref().is_some_and(|(b, _, _)| b.len() >= alike.len()) {
            continue;
        }
        if let Some((first, step)) = evenly_spaced_rows(&alike, size) {
            best = Some((alike, first, step));
        }
    }
    let Some((rows, first, step)) = best else { return Vec::new() };
    // A row read in part is a shorter line (a word's lower half, its descenders lost): a word
    // line on the rows' spacing belongs to them at any height from half to half again theirs.
    let size = rows[0].rect.height;
    let on_rows = |l: &TextLine| {
        let k = ((centre(l) - first) / step).round();
        (centre(l) - first - k * step).abs() <= EVEN_STEPS * step / 2.0
            && (0.5 * size..=1.5 * size).contains(&l.rect.height)
    };
    words
        .iter()
        .filter(|l| rows.iter().any(|r| std::ptr::eq(*r, **l)) || on_rows(l))
        .map(|l| to_box(l.rect, w, h))
        .collect()
}

/// The first row's centre and the step between rows, when the lines' centres fall in at least
/// [`MIN_ROWS`] rows, far apart and evenly spaced.
fn evenly_spaced_rows(lines: &[&TextLine], size: f32) -> Option<(f32, f32)> {
    let mut centres: Vec<f32> = lines.iter().map(|l| l.rect.y + l.rect.height / 2.0).collect();
    centres.sort_by(f32::total_cmp);
    // Centres within half a line of the row's first are one row.
    let mut rows: Vec<f32> = Vec::new();
    for c in centres {
        if rows.last().is_none_or(|r| c - r > size / 2.0) {
            rows.push(c);
        }
    }
    if rows.len() < MIN_ROWS {
        return None;
    }
    let mut steps: Vec<f32> = rows.windows(2).map(|p| p[1] - p[0]).collect();
    steps.sort_by(f32::total_cmp);
    let median = steps[steps.len() / 2];
    let even = steps.iter().all(|s| (s - median).abs() <= EVEN_STEPS * median);
    (median >= MIN_ROW_STEP * size && even).then_some((rows[0], median))
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::level_line as line;
    use super::*;

    #[test]
    fn a_column_of_one_word_evenly_spaced_is_a_stock_mark() {
        // GIVEN "© dreamstime" read down one column, every 200 px, some rows in part
        let lines = [
            line(288.0, 86.0, 473.0, 67.0),
            line(284.0, 293.0, 243.0, 69.0),
            line(286.0, 492.0, 476.0, 72.0),
            line(289.0, 715.0, 260.0, 46.0),
        ];
        // WHEN the lines are asked for stock rows
        let rows = stock_rows(&lines, (1024, 1024));
        // THEN all four are, the one read lower too
        assert_eq!(rows.len(), 4, "{rows:?}");
    }

    #[test]
    fn a_title_and_a_caption_are_not_a_stock_mark() {
        // GIVEN a two-line title a line apart and a smaller caption at the foot
        let lines = [
            line(100.0, 100.0, 400.0, 50.0),
            line(100.0, 160.0, 380.0, 50.0),
            line(80.0, 600.0, 300.0, 20.0),
        ];
        // THEN they are not stock rows
        assert!(stock_rows(&lines, (800, 700)).is_empty());
        // NOR is a paragraph, nor rows unevenly spaced
        let paragraph: Vec<TextLine> =
            (0..6).map(|i| line(50.0, 100.0 + 24.0 * i as f32, 300.0, 18.0)).collect();
        assert!(stock_rows(&paragraph, (800, 700)).is_empty());
        let uneven =
            [line(50.0, 50.0, 200.0, 30.0), line(50.0, 150.0, 200.0, 30.0), line(50.0, 500.0, 200.0, 30.0)];
        assert!(stock_rows(&uneven, (800, 700)).is_empty());
    }
}
