#!/usr/bin/env bash
# Every mode of the benchmark, one after another, on one machine state: the run bench/README.md's
# Results section comes from. ~60 minutes. Markdown goes to bench/results/final-<time>.md.
#   npm run build && PEER_DIR=/path/to/portkey bash bench/final.sh
# PEER_DIR: a directory with @portkey-ai/gateway installed by the recipe in bench/README.md (optional).
set -euo pipefail
cd "$(dirname "$0")/.."
out="bench/results/final-$(date -u +%Y-%m-%dT%H-%M-%SZ).md"
mkdir -p bench/results
peer=()
if [ -n "${PEER_DIR:-}" ]; then
  peer=(--peer-name portkey
    --peer-cmd "node $PEER_DIR/node_modules/@portkey-ai/gateway/build/start-server.js --port={port} --headless"
    --peer-url 'http://127.0.0.1:{port}/v1/chat/completions'
    --peer-header 'x-portkey-provider: openai' --peer-header 'x-portkey-custom-host: {mockUrl}/v1')
fi
run() {
  echo "== node bench/run.mjs $*" >&2
  { echo; echo "### \`node bench/run.mjs $*\`"; echo; node bench/run.mjs "$@"; } >> "$out"
}
echo "# Heimdall benchmark, all modes ($(date -u +%FT%TZ), load before: $(cut -d' ' -f1-3 /proc/loadavg))" > "$out"
run --rates 500,1000,2000,5000 --duration 10
run --rates 500,1000,2000,5000 --duration 10 --stream --chunks 10 --chunk-delay-ms 1
run --rates 1000,2000,5000 --duration 10 --targets direct,gateway --workers 2
run --mode ceiling --p99-ms 50 --duration 5 "${peer[@]}"
run --mode ceiling --p99-ms 50 --duration 5 --targets gateway --workers 2
run --mode overload --overload-factor 2 --p99-ms 50 --duration 10 --targets proxy,gateway --after-s 60
if [ ${#peer[@]} -gt 0 ]; then run --mode peer --rates 500,1000 --duration 10 --targets direct,gateway "${peer[@]}"; fi
run --mode soak --rate 2000 --minutes 10 --interval-s 60 --targets gateway
run --mode soak --rate 5000 --minutes 10 --interval-s 60 --targets gateway --workers 2
echo "done: $out" >&2
