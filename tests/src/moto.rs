//! The AWS emulator for tests: the `moto` server from PyPI on 127.0.0.1 (through
//! `scripts/moto-server.py`, which isolates DynamoDB transactions). The test command starts
//! one for the whole run and exports `IPROD_MOTO_ENDPOINT`; a test run without it (one test from
//! an editor) starts a private server and stops it when dropped. Every test names its own table,
//! queues and buckets, so tests share the server safely.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use iprod_aws::AwsClients;

pub struct Moto {
    pub endpoint: String,
    child: Option<Child>,
}

/// The venv's python, which runs `scripts/moto-server.py` (moto with isolated DynamoDB
/// transactions).
fn python() -> PathBuf {
    if let Ok(path) = std::env::var("IPROD_AWS_PYTHON") {
        return path.into();
    }
    let venv = crate::repo_root().join(".iprod/aws-venv/bin/python");
    if venv.exists() { venv } else { "python3".into() }
}

impl Moto {
    pub fn start() -> Self {
        if let Ok(endpoint) = std::env::var("IPROD_MOTO_ENDPOINT") {
            return Self { endpoint, child: None };
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(python())
            .arg(crate::repo_root().join("scripts/moto-server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto runs (scripts/setup.sh test installs it into .iprod/aws-venv)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto did not start in 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { endpoint: format!("http://127.0.0.1:{port}"), child: Some(child) }
    }

    /// An SDK configuration for the emulator: fixed region, static test credentials.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .endpoint_url(&self.endpoint)
            .load()
            .await
    }

    pub async fn clients(&self) -> AwsClients {
        AwsClients::from_shared(&self.sdk_config().await, true)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A name no other test uses: `prefix-<12 hex>`.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}
