//! A repeated stock mark found from one of its tiles: the text detector reads a mark over calm
//! photo as a line, and over clutter not at all or merged with what is behind it (a black "PROOF"
//! over a garage's shelves came out as one whole line and three merged ones, so no three lines
//! shared a size for [`repeated::find`]). The line read whole is then enough: the picture is
//! searched for places that look like it, and the box is grown as far as the places agree, since
//! the line may hold only part of the mark (the detector split "PROOF" at the "O").

use image::RgbImage;

use super::repeated::{self, MIN_TILES, Shrunk, correlation};
use crate::imaging::geometry::PixelBox;
use crate::vision::text::TextLine;

/// At most this many lines are tried, the detector's surest first.
const SEEDS: usize = 3;
/// A seed is at least the picture's shorter side over this high: a stock mark is made to be
/// seen (the development set's are a ninth of the height), while small scene text (a name badge,
/// a label) repeats in texture and print.
const SEED_HEIGHT_DIVISOR: f32 = 25.0;
/// A seed and at least three places like it, all on one lattice (three places fit any lattice,
/// and a line's likeness found four roof edges over a pagoda at 0.51-0.56, as alike as a dark
/// mark's tiles over clutter, 0.53-0.66, but scattered)…
const MIN_SEEDED_TILES: usize = 4;
/// …and at most this many: more is a texture or a print, not a mark tiled over a photo.
const MAX_TILES: usize = 40;
/// Grown on a copy where the tiles are about this high (if taller), …
const GROW_ROWS: u32 = 24;
/// …by strips of a tile's height over this, …
const GROW_STEP_DIVISOR: u32 = 4;
/// …while each tile's strip correlates with the others' mean at this (median over the tiles)…
const GROW_LIKENESS: f32 = 0.3;
/// …up to this many tile widths to each side and tile heights up and down.
const GROW_WIDTHS: f32 = 1.5;
const GROW_HEIGHTS: f32 = 0.5;

/// The tiles of a repeated mark seeded by a single line: for each of the [`SEEDS`] surest
/// horizontal lines at least a [`SEED_HEIGHT_DIVISOR`]th of the picture high, the places that
/// look like it ([`repeated::extend`]); the first seed with [`MIN_SEEDED_TILES`] to
/// [`MAX_TILES`] of them on a lattice ([`repeated::lattice`]), grown to the mark's extent
/// ([`grow`]). Whether it is a blended mark is for the un-blend to say. `least`: the seed's
/// least height ([`least_seed`]).
pub fn find(image: &RgbImage, lines: &[TextLine], least: f32) -> Option<Vec<PixelBox>> {
    let (w, h) = image.dimensions();
    let mut seeds: Vec<&TextLine> = lines
        .iter()
        .filter(|l| {
            let r = l.rect;
            l.score >= 0.6 && l.tilt.abs() <= 5.0 && r.width >= 2.0 * r.height && r.height >= least
        })
        .collect();
    // The surest first, but lines against the picture's edge last: they may be a tile the edge
    // cuts, whose likeness finds only that part of the others (growing then has to find the
    // rest).
    let edge = |l: &TextLine| repeated::against_edge(l.rect, (w, h));
    seeds.sort_by(|a, b| edge(a).cmp(&edge(b)).then(b.score.total_cmp(&a.score)));
    seeds.iter().take(SEEDS).find_map(|l| {
        let seed = repeated::line_box(l.rect, (w, h));
        let tiles = repeated::extend(image, &[seed])?;
        let centres: Vec<(f32, f32)> = tiles.iter().map(PixelBox::centre).collect();
        let tiled = (MIN_SEEDED_TILES..=MAX_TILES).contains(&tiles.len())
            && repeated::lattice(&centres, (seed.width as f32, seed.height as f32)).is_some();
        tiled.then(|| grow(image, &tiles)).flatten()
    })
}

/// A seed's least height on a picture `w` × `h`: a [`SEED_HEIGHT_DIVISOR`]th of its shorter
/// side.
pub fn least_seed((w, h): (u32, u32)) -> f32 {
    (w.min(h) as f32 / SEED_HEIGHT_DIVISOR).max(repeated::MIN_HEIGHT)
}

/// The tiles of a repeated mark over `image`, from its text lines: a group of lines read alike,
/// grown ([`grown`]), or else one line's likeness ([`find`], seeds at least `least` high).
pub fn mark_tiles(image: &RgbImage, lines: &[TextLine], least: f32) -> Option<Vec<PixelBox>> {
    repeated::find(image, lines).and_then(|tiles| grown(image, tiles)).or_else(|| find(image, lines, least))
}

