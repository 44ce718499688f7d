#!/usr/bin/env bash
# Grafana-style use end to end (issue 15): a real Prometheus scrapes live
# targets every second and remote-writes into keel serve; then every query
# of tests/compat/queries.promql goes to both HTTP APIs, as instant queries
# at several times inside the scraped period and as range queries over it,
# and the answers must agree (tests/compat/compare.py: `N passed, M failed`).
#
# The targets (tests/compat/scrape_target.py, one loopback HTTP server, a
# page per instance) expose the compat dataset's metric families with values
# that depend only on the scrape count. During the run api-3 goes down for a
# few scrapes (up == 0 and stale markers, then it comes back) and api-2's
# counters restart; at the end the targets are removed from Prometheus'
# configuration (SIGHUP), so it writes end-of-run stale markers for every
# series and remote-writes them too. Remote write batches with a delay:
# before comparing, the test waits until keel holds as many samples as
# Prometheus, and it evaluates only inside the recorded period.
#
# Needs prometheus (scripts/setup installs it): without it, SKIP unless
# KEEL_PROMQL_COMPAT=1. Loopback only; every wait is bounded; the trap stops
# everything it started. KEEL_TEST_KEEP=1 keeps the work directory.
set -euo pipefail
src=$1 keel=$3

if [[ ${KEEL_PROMQL_COMPAT:-} != 1 ]] && ! command -v prometheus >/dev/null; then
  echo "SKIP: prometheus not installed (scripts/setup installs it)"
  exit 0
fi
for tool in prometheus python3 curl; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool not installed (scripts/setup installs it)"; exit 1; }
done

SCRAPE_SECONDS=${KEEL_RW_SECONDS:-60}
source "$src/scripts/lib/processes.sh"
server_test_start
# instant QUERY SERVER-URL TIME: the first result value, "none" for an
# empty vector, the number of points for a matrix, "error" for an error.
instant() {
  curl -s -G "$2/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$3" |
    python3 -c '
import json, sys
a = json.load(sys.stdin)
if a.get("status") != "success":
    print("error"); sys.exit()
d = a["data"]
if d["resultType"] == "matrix":
    print(sum(len(s["values"]) for s in d["result"]))
else:
    print(d["result"][0]["value"][1] if d["result"] else "none")'
}

python3 "$src/tests/compat/scrape_target.py" "$work/target.port" 2>"$work/target.log" &
extra_pids+=($!)
for _ in $(seq 100); do [[ -s $work/target.port ]] && break; sleep 0.1; done
[[ -s $work/target.port ]] || fail "scrape target did not start within 10 s"
target="127.0.0.1:$(cat "$work/target.port")"

kport=$(free_port)
pport=$(free_port)
keel_url="http://127.0.0.1:$kport" prom_url="http://127.0.0.1:$pport"
"$keel" serve --listen "127.0.0.1:$kport" 2>"$work/keel.log" &
keel_pid=$!

# One static config per instance: its own page, job and instance label.
# Without targets the jobs stay: Prometheus writes stale markers for the
# series of targets that go from a job, not for those of a job removed.
scrape_configs() {  # scrape_configs with|without: the targets
  echo "scrape_configs:"
  local job inst
  for job_insts in "api:api-1 api-2 api-3" "node:node-1 node-2" "sensors:sensor-gw" \
                   "batch:batch-1" "grid:grid"; do
    job=${job_insts%%:*}
    echo "  - job_name: $job"
    if [[ $1 == without ]]; then
      echo "    static_configs: []"
      continue
    fi
    echo "    static_configs:"
    for inst in ${job_insts#*:}; do
      echo "      - targets: ['$target']"
      echo "        labels: {instance: '$inst:9000', __metrics_path__: '/$inst'}"
    done
  done
}
write_config() {  # write_config with|without: the targets
  {
    printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n'
    printf 'remote_write:\n  - url: %s/api/v1/write\n' "$keel_url"
    printf '    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}\n'
    scrape_configs "$1"
  } >"$work/prometheus.yml.tmp"
  mv "$work/prometheus.yml.tmp" "$work/prometheus.yml"
}
write_config with
start_prometheus "$work" "$pport"

wait_ready 60 prometheus "$prom_url" "$prom_pid" "keel serve" "$keel_url" "$keel_pid" || fail "not ready"
started=$(date +%s)
echo "ok: prometheus scrapes 8 targets every 1 s and remote-writes into keel serve"

control() { curl -sf "http://$target/control?$1" >/dev/null || fail "control $1"; }
at() {  # at SECONDS: sleep until SECONDS after the start
  local left=$((started + $1 - $(date +%s)))
  ((left > 0)) && sleep "$left"
  kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited"
  kill -0 "$keel_pid" 2>/dev/null || fail "keel serve exited"
}
at $((SCRAPE_SECONDS * 2 / 5))
control down=api-3
at $((SCRAPE_SECONDS / 2))
control up=api-3
control reset=api-2
at "$SCRAPE_SECONDS"

# Remove the targets: Prometheus ends every series with a stale marker.
write_config without
kill -HUP "$prom_pid"
ended=$(date +%s)
# The markers come a scrape interval or two after the reload.
gone=""
for _ in $(seq 60); do  # 30 s at most
  sleep 0.5
  gone=$(instant 'count(up)' "$prom_url" "$(date +%s.%N)")
  [[ $gone == none ]] && break
done
[[ $gone == none ]] || fail "Prometheus did not end the series: count(up) = $gone 30 s after the jobs went"
stale=$(date +%s)
echo "ok: scraped for $((ended - started)) s (api-3 down for a while, api-2 restarted); the targets removed, every series stale after $((stale - ended)) s"

# Wait until keel holds every sample Prometheus has (a range selector
# leaves stale markers out; the queries compare them).
total='{__name__=~".+"}[1h]'
t_eval=$((stale + 1))
want=$(instant "$total" "$prom_url" "$t_eval")
[[ $want =~ ^[0-9]+$ && $want -gt 1000 ]] || fail "Prometheus holds too few samples: $want"
have="" ended_in_keel=""
for _ in $(seq 150); do  # 30 s at most
  have=$(instant "$total" "$keel_url" "$t_eval")
  ended_in_keel=$(instant 'count(up)' "$keel_url" "$t_eval")
  [[ $have == "$want" && $ended_in_keel == none ]] && break
  sleep 0.2
done
[[ $have == "$want" ]] || fail "keel holds $have samples, Prometheus $want, after 30 s"
[[ $ended_in_keel == none ]] || fail "keel has no stale markers after 30 s: count(up) = $ended_in_keel"
echo "ok: keel caught up: $have samples and the stale markers on both"

# Evaluate inside what both recorded: the first scrapes and the last
# seconds are where remote write could still be missing data on one side.
first=$((started + 3)) last=$((ended - 1))
mid=$(((first + last) / 2))
times="$first.250,$((started + SCRAPE_SECONDS * 2 / 5 + 2)).5,$mid,$((last - 5)).125,$last,$stale,$((stale + 30))"
timeout 300 python3 "$src/tests/compat/compare.py" --prom "$prom_url" --keel "$keel_url" \
  --queries "$src/tests/compat/queries.promql" --times "$times" \
  --range "$first:$((stale + 20)):1" --range "$((first + 1)).5:$last:7"
