//! `iprod serve` for the tests: on an ephemeral loopback port over a data root of their own.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub(crate) const IPROD: &str = env!("CARGO_BIN_EXE_iprod");

/// A path in the repository (the test media and the model pack live under `.iprod/`).
pub(crate) fn repo_path(rel: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel).to_string_lossy().into_owned()
}

/// Starts `iprod serve` on an ephemeral loopback port over `root`; returns it and its base URL.
pub(crate) fn serve(root: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut server = Command::new(IPROD)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-root"])
        .arg(root)
        .args(extra)
        .env_remove("IPROD_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url =
        line.split_whitespace().find(|w| w.starts_with("http://")).unwrap().trim_end_matches('/').to_owned();
    (server, url)
}
