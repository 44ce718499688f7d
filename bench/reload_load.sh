#!/usr/bin/env bash
# Table reloads under load (issue 16), a measurement rather than a test:
# keel serve answers GET /v1/lookup to wrk (2 threads, 64 connections, each
# request a random routed IPv4 address) for --duration while its tables are
# reloaded every --interval from alternating feeds: the feeds of --data, and
# a variant of them with every AS number moved by one (same ranges, so every
# lookup stays a 200, but other answers). Each new feed is written beside the
# served one and renamed over it, as an operator would; the reloads
# alternate between POST /v1/reload and SIGHUP (then the server's log says
# when it is done).
#
# Prints one JSON line: wrk's requests and non-2xx answers (socket errors
# apart), the reloads done and how many of them switched the answer for a
# probe address to the new feed's, and RSS: after the first load, after a
# warm-up of the same load without reloads (the baseline: 64 connections'
# threads and allocator caches are part of serving), the highest sampled
# during the run (a reload holds two sets), and after the run, with the ratio after/baseline. Exits 1 when a
# request failed, an answer did not switch, or RSS after the run is more
# than 10% above the baseline.
#
# --log FILE keeps the server's log. --data names the folder of ip2asn-v4.tsv (and ip2asn-v6.tsv, pfx2as*.dat
# when present): the bundled tools/data by default; ../shared/data (or
# data/ after scripts/fetch-data) for full feeds.
#
#   bench/reload_load.sh                                   # build/keel, tools/data, 60 s
#   bench/reload_load.sh --data ../shared/data --duration 60 --interval 5
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/processes.sh

keel=build/keel data=tools/data duration=60 interval=5 warmup=10 log=""
while (($#)); do
  case $1 in
    --keel) keel=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --duration) duration=${2%s}; shift 2 ;;
    --interval) interval=${2%s}; shift 2 ;;
    --warmup) warmup=${2%s}; shift 2 ;;
    --log) log=$2; shift 2 ;;
    *) echo "usage: bench/reload_load.sh [--keel build/keel] [--data DIR] [--duration 60] [--interval 5] [--warmup 10] [--log FILE]" >&2; exit 2 ;;
  esac
done
[[ $duration =~ ^[0-9]+$ && $interval =~ ^[0-9]+$ && $warmup =~ ^[0-9]+$ && $interval -ge 1 && $duration -gt $interval ]] ||
  { echo "bench/reload_load.sh: --duration and --interval are whole seconds, interval >= 1 and < duration" >&2; exit 2; }