/// The tiles of a group of lines read alike ([`repeated::find`], one size), grown to the whole
/// mark as [`find`] grows a seed's: the detector may read every tile in part (the "PREVI" of a
/// faint "PREVIEW" over a busy photo), and un-blending that part leaves the rest of each word.
/// The tiles as they are when they cannot be grown; `None` when their likeness is the picture's
/// own texture ([`repeated::extend`]).
pub fn grown(image: &RgbImage, tiles: Vec<PixelBox>) -> Option<Vec<PixelBox>> {
    let extended = repeated::extend(image, &tiles)?;
    Some(grow(image, &extended).unwrap_or(tiles))
}

/// The tiles (one size) grown to the whole mark: strip by strip to each side, as long as the
/// tiles' strips look alike ([`GROW_LIKENESS`]); the photo beside a mark differs from tile to
/// tile, the mark's rest does not. Tiles the grown box no longer fits in the picture are left
/// out; `None` when fewer than [`MIN_TILES`] stay.
fn grow(image: &RgbImage, tiles: &[PixelBox]) -> Option<Vec<PixelBox>> {
    let first = *tiles.first()?;
    let small = Shrunk::new(image, (first.height as f32 / GROW_ROWS as f32).max(1.0));
    let (sx, sy) = small.scale;
    let high = HighPass::of(&small.image);
    let boxes: Vec<PixelBox> = tiles.iter().map(|t| small.shrink(t)).collect();
    let (bw, bh) = (boxes[0].width, boxes[0].height);
    let step = (bh / GROW_STEP_DIVISOR).max(2) as i64;
    let reach = |k: f32, side: u32| ((k * side as f32) as i64 / step).max(0);
    // Grown extent on the copy: left, top, right, bottom (copy pixels).
    let mut ext = [0i64; 4];
    for side in 0..4 {
        let limit = if side % 2 == 0 { reach(GROW_WIDTHS, bw) } else { reach(GROW_HEIGHTS, bh) };
        let mut grown = 0;
        while grown < limit {
            // The strip `k` strips beyond the grown box on this side.
            let strip = |k: i64| {
                let ext = ext;
                move |b: &PixelBox| {
                    let (x0, y0) = (i64::from(b.x) - ext[0], i64::from(b.y) - ext[1]);
                    let (x1, y1) = (i64::from(b.x + bw) + ext[2], i64::from(b.y + bh) + ext[3]);
                    let (near, far) = (k * step, (k + 1) * step);
                    match side {
                        0 => (x0 - far, y0, x0 - near, y1),
                        1 => (x0, y0 - far, x1, y0 - near),
                        2 => (x1 + near, y0, x1 + far, y1),
                        _ => (x0, y1 + near, x1, y1 + far),
                    }
                }
            };
            // A gap between words (the "1" of "123RF" a space before the rest) is crossed when
            // the strip after it is the mark again.
            let taken = if high.alike(boxes.iter().map(strip(0))) {
                1
            } else if grown + 2 <= limit && high.alike(boxes.iter().map(strip(1))) {
                2
            } else {
                break;
            };
            ext[side] += taken * step;
            grown += taken;
        }
    }
    let (w, h) = image.dimensions();
    let (left, top) = ((ext[0] as f32 * sx).round() as u32, (ext[1] as f32 * sy).round() as u32);
    let width = first.width + left + (ext[2] as f32 * sx).round() as u32;
    let height = first.height + top + (ext[3] as f32 * sy).round() as u32;
    let grown: Vec<PixelBox> = tiles
        .iter()
        .filter(|t| t.x >= left && t.y >= top && t.x - left + width <= w && t.y - top + height <= h)
        .map(|t| PixelBox { x: t.x - left, y: t.y - top, width, height })
        .collect();
    (grown.len() >= MIN_TILES).then_some(grown)
}

/// The luma high-pass of a picture (value minus its blur), to compare strips of it.
struct HighPass {
    values: Vec<f32>,
    w: i64,
    h: i64,
}

impl HighPass {
    fn of(image: &RgbImage) -> Self {
        let values = repeated::high_pass(image);
        HighPass { values, w: i64::from(image.width()), h: i64::from(image.height()) }
    }

