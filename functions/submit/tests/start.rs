//! The `submit` binary as Lambda starts it. (This test also makes `make test` build the binary
//! that `scripts/try-aws-local.sh` runs, with the features the test build already compiled.)
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use std::process::Command;

#[test]
fn without_its_configuration_it_stops_at_once_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_submit"))
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("IPROD_BUCKETS must be set"), "{stderr}");
}
