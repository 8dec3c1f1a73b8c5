#!/usr/bin/env bash
# The bench's smoke test: starts roundtrip-bench-server on a free port and sends 200 requests through
# roundtrip-bench, checking that every one got a response: over HTTP, over HTTPS verified against
# the server's CA, and over HTTPS with --insecure and a new connection (a handshake) per request.
# Every wait is bounded.
#
# Over HTTP it also runs the raw Beast client and fails if roundtrip made more heap allocations per
# request than it did (a count, not a time), when argument 4 is "check" (an optimized build without
# sanitizers).
#
#   smoke.sh path/to/roundtrip-bench path/to/roundtrip-bench-server path/to/beast-client check|skip
set -euo pipefail

bench=$1
server=$2
beast=$3
allocations=${4:-skip}
work=$(mktemp -d)
server_pid=

stop_server() {
  # Only the server this script started, by its PID.
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    timeout 10 tail --pid="$server_pid" -f /dev/null || true
    server_pid=
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# smoke NAME SCHEME "SERVER FLAGS" [BENCH FLAGS...]: one server, one bench run, its line checked.
smoke() {
  local name=$1 scheme=$2 server_flags=$3
  shift 3
  # `timeout` also bounds the server's life if this script is killed before its trap runs.
  # shellcheck disable=SC2086 # the server's flags are words
  timeout 120 "$server" --port 0 $server_flags >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  if ! timeout 10 bash -c "until grep -q '^listening on ' '$work/server.out'; do sleep 0.05; done"; then
    echo "smoke ($name): the server did not start" >&2
    cat "$work/server.err" >&2
    exit 1
  fi
  local port
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
  if ! timeout 60 "$bench" --url "$scheme://127.0.0.1:$port/" --concurrency 4 --requests 200 "$@" >"$work/bench.out"; then
    echo "smoke ($name): roundtrip-bench failed" >&2
    exit 1
  fi
  if [[ $name == http && $allocations == check ]]; then
    if ! timeout 60 "$beast" --url "$scheme://127.0.0.1:$port/" --concurrency 4 --requests 200 >"$work/beast.out" \
       || ! grep -q '"errors":0,' "$work/beast.out"; then
      echo "smoke (http): the raw Beast client failed: $(cat "$work/beast.out")" >&2
      exit 1
    fi
    local ours theirs
    ours=$(sed -n 's/.*"allocs_per_req":\([0-9.]*\).*/\1/p' "$work/bench.out")
    theirs=$(sed -n 's/.*"allocs_per_req":\([0-9.]*\).*/\1/p' "$work/beast.out")
    if [[ ! $ours =~ ^[0-9.]+$ || ! $theirs =~ ^[0-9.]+$ ]]; then
      echo "smoke (http): no allocation count to compare ('$ours', '$theirs')" >&2
      exit 1
    fi
    echo "smoke (http): allocations per request: roundtrip $ours, raw Beast $theirs"
    if ! awk -v a="$ours" -v b="$theirs" 'BEGIN { exit !(a <= b) }'; then
      echo "smoke (http): roundtrip made more allocations per request than the raw Beast client" >&2
      exit 1
    fi
  fi
  kill -0 "$server_pid" 2>/dev/null || echo "smoke ($name): the server had exited before the run ended" >&2
  stop_server
  echo "smoke ($name): $(cat "$work/bench.out")"
  if ! grep -q '"requests":200,' "$work/bench.out" || ! grep -q '"errors":0,' "$work/bench.out"; then
    echo "smoke ($name): expected \"requests\":200 and \"errors\":0; the server said:" >&2; cat "$work/server.err" >&2
    exit 1
  fi
}

smoke http http ""
SSL_CERT_FILE="$work/ca.pem" smoke "https, verified" https "--tls --write-ca $work/ca.pem"
smoke "https, --insecure, new connections" https "--tls --no-resumption" --insecure --new-conn
echo "smoke: ok"
