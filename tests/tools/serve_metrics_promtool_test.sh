#!/usr/bin/env bash
# keel serve's /metrics passes `promtool check metrics` without a single
# problem reported, and holds the standard process_* families, keel_build_info
# and the per-handler request metrics. Then a restart restores the snapshot
# taken: the log says what it restores before it starts and what it restored
# at the end, and the snapshot age is on /metrics before any new snapshot.
# The server runs with a memory limit, heap profiling and a remote-write
# destination (a closed port: its batches wait), so that their families are
# checked too, and with a self-scrape, whose samples are queried back.
set -euo pipefail
src=$1 keel=$3

fail() { echo "FAILED: $*"; exit 1; }
command -v promtool >/dev/null || fail "promtool not installed (Debian: prometheus)"

work=$(mktemp -d)
keel_pid=""
source "$src/scripts/lib/processes.sh"
trap 'stop "$keel_pid"; rm -rf "$work"' EXIT

start_keel() {  # LOG
  port=$(free_port)
  url="http://127.0.0.1:$port"
  "$keel" serve --config "$src/tools/data/serve.conf" --listen "127.0.0.1:$port" \
    --data-dir "$work/data" --snapshot-interval 1h --memory-limit 1GiB \
    --heap-profiling --remote-write "http://127.0.0.1:$(free_port)/api/v1/write" \
    --self-scrape-interval 1s 2>"$work/$1" &
  keel_pid=$!
  wait_ready 30 keel "$url" "$keel_pid" || fail "keel serve: $(tail -5 "$work/$1")"
}

start_keel first.log
# Answers of several handlers and codes, so that every family has samples.
curl -sf "$url/v1/lookup?ip=1.1.1.1" >/dev/null || fail "lookup"
curl -s -o /dev/null "$url/v1/lookup?ip=nonsense"
curl -s -o /dev/null "$url/no/such/path"
curl -sf "$url/api/v1/query?query=up" >/dev/null || fail "query"
curl -sf -X POST "$url/v1/snapshot" >/dev/null || fail "POST /v1/snapshot"
curl -sf "$url/metrics" >"$work/metrics.txt" || fail "GET /metrics"

promtool check metrics <"$work/metrics.txt" >"$work/promtool.txt" 2>&1 ||
  fail "promtool check metrics: $(cat "$work/promtool.txt")"
[[ ! -s $work/promtool.txt ]] || fail "promtool check metrics reports: $(cat "$work/promtool.txt")"
echo "ok: promtool check metrics reports nothing on $(grep -c '^# TYPE' "$work/metrics.txt") families"

for name in process_cpu_seconds_total process_resident_memory_bytes \
            process_virtual_memory_bytes process_open_fds process_max_fds \
            process_start_time_seconds keel_build_info keel_http_requests_total \
            keel_http_request_duration_seconds_bucket keel_snapshot_age_seconds \
            keel_memory_limit_bytes keel_memory_pressure keel_heap_profiles_total \
            keel_remote_storage_samples_total keel_remote_queue_bytes; do
  grep -q "^$name[ {]" "$work/metrics.txt" || fail "/metrics lacks $name"
done
grep -q '^keel_build_info{revision="[0-9a-z]*",version="[0-9.]*"} 1$' "$work/metrics.txt" ||
  fail "keel_build_info: $(grep '^keel_build_info' "$work/metrics.txt")"
grep -q '^keel_http_requests_total{code="404",handler="other"} 1$' "$work/metrics.txt" ||
  fail "no 404 under handler=\"other\": $(grep '^keel_http_requests_total' "$work/metrics.txt")"
grep -q '^keel_http_requests_total{code="400",handler="/v1/lookup"} 1$' "$work/metrics.txt" ||
  fail "no 400 under handler=\"/v1/lookup\""
echo "ok: the process_*, build and request families are there"

# The self-scrape stores /metrics as job="keel" with the port bound.
for _ in $(seq 50); do
  answer=$(curl -sf "$url/api/v1/query" --data-urlencode 'query=keel_build_info{job="keel"}') ||
    fail "query keel_build_info"
  [[ $answer == *"\"instance\":\"127.0.0.1:$port\""* ]] && break
  sleep 0.1
done
[[ $answer == *"\"instance\":\"127.0.0.1:$port\""* ]] ||
  fail "no self-scraped keel_build_info: $answer"
echo "ok: keel's own metrics are in its store"

stop "$keel_pid"
keel_pid=""
start_keel second.log
grep -q "restoring .* from $work/data/series.snap$" "$work/second.log" ||
  fail "no line before the restore: $(cat "$work/second.log")"
grep -q "restored [0-9]* series, [0-9]* chunks, .* in [0-9.]* s" "$work/second.log" ||
  fail "no line after the restore: $(cat "$work/second.log")"
[[ $(grep -n "listening on" "$work/second.log" | cut -d: -f1) -lt \
   $(grep -n "restoring " "$work/second.log" | cut -d: -f1) ]] ||
  fail "keel serve restored before it listened: $(cat "$work/second.log")"
curl -sf "$url/metrics" >"$work/metrics2.txt" || fail "GET /metrics"
grep -q '^keel_snapshots_total 0$' "$work/metrics2.txt" || fail "a snapshot was taken"
grep -q '^keel_snapshot_age_seconds ' "$work/metrics2.txt" ||
  fail "no snapshot age after the restore"
echo "ok: the restart logs its restore around it and knows the snapshot's age"
echo "serve_metrics_promtool_test: passed"
