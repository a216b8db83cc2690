#!/usr/bin/env bash
# A whole-process CPU profile of the gateway (or the bare proxy) under a fixed open-loop load, kernel
# included: Linux `perf` samples every thread, node's --perf-basic-prof names the JIT frames, and
# lib/perf-attr.mjs charges each sample of the main thread to the innermost JavaScript frame's owner
# (Heimdall, undici, node:http/streams...), so a system call or a builtin counts for the code that made it.
#   npm run build && bash bench/profile.sh [gateway|proxy] [RATE=3000] [SECONDS=10] [--stream]
# Needs `perf` (linux-perf) and permission to use it (root, or kernel.perf_event_paranoid <= 1).
# Output: the attribution tables on stdout; perf.data in bench/results/profile-<target>-<rate>/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-gateway}
rate=${2:-3000}
seconds=${3:-10}
stream=${4:-}
command -v perf >/dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 1; }
[ "$target" = proxy ] || [ -f dist/cli.js ] || { echo "profile.sh: build first (npm run build)" >&2; exit 1; }
out="bench/results/profile-$target-$rate${stream:+-stream}"
rm -rf "$out" && mkdir -p "$out"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

node bench/mock-upstream.mjs --port 0 --chunks 10 --chunk-delay-ms 1 > "$out/mock.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q READY "$out/mock.log" && break; sleep 0.1; done
mock_port=$(awk '/READY/{print $2}' "$out/mock.log")

key="hk-bench-profile-$(date +%s%N)"
data_dir=$(mktemp -d)
if [ "$target" = gateway ]; then
  HEIMDALL_BENCH_VIRTUAL_KEY=$key OPENAI_API_KEY=bench-key OPENAI_BASE_URL="http://127.0.0.1:$mock_port/v1" LOG_LEVEL=warn \
    node --perf-basic-prof-only-functions dist/cli.js start --port 0 --host 127.0.0.1 --data-dir "$data_dir" \
    --config bench/production.json > "$out/target.log" 2>&1 &
  pid=$!
  pids+=($pid)
  model=openai/gpt-4o-mini
  port=
  for _ in $(seq 200); do port=$(grep -o 'http://127.0.0.1:[0-9]*' "$out/target.log" | head -1 | cut -d: -f3 || true); [ -n "$port" ] && break; sleep 0.1; done
else
  node --perf-basic-prof-only-functions bench/bare-proxy.mjs --upstream "http://127.0.0.1:$mock_port" --port 0 > "$out/target.log" 2>&1 &
  pid=$!
  pids+=($pid)
  model=gpt-4o-mini
  for _ in $(seq 100); do grep -q READY "$out/target.log" && break; sleep 0.1; done
  port=$(awk '/READY/{print $2}' "$out/target.log")
fi
[ -n "$port" ] || { echo "profile.sh: the $target did not start (see $out/target.log)" >&2; exit 1; }
url="http://127.0.0.1:$port/v1/chat/completions"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
load() {
  node bench/load.mjs --url "$url" --rate "$rate" --duration "$1" --model "$model" \
    --header "authorization: Bearer $key" ${stream:+--stream} --json
}
load 3 > /dev/null # warm-up: connections, JIT
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
(sleep 1; perf record -F 1999 -g -p "$pid" -o "$out/perf.data" -- sleep $((seconds - 2)) > /dev/null 2>&1) &
perf_pid=$!
before=$(cpu)
load "$seconds" > "$out/load.json"
after=$(cpu)
wait "$perf_pid"
rss=$(awk '/VmRSS/{print int($2 / 1024)}' "/proc/$pid/status")
echo "# $target at $rate req/s${stream:+ (stream)} for ${seconds} s: process CPU $(( (after - before) / seconds ))% of a core, RSS ${rss} MB"
node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(`# load: ${j.success}/${j.sent} ok, latency p50 / p99 ${j.latency.p50} / ${j.latency.p99} µs`)' "$out/load.json" 2>/dev/null || true
perf script -i "$out/perf.data" --tid "$pid" 2>/dev/null | node bench/lib/perf-attr.mjs
rm -rf "$data_dir"
