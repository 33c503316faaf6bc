#!/usr/bin/env bash
# The AWS walkthrough of events/README.md, all of it, against moto on this machine: the three
# Lambda binaries run as Lambda runs them (cargo lambda's Runtime API emulator), with the
# settings of events/local.env. `make test` runs it after the test suite.
#
#   scripts/try-aws-local.sh            builds what is missing (the test build's binaries), then
#                                       prints each step: resources, upload, submit, process,
#                                       notify, query, the callback
#
# It needs the tools `make test` installs (.iprod/aws-venv, .iprod/model-pack, ffmpeg). The
# binaries are the ones the test build makes (target/debug/{submit,process,notify} and the
# create-table example): `cargo test --no-run` is a no-op after `make test`, and compiles them
# with the test build's features otherwise (a plain `cargo build -p …` would build every
# dependency again with other features, for minutes).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="$ROOT/.iprod/aws-venv/bin/python"
if [[ ! -x $PYTHON || ! -x $ROOT/.iprod/aws-venv/bin/cargo-lambda ]]; then
  echo "try-aws-local: the AWS tools are missing; run scripts/setup.sh test (make test does)" >&2
  exit 1
fi
echo "== building the functions (the test build's binaries; nothing to do after make test)"
cargo test --workspace --no-run --quiet
for bin in target/debug/submit target/debug/process target/debug/notify target/debug/examples/create-table; do
  [[ -x $bin ]] || { echo "try-aws-local: $bin was not built" >&2; exit 1; }
done
exec "$PYTHON" "$ROOT/scripts/try-aws-local.py" "$@"
