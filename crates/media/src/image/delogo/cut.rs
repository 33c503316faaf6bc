//! The tiles of a repeated mark that the picture's edge cuts. Stock sites lay their mark over the
//! whole picture, so the tiles along the edges show only in part ("23RF" at the left edge, the
//! lower half of a word at the top). The detector cannot read them as the same line and the
//! likeness search only places whole tiles, so once the mark is estimated from its whole tiles,
//! its lattice says where the cut ones are: each is aligned on its visible part, tested as the
//! lattice's inner places are (its lift against the one the mark's alpha predicts) and for the
//! mark's shape besides, and inverted where it shows.

use image::RgbImage;

use super::repeated::{
    self, ALIGN, ALIGN_MAX, ALIGN_PER_HEIGHT, ALIGN_ROWS, BLUR_ROOM, Estimate, Lattice, alpha_template, patch,
};
use crate::imaging::decimated::{self, Decimated, correlation_sums, every_step};
use crate::imaging::geometry::PixelBox;
use crate::imaging::parallel;

/// A tile further than its height over this (at least [`OFF_PLACE_MIN`] px) from its lattice
/// place is off it.
const OFF_PLACE_PER_HEIGHT: f32 = 6.0;
const OFF_PLACE_MIN: f32 = 6.0;
/// A cut tile is un-blended when at least this share of the mark's alpha shows…
const MIN_SHOWING: f32 = 0.1;
/// …and aligned on what shows when at least this share does (less is aligned by chance: it
/// stays where the lattice puts it).
const ALIGN_SHOWING: f32 = 0.3;
/// A cut tile's lift must have the mark's shape this well ([`repeated::Lift::likeness`]). Aligned
/// on a part of the mark, a place across the edge finds what looks like it by chance: letters'
/// worth of a white curtain's edge beside red cloth, lifted as much as the mark would lift them
/// (0.38), or a light sky's grain (0.48). The cut tiles of a mark laid over the whole picture
/// gave 0.9 and more on the development set.
const CUT_LIKENESS: f32 = 0.6;
/// …and the mark must be able to show there by this much ([`repeated::Lift::predicted`], grey
/// levels). Over photo of the mark's own colour (a black mark's place across the edge of a
/// black retina scan) any lift fits, and the inversion only brightens the dark by 1/(1 − alpha):
/// from identical to 31.7 dB in one such tile. The cut tiles of a mark that is there predicted
/// 12 and more on the development set.
const CUT_LIFT: f32 = 3.0;

/// Puts the mark's tiles on the lattice most of them share ([`repeated::robust_lattice`], fitted
/// to the tiles clear of the picture's edge, less a false [`lone_witness`]), then finds its cut
/// tiles and puts their top-left corners (outside the picture on one side or more) in
/// [`Estimate::cut`].
pub(super) fn find(image: &RgbImage, mark: &mut Estimate) {
    let (w, h) = image.dimensions();
    let (tw, th) = mark.size;
    let clear: Vec<(f32, f32)> =
        mark.tiles.iter().filter(|b| !at_edge(b, (w, h))).map(PixelBox::centre).collect();
    let Some(mut lattice) = repeated::robust_lattice(&clear, (tw as f32, th as f32)) else { return };
    // A lone witness of a finer lattice stays only where it shows the mark as a cut tile must.
    if let Some((lone, coarser)) = lone_witness(&clear, (tw as f32, th as f32), lattice)
        && let Some(b) = mark.tiles.iter().find(|b| b.centre() == clear[lone])
        && !shows_the_mark(image, *b, &mark.alpha, mark.colour)
    {
        let b = *b;
        mark.tiles.retain(|t| *t != b);
        lattice = coarser;
    }
    put_on_lattice(mark, lattice, (w, h));
    mark.cut = cut_tiles(image, mark, lattice);
}

