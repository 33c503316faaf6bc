//! The `process` binary as Lambda starts it. (This test also makes `make test` build the binary
//! that `scripts/try-aws-local.sh` runs, with the features the test build already compiled.)
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::process::Command;

fn start(env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_process"))
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn without_its_configuration_it_stops_at_once_naming_the_variable() {
    let stderr = start(&[]);
    assert!(stderr.contains("IPROD_BUCKETS must be set"), "{stderr}");
}

#[test]
fn it_refuses_to_run_jobs_side_by_side_in_one_instance() {
    // Each invocation clears the scratch of killed attempts: a second job in the same instance
    // would lose its files. Lambda Managed Instances set this variable.
    let stderr = start(&[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    assert!(stderr.contains("AWS_LAMBDA_MAX_CONCURRENCY is 4"), "{stderr}");
}
