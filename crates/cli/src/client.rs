//! Client commands for a running `iprod serve`: human-readable by default, `--json` for scripts.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::ServerArgs;

#[derive(clap::Args)]
pub(crate) struct SubmitArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// FunctionName, e.g. ImageMatting.
    function: String,
    /// Input object URL, e.g. oss://media/in/photo.jpg.
    input: String,
    /// Output template, e.g. oss://media/out/{source}.png.
    output: String,
    #[arg(long)]
    params: Option<String>,
    #[arg(long)]
    model: Option<String>,
    #[arg(long)]
    pipeline: Option<String>,
    #[arg(long)]
    user_data: Option<String>,
    #[arg(long)]
    notify_url: Option<String>,
    /// Signs the webhook at --notify-url (Standard Webhooks).
    #[arg(long)]
    notify_secret: Option<String>,
    #[arg(long)]
    priority: Option<u8>,
    #[arg(long)]
    client_token: Option<String>,
}

#[derive(clap::Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    server: ServerArgs,
    job_id: String,
    /// Poll until the job finishes; exit status 0 only on Success.
    #[arg(long)]
    wait: bool,
}

#[derive(clap::Args)]
pub(crate) struct JobsArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[arg(long)]
    pipeline: Option<String>,
    #[arg(long)]
    state: Option<String>,
    #[arg(long, default_value_t = 20)]
    max: usize,
}

#[derive(clap::Args)]
pub(crate) struct PipelinesArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    action: Option<PipelineAction>,
}