/// The one centre that alone makes `lattice` finer than the others' (its cells about half as
/// large as theirs or smaller, and the centre off their lattice), and the others' lattice. A chance
/// likeness at the middle of four tiles of a grid (a temple's eaves at 12 MP) puts the grid's
/// centres on the lattice, and itself with them: inverted there, the mark is painted where the
/// photo has none (−26 dB in that tile; its lift's likeness 0.24). A staggered mark's rows
/// between hold several tiles, each of which the others still place; a lone one that is there
/// shows the mark (a turned "123RF" over grace_hopper.jpg: likeness 0.69, kept).
fn lone_witness(centres: &[(f32, f32)], size: (f32, f32), lattice: Lattice) -> Option<(usize, Lattice)> {
    let cell = |(_, u, v): Lattice| (u.0 * v.1 - u.1 * v.0).abs();
    let tolerance = repeated::lattice_tolerance(size.1);
    let mut lone = (0..centres.len()).filter_map(|i| {
        let others: Vec<(f32, f32)> =
            centres.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, c)| *c).collect();
        let theirs = repeated::robust_lattice(&others, size)?;
        let explained = others.iter().filter(|c| repeated::off_place(theirs, **c) <= tolerance).count();
        (cell(theirs) >= 1.9 * cell(lattice)
            && explained == others.len()
            && repeated::off_place(theirs, centres[i]) > tolerance)
            .then_some((i, theirs))
    });
    let first = lone.next()?;
    // Two or more such centres: the finer lattice has more than one witness.
    lone.next().is_none().then_some(first)
}

/// Whether `b` touches the edge of a `w` × `h` picture.
fn at_edge(b: &PixelBox, (w, h): (u32, u32)) -> bool {
    b.x == 0 || b.y == 0 || b.right() >= w || b.bottom() >= h
}

/// Puts every tile off its lattice place back there: the alignment pulls one over clutter onto
/// a wheel's spokes, and the likeness search pushes a cut one inside the picture (its window had
/// to fit) or matches the part of it that shows. Inverted off its place, a tile paints the
/// mark's outline twice. A tile whose place is across the edge is dropped, left to the cut
/// tiles; so is one that would land on another.
fn put_on_lattice(mark: &mut Estimate, lattice: Lattice, (w, h): (u32, u32)) {
    let (tw, th) = mark.size;
    let tolerance = (th as f32 / OFF_PLACE_PER_HEIGHT).max(OFF_PLACE_MIN);
    let fits = |c: (f32, f32)| {
        c.0 >= 0.0 && c.1 >= 0.0 && c.0 + tw as f32 <= w as f32 && c.1 + th as f32 <= h as f32
    };
    let mut kept: Vec<PixelBox> = Vec::with_capacity(mark.tiles.len());
    for b in &mark.tiles {
        let c = b.centre();
        let (p, _) = repeated::nearest_place(lattice, c);
        let corner = ((p.0 - tw as f32 / 2.0).round(), (p.1 - th as f32 / 2.0).round());
        let placed = if at_edge(b, (w, h)) && !fits(corner) {
            // Pushed inside from a place across the edge (the mark whole, its margin cut).
            continue;
        } else if repeated::off_place(lattice, c) <= tolerance {
            *b
        } else if fits(corner) {
            PixelBox::new(corner.0 as u32, corner.1 as u32, tw, th)
        } else {
            continue;
        };
        if !kept.iter().any(|k| k.overlaps(&placed)) {
            kept.push(placed);
        }
    }
    mark.tiles = kept;
}

