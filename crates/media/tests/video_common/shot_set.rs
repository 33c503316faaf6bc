//! The synthetic shot-detection set: three 320×180, 25 fps clips with hard cuts at known times
//! between shots of moving test patterns, fractals, cellular automata, pans over photos, similar
//! colour bars, and a one-frame white flash that is not a cut. Shared by the shot test and the
//! video benchmark (which runs PySceneDetect on the same files).

use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) const FPS: f64 = 25.0;

enum Source {
    Lavfi(&'static str),
    /// A photo from the test media, scaled to 640 wide, a 320×180 window moving at `speed` px/s.
    Pan(&'static str, u32, u32),
}

struct Shot(Source, f64);

fn clips() -> Vec<(&'static str, Vec<Shot>, Option<f64>)> {
    use Source::*;
    vec![
        (
            "motion",
            vec![
                Shot(Lavfi("testsrc=s=320x180:r=25"), 2.0),
                Shot(Lavfi("mandelbrot=s=320x180:r=25"), 1.6),
                Shot(
                    Lavfi("life=s=320x180:r=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00"),
                    2.4,
                ),
                Shot(Lavfi("testsrc2=s=320x180:r=25"), 1.2),
                Shot(Lavfi("cellauto=s=320x180:r=25:rule=110"), 2.0),
            ],
            None,
        ),
        (
            "similar",
            vec![
                Shot(Pan("astronaut.png", 40, 0), 2.0),
                Shot(Pan("astronaut.png", 0, 200), 1.8),
                Shot(Pan("grace_hopper.jpg", 50, 60), 2.2),
                Shot(Lavfi("smptebars=s=320x180:r=25"), 1.0),
                Shot(Lavfi("smptehdbars=s=320x180:r=25"), 1.4),
                Shot(Lavfi("rgbtestsrc=s=320x180:r=25"), 1.6),
            ],
            None,
        ),
        (
            "flash",
            vec![
                Shot(Lavfi("testsrc2=s=320x180:r=25"), 2.0),
                Shot(Lavfi("mandelbrot=s=320x180:r=25"), 2.0),
                Shot(Pan("astronaut.png", 150, 120), 1.6),
                Shot(Lavfi("life=s=320x180:r=25:mold=5:ratio=0.2"), 1.4),
                Shot(Pan("grace_hopper.jpg", 0, 300), 2.0),
            ],
            Some(1.0),
        ),
    ]
}

/// Writes the clips under `dir` (from the test media in `media`); returns each with its cuts.
pub(crate) fn write(dir: &Path, media: &Path) -> Vec<(PathBuf, Vec<f64>)> {
    clips()
        .into_iter()
        .map(|(name, shots, flash)| {
            let path = dir.join(format!("{name}.mp4"));
            let mut command = Command::new("ffmpeg");
            command.args(["-v", "error", "-y"]);
            let mut graph = String::new();
            for (i, Shot(source, length)) in shots.iter().enumerate() {
                let prepare = match source {
                    Source::Lavfi(spec) => {
                        command.args(["-f", "lavfi", "-i", spec]);
                        String::new()
                    }
                    Source::Pan(photo, speed, y) => {
                        command.args(["-loop", "1", "-framerate", "25", "-i"]).arg(media.join(photo));
                        format!("scale=640:-2,crop=320:180:x='min(t*{speed},320)':y={y},")
                    }
                };
                graph.push_str(&format!(
                    "[{i}:v]{prepare}trim=duration={length},setpts=PTS-STARTPTS,scale=320:180,setsar=1,fps=25[s{i}];"
                ));
            }
            let labels: String = (0..shots.len()).map(|i| format!("[s{i}]")).collect();
            graph.push_str(&format!("{labels}concat=n={}:v=1:a=0,format=yuv420p", shots.len()));
            if let Some(at) = flash {
                graph.push_str(&format!(",drawbox=c=white:t=fill:enable='between(t,{at},{})'", at + 0.039));
            }
            let status = command.args(["-filter_complex", &graph, "-c:v", "libx264", "-crf", "20"]).arg(&path).status();
            assert!(status.is_ok_and(|s| s.success()), "ffmpeg made {name}");
            let mut cuts = Vec::new();
            let mut t = 0.0;
            for Shot(_, length) in &shots[..shots.len() - 1] {
                t += length;
                cuts.push((t * FPS).round() / FPS);
            }
            (path, cuts)
        })
        .collect()
}

/// (true positives, found, truth) with a match when within one frame.
pub(crate) fn score(found: &[f64], truth: &[f64]) -> (usize, usize, usize) {
    let hits = truth.iter().filter(|t| found.iter().any(|f| (f - *t).abs() <= 1.0 / FPS + 1e-6)).count();
    (hits, found.len(), truth.len())
}
