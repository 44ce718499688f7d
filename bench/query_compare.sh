#!/usr/bin/env bash
# keel bench query: PromQL query time of keel serve against a real
# Prometheus (Debian's 2.42) on the same data, in the same run.
#
#   keel bench query [--json] [--instances N] [--hours H] [--reps R]
#                    [--data DIR] [--queries FILE] [--keep]
#   bench/query_compare.sh --keel build/keel [same flags]
#
# 1. Data: bench/query_data.py writes node-exporter-like series (N
#    instances, default 24: ~130 series each, ~3,000 in all; H hours at
#    15 s, default 6) in OpenMetrics and in keel's import format. With
#    --data DIR the data and Prometheus' blocks are kept there and reused by
#    later runs with the same DIR.
# 2. Prometheus: `promtool tsdb create-blocks-from openmetrics` (one block:
#    nothing left to compact while it is measured), served on loopback.
# 3. keel serve (memory only) on loopback, loaded through
#    POST /api/v1/import/prometheus, one gzip request per instance.
# 4. bench/query_timing.py sends the dashboard queries (or --queries FILE)
#    to both, instant and as a range over the last hour at 15 s, --reps
#    rounds each (default 7), alternating servers, and prints one JSON
#    object (--json) or a table: median and min per side, their ratio,
#    each side's peakSamples (stats=all) and keel's answer bytes, and both
#    servers' resident memory.
#
# Everything listens on 127.0.0.1; every wait is bounded; the trap stops both
# servers and removes the work directory (--keep keeps it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

keel="" instances=24 hours=6 reps=7 data="" queries="" json=0 keep=0
usage() {
  echo "usage: $0 --keel BIN [--json] [--instances N] [--hours H] [--reps R] [--data DIR] [--queries FILE] [--keep]" >&2
  exit 2
}
while (($#)); do
  case $1 in
    --keel) keel=${2:?}; shift 2 ;;
    --instances) instances=${2:?}; shift 2 ;;
    --hours) hours=${2:?}; shift 2 ;;
    --reps) reps=${2:?}; shift 2 ;;
    --data) data=${2:?}; shift 2 ;;
    --queries) queries=${2:?}; shift 2 ;;
    --json) json=1; shift ;;
    --keep) keep=1; shift ;;
    *) usage ;;
  esac
done
[[ -n $keel ]] || usage
for tool in prometheus promtool python3 curl gzip; do
  command -v "$tool" >/dev/null ||
    { echo "$0: $tool not found (scripts/setup installs it)" >&2; exit 2; }
done

work=$(mktemp -d)
keel_pid="" prom_pid=""
source "$(dirname "$0")/../scripts/lib/processes.sh"
cleanup() {
  stop "$prom_pid"
  stop "$keel_pid"
  if ((keep)); then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "$0: $*" >&2
  tail -5 "$work/keel.log" "$work/prometheus.log" >&2 2>/dev/null || true
  exit 1
}
log() { echo "bench query: $*" >&2; }

data=${data:-$work/data}
want="$instances $hours"
if [[ ! -f $data/meta.json || ! -d $data/blocks || "$(cat "$data/size" 2>/dev/null)" != "$want" ]]; then
  rm -rf "$data/blocks"
  log "generating $instances instances x $hours h in $data"
  python3 "$here/query_data.py" "$data" --instances "$instances" --hours "$hours" >&2 ||
    fail "query_data.py"
  promtool tsdb create-blocks-from openmetrics --max-block-duration=24h \
    "$data/data.om" "$data/blocks" >"$work/promtool.log" 2>&1 ||
    { cat "$work/promtool.log" >&2; fail "promtool create-blocks-from"; }
  echo "$want" >"$data/size"
fi
cp -r "$data/blocks" "$work/tsdb"

printf 'global:\n  scrape_interval: 1h\n' >"$work/prometheus.yml"
pport=$(free_port)
start_prometheus "$work" "$pport" --storage.tsdb.retention.time=100y
# The data is from 2024: keel's retention counts back from the wall clock.
kport=$(free_port)
"$keel" serve --listen "127.0.0.1:$kport" --retention-windows 1000000 \
  2>"$work/keel.log" &
keel_pid=$!
wait_ready 60 prometheus "http://127.0.0.1:$pport" "$prom_pid" "keel serve" "http://127.0.0.1:$kport" "$keel_pid" || fail "not ready"
for f in "$data"/data-*.txt; do
  code=$(gzip -1 -c "$f" | curl -s -o "$work/import.out" -w '%{http_code}' \
    -H 'Content-Encoding: gzip' --data-binary @- \
    "http://127.0.0.1:$kport/api/v1/import/prometheus") || fail "import $f"
  [[ $code == 204 ]] || fail "import $f answered $code: $(head -c 300 "$work/import.out")"
done
log "both loaded: $(cat "$data/meta.json")"

# The servers run as keel serve's child (keel execs keel-serve: same pid).
timing_args=(--keel "http://127.0.0.1:$kport" --prom "http://127.0.0.1:$pport"
  --meta "$data/meta.json" --reps "$reps" --keel-pid "$keel_pid" --prom-pid "$prom_pid")
[[ -n $queries ]] && timing_args+=(--queries "$queries")
((json)) || timing_args+=(--table)
python3 "$here/query_timing.py" "${timing_args[@]}"