/// The top-left corners of the lattice places across the picture's edge that hold the mark:
/// each showing at least [`MIN_SHOWING`] of its alpha, aligned on what shows, and lifted as the
/// mark predicts, in the mark's shape ([`CUT_LIKENESS`]) and by enough to show ([`CUT_LIFT`]),
/// over the part inside.
fn cut_tiles(image: &RgbImage, mark: &Estimate, lattice: Lattice) -> Vec<(i32, i32)> {
    let (w, h) = image.dimensions();
    let (tw, th) = mark.size;
    let corners: Vec<(i32, i32)> = repeated::lattice_places(lattice, (w, h))
        .map(|(cx, cy)| ((cx - tw as f32 / 2.0).round() as i32, (cy - th as f32 / 2.0).round() as i32))
        .filter(|c| !(c.0 >= 0 && c.1 >= 0 && c.0 + tw as i32 <= w as i32 && c.1 + th as i32 <= h as i32))
        .collect();
    let template = alpha_template(&mark.alpha, mark.colour, (tw, th));
    let total: f32 = mark.alpha.iter().sum();
    // The share of the mark's alpha a tile at `corner` shows: its sum over the part inside.
    let showing = |corner: (i32, i32)| -> f32 {
        let Some(shown) = visible(corner, (tw, th), (w, h)) else { return 0.0 };
        let (dx, dy) = ((shown.x as i32 - corner.0) as u32, (shown.y as i32 - corner.1) as u32);
        let sum: f32 = (dy..dy + shown.height)
            .map(|y| {
                mark.alpha[(y * tw + dx) as usize..(y * tw + dx + shown.width) as usize].iter().sum::<f32>()
            })
            .sum();
        sum / total.max(1e-6)
    };
    // Each place is aligned and tested on its own (in parallel); then taken in order, each unless
    // a whole tile or an earlier cut one is there.
    let tested = parallel::map(&corners, |corner| {
        let share = showing(*corner);
        if share < MIN_SHOWING {
            return None;
        }
        let corner =
            if share >= ALIGN_SHOWING { align(image, &template, (tw, th), *corner) } else { *corner };
        let shown = visible(corner, (tw, th), (w, h))?;
        // The alpha over the part that shows.
        let (dx, dy) = ((shown.x as i32 - corner.0) as u32, (shown.y as i32 - corner.1) as u32);
        let alpha: Vec<f32> = (0..shown.width * shown.height)
            .map(|i| mark.alpha[((dy + i / shown.width) * tw + dx + i % shown.width) as usize])
            .collect();
        shows_the_mark(image, shown, &alpha, mark.colour).then_some((corner, shown))
    });
    let mut cut: Vec<(i32, i32)> = Vec::new();
    for (corner, shown) in tested.into_iter().flatten() {
        let taken = |b: &PixelBox| b.intersection(&shown) > 0;
        if mark.tiles.iter().any(taken)
            || cut.iter().filter_map(|o| visible(*o, (tw, th), (w, h))).any(|b| taken(&b))
        {
            continue;
        }
        cut.push(corner);
    }
    cut
}

/// Whether the box `t` holds the mark whose alpha over it is `alpha`: lifted as the alpha
/// predicts, in the mark's shape ([`CUT_LIKENESS`]) and by enough to show ([`CUT_LIFT`]).
fn shows_the_mark(image: &RgbImage, t: PixelBox, alpha: &[f32], colour: f32) -> bool {
    let lift = repeated::Lift::measure(image, t, alpha, colour);
    lift.as_predicted() && lift.likeness >= CUT_LIKENESS && lift.predicted >= CUT_LIFT
}

/// The part of the tile at `corner` (`size`) inside the picture (`w` × `h`), if any.
pub(super) fn visible((x, y): (i32, i32), (tw, th): (u32, u32), (w, h): (u32, u32)) -> Option<PixelBox> {
    let (x0, y0) = (x.max(0), y.max(0));
    let (x1, y1) = ((x + tw as i32).min(w as i32), (y + th as i32).min(h as i32));
    (x1 > x0 && y1 > y0).then(|| PixelBox::new(x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32))
}

