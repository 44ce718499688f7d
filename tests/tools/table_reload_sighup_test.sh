#!/bin/bash
# keel serve reloads its tables on SIGHUP (systemctl reload): the answers
# switch to the new file's and the server keeps running; a refused file
# keeps the old answers, with a log line naming the file and line and the
# failure counted on /metrics.
# Usage: table_reload_sighup_test.sh SOURCE_DIR BUILD_DIR KEEL_BINARY
set -u
src=$1
keel=$3
# shellcheck source=scripts/lib/processes.sh
source "$src/scripts/lib/processes.sh"
work=$(mktemp -d)
pid=""
trap 'stop "$pid"; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; [[ -f $work/serve.log ]] && cat "$work/serve.log"; exit 1; }

feed() { printf '1.0.0.0\t1.0.0.255\t%s\tAU\tExample\n' "$1" >"$work/next.tsv" && mv "$work/next.tsv" "$work/ip2asn.tsv"; }
feed 13335
port=$(free_port)
url="http://127.0.0.1:$port"
"$keel" serve --listen "127.0.0.1:$port" --ip2asn "$work/ip2asn.tsv" --threads 4 2>"$work/serve.log" &
pid=$!
wait_ready 60 keel "$url" "$pid" || fail "keel serve did not start"
asn() { curl -sf "$url/v1/lookup?ip=1.0.0.1" | sed -n 's/.*"asn":\([0-9]*\),.*/\1/p'; }
# Waits (at most 30 s) for the log to hold $1 lines matching $2.
logged() {
  for _ in $(seq 300); do
    (($(grep -c "$2" "$work/serve.log") >= $1)) && return 0
    kill -0 "$pid" 2>/dev/null || fail "keel serve exited"
    sleep 0.1
  done
  return 1
}
[[ $(asn) == 13335 ]] || fail "first answer: $(asn)"

feed 64500
kill -HUP "$pid"
logged 1 'tables reloaded in' || fail "no reload logged after SIGHUP"
[[ $(asn) == 64500 ]] || fail "after SIGHUP: AS $(asn), want 64500"

printf '1.0.0.0\tnot-an-address\t1\tAU\tBad\n' >"$work/next.tsv" && mv "$work/next.tsv" "$work/ip2asn.tsv"
kill -HUP "$pid"
logged 1 'table reload failed' || fail "no failure logged after SIGHUP on a bad file"
grep -q "table reload failed, the previous tables stay served: ip2asn: $work/ip2asn.tsv:1: " "$work/serve.log" ||
  fail "the failure does not name the file and line"
[[ $(asn) == 64500 ]] || fail "after a failed reload: AS $(asn), want 64500"
metrics=$(curl -sf "$url/metrics") || fail "GET /metrics"
grep -qx 'keel_table_reloads_total{table="ip2asn"} 1' <<<"$metrics" || fail "reloads not counted"
grep -qx 'keel_table_reload_failures_total{table="ip2asn"} 1' <<<"$metrics" || fail "failure not counted"

stop "$pid"
pid=""
[[ $stopped_rc == 0 ]] || fail "keel serve exited $stopped_rc after SIGTERM"
echo "ok: SIGHUP reloads, a bad file keeps the old table"
