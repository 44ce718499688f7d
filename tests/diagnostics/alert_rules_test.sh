#!/usr/bin/env bash
# diagnostics/alerts/keel.rules.yml: `promtool check rules` accepts it and
# `promtool test rules` passes keel.rules.test.yml, which fires and clears
# every alert; every alert has a test, and every metric a rule reads is one
# keel serve exports (or one of the families named below, which the server
# adds as issue 16 lands), so that a renamed metric cannot leave a rule
# silently empty.
set -euo pipefail
src=$1 keel=$3
alerts=$src/diagnostics/alerts

fail() { echo "FAILED: $*"; exit 1; }
command -v promtool >/dev/null || fail "promtool not installed (Debian: prometheus)"

promtool check rules "$alerts/keel.rules.yml" || fail "promtool check rules"
(cd "$alerts" && promtool test rules keel.rules.test.yml) || fail "promtool test rules"
echo "ok: promtool check rules and test rules pass"

names=$(sed -n 's/^ *- alert: *//p' "$alerts/keel.rules.yml")
[[ -n $names ]] || fail "no alert in keel.rules.yml"
for name in $names; do  # one case where it fires, one where it stays quiet
  cases=$(grep -A1 "alertname: $name$" "$alerts/keel.rules.test.yml")
  grep -q 'exp_alerts:$' <<<"$cases" || fail "no test case fires $name"
  grep -q 'exp_alerts: \[\]$' <<<"$cases" || fail "no test case keeps $name quiet"
done
echo "ok: every alert ($(wc -w <<<"$names")) is tested firing and quiet"

# The families the rules read, against what keel serve exports.
work=$(mktemp -d)
keel_pid=""
source "$src/scripts/lib/processes.sh"
trap 'stop "$keel_pid"; rm -rf "$work"' EXIT
port=$(free_port)
"$keel" serve --config "$src/tools/data/serve.conf" --listen "127.0.0.1:$port" \
  --data-dir "$work/data" --snapshot-interval 1h 2>"$work/keel.log" &
keel_pid=$!
wait_ready 20 keel "http://127.0.0.1:$port" "$keel_pid" || fail "keel serve: $(tail -5 "$work/keel.log")"
curl -sf -X POST "http://127.0.0.1:$port/v1/snapshot" >/dev/null || fail "POST /v1/snapshot"
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
# Every family the file names, in expressions and in the annotations that
# point the reader at other families.
used=$(grep -o '\b\(keel\|process\)_[a-z0-9_]*' "$alerts/keel.rules.yml" | sort -u)
missing=""
for name in $used; do
  grep -q "^${name}[ {]" "$work/metrics.txt" && continue
  missing+=" $name"
done
[[ -z $missing ]] || fail "rules read families keel serve does not export:$missing"
echo "ok: the rules name $(wc -w <<<"$used") families, each on keel serve's /metrics"
echo "alert_rules_test: passed"
