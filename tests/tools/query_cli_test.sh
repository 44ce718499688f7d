#!/bin/bash
# keel query: PromQL against a snapshot, and against a running keel serve
# (--url) with the same answers, as JSON and as a table; errors and usage.
set -u
src=$1
keel=$3
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir "$tmp/data"
"$keel" series import "$src/tests/data/series_sample.txt" \
  --snapshot-out "$tmp/data/series.snap" >/dev/null || fail "import"
snap=$tmp/data/series.snap

out=$("$keel" query 'max(node_load1)' --time 1700000030 --snapshot "$snap") || fail "instant: exit $?"
want='{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000030,"0.61"]}]}}'
[[ $out == "$want" ]] || fail "instant: $out"

out=$("$keel" query 'node_load1{instance="10.0.0.1:9100"} * 2' --start 1700000000 \
  --end 1700000030 --step 15s --snapshot "$snap" --format table) || fail "range table: exit $?"
want=$'{instance="10.0.0.1:9100",job="node"}\t1700000000\t0.84
{instance="10.0.0.1:9100",job="node"}\t1700000015\t1.14
{instance="10.0.0.1:9100",job="node"}\t1700000030\t1.22'
[[ $out == "$want" ]] || fail "range table: $out"

out=$("$keel" query '1 / 0' --time 1700000000.5 --snapshot "$snap" --format table)
[[ $out == $'1700000000.500\t+Inf' ]] || fail "scalar table: $out"

err=$("$keel" query '1 +' --snapshot "$snap" 2>&1 >/dev/null)
rc=$?
[[ $rc == 1 && $err == *"1:4: parse error: unexpected end of input"* ]] || fail "syntax error: $rc $err"
"$keel" query 'up' >/dev/null 2>&1
[[ $? == 2 ]] || fail "no --snapshot or --url: want exit 2"
"$keel" query 'up' --snapshot "$snap" --start 1 >/dev/null 2>&1
[[ $? == 2 ]] || fail "--start alone: want exit 2"
"$keel" query 'up' --url ftp://x --format json >/dev/null 2>&1
[[ $? == 1 ]] || fail "bad url: want exit 1"

# The same snapshot served: --url answers as --snapshot does.
"$keel" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" --retention-windows 1000000 \
  --snapshot-interval 1h 2>"$tmp/serve.log" &
pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$tmp/serve.log")
  [[ -n $port ]] && break
  kill -0 "$pid" 2>/dev/null || fail "keel serve exited: $(cat "$tmp/serve.log")"
  sleep 0.1
done
[[ -n $port ]] || fail "keel serve did not start"
for q in 'max(node_load1)' 'rate(http_requests_total[1m])' 'sort_desc(up)' '"text"'; do
  for format in json table; do
    a=$("$keel" query "$q" --time 1700000030 --snapshot "$snap" --format $format) || fail "$q snapshot"
    b=$("$keel" query "$q" --time 1700000030 --url "http://127.0.0.1:$port" --format $format) || fail "$q url"
    [[ $a == "$b" ]] || fail "$q $format: snapshot $a, url $b"
  done
done
a=$("$keel" query 'node_load1' --start 1700000000 --end 1700000030 --step 10 --snapshot "$snap")
b=$("$keel" query 'node_load1' --start 1700000000 --end 1700000030 --step 10 --url "http://127.0.0.1:$port")
[[ $a == "$b" && $a == *'"resultType":"matrix"'* ]] || fail "range: snapshot $a, url $b"
err=$("$keel" query 'rate(up)' --url "http://127.0.0.1:$port" 2>&1 >/dev/null)
[[ $? == 1 && $err == *"HTTP 400"*"1:6: parse error"* ]] || fail "url error: $err"
echo "query_cli_test: passed"
