#!/bin/bash
# Compares keel's chunk memory with Prometheus' own chunks on a real capture
# (the SeriesStore issue's second yardstick).
#
#   bench/series_compare_prometheus.sh                # build/keel, a 12 min capture
#   bench/series_compare_prometheus.sh --seconds 20   # a quick look
#   bench/series_compare_prometheus.sh --keel build/keel --work /tmp/capture --minutes 12
#
# Starts Debian's prometheus-node-exporter and prometheus (scraping both
# every second) on free loopback ports for the capture's length, dumps the
# TSDB with `promtool tsdb dump`, writes the samples in keel's import format
# (ms) and in OpenMetrics (s), builds blocks from the latter with `promtool
# tsdb create-blocks-from openmetrics`, and prints one JSON line:
# Prometheus' chunk file bytes per sample, keel's `bench series --input`
# bytes_per_sample (what its allocator holds for chunks), and their ratio.
# The work directory (default: a temporary one, removed at the end) keeps
# the capture, the dump and the blocks when given.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/processes.sh

usage="usage: bench/series_compare_prometheus.sh [--keel build/keel] [--work DIR] [--minutes M | --seconds S]"
keel=build/keel work="" seconds=720
while (($#)); do
  case $1 in
    --keel) keel=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --minutes) seconds=$(($2 * 60)); shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
((seconds > 0)) || { echo "$usage (the capture must last at least 1 s)" >&2; exit 2; }
[[ -x $keel ]] || { echo "bench/series_compare_prometheus.sh: $keel is not an executable; build keel or give --keel" >&2; exit 2; }
for tool in prometheus prometheus-node-exporter promtool; do
  command -v "$tool" >/dev/null || { echo "bench/series_compare_prometheus.sh: $tool not found; run scripts/setup" >&2; exit 2; }
done
node_pid="" prom_pid=""
if [[ -z $work ]]; then
  work=$(mktemp -d)
  trap 'stop "$prom_pid"; stop "$node_pid"; rm -rf "$work"' EXIT
else
  trap 'stop "$prom_pid"; stop "$node_pid"' EXIT
fi
mkdir -p "$work/tsdb" "$work/blocks"
node_port=$(free_port)
prom_port=$(free_port)
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$node_port']}]
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:$prom_port']}]
YAML
prometheus-node-exporter --web.listen-address="127.0.0.1:$node_port" >"$work/node.log" 2>&1 &
node_pid=$!
start_prometheus "$work" "$prom_port"
wait_ready 60 prometheus "http://127.0.0.1:$prom_port" "$prom_pid" ||
  { tail -5 "$work/prometheus.log" >&2; exit 1; }
echo "bench/series_compare_prometheus.sh: capturing for $seconds s in $work" >&2
sleep "$seconds"
stop "$prom_pid"; prom_pid=""
stop "$node_pid"; node_pid=""

promtool tsdb dump "$work/tsdb" >"$work/dump.txt"
python3 - "$work/dump.txt" "$work/capture.txt" "$work/capture.om" <<'PY'
import re, sys
line_re = re.compile(r'^\{(.*)\} (\S+) (-?\d+)$')
name_re = re.compile(r'__name__="((?:[^"\\]|\\.)*)"(, )?')
with open(sys.argv[1]) as src, open(sys.argv[2], 'w') as keel, open(sys.argv[3], 'w') as om:
    for line in src:
        m = line_re.match(line.rstrip('\n'))
        if not m:
            continue
        labels, value, ts = m.groups()
        nm = name_re.search(labels)
        rest = (labels[:nm.start()] + labels[nm.end():]).strip().rstrip(',').strip()
        rest = rest.replace('", ', '",')
        t = int(ts)
        keel.write('%s{%s} %s %d\n' % (nm.group(1), rest, value, t))
        om.write('%s{%s} %s %d.%03d\n' % (nm.group(1), rest, value, t // 1000, t % 1000))
    om.write('# EOF\n')
PY
promtool tsdb create-blocks-from openmetrics -q "$work/capture.om" "$work/blocks"
chunk_bytes=$(cat "$work"/blocks/*/chunks/* | wc -c)
samples=$(grep -c . "$work/capture.txt")
keel_json=$("$keel" bench series --input "$work/capture.txt" --json 2>/dev/null)
python3 - "$chunk_bytes" "$samples" "$keel_json" <<'PY'
import json, sys
prom = int(sys.argv[1]) / int(sys.argv[2])
keel = json.loads(sys.argv[3])
print(json.dumps({"samples": int(sys.argv[2]), "series": keel["series"],
                  "prometheus_chunk_file_bytes": int(sys.argv[1]),
                  "prometheus_bytes_per_sample": prom,
                  "keel_encoded_bytes": keel["encoded_bytes"],
                  "keel_chunk_bytes": keel["chunk_bytes"],
                  "keel_bytes_per_sample": keel["bytes_per_sample"],
                  "ratio": keel["bytes_per_sample"] / prom}))
PY
