#!/bin/sh
# Ping ingest over loopback with wrk: the ping handler and engine over the
# SQLite store with durable acknowledgements (FULL, the default, and
# PIPELINED), against baselines measured in the same run: SQLite without fsync
# (OFF) and the in-memory store. 1000 push checks; each request POSTs a
# success ping with a small body to one of them at random.
# Usage: internal/ping/internal/pingd/bench.sh [duration] [connections] [modes]
set -eu
dur=${1:-10s}
conns=${2:-128}
modes=${3:-"FULL PIPELINED OFF memory"}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/pingd" ./internal/ping/internal/pingd
cat > "$tmp/pings.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("IDS")) do paths[#paths + 1] = line end
local reqs = {}
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  for i, p in ipairs(paths) do
    reqs[i] = wrk.format("POST", p, {["Content-Type"] = "text/plain"}, "backup done")
  end
end
request = function() return reqs[math.random(#reqs)] end
LUA
echo "go: $(go version | cut -d' ' -f3-) cores: $(nproc) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in $modes; do
  rm -f "$tmp"/db*
  case $mode in
    memory) args="" ;;
    *)      args="-db $tmp/db -sync $mode" ;;
  esac
  "$tmp/pingd" $args -checks 1000 -ids "$tmp/ids.txt" > "$tmp/out" 2> "$tmp/err" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.1; done
  addr=$(awk '/listening/ {print $2}' "$tmp/out")
  echo "== $mode"
  IDS="$tmp/ids.txt" wrk -t1 -c"$conns" -d"$dur" --latency -s "$tmp/pings.lua" "http://$addr" | grep -E 'Requests/sec|Non-2xx|Socket errors|50%|99%|requests in'
  kill -INT $pid; wait $pid 2>/dev/null || true; pid=
  grep batches "$tmp/err" || true
done
