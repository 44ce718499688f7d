#!/usr/bin/env bash
# Heap profiles of a running keel serve (issue 17): started with
# --heap-profiling, under remote-write load from `keel bench flood`,
# GET /debug/pprof/heap?seconds=3 answers jemalloc's dump, and jeprof's text
# top list of it (inuse and --alloc_space) names keel's own functions. Also:
# a bad `seconds` answers 400, a second profile while one runs 409, SIGTERM
# ends a long window at once (the server stops cleanly), and a server
# started without the flag answers 404 saying how to start it (401 first
# without its token).
#
# Release builds only: a sanitizer's malloc replaces jemalloc's, so it
# samples nothing (SKIP); a keel built without the benchmarks has no load
# generator (SKIP). jeprof comes with libjemalloc-dev (scripts/setup).
# Usage: heap_profile_test.sh SOURCE_DIR BUILD_DIR KEEL_BINARY
set -euo pipefail
src=$1 build=$2 keel=$3
serve_binary=$(dirname "$keel")/keel-serve

if grep -q '^KEEL_SANITIZE:STRING=.\+' "$build/CMakeCache.txt"; then
  echo "SKIP: a sanitizer build's malloc is not jemalloc's"
  exit 0
fi
if ! "$keel" bench flood --help >/dev/null 2>&1; then
  echo "SKIP: keel built without benchmarks (KEEL_BUILD_BENCH=OFF): no load generator"
  exit 0
fi
command -v jeprof >/dev/null || { echo "FAILED: jeprof not installed (libjemalloc-dev; scripts/setup)"; exit 1; }

source "$src/scripts/lib/processes.sh"
server_test_start
# status URL [CURL-ARG...]: the HTTP status of a GET, its body in $work/body.
status() { curl -s -o "$work/body" -w '%{http_code}' "$@" || true; }

port=$(free_port)
url="http://127.0.0.1:$port"
# The bundled tables: the flood probes lookups too.
"$keel" serve --config "$src/tools/data/serve.conf" --listen "127.0.0.1:$port" \
  --heap-profiling --threads 8 2>"$work/keel.log" &
keel_pid=$!
wait_ready 60 keel "$url" "$keel_pid" || fail "keel serve --heap-profiling did not start"
grep -q 'heap-profiling: restarting with MALLOC_CONF=prof:true,prof_active:false,prof_accum:true' \
  "$work/keel.log" || fail "no re-run with jemalloc's profiling logged"

[[ $(status "$url/debug/pprof/heap?seconds=301") == 400 ]] || fail "seconds=301: want 400"
grep -q 'seconds: want a whole number from 0 to 300, got \\"301\\"' "$work/body" ||
  fail "the 400 does not name the parameter: $(cat "$work/body")"

# The load: new series in requests of 2,000 from two writers, for the
# whole window and a second either side.
"$keel" bench flood --url "$url" --pid "$keel_pid" --series 100000000 \
  --series-per-request 2000 --writers 2 --queriers 0 --seconds 5 \
  >"$work/flood.json" 2>"$work/flood.log" &
flood_pid=$!
extra_pids+=("$flood_pid")
sleep 1
curl -s -o "$work/heap.prof" -D "$work/heap.headers" -w '%{http_code}' \
  "$url/debug/pprof/heap?seconds=3" >"$work/heap.status" &
profile_pid=$!
sleep 0.5
[[ $(status "$url/debug/pprof/heap?seconds=0") == 409 ]] ||
  fail "a second profile during the window: want 409"
wait "$profile_pid" || fail "curl of the profile failed"
# Its exit status says whether its own read-back check passed, which is not
# this test's business; what matters is that it wrote during the window.
wait "$flood_pid" || true
[[ $(cat "$work/heap.status") == 200 ]] || fail "profile: HTTP $(cat "$work/heap.status")"
grep -qi '^content-type: application/octet-stream' "$work/heap.headers" || fail "not octet-stream"
grep -qi '^content-disposition: attachment; filename="keel-heap-' "$work/heap.headers" ||
  fail "no Content-Disposition"
head -c 9 "$work/heap.prof" | grep -q 'heap_v2/' || fail "not a jemalloc heap_v2 dump: $(head -c 200 "$work/heap.prof")"
grep -q '"acknowledged_series":[1-9]' "$work/flood.json" ||
  fail "the flood acknowledged nothing: $(cat "$work/flood.json")"

# top_list MODE FLAG...: jeprof's text top list, in $work/top-MODE.txt,
# read as docs/heap_profiles.md says: without jemalloc's own frames, so
# that each sample's flat bytes land on the function that allocated.
internal='prof_backtrace_impl|^je_|fallback_impl|^operator new'
top_list() {
  local mode=$1
  shift
  jeprof --text --exclude="$internal" "$@" "$serve_binary" "$work/heap.prof" >"$work/top-$mode.txt" 2>"$work/jeprof-$mode.log" ||
    fail "jeprof --text $* failed: $(cat "$work/jeprof-$mode.log")"
  grep -q '^Total: [0-9.]* MB' "$work/top-$mode.txt" || fail "no total in the $mode list: $(head "$work/top-$mode.txt")"
  awk '/^Total:/ { exit !($2 > 0) }' "$work/top-$mode.txt" || fail "the $mode profile is empty: $(head "$work/top-$mode.txt")"
}
top_list inuse
top_list alloc --alloc_space
echo "--- inuse top list"; head -n 12 "$work/top-inuse.txt"
echo "--- alloc_space top list"; head -n 12 "$work/top-alloc.txt"
# Every row is "flat flat% sum% cum cum% function". What the load keeps
# lives in the series store; what it allocates comes, flat, from keel's
# own functions (the remote-write handler's, the store's).
grep -Eq '% keel::core::(core_internal::)?SeriesStore' "$work/top-inuse.txt" ||
  fail "the inuse top list does not name the series store"
awk '$6 ~ /^keel::/ && $1 > 0 { found = 1 } END { exit !found }' "$work/top-alloc.txt" ||
  fail "no keel function allocates (flat) in the alloc_space top list"

# A window of 300 s does not hold up SIGTERM: the server cancels it.
curl -s -o /dev/null "$url/debug/pprof/heap?seconds=300" &
extra_pids+=("$!")
sleep 0.5
start=$SECONDS
stop "$keel_pid"
keel_pid=""
((stopped_rc == 0)) || fail "keel serve exited $stopped_rc after SIGTERM during a window"
((SECONDS - start < 10)) || fail "SIGTERM waited $((SECONDS - start)) s for the window"

printf 'secret-token\n' >"$work/token"
port=$(free_port)
url="http://127.0.0.1:$port"
"$keel" serve --listen "127.0.0.1:$port" --threads 4 --auth-token-file "$work/token" \
  2>"$work/keel-plain.log" &
keel_pid=$!
wait_ready 60 keel "$url" "$keel_pid" || fail "keel serve did not start"
[[ $(status "$url/debug/pprof/heap?seconds=0") == 401 ]] || fail "no token: want 401"
[[ $(status -H 'Authorization: Bearer secret-token' "$url/debug/pprof/heap?seconds=0") == 404 ]] ||
  fail "without --heap-profiling: want 404"
grep -q -- '--heap-profiling' "$work/body" || fail "the 404 does not say how to start: $(cat "$work/body")"
echo "ok: heap profile under remote-write load read by jeprof; 400, 401, 404, 409 and SIGTERM during a window"
