#!/usr/bin/env bash
# keel serve as the edge in front of a Prometheus-compatible store (issue
# 19), end to end: a real Prometheus scrapes itself, keel and VictoriaMetrics
# every second and remote-writes into keel serve, which forwards everything
# it accepts to VictoriaMetrics (Debian's victoria-metrics, on loopback).
# Mid-stream VictoriaMetrics is stopped for OUTAGE seconds (KEEL_FORWARD_OUTAGE_S,
# default 20 here; the issue's figure is 60), and halfway through the outage
# keel is SIGKILLed and started again on the same data directory.
#
# Afterwards, once Prometheus has stopped and keel's queue is drained, every
# series keel holds (everything it acknowledged: the restart put back from
# its queue what the last snapshot missed) must hold in VictoriaMetrics
# exactly the same timestamps, none twice (VictoriaMetrics keeps an exact
# resend twice: this build runs it without -dedup.minScrapeInterval). And
# keel must have retried (the outage happened), failed nothing, and have
# nothing pending.
#
# Needs prometheus and victoria-metrics (scripts/setup installs them):
# without them, SKIP. Loopback only; every wait is bounded; the trap stops
# everything it started. KEEL_TEST_KEEP=1 keeps the work directory.
set -euo pipefail
src=$1 keel=$3

for tool in prometheus victoria-metrics; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/setup installs it)"; exit 0; }
done
for tool in python3 curl; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool not installed"; exit 1; }
done

OUTAGE=${KEEL_FORWARD_OUTAGE_S:-20}
source "$src/scripts/lib/processes.sh"
server_test_start
vm_pid=""
server_test_cleanup_vm() { stop "$vm_pid"; server_test_cleanup; }
trap server_test_cleanup_vm EXIT

kport=$(free_port) pport=$(free_port) vport=$(free_port)
keel_url="http://127.0.0.1:$kport" prom_url="http://127.0.0.1:$pport"
vm_url="http://127.0.0.1:$vport"

start_vm() {
  victoria-metrics -httpListenAddr="127.0.0.1:$vport" -storageDataPath="$work/vm" \
    -retentionPeriod=1y -search.disableCache >>"$work/vm.log" 2>&1 &
  vm_pid=$!
  for _ in $(seq 100); do
    curl -sf "$vm_url/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "VictoriaMetrics did not start within 10 s"
}

# No snapshot before the SIGKILL: what keel holds after it comes from the
# queue's replay, which the test checks (with a 5 s interval, a kill just
# after a snapshot found nothing to replay).
cat >"$work/keel.conf" <<CONF
listen = 127.0.0.1:$kport
data-dir = $work/keel-data
snapshot-interval = 1h
remote-write = $vm_url/api/v1/write name=vm shards=2 batch-send-deadline=1s max-backoff=1s
CONF
start_keel() {
  "$keel" serve --config "$work/keel.conf" 2>>"$work/keel.log" &
  keel_pid=$!
}

cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$pport"]}]
  - job_name: keel
    static_configs: [{targets: ["127.0.0.1:$kport"]}]
  - job_name: vm
    static_configs: [{targets: ["127.0.0.1:$vport"]}]
remote_write:
  - url: $keel_url/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s, retry_on_http_429: true}
YML

# metric NAME: keel's value of a metric (summed over its series), 0 if none.
metric() {
  curl -s "$keel_url/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $NF } END { printf "%.0f\n", s }'
}

start_vm
start_keel
wait_ready 60 keel "$keel_url" "$keel_pid" || fail "keel serve did not become ready"
start_prometheus "$work" "$pport"
wait_ready 60 prometheus "$prom_url" "$prom_pid" keel "$keel_url" "$keel_pid" || fail "not ready"
echo "forwarding for 10 s, then VictoriaMetrics stops for $OUTAGE s"
sleep 10
(($(metric keel_remote_storage_samples_total) > 0)) || fail "nothing forwarded in 10 s"

stop "$vm_pid"
vm_pid=""
sleep $((OUTAGE / 2))
before=$(metric keel_remote_storage_samples_pending)
echo "keel: $before samples pending; SIGKILL"
kill -KILL "$keel_pid"
wait "$keel_pid" 2>/dev/null || true
start_keel
wait_ready 60 keel "$keel_url" "$keel_pid" || fail "keel serve did not come back after SIGKILL"
grep -q "remote-write queue: replayed" "$work/keel.log" || fail "keel did not replay its queue after the SIGKILL"
sleep $((OUTAGE - OUTAGE / 2))
start_vm
echo "VictoriaMetrics is back; forwarding 10 s more"
sleep 10

# Prometheus stops (flushing its remote-write queue); then keel drains.
stop "$prom_pid"
prom_pid=""
for _ in $(seq 120); do
  [[ $(metric keel_remote_storage_samples_pending) == 0 ]] && break
  sleep 0.5
done
[[ $(metric keel_remote_storage_samples_pending) == 0 ]] || fail "keel's queue did not drain in 60 s"
(($(metric keel_remote_storage_retried_samples_total) > 0)) || fail "no retries: the outage did not show"
# The shards shared the queue's records: fewer loads from disk than reads.
(($(metric keel_remote_storage_queue_records_loaded_total) > 0)) || fail "no queue records loaded"
(($(metric keel_remote_storage_queue_records_loaded_total) < $(metric keel_remote_storage_queue_records_read_total))) ||
  fail "every shard loaded every record itself"
[[ $(metric keel_remote_storage_failed_samples_total) == 0 ]] || fail "keel dropped samples (4xx from VictoriaMetrics)"
curl -sf "$vm_url/internal/force_flush" >/dev/null

now=$(date +%s)
curl -s -G "$keel_url/api/v1/query" --data-urlencode 'query={__name__=~".+"}[1h]' \
  --data-urlencode "time=$now" >"$work/keel.json"
curl -s -G "$vm_url/api/v1/export" --data-urlencode 'match[]={__name__=~".+"}' \
  --data-urlencode "start=$((now - 3600))" --data-urlencode "end=$now" >"$work/vm.jsonl"
python3 - "$work/keel.json" "$work/vm.jsonl" <<'PY' || fail "VictoriaMetrics does not hold exactly what keel acknowledged"
import json, sys
# NaN samples are left out on both sides: VictoriaMetrics does not store a
# plain NaN, and keeps Prometheus' stale markers (exported as null), which
# keel's query API does not show. Duplicates are counted over everything.
def key(labels):
    return tuple(sorted(labels.items()))
keel = {}
for s in json.load(open(sys.argv[1]))["data"]["result"]:
    keel[key(s["metric"])] = {int(round(float(t) * 1000)) for t, v in s["values"] if v != "NaN"}
vm, twice = {}, 0
for line in open(sys.argv[2]):
    s = json.loads(line)
    times = s["timestamps"]
    twice += len(times) - len(set(times))
    vm.setdefault(key(s["metric"]), set()).update(
        t for t, v in zip(times, s["values"]) if v is not None)
samples = sum(len(v) for v in keel.values())
missing = sum(len(t - vm.get(k, set())) for k, t in keel.items())
extra = sum(len(t - keel.get(k, set())) for k, t in vm.items())
print(f"keel: {len(keel)} series, {samples} samples; VictoriaMetrics: {len(vm)} series; "
      f"missing {missing}, twice {twice}, not in keel {extra}")
sys.exit(1 if missing or twice or extra or samples == 0 else 0)
PY
echo "retried $(metric keel_remote_storage_retried_samples_total) samples, sent $(metric keel_remote_storage_samples_total) since the restart"
echo PASSED