#[derive(clap::Subcommand)]
enum PipelineAction {
    /// List pipelines (the default).
    List,
    /// Create a pipeline.
    Add {
        name: String,
        #[arg(long)]
        concurrency: Option<u32>,
        #[arg(long)]
        notify_url: Option<String>,
        #[arg(long)]
        secret: Option<String>,
        #[arg(long)]
        paused: bool,
    },
    /// Change a pipeline (pause/resume, concurrency, notification).
    Update {
        pipeline_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        concurrency: Option<u32>,
        /// Active or Paused.
        #[arg(long)]
        state: Option<String>,
        /// An empty value removes the target.
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// Delete a pipeline without queued or running jobs.
    Delete { pipeline_id: String },
}

async fn call(server: &ServerArgs, action: &str, params: Vec<(&str, String)>) -> Result<Value> {
    let mut form = vec![("Action", action.to_owned())];
    form.extend(params);
    let mut request =
        reqwest::Client::new().post(format!("{}/", server.server.trim_end_matches('/'))).form(&form);
    if let Some(token) = &server.token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {} (is `iprod serve` running?)", server.server))?;
    let status = response.status();
    let body: Value = response.json().await.context("the server's answer is not JSON")?;
    if !status.is_success() {
        let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        bail!("{} ({status}): {}", field("Code"), field("Message"));
    }
    Ok(body)
}

fn opt(name: &str, value: Option<String>) -> Option<(&str, String)> {
    value.map(|v| (name, v))
}

pub(crate) async fn submit(args: SubmitArgs) -> Result<ExitCode> {
    let params: Vec<(&str, String)> = [
        Some(("FunctionName", args.function)),
        Some(("Input", args.input)),
        Some(("Output", args.output)),
        opt("JobParams", args.params),
        opt("ModelId", args.model),
        opt("PipelineId", args.pipeline),
        opt("UserData", args.user_data),
        opt("NotifyUrl", args.notify_url),
        opt("NotifySecret", args.notify_secret),
        opt("Priority", args.priority.map(|p| p.to_string())),
        opt("ClientToken", args.client_token),
    ]
    .into_iter()
    .flatten()
    .collect();
    let body = call(&args.server, "SubmitIProductionJob", params).await?;
    if args.server.json {
        println!("{body}");
    } else {
        println!("{}", body["JobId"].as_str().unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_job(job: &Value) {
    let s = |k: &str| job.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    println!(
        "{}  {:<12} {:<9} {:>3}%  {}",
        s("JobId"),
        s("FunctionName"),
        s("State"),
        job["Progress"],
        s("CreateTime")
    );
    if !s("Code").is_empty() {
        println!("    {}: {}", s("Code"), s("Message"));
    }
    if let Some(files) = job.get("OutputFiles").and_then(Value::as_array) {
        for f in files {
            println!("    -> {}", f.as_str().unwrap_or(""));
        }
    }
}

pub(crate) async fn query(args: QueryArgs) -> Result<ExitCode> {
    loop {
        let job = call(&args.server, "QueryIProductionJob", vec![("JobId", args.job_id.clone())]).await?;
        let state = job["State"].as_str().unwrap_or("").to_owned();
        let finished = matches!(state.as_str(), "Success" | "Fail" | "Cancelled");
        if !args.wait || finished {
            if args.server.json {
                println!("{job}");
            } else {
                print_job(&job);
                if let Some(result) = job["Result"].as_str().filter(|r| !r.is_empty()) {
                    println!("    Result: {result}");
                }
            }
            return Ok(if !args.wait || state == "Success" { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub(crate) async fn jobs(args: JobsArgs) -> Result<ExitCode> {
    let params = [
        Some(("MaxResults", args.max.to_string())),
        opt("PipelineId", args.pipeline),
        opt("State", args.state),
    ]
    .into_iter()
    .flatten()
    .collect();
    let body = call(&args.server, "ListIProductionJobs", params).await?;
    if args.server.json {
        println!("{body}");
    } else {
        for job in body["Jobs"].as_array().into_iter().flatten() {
            print_job(job);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn pipelines(args: PipelinesArgs) -> Result<ExitCode> {
    let (action, params): (&str, Vec<(&str, String)>) = match args.action.unwrap_or(PipelineAction::List) {
        PipelineAction::List => return list_pipelines(&args.server).await,
        PipelineAction::Delete { pipeline_id } => {
            let body = call(&args.server, "DeletePipeline", vec![("PipelineId", pipeline_id)]).await?;
            println!(
                "{}",
                if args.server.json { body.to_string() } else { format!("deleted {}", body["PipelineId"]) }
            );
            return Ok(ExitCode::SUCCESS);
        }
        PipelineAction::Add { name, concurrency, notify_url, secret, paused } => (
            "AddPipeline",
            [
                Some(("Name", name)),
                opt("Concurrency", concurrency.map(|c| c.to_string())),
                opt("NotifyUrl", notify_url),
                opt("Secret", secret),
                paused.then(|| ("State", "Paused".to_owned())),
            ]
            .into_iter()
            .flatten()
            .collect(),
        ),
        PipelineAction::Update { pipeline_id, name, concurrency, state, notify_url } => (
            "UpdatePipeline",
            [
                Some(("PipelineId", pipeline_id)),
                opt("Name", name),
                opt("Concurrency", concurrency.map(|c| c.to_string())),
                opt("State", state),
                opt("NotifyUrl", notify_url),
            ]
            .into_iter()
            .flatten()
            .collect(),
        ),
    };
    let body = call(&args.server, action, params).await?;
    if args.server.json {
        println!("{body}");
        return Ok(ExitCode::SUCCESS);
    }
    print_pipelines(&[body["Pipeline"].clone()]);
    Ok(ExitCode::SUCCESS)
}

/// Every pipeline, page after page.
async fn list_pipelines(server: &ServerArgs) -> Result<ExitCode> {
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![("MaxResults", "100".to_owned())];
        params.extend(opt("NextPageToken", token.take()));
        let body = call(server, "QueryPipelineList", params).await?;
        if server.json {
            println!("{body}");
        } else {
            print_pipelines(body["PipelineList"].as_array().map_or(&[][..], Vec::as_slice));
        }
        match body["NextPageToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(ExitCode::SUCCESS),
        }
    }
}

fn print_pipelines(list: &[Value]) {
    for p in list {
        let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        println!(
            "{:<34} {:<16} {:<7} concurrency {:<4} {}",
            s("PipelineId"),
            s("Name"),
            s("State"),
            p["Concurrency"],
            s("NotifyUrl")
        );
    }
}
