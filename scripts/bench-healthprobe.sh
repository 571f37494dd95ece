#!/bin/sh
# bench-healthprobe.sh: the healthprobe figures of BENCHMARKS.md.
#
# Builds healthprobe as it ships (static, -trimpath, -s -w), a plain net/http
# client of the same build as the size baseline, and a loopback server with a
# fixed /healthz; then times a healthy HTTP probe start-to-exit against
# `curl -fsS` on the same endpoint in one hyperfine run, and the gRPC probe
# against a real grpc-go health server.
#
# The machine is shared and its load moves, so the comparison is repeated in
# `rounds` separate hyperfine runs; each round's ratio is printed, and the
# median of the rounds' ratios is the figure to quote.
#
# Needs: go, hyperfine, curl, jq.
# Usage: scripts/bench-healthprobe.sh [runs per command per round (300)] [rounds (5)]
set -eu

runs=${1:-300}
rounds=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
server_pid=
grpc_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
	[ -n "$grpc_pid" ] && kill "$grpc_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

build() { # out package
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp/$1" "$2")
}
build healthprobe ./cmd/healthprobe
build plainclient ./cmd/healthprobe/testdata/plainclient
build benchserver ./cmd/healthprobe/testdata/benchserver
build grpcclient ./cmd/healthprobe/testdata/grpcclient
build grpcserver ./cmd/healthprobe/testdata/grpcserver

"$tmp/benchserver" >"$tmp/port" &
server_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
port=$(cat "$tmp/port")
url="http://127.0.0.1:$port/healthz"

"$tmp/grpcserver" >"$tmp/grpcport" &
grpc_pid=$!
i=0
while [ ! -s "$tmp/grpcport" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
gport=$(cat "$tmp/grpcport")

# Every command must succeed before it is timed.
"$tmp/healthprobe" -q -port "$port"
curl -fsS -o /dev/null "$url"
"$tmp/plainclient" "$url"
"$tmp/healthprobe" -q "grpc://127.0.0.1:$gport"
"$tmp/grpcclient" "127.0.0.1:$gport"

echo "== machine"
echo "$(nproc) CPUs, $(go version), $(curl --version | head -1 | cut -d' ' -f1-3), hyperfine $(hyperfine --version | cut -d' ' -f2)"

echo "== sizes (bytes)"
hp=$(stat -c %s "$tmp/healthprobe")
pc=$(stat -c %s "$tmp/plainclient")
gc=$(stat -c %s "$tmp/grpcclient")
mib() { echo "$1" | awk '{printf "%.2f MiB", $1/1048576}'; }
echo "healthprobe $hp ($(mib "$hp"))"
echo "plainclient $pc ($(mib "$pc")), net/http only"
echo "grpcclient  $gc ($(mib "$gc")), a grpc-go health client"
echo "ratio healthprobe/plainclient $(echo "$hp $pc" | awk '{printf "%.3f", $1/$2}')"
echo "ratio healthprobe/grpcclient  $(echo "$hp $gc" | awk '{printf "%.3f", $1/$2}')"
summary() { # json: one line per command, then the ratios of the first to the second
	jq -r '.results[] | "  \(.command): median \(.median*1e6|round/1000) ms, mean \(.mean*1e6|round/1000) ms, min \(.min*1e6|round/1000) ms"' "$1"
	jq -r '"  ratio first/second: median \(.results[0].median / .results[1].median*1000|round/1000), mean \(.results[0].mean / .results[1].mean*1000|round/1000), min \(.results[0].min / .results[1].min*1000|round/1000)"' "$1"
}
median_ratio() { # files...: the median over rounds of the ratio of medians
	for f in "$@"; do jq -r '.results[0].median / .results[1].median' "$f"; done |
		sort -g | awk '{a[NR]=$1} END {printf "%.3f (rounds: %d)\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), NR}'
}

r=1
while [ $r -le "$rounds" ]; do
	echo "== round $r: start-to-exit of a healthy HTTP probe ($runs runs each)"
	hyperfine -N --warmup 20 --runs "$runs" --style none --export-json "$tmp/http$r.json" \
		-n "healthprobe -q -port $port" "$tmp/healthprobe -q -port $port" \
		-n "curl -fsS -o /dev/null $url" "curl -fsS -o /dev/null $url" \
		-n "plainclient $url" "$tmp/plainclient $url" >/dev/null 2>"$tmp/log" || { cat "$tmp/log"; exit 1; }
	summary "$tmp/http$r.json"
	echo "== round $r: start-to-exit of a healthy gRPC probe ($runs runs each)"
	hyperfine -N --warmup 20 --runs "$runs" --style none --export-json "$tmp/grpc$r.json" \
		-n "healthprobe -q grpc://127.0.0.1:$gport" "$tmp/healthprobe -q grpc://127.0.0.1:$gport" \
		-n "grpcclient 127.0.0.1:$gport" "$tmp/grpcclient 127.0.0.1:$gport" >/dev/null 2>"$tmp/log" || { cat "$tmp/log"; exit 1; }
	summary "$tmp/grpc$r.json"
	r=$((r + 1))
done
echo "== result"
echo "healthprobe/curl (HTTP), median of the rounds: $(median_ratio "$tmp"/http*.json)"
echo "healthprobe/grpcclient (gRPC), median of the rounds: $(median_ratio "$tmp"/grpc*.json)"
