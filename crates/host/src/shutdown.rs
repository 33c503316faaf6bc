//! The signal that stops a long-running process gracefully: Ctrl-C, or SIGTERM (what service
//! managers and container runtimes send: `systemctl stop`, `podman stop`, an ECS scale-in).

/// Completes when either arrives (Ctrl-C only, if SIGTERM cannot be watched).
pub async fn requested() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stop requested");
}
