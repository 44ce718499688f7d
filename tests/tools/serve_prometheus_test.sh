#!/usr/bin/env bash
# keel serve end to end with a real Prometheus (Debian package), all on
# loopback: Prometheus scrapes keel's /metrics and remote-writes into keel;
# within 60 s keel's /api/v1/query finds Prometheus' own `up` series;
# promtool accepts keel's /metrics; after SIGTERM and a restart from the data
# directory the same series and samples answer. Bounded: every wait has a
# deadline, and the trap ends both servers.
set -euo pipefail
src=$1 keel=$3

source "$src/scripts/lib/processes.sh"
server_test_start
kport=$(free_port)
pport=$(free_port)
keel_url="http://127.0.0.1:$kport"

start_keel() {  # start_keel LOGNAME
  "$keel" serve --config "$src/tools/data/serve.conf" --listen "127.0.0.1:$kport" \
    --data-dir "$work/data" --snapshot-interval 1h 2>"$work/$1.log" &
  keel_pid=$!
  for _ in $(seq 100); do
    curl -sf "$keel_url/-/ready" >/dev/null 2>&1 && return 0  # restored
    kill -0 "$keel_pid" 2>/dev/null || fail "keel serve exited at start"
    sleep 0.1
  done
  fail "keel serve did not answer within 10 s"
}

start_keel keel
echo "ok: keel serve listening on $keel_url"

cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$pport"]}]
  - job_name: keel
    static_configs: [{targets: ["127.0.0.1:$kport"]}]
remote_write:
  - url: $keel_url/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
YAML
start_prometheus "$work" "$pport"

json_check() {  # json_check JSON PYTHON-EXPRESSION: exit status only
  python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null
}

query() { curl -s -G "$keel_url/api/v1/query" --data-urlencode "query=$1"; }
wait_for_up() {  # wait_for_up JOB: until keel answers up{job=JOB} == 1, 60 s at most
  local answer=""
  for _ in $(seq 120); do
    answer=$(query "up{job=\"$1\"}")
    if json_check "$answer" 'j["status"]=="success" and len(j["data"]["result"])==1 and j["data"]["result"][0]["value"][1]=="1"'; then
      echo "$answer"; return 0
    fi
    kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited"
    sleep 0.5
  done
  fail "no up{job=\"$1\"} through keel within 60 s: $answer"
}
answer=$(wait_for_up prometheus)
echo "ok: Prometheus' up series found through keel's /api/v1/query: $answer"
wait_for_up keel >/dev/null
echo "ok: Prometheus scraped keel, and keel holds up{job=\"keel\"} == 1"

curl -sf "$keel_url/metrics" > "$work/metrics.txt"
promtool check metrics < "$work/metrics.txt" || fail "promtool check metrics"
for name in keel_series keel_chunks keel_samples keel_chunk_bytes keel_bytes_per_sample \
            keel_table_rows keel_table_bytes process_resident_memory_bytes \
            keel_alloc_resident_bytes keel_snapshot_failures_total \
            keel_chunk_head_bytes keel_chunk_sealed_bytes keel_rss_bytes; do
  grep -q "^$name[ {]" "$work/metrics.txt" || fail "/metrics lacks $name"
done
grep -q '^keel_remote_write_failures_total 0$' "$work/metrics.txt" ||
  fail "remote writes failed: $(grep '^keel_remote_write_' "$work/metrics.txt")"
echo "ok: promtool check metrics accepts keel's /metrics; no remote write failed"

# Let a few more samples arrive, then stop Prometheus so that keel's content
# is final before comparing it across the restart.
for _ in $(seq 60); do
  n=$(curl -s -G "$keel_url/api/v1/query" --data-urlencode 'query=prometheus_tsdb_head_samples_appended_total' |
      python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))')
  [[ $n -ge 1 ]] && break
  sleep 0.5
done
sleep 3
stop "$prom_pid"; prom_pid=""
now=$(date +%s)
start=$((now - 600))

capture() {  # capture FILE: the answers compared across the restart
  {
    curl -s -G "$keel_url/api/v1/series" --data-urlencode 'match[]={__name__=~".+"}'
    echo
    curl -s -G "$keel_url/api/v1/query_range" --data-urlencode 'query={job=~"prometheus|keel"}' \
      --data-urlencode "start=$start" --data-urlencode "end=$now" --data-urlencode 'step=1'
    echo
    curl -s -G "$keel_url/api/v1/query_range" --data-urlencode 'query=up' \
      --data-urlencode "start=$start" --data-urlencode "end=$now" --data-urlencode 'step=0.1'
    echo
  } > "$1"
}
capture "$work/before.json"
series=$(head -1 "$work/before.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
points=$(sed -n 3p "$work/before.json" | python3 -c 'import json,sys; print(sum(len(r["values"]) for r in json.load(sys.stdin)["data"]["result"]))')
[[ $series -ge 100 && $points -ge 10 ]] || fail "too little data before the restart: $series series, $points up points"
echo "ok: before the restart: $series series, $points points of up"

stop "$keel_pid"
keel_pid=""
[[ $stopped_rc == 0 ]] || fail "keel serve exited with $stopped_rc after SIGTERM"
grep -q "snapshot (shutdown) written" "$work/keel.log" || fail "no shutdown snapshot logged"
echo "ok: SIGTERM took a snapshot: $(grep 'snapshot (shutdown)' "$work/keel.log" | tail -1)"

start_keel keel-restarted
grep -q "restored" "$work/keel-restarted.log" || fail "restart did not restore"
capture "$work/after.json"
cmp -s "$work/before.json" "$work/after.json" || {
  diff <(tr ',' '\n' <"$work/before.json") <(tr ',' '\n' <"$work/after.json") | head -20
  fail "answers differ after the restart"
}
echo "ok: after SIGTERM and restart the same $series series and samples answer"

# PromQL over what Prometheus wrote: an aggregation of a rate per job.
query 'sum by (job) (rate(prometheus_http_requests_total[5m])) >= 0' >"$work/rate.json"
grep -q '"job":"prometheus"' "$work/rate.json" || fail "sum by (job) (rate(...)): $(cat "$work/rate.json")"
echo "ok: sum by (job) (rate(...)) answers per job"

# A few bad requests, end to end (tests/tools/serve_http_test.cc covers each).
code=$(curl -s -o "$work/bad.json" -w '%{http_code}' "$keel_url/v1/lookup?ip=1.2.3")
[[ $code == 400 ]] && grep -q error "$work/bad.json" || fail "malformed IP: $code"
code=$(curl -s -o "$work/bad.json" -w '%{http_code}' -G "$keel_url/api/v1/query" --data-urlencode 'query=rate(up)')
[[ $code == 400 ]] && grep -q '1:6: parse error' "$work/bad.json" || fail "expression: $code"
code=$(curl -s -o "$work/bad.json" -w '%{http_code}' -X POST -H 'Content-Encoding: snappy' \
  --data-binary 'not snappy at all' "$keel_url/api/v1/write")
[[ $code == 400 ]] && grep -q snappy "$work/bad.json" || fail "corrupt remote write: $code"
kill -0 "$keel_pid" || fail "keel died on bad requests"
echo "ok: bad requests get 400 with a reason"
echo "serve_prometheus_test: passed"
