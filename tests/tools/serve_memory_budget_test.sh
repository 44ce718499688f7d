#!/usr/bin/env bash
# keel serve --memory-limit under a remote-write flood (issue 17): the
# server's RSS stays under the limit x 1.05, the writer gets 429 with
# Retry-After, lookups answer and a costly query gets 422 at the limit; once
# retention frees memory every acknowledged sample of the kept series is
# there, no refused request left any, and writes are accepted again
# (tests/tools/memory_budget_flood.py does the client side and says which
# promise broke).
#
# Release builds only: a sanitizer's allocator changes what resident means
# (SKIP). Loopback only; every wait is bounded; the trap stops the server.
# KEEL_TEST_KEEP=1 keeps the work directory.
set -euo pipefail
src=$1 build=$2 keel=$3

if grep -q '^KEEL_SANITIZE:STRING=.\+' "$build/CMakeCache.txt"; then
  echo "SKIP: a sanitizer build's allocator is not jemalloc"
  exit 0
fi
source "$src/scripts/lib/processes.sh"
server_test_start

limit=$((160 << 20)) window_s=2 retention=2
port=$(free_port)
url="http://127.0.0.1:$port"
"$keel" serve --config "$src/tools/data/serve.conf" --listen "127.0.0.1:$port" \
  --memory-limit "$limit" --chunk-window "${window_s}s" \
  --retention-windows "$retention" 2>"$work/keel.log" &
keel_pid=$!  # keel serve execs keel-serve: the pid is the server's
wait_ready 30 keel "$url" "$keel_pid" || fail "keel serve did not start"
grep -q "memory budget: limit $limit bytes" "$work/keel.log" ||
  fail "keel serve did not log its memory budget"

python3 "$src/tests/tools/memory_budget_flood.py" "$url" "$keel_pid" "$limit" \
  "$window_s" "$retention" || fail "the memory budget broke a promise (above)"
echo "PASS"
