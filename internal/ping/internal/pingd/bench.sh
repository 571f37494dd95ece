#!/bin/sh
# Ping ingest over loopback with wrk: the ping handler over the SQLite store
# with durable acknowledgements (synchronous=FULL), against two baselines
# measured in the same run: SQLite without fsync (synchronous=OFF) and the
# in-memory store. 1000 checks, each request pings a random one.
# Usage: internal/ping/internal/pingd/bench.sh [duration] [connections]
set -eu
dur=${1:-10s}
conns=${2:-64}
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/pingd" ./internal/ping/internal/pingd
cat > "$tmp/pings.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("IDS")) do paths[#paths + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("POST", paths[math.random(#paths)], {["Content-Type"] = "text/plain"}, "backup done")
end
LUA
for mode in sqlite-full sqlite-off memory; do
  case $mode in
    sqlite-full) args="-db $tmp/full.db -sync FULL" ;;
    sqlite-off)  args="-db $tmp/off.db -sync OFF" ;;
    memory)      args="" ;;
  esac
  "$tmp/pingd" $args -checks 1000 -ids "$tmp/ids.txt" > "$tmp/out" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$tmp/out" 2>/dev/null && break; sleep 0.1; done
  addr=$(awk '/listening/ {print $2}' "$tmp/out")
  echo "== $mode"
  IDS="$tmp/ids.txt" wrk -t2 -c"$conns" -d"$dur" --latency -s "$tmp/pings.lua" "http://$addr" | grep -E 'Requests/sec|Non-2xx|50%|99%|requests in'
  kill $pid; wait $pid 2>/dev/null || true
done
