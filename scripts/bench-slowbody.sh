#!/usr/bin/env bash
# bench-slowbody.sh: the slow-body benchmark of BENCHMARKS.md. A built
# `vitals watchdog` on 127.0.0.1:$PORT; a normal client pings it from
# 127.0.0.3, alone (the quiet baseline), then while $CONNS connections from
# 127.0.0.2 send ping bodies one byte every 5 s (internal/cmd/slowbody).
# Reported: the normal client's p50/p99 in both phases, what the slow
# connections were answered, and the daemon's RSS (peak: VmHWM).
#
# Two daemons, one after the other, in the same run:
#   bounded    the defaults (server.max_connections 4096, per client 256,
#              body_timeout 10s);
#   unbounded  the bounds lifted (what the daemon did before they existed:
#              no connection limit, no body deadline) - the baseline.
# MODES="bounded" skips the baseline. Bounded: each daemon runs
# QUIET + ATTACK (default 10 s + 40 s). Needs root (or a high hard limit)
# for 20,000 open files.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${CONNS:-20000}
QUIET=${QUIET:-10s}
ATTACK=${ATTACK:-40s}
PORT=${PORT:-41231}
MODES=${MODES:-"bounded unbounded"}

ulimit -n $((CONNS + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)" # slowbody splits its connections over processes if this is short
echo "open files limit: $(ulimit -n)"
dir=$(mktemp -d)
go build -o "$dir/vitals" ./cmd/vitals
go build -o "$dir/slowbody" ./internal/cmd/slowbody
id=11111111-2222-4333-8444-555555555555 # the benchmark's push check (a fixed, public id: a throwaway store)

pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

for mode in $MODES; do
  bounds=""
  if [ "$mode" = unbounded ]; then
    bounds="  max_connections: 1000000
  max_connections_per_client: 1000000
  body_timeout: 24h"
  fi
  rm -rf "$dir/state" && mkdir -p "$dir/state"
  cat > "$dir/watchdog.yaml" <<EOF
server:
  listen: ["127.0.0.1:$PORT"]
$bounds
store: {sqlite: {path: state/vitals.db}}
retention: {pings: 100}
checks:
  - {name: bench, id: $id, period: 1h}
EOF
  "$dir/vitals" watchdog -config "$dir/watchdog.yaml" -log-level warn > "$dir/daemon-$mode.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/livez" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "=== $mode ($(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$dir/slowbody" -addr "127.0.0.1:$PORT" -ping "/ping/$id" -pid "$pid" -conns "$CONNS" -quiet "$QUIET" -attack "$ATTACK"
  kill "$pid"; wait "$pid" || true; pid=
  echo "daemon log lines: $(wc -l < "$dir/daemon-$mode.log") (warnings and errors), most frequent:"
  grep -o 'msg="[^"]*"' "$dir/daemon-$mode.log" | sort | uniq -c | sort -rn | head -3 || true
  # Slowest drain first: the next daemon must find the port free.
  sleep 2
done
