//! `iprod keys`: tenants' access keys, managed on the data root directly (no server needed; a
//! running server sees changes at its next request), or with `--aws` in an AWS deployment's job
//! table (secrets sealed with its KMS key; the submit function sees changes at once).

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use iprod_core::access::KeyInfo;

use crate::ConfigArgs;
use crate::config::Config;

#[derive(clap::Args)]
pub(crate) struct KeysArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Data root (as for `iprod serve`).
    #[arg(long, global = true)]
    data_root: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Manage the keys of an AWS deployment (the stack's SdkAccess) instead: its job table and
    /// KMS key, with AWS credentials and region from the usual environment.
    #[arg(long, global = true)]
    aws: bool,
    /// With --aws: the job table (the stack's JobTableName output).
    #[arg(long, global = true, env = "IPROD_TABLE")]
    table: Option<String>,
    /// With --aws: the KMS key that seals the secrets (the AccessKeySealingKeyArn output).
    #[arg(long, global = true, env = "IPROD_KMS_KEY")]
    kms_key: Option<String>,
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

pub(crate) async fn keys(args: KeysArgs) -> Result<ExitCode> {
    let fail = |e: iprod_core::Error| anyhow!("{}: {}", e.code(), e.message());
    let json = args.json;
    if args.aws {
        return on_aws(args).await.map_err(fail).map(|done| report(done, json));
    }
    let overrides: Vec<(String, String)> =
        args.data_root.iter().map(|d| ("embedded.data_root".to_owned(), d.clone())).collect();
    let config = Config::load(args.config.config.as_deref(), |k| std::env::var(k).ok(), &overrides)?;
    let store = config.key_store()?;
    let done = match args.action {
        KeyAction::Add { tenant } => {
            store.add(&tenant).map(|(id, secret)| Done::Added { tenant, id, secret })
        }
        KeyAction::List => store.list().map(Done::Listed),
        KeyAction::Disable { access_key_id } => {
            store.set_enabled(&access_key_id, false).map(|()| Done::Changed)
        }
        KeyAction::Enable { access_key_id } => {
            store.set_enabled(&access_key_id, true).map(|()| Done::Changed)
        }
        KeyAction::Delete { access_key_id } => store.delete(&access_key_id).map(|()| Done::Changed),
    };
    Ok(report(done.map_err(fail)?, json))
}

/// What a key command did, for [`report`].
enum Done {
    Added { tenant: String, id: String, secret: String },
    Listed(Vec<KeyInfo>),
    Changed,
}

async fn on_aws(args: KeysArgs) -> iprod_core::Result<Done> {
    let missing = |what: &str, flag: &str, env: &str| {
        iprod_core::Error::invalid_parameter(
            what,
            format!("--aws needs {flag} (or {env}): the stack's outputs name it"),
        )
    };
    let table =
        args.table.filter(|t| !t.is_empty()).ok_or_else(|| missing("Table", "--table", "IPROD_TABLE"))?;
    let clients = iprod_aws::AwsClients::from_env().await;
    // Only adding seals a secret; the other commands touch the items alone.
    let kms_key = match (&args.action, args.kms_key.filter(|k| !k.is_empty())) {
        (_, Some(key)) => key,
        (KeyAction::Add { .. }, None) => return Err(missing("KmsKey", "--kms-key", "IPROD_KMS_KEY")),
        (_, None) => String::new(),
    };
    let keys = iprod_aws::keys::DynamoKeys::new(clients.dynamodb, clients.kms, table, kms_key);
    Ok(match args.action {
        KeyAction::Add { tenant } => {
            let (id, secret) = keys.add(&tenant).await?;
            Done::Added { tenant, id, secret }
        }
        KeyAction::List => Done::Listed(keys.list().await?),
        KeyAction::Disable { access_key_id } => {
            keys.set_enabled(&access_key_id, false).await.map(|()| Done::Changed)?
        }
        KeyAction::Enable { access_key_id } => {
            keys.set_enabled(&access_key_id, true).await.map(|()| Done::Changed)?
        }
        KeyAction::Delete { access_key_id } => keys.delete(&access_key_id).await.map(|()| Done::Changed)?,
    })
}

fn report(done: Done, json: bool) -> ExitCode {
    match done {
        Done::Added { tenant, id, secret } if json => {
            println!(
                "{}",
                serde_json::json!({"Tenant": tenant, "AccessKeyId": id, "AccessKeySecret": secret})
            );
        }
        Done::Added { tenant, id, secret } => {
            println!("tenant            {tenant}\nAccessKeyId       {id}\nAccessKeySecret   {secret}");
        }
        Done::Listed(keys) if json => println!("{}", serde_json::to_string(&keys).unwrap_or_default()),
        Done::Listed(keys) => {
            for k in keys {
                let state = if k.enabled { "enabled" } else { "disabled" };
                println!("{:<26} {:<20} {:<9} {}", k.access_key_id, k.tenant, state, k.create_time);
            }
        }
        Done::Changed => {}
    }
    ExitCode::SUCCESS
}
