#!/usr/bin/env bash
# Runs a command with one moto server (the AWS emulator, from .iprod/aws-venv, launched through
# scripts/moto-server.py, which isolates DynamoDB transactions as DynamoDB does) on 127.0.0.1 for
# the AWS tests, and stops the server afterwards whatever the command did. The tests find it in
# IPROD_MOTO_ENDPOINT; each test names its own tables, queues and buckets, so they share it.
#   scripts/with-moto.sh COMMAND [ARGS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${IPROD_AWS_PYTHON:-$ROOT/.iprod/aws-venv/bin/python}"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PYTHON" "$ROOT/scripts/moto-server.py" -H 127.0.0.1 -p "$PORT" >"$ROOT/.iprod/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null; then
    break
  fi
  kill -0 "$MOTO_PID" 2>/dev/null || { echo "moto_server exited: see .iprod/moto.log" >&2; exit 1; }
  sleep 0.1
done
export IPROD_MOTO_ENDPOINT="http://127.0.0.1:$PORT"
"$@"