/// Where the cut tile near `corner` matches the mark's high-pass `template` best, within the
/// reach the whole tiles are aligned over, compared on the pixels that show only.
fn align(image: &RgbImage, template: &[f32], (tw, th): (u32, u32), corner: (i32, i32)) -> (i32, i32) {
    let (w, h) = (image.width() as i32, image.height() as i32);
    let reach = (th as i32 / ALIGN_PER_HEIGHT).clamp(ALIGN, ALIGN_MAX);
    let room = reach + BLUR_ROOM as i32;
    let (ax0, ay0) = ((corner.0 - room).max(0), (corner.1 - room).max(0));
    let (ax1, ay1) = ((corner.0 + tw as i32 + room).min(w), (corner.1 + th as i32 + room).min(h));
    if ax1 <= ax0 || ay1 <= ay0 {
        return corner;
    }
    let (aw, ah) = ((ax1 - ax0) as u32, (ay1 - ay0) as u32);
    let high = patch(image, PixelBox::new(ax0 as u32, ay0 as u32, aw, ah), (aw, ah));
    // Large tiles are compared on every `step`-th row and column, as whole ones are.
    let step = (th / ALIGN_ROWS).max(1) as usize;
    let high = Decimated::new(&high, (aw as usize, ah as usize), step);
    let columns = (tw as usize).div_ceil(step);
    let sampled = every_step(template, tw as usize, (tw as usize, th as usize), step);
    // The sampled indices k with `from + k·step` in `lo..hi`.
    let inside = |from: i32, lo: i32, hi: i32, n: usize| {
        let first = ((lo - from).max(0) as usize).div_ceil(step);
        let end = if hi > from { ((hi - from) as usize).div_ceil(step).min(n) } else { 0 };
        first..end.max(first)
    };
    let score = |dx: i32, dy: i32| {
        let (ox, oy) = (corner.0 + dx, corner.1 + dy);
        let (ks, js) = (inside(ox, ax0, ax1, columns), inside(oy, ay0, ay1, sampled.len() / columns));
        if ks.is_empty() || js.is_empty() {
            return None;
        }
        let x = (ox + (ks.start * step) as i32 - ax0) as usize;
        let mut sums = [0.0f32; 3];
        for j in js {
            let y = (oy + (j * step) as i32 - ay0) as usize;
            let row = &sampled[j * columns + ks.start..j * columns + ks.end];
            let pairs = correlation_sums(row, high.row(x, y, ks.len()));
            sums.iter_mut().zip(pairs).for_each(|(s, p)| *s += p);
        }
        Some(decimated::correlation(sums))
    };
    let mut best = (f32::MIN, corner);
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            if let Some(c) = score(dx, dy)
                && c > best.0
            {
                best = (c, (corner.0 + dx, corner.1 + dy));
            }
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::super::test_marks::{MARK, marked, photo};
    use super::*;

    /// Mean absolute difference of the red channel in the picture's band of rows `rows`.
    fn error(a: &RgbImage, b: &RgbImage, rows: std::ops::Range<u32>) -> f64 {
        let n = f64::from(a.width() * (rows.end - rows.start));
        rows.flat_map(|y| (0..a.width()).map(move |x| (x, y)))
            .map(|(x, y)| f64::from(a.get_pixel(x, y)[0].abs_diff(b.get_pixel(x, y)[0])))
            .sum::<f64>()
            / n
    }

    #[test]
    fn tiles_the_edges_cut_are_un_blended_where_they_show() {
        // GIVEN a mark on a plain grid from above and left of the picture: steps (160, 90),
        // so the top row shows its lower 14 rows and the left column 56 of its 96 columns
        let mut grid = Vec::new();
        for row in 0..5 {
            for col in 0..5 {
                grid.push((-40 + col * 160, -10 + row * 90));
            }
        }
        let mut img = marked(&grid);
        let clean = photo();
        let before_top = error(&img, &clean, 0..14);
        let before_left: f64 = (0..4).map(|r| error(&img, &clean, (80 + r * 90)..(94 + r * 90))).sum();
        // WHEN the mark is un-blended from four of its whole tiles
        let found: Vec<PixelBox> = [(120, 80), (280, 80), (120, 170), (280, 170)]
            .iter()
            .map(|(x, y)| PixelBox::new(*x, *y, MARK.0, MARK.1))
            .collect();
        let mark = repeated::remove_all(&mut img, &found).expect("un-blended");
        // THEN the cut tiles along the top and the left edge are listed and un-blended too
        assert!(mark.tiles.iter().any(|t| t.y == 0 && t.height < MARK.1), "{:?}", mark.tiles);
        assert!(mark.tiles.iter().any(|t| t.x == 0 && t.width < MARK.0), "{:?}", mark.tiles);
        let after_top = error(&img, &clean, 0..14);
        let after_left: f64 = (0..4).map(|r| error(&img, &clean, (80 + r * 90)..(94 + r * 90))).sum();
        assert!(after_top < before_top / 2.0, "top {before_top:.2} -> {after_top:.2}");
        assert!(after_left < before_left / 2.0, "left {before_left:.2} -> {after_left:.2}");
    }

    #[test]
    fn the_visible_part_of_a_cut_tile() {
        assert_eq!(visible((-10, -5), (40, 20), (100, 50)), Some(PixelBox::new(0, 0, 30, 15)));
        assert_eq!(visible((90, 40), (40, 20), (100, 50)), Some(PixelBox::new(90, 40, 10, 10)));
        assert_eq!(visible((-40, 0), (40, 20), (100, 50)), None);
    }
}