command -v wrk >/dev/null || { echo "bench/reload_load.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
[[ -x $keel ]] || { echo "bench/reload_load.sh: no $keel (cmake --build build --target keel keel-serve)" >&2; exit 2; }
[[ -f $data/ip2asn-v4.tsv ]] || { echo "bench/reload_load.sh: no $data/ip2asn-v4.tsv" >&2; exit 2; }

work=$(mktemp -d)
server_pid="" wrk_pid=""
cleanup() {
  [[ -n $wrk_pid ]] && kill "$wrk_pid" 2>/dev/null
  stop "$server_pid"
  [[ -n $log && -f $work/serve.log ]] && cp "$work/serve.log" "$log"
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The feeds: a/ as given, b/ with every AS number other than 0 moved by one
# (down, or up from 1, so it stays a valid nonzero AS).
mkdir -p "$work/a" "$work/b" "$work/live"
sources=("$data/ip2asn-v4.tsv")
[[ -f $data/ip2asn-v6.tsv ]] && sources+=("$data/ip2asn-v6.tsv")
pfx2as=$(find "$data" -maxdepth 1 -name 'pfx2as*.dat' | sort | head -1)
# As many worker threads as wrk's connections and a few for the reloads and
# probes: with the default 512, RSS climbs through any run as more threads
# serve a connection for the first time (each touches its stack and cache),
# reloads or not, and the warm-up would not be a baseline.
config=("listen = 127.0.0.1:$(free_port)" "threads = 72")
for f in "${sources[@]}"; do
  name=$(basename "$f")
  cp "$f" "$work/a/$name"
  awk -F'\t' 'BEGIN { OFS = "\t" } $3 != 0 { $3 = sprintf("%.0f", $3 > 1 ? $3 - 1 : 2) } { print }' "$f" >"$work/b/$name"
  config+=("ip2asn = $work/live/$name")
done
if [[ -n $pfx2as ]]; then
  cp "$pfx2as" "$work/a/pfx2as.dat"
  awk -F'\t' 'BEGIN { OFS = "\t" } /^[;#%]/ || NF < 2 { print; next } { $2 = sprintf("%.0f", $2 > 1 ? $2 - 1 : 2); print }' \
    "$pfx2as" >"$work/b/pfx2as.dat"
  config+=("pfx2as = $work/live/pfx2as.dat")
fi
printf '%s\n' "${config[@]}" >"$work/serve.conf"
# Serves feed $1 (a or b) from the next reload on: written beside, renamed over.
install_feed() {
  local f
  for f in "$work/$1"/*; do
    cp "$f" "$work/live/.next"
    mv "$work/live/.next" "$work/live/$(basename "$f")"
  done
}
install_feed a

# A probe address in a routed IPv4 row, and its AS in each feed.
read -r probe asn_a < <(awk -F'\t' '$3 > 1 && $1 !~ /:/ { print $1, $3; exit }' "$work/a/ip2asn-v4.tsv")
asn_b=$((asn_a - 1))

"$keel" serve --config "$work/serve.conf" 2>"$work/serve.log" &
server_pid=$!
url="http://$(sed -n 's/^listen = //p' "$work/serve.conf")"
wait_ready 600 keel "$url" "$server_pid" || { cat "$work/serve.log" >&2; exit 1; }

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"; }
asn_of_probe() { curl -sf "$url/v1/lookup?ip=$probe" | sed -n 's/.*"asn":\([0-9]*\),.*/\1/p'; }
# Reloads done, from the log: polling /metrics instead would spread scrapes
# over the worker threads, each warming its caches (RSS) for the first time.
reloads_logged() { grep -c 'tables reloaded in' "$work/serve.log" || true; }
rss_first_load=$(rss_mb)

# Routed IPv4 rows of the feed as start/end numbers, for wrk's pool (%.0f:
# mawk's %d stops at 2^31 - 1).
awk -F'\t' '$3 != 0 && $1 !~ /:/ {
  split($1, a, "."); split($2, b, ".");
  printf "%.0f %.0f\n", ((a[1]*256+a[2])*256+a[3])*256+a[4], ((b[1]*256+b[2])*256+b[3])*256+b[4] }' \
  "$work/a/ip2asn-v4.tsv" >"$work/ranges.txt"
cat >"$work/lookup.lua" <<LUA
local ranges = {}
for line in io.lines("$work/ranges.txt") do
  local first, last = line:match("(%d+) (%d+)")
  ranges[#ranges + 1] = {tonumber(first), tonumber(last)}
end
local pool, n = {}, 0
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for i = 1, 20000 do
    local r = ranges[math.random(#ranges)]
    local ip = math.random(r[1], r[2])
    pool[i] = wrk.format("GET", string.format("/v1/lookup?ip=%d.%d.%d.%d",
      math.floor(ip / 16777216) % 256, math.floor(ip / 65536) % 256,
      math.floor(ip / 256) % 256, ip % 256))
  end
end
request = function()
  n = n % #pool + 1
  return pool[n]
end
LUA
run_wrk() { wrk -t2 -c64 -d"${1}s" -s "$work/lookup.lua" "$url" >"$2" 2>&1; }
non2xx() { awk '/Non-2xx/ { print $5 }' "$1" | grep . || echo 0; }
socket_errors() { awk '/Socket errors/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$1" | grep . || echo 0; }
requests() { awk '/requests in/ { print $1 }' "$1"; }

# The warm-up sends what the run sends besides reloads (probes, which land
# on the threads wrk leaves free), so that the threads that will answer the
# reloads have their stacks and caches warm already.
if ((warmup > 0)); then
  run_wrk "$warmup" "$work/warmup.txt" &
  wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null; do
    asn_of_probe >/dev/null
    sleep 0.1
  done
  wait "$wrk_pid"
  wrk_pid=""
fi
rss_baseline=$(rss_mb)

run_wrk "$duration" "$work/wrk.txt" &
wrk_pid=$!
# The peak, two sets of tables and the parser's buffers, sampled every 0.1 s.
(while kill -0 "$wrk_pid" 2>/dev/null; do rss_mb; echo; sleep 0.1; done >"$work/rss.txt") &
sampler_pid=$!
start=$SECONDS reloads=0 switched=0 failed_reloads=0 feed=a
# A reload every interval from the start, the last one interval before the
# end of wrk's run.
while ((start + (reloads + 2) * interval <= start + duration)); do
  while ((SECONDS < start + (reloads + 1) * interval)); do sleep 0.1; done
  [[ $feed == a ]] && feed=b || feed=a
  install_feed "$feed"
  if ((reloads % 2 == 0)); then
    code=$(curl -s -o "$work/reload.json" -w '%{http_code}' -X POST "$url/v1/reload")
    [[ $code == 200 ]] || { failed_reloads=$((failed_reloads + 1)); cat "$work/reload.json" >&2; }
  else
    before=$(reloads_logged)
    kill -HUP "$server_pid"
    deadline=$((SECONDS + 60))
    while [[ $(reloads_logged) == "$before" ]] && ((SECONDS < deadline)); do sleep 0.05; done
    [[ $(reloads_logged) != "$before" ]] || failed_reloads=$((failed_reloads + 1))
  fi
  reloads=$((reloads + 1))
  want=$([[ $feed == a ]] && echo "$asn_a" || echo "$asn_b")
  [[ $(asn_of_probe) == "$want" ]] && switched=$((switched + 1))
done
wait "$wrk_pid"
wrk_pid=""
wait "$sampler_pid"
rss_after=$(rss_mb)
rss_max=$(sort -n "$work/rss.txt" | tail -1)

python3 - <<PY
import json, sys
baseline, after = $rss_baseline, $rss_after
report = {
    "data": "$data", "duration_s": $duration, "interval_s": $interval,
    "wrk": "-t2 -c64", "requests": int("$(requests "$work/wrk.txt")" or 0),
    "non_2xx": $(non2xx "$work/wrk.txt"), "socket_errors": $(socket_errors "$work/wrk.txt"),
    "reloads": $reloads, "reloads_failed": $failed_reloads, "answers_switched": $switched,
    "rss_mb_after_first_load": $rss_first_load, "rss_mb_after_warmup": baseline,
    "rss_mb_max_during_run": $rss_max, "rss_mb_after_run": after,
    "rss_after_over_baseline": round(after / baseline, 4),
}
print(json.dumps(report))
ok = (report["non_2xx"] == 0 and report["reloads"] > 0 and report["reloads_failed"] == 0
      and report["answers_switched"] == report["reloads"] and after <= 1.10 * baseline)
sys.exit(0 if ok else 1)
PY
