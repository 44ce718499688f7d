#!/usr/bin/env bash
# diagnostics/grafana/keel.json against a running keel serve: a real
# Prometheus (Debian package) scrapes keel's /metrics every second and
# remote-writes into keel, so keel holds its own metrics; then every
# variable's label_values() and every panel's expression, with the variables
# set as Grafana would, is evaluated through keel's /api/v1/query_range (or
# /api/v1/query for instant targets). Any error or empty answer fails, naming
# the panel. The dashboard's shape is checked too: schemaVersion, the
# datasource variable every query uses, unique ids, panels within the grid.
set -euo pipefail
src=$1 keel=$3
dashboard=$src/diagnostics/grafana/keel.json

source "$src/scripts/lib/processes.sh"
server_test_start
command -v prometheus >/dev/null || fail "prometheus not installed (Debian: prometheus)"

python3 - "$dashboard" <<'PY' || fail "the dashboard's shape"
import json, sys
d = json.load(open(sys.argv[1]))
errors = []
if d.get("schemaVersion", 0) < 37:
    errors.append(f"schemaVersion {d.get('schemaVersion')} < 37")
variables = {v["name"]: v for v in d["templating"]["list"]}
ds = variables.get("datasource", {})
if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
    errors.append("no Prometheus datasource variable named datasource")
ids = set()
for p in d["panels"]:
    if p["id"] in ids:
        errors.append(f"panel id {p['id']} twice")
    ids.add(p["id"])
    g = p["gridPos"]
    if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24:
        errors.append(f"panel {p['title']!r} outside the 24-column grid")
    if p["type"] == "row":
        continue
    targets = p.get("targets", [])
    if not targets:
        errors.append(f"panel {p['title']!r} has no query")
    for t in [p] + targets:
        if t.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
            errors.append(f"panel {p['title']!r} does not use the datasource variable")
    if len({t["refId"] for t in targets}) != len(targets):
        errors.append(f"panel {p['title']!r}: refIds repeat")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
echo "ok: schemaVersion, datasource variable, ids and grid"

kport=$(free_port)
pport=$(free_port)
keel_url="http://127.0.0.1:$kport"
"$keel" serve --config "$src/tools/data/serve.conf" --listen "127.0.0.1:$kport" \
  --data-dir "$work/data" --snapshot-interval 1h 2>"$work/keel.log" &
keel_pid=$!
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: keel
    static_configs: [{targets: ["127.0.0.1:$kport"]}]
remote_write:
  - url: $keel_url/api/v1/write
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
YAML
start_prometheus "$work" "$pport"
wait_ready 30 keel "$keel_url" "$keel_pid" prometheus "http://127.0.0.1:$pport" "$prom_pid" ||
  fail "servers not ready"
# A snapshot and a few lookups, so that the snapshot and lookup families
# have something to show.
curl -sf -X POST "$keel_url/v1/snapshot" >/dev/null || fail "POST /v1/snapshot"
for ip in 1.1.1.1 8.8.8.8 9.9.9.9 2606:4700::1; do
  curl -sf "$keel_url/v1/lookup?ip=$ip" >/dev/null || fail "lookup $ip"
done

# Until keel holds at least 8 scrapes of itself (the rate windows below are
# 20 s): 40 s at most.
points=0
for _ in $(seq 80); do
  points=$(curl -s -G "$keel_url/api/v1/query" \
    --data-urlencode 'query=count_over_time(keel_series{job="keel"}[20s])' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
  [[ $points -ge 8 ]] && break
  kill -0 "$prom_pid" 2>/dev/null || fail "prometheus exited"
  kill -0 "$keel_pid" 2>/dev/null || fail "keel serve exited"
  sleep 0.5
done
[[ $points -ge 8 ]] || fail "keel holds $points scrapes of its own metrics after 40 s"
echo "ok: keel holds $points scrapes of its own /metrics, remote-written by Prometheus"

python3 - "$dashboard" "$keel_url" <<'PY' || fail "dashboard queries"
import json, re, sys, time, urllib.parse, urllib.request
d = json.load(open(sys.argv[1]))
url = sys.argv[2]

def get(path, **params):
    query = urllib.parse.urlencode(params, doseq=True)
    try:
        with urllib.request.urlopen(f"{url}{path}?{query}", timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)

# Variables, in order, as Grafana sets them: a single-valued one takes the
# first value of its label_values(), an "All" one its allValue.
values = {"__rate_interval": "20s", "__interval": "5s", "__range": "30s"}
def substitute(text):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), m.group(0)), text)
failures = []
for v in d["templating"]["list"]:
    if v["type"] != "query":
        continue
    m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", v["query"]["query"])
    if not m:
        failures.append(f"variable {v['name']}: not label_values(SELECTOR, LABEL)")
        continue
    answer = get(f"/api/v1/label/{m.group(2)}/values", **{"match[]": substitute(m.group(1))})
    found = answer.get("data") or []
    if answer.get("status") != "success" or not found:
        failures.append(f"variable {v['name']}: {v['query']['query']}: {answer}")
        continue
    values[v["name"]] = v["allValue"] if v.get("includeAll") else found[0]
print("variables:", {k: values[k] for k in values if not k.startswith("__")})

now = time.time()
count = 0
for p in d["panels"]:
    for t in p.get("targets", []):
        expr = substitute(t["expr"])
        if t.get("instant"):
            answer = get("/api/v1/query", query=expr, time=now)
        else:
            answer = get("/api/v1/query_range", query=expr, start=now - 30, end=now, step=5)
        count += 1
        if answer.get("status") != "success":
            failures.append(f"panel {p['title']!r} {t['refId']}: {answer.get('error')}: {expr}")
        elif not answer["data"]["result"]:
            failures.append(f"panel {p['title']!r} {t['refId']}: empty: {expr}")
for f in failures:
    print("FAILED:", f)
print(f"{count - len(failures)} of {count} panel queries answered, {len(failures)} failed")
sys.exit(1 if failures else 0)
PY
echo "ok: every variable and panel query answers through keel"
echo "grafana_dashboard_test: passed"
