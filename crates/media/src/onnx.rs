//! ONNX Runtime: one environment per process, loaded from the model pack's library (a missing
//! library is an error, not a panic), and one session per model, created once and reused.
//! `Session::run` needs `&mut`, so each session sits behind a mutex; inference is CPU-bound and
//! runs on blocking threads.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use iprod_core::{Error, Result};
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use sha2::{Digest, Sha256};

use crate::models::OnnxModel;

pub const RUNTIME_LIBRARY: &str = "libonnxruntime.so.1.31.1";

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

fn pack_error(message: String) -> Error {
    Error::new(iprod_core::ErrorClass::Internal, "InternalError.ModelPack", message)
}

fn environment(model_dir: &Path) -> Result<&'static Environment> {
    let library = model_dir.join(RUNTIME_LIBRARY);
    let env = ENVIRONMENT.get_or_init(|| {
        if !library.is_file() {
            return Err(format!(
                "the ONNX Runtime library {} is missing: run `iprod setup` (installs the model pack into \
                 ~/.local/share/iprod/model-pack), or set IPROD_MODEL_DIR to a pack (in a checkout, \
                 layers/fetch-model-pack.sh makes one)",
                library.display()
            ));
        }
        ort::init_from(&library)
            .map_err(|e| format!("loading {} failed: {e}", library.display()))?
            .with_name("iproduction")
            .build()
            .map_err(|e| format!("starting ONNX Runtime failed: {e}"))
    });
    env.as_ref().map_err(|message| pack_error(message.clone()))
}

pub type SharedSession = Arc<Mutex<Session>>;

pub struct OnnxRuntime {
    model_dir: PathBuf,
    threads: usize,
    /// Ask for ONNX Runtime's CUDA provider first (a GPU worker host with onnxruntime-gpu's
    /// library in the model directory); ONNX Runtime falls back to the CPU when it lacks it.
    gpu: bool,
    /// Whether the GPU's use (or fallback) has been logged.
    gpu_reported: std::sync::atomic::AtomicBool,
    /// By model file and intra-op threads.
    sessions: Mutex<HashMap<(&'static str, usize), SharedSession>>,
}

impl OnnxRuntime {
    pub fn new(model_dir: PathBuf, threads: usize) -> Self {
        Self {
            model_dir,
            threads: threads.max(1),
            gpu: false,
            gpu_reported: std::sync::atomic::AtomicBool::new(false),
            sessions: Mutex::default(),
        }
    }

    pub fn with_gpu(mut self, gpu: bool) -> Self {
        self.gpu = gpu;
        self
    }

    /// The session for `model`, created on first use after checking the file's sha256.
    pub fn session(&self, model: &OnnxModel) -> Result<SharedSession> {
        self.session_with_threads(model, self.threads)
    }

    /// A session of `model` on one thread: for a model that runs beside another on the same
    /// cores (VideoH2V reads text while it looks for faces), where one thread each wastes less
    /// than two each taking turns.
    pub fn single_threaded_session(&self, model: &OnnxModel) -> Result<SharedSession> {
        self.session_with_threads(model, 1)
    }

    fn session_with_threads(&self, model: &OnnxModel, threads: usize) -> Result<SharedSession> {
        let mut sessions = self.sessions.lock().map_err(|_| Error::internal("session cache poisoned"))?;
        if let Some(session) = sessions.get(&(model.file, threads)) {
            return Ok(session.clone());
        }
        let env = environment(&self.model_dir)?;
        let path = self.model_dir.join(model.file);
        verify_sha256(&path, model.sha256)?;
        // ort's builder errors are not Send: keep only their text.
        let failed =
            |e: &dyn std::fmt::Display| pack_error(format!("loading model {} failed: {e}", path.display()));
        let mut builder = Session::builder(env).map_err(|e| failed(&e))?;
        if self.gpu {
            // Without CUDA in the library (the CPU build), or without a usable device or driver,
            // registration fails: the same models then run on the CPU, only slower, and the log
            // says so once (ONNX Runtime's own message is not logged without its tracing).
            let cuda = ort::ep::CUDA::default().build().error_on_failure();
            builder = match builder.with_execution_providers([cuda]) {
                Ok(builder) => {
                    if !self.gpu_reported.swap(true, std::sync::atomic::Ordering::Relaxed) {
                        tracing::info!("ONNX Runtime runs the models on the GPU (CUDA execution provider)");
                    }
                    builder
                }
                Err(e) => {
                    if !self.gpu_reported.swap(true, std::sync::atomic::Ordering::Relaxed) {
                        tracing::warn!(error = %e, "the GPU was asked for but CUDA cannot start: ONNX Runtime runs the models on the CPU");
                    }
                    Session::builder(env).map_err(|e| failed(&e))?
                }
            };
        }
        let session = builder
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| failed(&e))?
            .with_intra_threads(threads)
            .map_err(|e| failed(&e))?
            .with_intra_op_spinning(false)
            .map_err(|e| failed(&e))?
            // Memory-pattern planning kept ~200 MB of buffers alive per process for no measurable
            // speed (VideoH2V on bikes.mp4: 565 → 364 MB peak, same time).
            .with_memory_pattern(false)
            .map_err(|e| failed(&e))?
            .commit_from_file(&path)
            .map_err(|e| failed(&e))?;
        let shared = Arc::new(Mutex::new(session));
        sessions.insert((model.file, threads), shared.clone());
        Ok(shared)
    }
}

fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| {
        pack_error(format!("the model {} is missing ({e}): run `iprod setup`", path.display()))
    })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n =
            file.read(&mut buf).map_err(|e| pack_error(format!("reading {} failed: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let actual = hex::encode(hasher.finalize());
    if actual == expected {
        Ok(())
    } else {
        Err(pack_error(format!(
            "the model {} has sha256 {actual}, expected {expected}: run `iprod setup` again",
            path.display()
        )))
    }
}

/// Runs `session` on one f32 NCHW input and returns the first output's shape and values.
pub fn run_f32(
    session: &SharedSession,
    input: &str,
    shape: [usize; 4],
    data: &[f32],
) -> Result<(Vec<usize>, Vec<f32>)> {
    let infer = |e: ort::Error| Error::internal(format!("inference failed: {e}"));
    let tensor = ort::value::TensorRef::from_array_view((shape, data)).map_err(infer)?;
    let mut session = session.lock().map_err(|_| Error::internal("a model session is poisoned"))?;
    let outputs = session.run(ort::inputs![input => tensor]).map_err(infer)?;
    let (out_shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(infer)?;
    let dims = out_shape.iter().map(|d| usize::try_from(*d).unwrap_or(0)).collect();
    Ok((dims, values.to_vec()))
}

/// Runs `session` and returns every output (shape, values), in the model's output order.
pub fn run_f32_all(
    session: &SharedSession,
    input: &str,
    shape: [usize; 4],
    data: &[f32],
) -> Result<Vec<(Vec<usize>, Vec<f32>)>> {
    let infer = |e: ort::Error| Error::internal(format!("inference failed: {e}"));
    let tensor = ort::value::TensorRef::from_array_view((shape, data)).map_err(infer)?;
    let mut session = session.lock().map_err(|_| Error::internal("a model session is poisoned"))?;
    let outputs = session.run(ort::inputs![input => tensor]).map_err(infer)?;
    let mut all = Vec::new();
    for (_, value) in outputs.iter() {
        let (out_shape, values) = value.try_extract_tensor::<f32>().map_err(infer)?;
        all.push((out_shape.iter().map(|d| usize::try_from(*d).unwrap_or(0)).collect(), values.to_vec()));
    }
    Ok(all)
}
