//! `iprod serve`: the embedded service in one process.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use iprod_api::{ApiState, router};
use iprod_local::Embedded;
use iprod_media::Engine;

use crate::ConfigArgs;
use crate::config::Config;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    bind: Option<String>,
    /// Data root: job database, bucket directories, callback files.
    #[arg(long)]
    data_root: Option<String>,
    /// Jobs running at once across all pipelines.
    #[arg(long)]
    workers: Option<usize>,
    /// Bearer token required from clients (mandatory on a non-loopback address).
    #[arg(long)]
    api_token: Option<String>,
    /// Extra settings as KEY=VALUE (e.g. embedded.buckets=media,archive).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Print the effective configuration and exit.
    #[arg(long)]
    print_config: bool,
}

impl ServeArgs {
    fn overrides(&self) -> Result<Vec<(String, String)>> {
        let mut out = Vec::new();
        if let Some(v) = &self.bind {
            out.push(("server.bind".into(), v.clone()));
        }
        if let Some(v) = &self.data_root {
            out.push(("embedded.data_root".into(), v.clone()));
        }
        if let Some(v) = self.workers {
            out.push(("embedded.workers".into(), v.to_string()));
        }
        if let Some(v) = &self.api_token {
            out.push(("server.api_token".into(), v.clone()));
        }
        for pair in &self.set {
            let (k, v) = pair.split_once('=').with_context(|| format!("--set {pair:?} must be KEY=VALUE"))?;
            out.push((k.trim().to_owned(), v.to_owned()));
        }
        Ok(out)
    }
}

pub(crate) async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let config = Config::load(args.config.config.as_deref(), |k| std::env::var(k).ok(), &args.overrides()?)?;
    if args.print_config {
        let mut shown = config.clone();
        if !shown.server.api_token.is_empty() {
            shown.server.api_token = "<set>".into();
        }
        print!("{}", shown.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    config.validate_for_serve()?;
    check_tools(&config).await?;
    let engine = Arc::new(Engine::new(config.engine.clone()));
    let embedded =
        Embedded::start(&config.embedded, engine).await.context("starting the embedded service")?;
    let token = config.api_token()?;
    let api = Arc::new(ApiState {
        service: embedded.service.clone(),
        api_token: token,
        allowed_hosts: Some(config.server.allowed_hosts.clone()),
        access_keys: Some(Arc::new(config.key_store()?)),
    });
    let console = iprod_console::router(Arc::new(iprod_console::ConsoleState {
        api: api.clone(),
        objects: embedded.objects.clone(),
        max_upload_bytes: config.server.max_upload_bytes,
    }));
    let app = router(api).merge(console);
    let listener = tokio::net::TcpListener::bind(config.server.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.server.bind))?;
    let address = listener.local_addr()?;
    let buckets = embedded.objects.root().display().to_string();
    // One write, errors ignored: a closed stdout (a supervisor that stopped reading) must never
    // take the service down.
    let banner = format!(
        "IProduction is listening on http://{address}/  (console: http://{address}/console, OpenAPI: http://{address}/openapi.json)\n  buckets: {} under {buckets}/<bucket>/\n  try: curl -g 'http://{address}/?Action=SubmitIProductionJob&FunctionName=ImageMatting&Input=oss://{b}/in/photo.jpg&Output=oss://{b}/out/{{source}}.png'\n",
        config.embedded.buckets.join(", "),
        b = config.embedded.buckets[0]
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), banner.as_bytes());
    let limits = crate::http::Limits {
        header_read_timeout: Duration::from_secs(config.server.header_read_timeout_secs.max(1)),
        max_connections: config.server.max_connections.max(1),
    };
    // Ctrl-C or SIGTERM stops taking requests and jobs gracefully.
    crate::http::serve(listener, app, limits, iprod_host::shutdown::requested(), Duration::from_secs(30))
        .await;
    embedded.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Every job probes its input first: without ffprobe nothing could run, so say so at start-up.
async fn check_tools(config: &Config) -> Result<()> {
    for tool in [&config.engine.ffprobe, &config.engine.ffmpeg] {
        iprod_media::process::Process::new(tool, std::time::Duration::from_secs(20))
            .arg("-version")
            .run()
            .await
            .with_context(|| {
                format!(
                    "{} is needed: install ffmpeg (make serve does) or set engine.ffmpeg/engine.ffprobe",
                    tool.display()
                )
            })?;
    }
    Ok(())
}
