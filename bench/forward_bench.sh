#!/usr/bin/env bash
# bench/forward_bench.sh [--passes N] [BENCH FLAGS...]: starts a
# VictoriaMetrics (Debian's victoria-metrics) on a free loopback port with a
# scratch data directory, runs `keel bench forward` against it N times
# (default 3), one JSON line each, and stops it. Flags after --passes go to
# the bench (--series, --samples-per-series, --shards,
# --max-samples-per-send). VictoriaMetrics' own CPU seconds over each pass
# are added to the line as vm_cpu_seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
keel=${KEEL:-$here/../build/keel}
passes=3
if [[ ${1:-} == --passes ]]; then passes=$2; shift 2; fi
command -v victoria-metrics >/dev/null || { echo "victoria-metrics is not installed (scripts/setup)" >&2; exit 1; }
source "$here/../scripts/lib/processes.sh"
work=$(mktemp -d)
port=$(free_port)
victoria-metrics -httpListenAddr="127.0.0.1:$port" -storageDataPath="$work/vm" \
  -retentionPeriod=1y >"$work/vm.log" 2>&1 &
vm=$!
trap 'stop "$vm"; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
# cpu PID: user + system seconds of a process.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }
for _ in $(seq "$passes"); do
  before=$(cpu "$vm")
  line=$("$keel" bench forward --url "http://127.0.0.1:$port/api/v1/write" "$@")
  after=$(cpu "$vm")
  echo "${line%\}},\"vm_cpu_seconds\":$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }')}"
done
