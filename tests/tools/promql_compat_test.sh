#!/usr/bin/env bash
# PromQL compatibility (issue 15): the same samples go into a real Prometheus
# (Debian's 2.42, through promtool's OpenMetrics backfill) and into keel serve
# (through POST /api/v1/import/prometheus), then tests/compat/compare.py
# sends every query of tests/compat/queries.promql to both, as instant and
# range queries, and compares the answers; it ends with `N passed, M failed`.
#
# It needs prometheus and promtool (scripts/setup installs them): without
# them it prints SKIP and exits 0, unless KEEL_PROMQL_COMPAT=1 demands them.
# Everything listens on loopback; every wait is bounded; the trap stops both
# servers. KEEL_TEST_KEEP=1 keeps the work directory (data, logs) for a look.
set -euo pipefail
src=$1 keel=$3

if [[ ${KEEL_PROMQL_COMPAT:-} != 1 ]] &&
  ! { command -v prometheus && command -v promtool; } >/dev/null; then
  echo "SKIP: prometheus or promtool not installed (scripts/setup installs them)"
  exit 0
fi
for tool in prometheus promtool python3 curl gzip; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool not installed (scripts/setup installs it)"; exit 1; }
done

source "$src/scripts/lib/processes.sh"
server_test_start
started=$(date +%s)

python3 "$src/tests/compat/gen_data.py" "$work/data" || fail "gen_data.py"

# Prometheus: blocks from promtool, served from that directory. Its time
# retention counts back from the newest block, not from the clock, but a
# generous one keeps an old fixed-date dataset safe whatever the version does.
promtool tsdb create-blocks-from openmetrics "$work/data/data.om" "$work/tsdb" \
  >"$work/promtool.log" 2>&1 || { cat "$work/promtool.log"; fail "promtool create-blocks-from"; }
printf 'global:\n  scrape_interval: 1h\n' >"$work/prometheus.yml"
pport=$(free_port)
start_prometheus "$work" "$pport" --storage.tsdb.retention.time=100y

# keel: memory only, loaded through POST /api/v1/import/prometheus (gzip)
# once it is ready. Retention counts windows back from the wall clock: keep
# them all, the data is from 2024.
kport=$(free_port)
"$keel" serve --listen "127.0.0.1:$kport" --retention-windows 1000000 \
  2>"$work/keel.log" &
keel_pid=$!

wait_ready 60 prometheus "http://127.0.0.1:$pport" "$prom_pid" "keel serve" "http://127.0.0.1:$kport" "$keel_pid" || fail "not ready"
code=$(gzip -c "$work/data/data.txt" | curl -s -o "$work/import.out" -w '%{http_code}' \
  -H 'Content-Encoding: gzip' --data-binary @- "http://127.0.0.1:$kport/api/v1/import/prometheus") ||
  fail "import into keel"
[[ $code == 204 ]] || fail "import into keel answered $code: $(head -c 500 "$work/import.out")"
echo "ok: both ready after $(($(date +%s) - started)) s: $(cat "$work/data/meta.json")"

# The comparator's last line, `N passed, M failed`, is the test's last line.
timeout 400 python3 "$src/tests/compat/compare.py" \
  --prom "http://127.0.0.1:$pport" --keel "http://127.0.0.1:$kport" \
  --queries "$src/tests/compat/queries.promql" --meta "$work/data/meta.json"
