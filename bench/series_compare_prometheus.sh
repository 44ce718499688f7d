#!/bin/bash
# Compares keel's chunk memory with Prometheus' own chunks on a real capture
# (the SeriesStore issue's second yardstick).
#
#   bench/series_compare_prometheus.sh KEEL_BINARY WORKDIR [MINUTES]
#
# Starts Debian's prometheus-node-exporter and prometheus (scraping both
# every second) on loopback ports 19100/19090 for MINUTES (default 12),
# dumps the TSDB with `promtool tsdb dump`, writes the samples in keel's
# import format (ms) and in OpenMetrics (s), builds blocks from the latter
# with `promtool tsdb create-blocks-from openmetrics`, and prints one JSON
# line: Prometheus' chunk file bytes per sample, keel's `bench series
# --input` bytes_per_sample (what its allocator holds for chunks), and their
# ratio.
set -euo pipefail
for tool in prometheus prometheus-node-exporter promtool; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found; run scripts/setup" >&2; exit 2; }
done
keel=$1
work=$2
minutes=${3:-12}
mkdir -p "$work/data" "$work/blocks"
cat > "$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:19100']}]
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:19090']}]
YAML
prometheus-node-exporter --web.listen-address=127.0.0.1:19100 >"$work/node.log" 2>&1 &
node_pid=$!
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address=127.0.0.1:19090 >"$work/prometheus.log" 2>&1 &
prom_pid=$!
sleep $((minutes * 60))
kill "$prom_pid"; wait "$prom_pid" || true
kill "$node_pid"; wait "$node_pid" || true

promtool tsdb dump "$work/data" >"$work/dump.txt"
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
