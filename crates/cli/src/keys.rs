//! `iprod keys`: tenants' access keys, managed on the data root directly (no server needed; a
//! running server sees changes at its next request).

use std::process::ExitCode;

use anyhow::{Result, anyhow};

use crate::ConfigArgs;
use crate::config::Config;

#[derive(clap::Args)]
pub struct KeysArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Data root (as for `iprod serve`).
    #[arg(long, global = true)]
    data_root: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: KeyAction,
}

#[derive(clap::Subcommand)]
enum KeyAction {
    /// Create a key for TENANT and print its AccessKeyId and AccessKeySecret (shown only now).
    Add { tenant: String },
    /// List the keys (never their secrets).
    List,
    /// Refuse requests signed with this key (`Forbidden.AccessKeyDisabled`).
    Disable { access_key_id: String },
    /// Accept this key again.
    Enable { access_key_id: String },
    /// Remove this key for good.
    Delete { access_key_id: String },
}

pub fn keys(args: KeysArgs) -> Result<ExitCode> {
    let overrides: Vec<(String, String)> =
        args.data_root.iter().map(|d| ("embedded.data_root".to_owned(), d.clone())).collect();
    let config = Config::load(args.config.config.as_deref(), |k| std::env::var(k).ok(), &overrides)?;
    let store = config.key_store()?;
    let fail = |e: iprod_core::Error| anyhow!("{}: {}", e.code(), e.message());
    match args.action {
        KeyAction::Add { tenant } => {
            let (id, secret) = store.add(&tenant).map_err(fail)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"Tenant": tenant, "AccessKeyId": id, "AccessKeySecret": secret})
                );
            } else {
                println!("tenant            {tenant}\nAccessKeyId       {id}\nAccessKeySecret   {secret}");
            }
        }
        KeyAction::List => {
            let keys = store.list().map_err(fail)?;
            if args.json {
                println!("{}", serde_json::to_string(&keys)?);
            }
            for k in keys.iter().filter(|_| !args.json) {
                let state = if k.enabled { "enabled" } else { "disabled" };
                println!("{:<26} {:<20} {:<9} {}", k.access_key_id, k.tenant, state, k.create_time);
            }
        }
        KeyAction::Disable { access_key_id } => store.set_enabled(&access_key_id, false).map_err(fail)?,
        KeyAction::Enable { access_key_id } => store.set_enabled(&access_key_id, true).map_err(fail)?,
        KeyAction::Delete { access_key_id } => store.delete(&access_key_id).map_err(fail)?,
    }
    Ok(ExitCode::SUCCESS)
}
