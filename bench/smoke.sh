#!/usr/bin/env bash
# The bench's smoke test: starts roundtrip-bench-server on a free port, sends 200 requests through
# roundtrip-bench, and checks that all of them got a response. Every wait is bounded.
#
#   smoke.sh path/to/roundtrip-bench path/to/roundtrip-bench-server
set -euo pipefail

bench=$1
server=$2
work=$(mktemp -d)
server_pid=

cleanup() {
  # Only the server this script started, by its PID.
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    timeout 10 tail --pid="$server_pid" -f /dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# `timeout` also bounds the server's life if this script is killed before its trap runs.
timeout 120 "$server" --port 0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!

if ! timeout 10 bash -c "until grep -q '^listening on ' '$work/server.out'; do sleep 0.05; done"; then
  echo "smoke: the server did not start" >&2
  cat "$work/server.err" >&2
  exit 1
fi
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
echo "smoke: server on port $port"

if ! timeout 60 "$bench" --url "http://127.0.0.1:$port/" --concurrency 4 --requests 200 >"$work/bench.out"; then
  echo "smoke: roundtrip-bench failed" >&2
  exit 1
fi
cat "$work/bench.out"

if grep -q '"requests":200,' "$work/bench.out" && grep -q '"errors":0,' "$work/bench.out"; then
  echo "smoke: ok"
  exit 0
fi
echo 'smoke: expected "requests":200 and "errors":0' >&2
exit 1
