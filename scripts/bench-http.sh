#!/usr/bin/env bash
# bench-http.sh: /readyz of a health.Monitor with ten checks against a handler
# writing the same fixed bytes, on one loopback server, with wrk -t2 -c32,
# alternating the two so that both see the same machine state. Bounded:
# ROUNDS (default 3) rounds of two runs of DURATION each (default 10s).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
bin=$(mktemp -d)/healthbench
go build -o "$bin" ./internal/cmd/healthbench
"$bin" > "$bin.addr" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$bin.addr" ] && break; sleep 0.1; done
addr=$(head -1 "$bin.addr")
curl -fsS "http://$addr/readyz" >/dev/null
rate() { wrk -t2 -c32 -d"$DURATION" "http://$addr$1" | awk '/Requests\/sec/ {print $2}'; }
declare -A sum=([fixed]=0 [readyz]=0)
for round in $(seq "$ROUNDS"); do
  for p in fixed readyz; do
    r=$(rate "/$p")
    echo "round $round /$p: $r req/s"
    sum[$p]=$(echo "${sum[$p]} + $r" | bc -l)
  done
done
printf 'fixed-bytes: %.0f req/s, /readyz: %.0f req/s, ratio %.3f\n' \
  "$(echo "${sum[fixed]}/$ROUNDS" | bc -l)" "$(echo "${sum[readyz]}/$ROUNDS" | bc -l)" "$(echo "${sum[readyz]}/${sum[fixed]}" | bc -l)"
