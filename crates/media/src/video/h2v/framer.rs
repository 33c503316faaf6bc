//! Frames VideoH2V's samples in order, as their text readings come in: what each part's readings
//! confirmed, and the samples framed again when a reading confirms text they showed.

use std::collections::HashMap;

use iprod_core::params::Aspect;

use super::{Sample, TEXT_SAME_PLACE};
use crate::vision::framing::{Mode, on_screen_text, plan};
use crate::vision::saliency::SaliencyMap;
use crate::vision::text::{self, TextMap};
use crate::vision::{Rect, faces};

/// A sample the models have looked at: its faces, else its saliency map and the subject followed
/// on it, and whether its text is being read.
pub struct Looked {
    pub part: usize,
    pub time: f64,
    pub reading: bool,
    pub found: Vec<faces::Face>,
    pub salient: Option<SaliencyMap>,
    pub followed: Option<f32>,
}

/// On-screen text of one part of the analysis: the last reading, the text kept (confirmed) then,
/// and the samples framed since the last reading.
#[derive(Default)]
struct TextState {
    read: Vec<Rect>,
    kept: Vec<Rect>,
    pending: Vec<Pending>,
}

/// What framed a sample: enough to frame it again with more text.
struct Pending {
    index: usize,
    found: Vec<faces::Face>,
    salient: Option<SaliencyMap>,
    followed: Option<f32>,
    kept: Vec<Rect>,
}

/// The samples framed so far, and per part what its text readings know.
pub struct Framer {
    size: (u32, u32, Aspect),
    /// Source pixels per analysis pixel.
    scale: f32,
    samples: Vec<Sample>,
    states: HashMap<usize, TextState>,
}

impl Framer {
    pub fn new(size: (u32, u32, Aspect), scale: f32) -> Self {
        Self { size, scale, samples: Vec::new(), states: HashMap::new() }
    }

    /// Frames `looked` with its part's kept text, updated by `map` when it was read. Text
    /// confirmed by this reading that the previous one saw too frames the samples since then
    /// again (a title is kept from its first reading, not its second).
    pub fn frame(&mut self, looked: Looked, map: Option<TextMap>) {
        let (aw, ah, _) = self.size;
        let near = |set: &[Rect], r: &Rect| set.iter().any(|b| b.iou(r) >= TEXT_SAME_PLACE);
        let state = self.states.entry(looked.part).or_default();
        let mut reframe: Vec<(Pending, Vec<Rect>)> = Vec::new();
        let on_screen: Vec<Rect> = if let Some(map) = map {
            let read = on_screen_text(&text::lines(&map, aw, ah), aw, ah);
            // Not reset at a cut: an overlay stays where it was across one, scene text does not.
            let mut kept: Vec<Rect> =
                read.iter().copied().filter(|r| near(&state.read, r) || near(&state.kept, r)).collect();
            // Kept text missed in this one reading is held, if the previous reading had it.
            kept.extend(state.kept.iter().copied().filter(|k| !near(&read, k) && near(&state.read, k)));
            let newly: Vec<Rect> = kept.iter().copied().filter(|r| !near(&state.kept, r)).collect();
            for p in state.pending.drain(..) {
                if !newly.is_empty() {
                    let texts = p.kept.iter().chain(&newly).copied().collect();
                    reframe.push((p, texts));
                }
            }
            (state.read, state.kept) = (read, kept.clone());
            kept
        } else {
            state.kept.clone()
        };
        for (p, texts) in reframe {
            let (center, padded, text) = self.placed(&texts, &p.found, p.salient.as_ref(), p.followed);
            let earlier = &mut self.samples[p.index];
            (earlier.center, earlier.padded, earlier.text) = (center, padded, text);
        }
        let Looked { time, found, salient, followed, .. } = looked;
        let (center, padded, text) = self.placed(&on_screen, &found, salient.as_ref(), followed);
        let index = self.samples.len();
        let state = self.states.entry(looked.part).or_default();
        state.pending.push(Pending { index, found, salient, followed, kept: on_screen });
        self.samples.push(Sample { time, center, padded, text });
    }

    /// Where one sample's window goes (its centre, source pixels), whether it is padded, and the
    /// text it keeps (source pixels).
    fn placed(
        &self,
        texts: &[Rect],
        found: &[faces::Face],
        salient: Option<&SaliencyMap>,
        followed: Option<f32>,
    ) -> (f32, bool, Vec<Rect>) {
        let (aw, ah, aspect) = self.size;
        let framing = plan(aw, ah, aspect, found, salient, texts);
        // A frame whose content cannot fit (pad) is framed on its centre; one framed on a
        // followed subject, on where the subject is now.
        let center = match (framing.mode, framing.basis, followed) {
            (Mode::Crop, "saliency", Some(center)) => center,
            (Mode::Crop, ..) => framing.window.x as f32 + framing.window.width as f32 / 2.0,
            (Mode::Pad, ..) => aw as f32 / 2.0,
        };
        let scale = self.scale;
        (center * scale, framing.mode == Mode::Pad, texts.iter().map(|r| r.scaled(scale, scale)).collect())
    }

    /// The samples in time order (parts interleave).
    pub fn samples(mut self) -> Vec<Sample> {
        self.samples.sort_by(|a, b| a.time.total_cmp(&b.time));
        self.samples
    }
}
