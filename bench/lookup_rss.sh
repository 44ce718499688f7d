#!/usr/bin/env bash
# Peak resident memory of `keel lookup` answering addresses from stdin on a
# table image: the issue 3 budget is table_bytes + 4 MB (decimal) for one
# million random addresses. Compiles the image from the two ip2asn feeds,
# writes N addresses (half uniform IPv4, half IPv6 drawn from random rows of
# the IPv6 feed, so every part of the table is read; fixed seed), then runs
#   /usr/bin/time -f %M keel lookup --table IMAGE < addresses > /dev/null
# --runs times warm (files in the page cache as written) and --runs times
# cold (the keel binary's and the image's pages dropped from the page cache
# first, with posix_fadvise on those two files only). Prints one JSON line.
#
# --data names the folder of ip2asn-v4.tsv and ip2asn-v6.tsv: the bundled
# tools/data subset by default; the README's figures are of the full feeds
# (data/ after scripts/fetch-data, or ../shared/data).
#
#   bench/lookup_rss.sh                          # build/keel, tools/data
#   bench/lookup_rss.sh --keel build/keel --data ../shared/data --queries 1000000
set -euo pipefail
cd "$(dirname "$0")/.."

keel=build/keel data=tools/data queries=1000000 runs=3
while (($#)); do
  case $1 in
    --keel) keel=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --queries) queries=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "usage: bench/lookup_rss.sh [--keel build/keel] [--data DIR] [--queries N] [--runs N]" >&2; exit 2 ;;
  esac
done
[[ -x /usr/bin/time ]] || { echo "bench/lookup_rss.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
compiled=$("$keel" table compile --out "$work/table.keel" "$data/ip2asn-v4.tsv" "$data/ip2asn-v6.tsv")
table_bytes=$(sed -n 's/.*"table_bytes":\([0-9]*\).*/\1/p' <<<"$compiled")

bench/random_addresses.py "$queries" "$data/ip2asn-v6.tsv" >"$work/addresses"

evict() {
  python3 - "$@" <<'PY'
import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
}

peak() {  # peak RSS in KiB of one lookup run
  /usr/bin/time -f %M "$keel" lookup --table "$work/table.keel" <"$work/addresses" 2>&1 >/dev/null | tail -1
}

warm=() cold=()
for ((i = 0; i < runs; i++)); do warm+=("$(peak)"); done
for ((i = 0; i < runs; i++)); do
  evict "$keel" "$work/table.keel"
  cold+=("$(peak)")
done
budget=$((table_bytes + 4000000))
max=0
for k in "${warm[@]}" "${cold[@]}"; do ((k > max)) && max=$k; done
join() { local IFS=,; echo "$*"; }
echo "{\"queries\":$queries,\"table_bytes\":$table_bytes,\"budget_bytes\":$budget,\"peak_rss_kib_warm\":[$(join "${warm[@]}")],\"peak_rss_kib_cold\":[$(join "${cold[@]}")],\"max_peak_rss_bytes\":$((max * 1024)),\"within_budget\":$( ((max * 1024 <= budget)) && echo true || echo false)}"
