#!/usr/bin/env bash
# Issue 13's flood, as a benchmark (not a test): starts keel serve on the
# bundled tables with the given limits, runs `keel bench flood` against it
# (a write flood of --series new series and a concurrent query flood, with
# /metrics and lookup probes), then prints keel bench flood's JSON line.
#
#   bench/flood.sh                                    # 10 M series attempted
#   bench/flood.sh --series 2000000 --max-series 500000 --keel build/keel
#
# Server flags it sets: --max-series (default 1000000), the rest default.
set -euo pipefail
cd "$(dirname "$0")/.."

keel=build/keel series=10000000 max_series=1000000 writers=2 queriers=2 seconds=600
extra=()
while (($#)); do
  case $1 in
    --keel) keel=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --max-series) max_series=$2; shift 2 ;;
    --writers) writers=$2; shift 2 ;;
    --queriers) queriers=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --serve-flag) extra+=("$2"); shift 2 ;;
    *) echo "usage: bench/flood.sh [--keel BIN] [--series N] [--max-series M] [--writers W] [--queriers Q] [--seconds S] [--serve-flag --key=value ...]" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$keel" serve --config tools/data/serve.conf --listen "127.0.0.1:$port" \
  --max-series "$max_series" "${extra[@]}" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 200); do
  curl -sf "http://127.0.0.1:$port/v1/lookup?ip=1.1.1.1" >/dev/null 2>&1 && break
  sleep 0.1
done
# `keel serve` execs keel-serve, so the pid is the server's.
"$keel" bench flood --url "http://127.0.0.1:$port" --pid "$server_pid" \
  --series "$series" --writers "$writers" --queriers "$queriers" --seconds "$seconds" || status=$?
echo "bench/flood.sh: server log (last lines):" >&2
tail -5 "$work/serve.log" >&2
exit "${status:-0}"