    /// Whether the strips (x0, y0, x1, y1; one size) that lie in the picture, at least
    /// [`MIN_TILES`] of them, look alike: each one's correlation with the mean of the others, the
    /// median over them, reaches [`GROW_LIKENESS`].
    fn alike(&self, strips: impl Iterator<Item = (i64, i64, i64, i64)>) -> bool {
        let inside: Vec<Vec<f32>> = strips
            .filter(|&(x0, y0, x1, y1)| x0 >= 0 && y0 >= 0 && x1 <= self.w && y1 <= self.h)
            .map(|(x0, y0, x1, y1)| {
                (y0..y1)
                    .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                    .map(|(x, y)| self.values[(y * self.w + x) as usize])
                    .collect()
            })
            .collect();
        if inside.len() < MIN_TILES {
            return false;
        }
        let n = inside[0].len();
        let total: Vec<f32> = (0..n).map(|i| inside.iter().map(|s| s[i]).sum()).collect();
        let mut likeness: Vec<f32> = inside
            .iter()
            .map(|s| {
                let others: Vec<f32> = total.iter().zip(s).map(|(t, v)| t - v).collect();
                correlation(s, &others)
            })
            .collect();
        likeness.sort_by(f32::total_cmp);
        likeness[likeness.len() / 2] >= GROW_LIKENESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::Rect;

    /// The shared dark bar mark, at whole tiles only.
    fn marked(tiles: &[(u32, u32)]) -> RgbImage {
        let tiles: Vec<(i32, i32)> = tiles.iter().map(|(x, y)| (*x as i32, *y as i32)).collect();
        super::super::test_marks::marked(&tiles)
    }

    fn line(x: u32, y: u32, width: u32) -> TextLine {
        let rect = Rect { x: x as f32, y: y as f32, width: width as f32, height: 24.0 };
        TextLine { rect, score: 0.9, tilt: 0.0 }
    }

    #[test]
    fn a_mark_in_one_column_is_found_on_every_tile() {
        // GIVEN a mark repeated down one column (a tall photo's stock mark), read once
        let tiles = [(270, 20), (270, 120), (270, 220), (270, 320)];
        let img = marked(&tiles);
        // WHEN its likeness is searched
        let found = find(&img, &[line(270, 24, 96)], least_seed(img.dimensions())).expect("a repeated mark");
        // THEN every tile is found
        assert_eq!(found.len(), tiles.len(), "{found:?}");
        for (x, y) in tiles {
            let whole = PixelBox::new(x, y + 4, 96, 16);
            assert!(found.iter().any(|b| b.intersection(&whole) == 96 * 16), "({x}, {y}) in {found:?}");
        }
    }

    #[test]
    fn a_mark_read_once_and_in_part_is_found_whole_on_every_tile() {
        // GIVEN a mark staggered over the picture (rows shifted by half a step), of which the
        // detector read one tile, and only its left 60 px
        let tiles =
            [(40, 30), (240, 30), (440, 30), (140, 190), (340, 190), (40, 350), (240, 350), (440, 350)];
        let img = marked(&tiles);
        // WHEN its likeness is searched
        let found = find(&img, &[line(240, 30, 60)], least_seed(img.dimensions())).expect("a repeated mark");
        // THEN every tile is found, each box grown over the whole mark
        assert_eq!(found.len(), tiles.len(), "{found:?}");
        for (x, y) in tiles {
            let whole = PixelBox::new(x, y + 4, 96, 16);
            assert!(found.iter().any(|b| b.intersection(&whole) == 96 * 16), "({x}, {y}) in {found:?}");
        }
        assert!(found.iter().all(|b| b.width <= 96 + 24), "grown past the mark: {found:?}");
    }

    #[test]
    fn lookalikes_off_any_lattice_are_not_a_tiled_mark() {
        // GIVEN the same mark at four scattered places, as a word repeated on a poster might be
        let img = marked(&[(40, 30), (300, 52), (130, 230), (470, 300)]);
        // THEN all four look alike, but no repeated mark is made of them
        assert_eq!(repeated::extend(&img, &[PixelBox::new(40, 30, 96, 24)]).map(|t| t.len()), Some(4));
        assert_eq!(find(&img, &[line(40, 30, 96)], least_seed(img.dimensions())), None);
    }

    #[test]
    fn small_lines_are_not_seeds() {
        // GIVEN a tiled mark but a detector line less than 1/25 of the picture high
        let img = marked(&[(40, 30), (240, 30), (440, 30), (140, 190), (340, 190)]);
        let small =
            TextLine { rect: Rect { x: 240.0, y: 34.0, width: 60.0, height: 12.0 }, score: 0.9, tilt: 0.0 };
        assert_eq!(find(&img, &[small], least_seed(img.dimensions())), None);
        // while a line of the mark's height is one
        assert!(find(&img, &[line(240, 30, 96)], least_seed(img.dimensions())).is_some());
    }
}
