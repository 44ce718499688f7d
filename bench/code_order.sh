#!/usr/bin/env bash
# Regenerates tools/keel.order, the symbol ordering file keel is linked with
# (tools/CMakeLists.txt), with callgrind: first every function of the keel
# binary that `keel lookup --table IMAGE < addresses` runs, startup
# included; then those a series store's life runs beyond them (`keel churn`,
# small: appends, sealing, retention, defragmentation, a snapshot written
# and restored), which keel serve runs too. lld places them in that order at
# the front of the text, so the code a lookup runs sits in a few dozen pages
# and the store's in the ones after, rather than spread over the whole
# binary, each page mapping its neighbours in with it (the kernel's
# fault-around). A stale list only costs that gain: missing symbols are
# skipped.
#
#   bench/code_order.sh [--keel build/keel] [--data tools/data]
#
# --data names the folder of ip2asn-v4.tsv and ip2asn-v6.tsv; the full feeds
# (the README's figures were taken with them) find more of the lookup's
# code paths than the bundled subset.
set -euo pipefail
cd "$(dirname "$0")/.."

keel=build/keel data=tools/data
while (($#)); do
  case $1 in
    --keel) keel=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "usage: bench/code_order.sh [--keel build/keel] [--data DIR]" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "bench/code_order.sh: needs valgrind" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$keel" table compile --out "$work/table.keel" "$data/ip2asn-v4.tsv" "$data/ip2asn-v6.tsv" >/dev/null
bench/random_addresses.py 20000 "$data/ip2asn-v6.tsv" >"$work/addresses"
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind" \
  "$keel" lookup --table "$work/table.keel" <"$work/addresses" >/dev/null 2>"$work/valgrind.log"
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/callgrind-churn" \
  "$keel" churn --series 200 --turnover 0.1 --hours-before-restart 36 \
  --hours-after-restart 8 --snapshot "$work/churn.snap" >/dev/null 2>>"$work/valgrind.log"
binary=$(realpath "$keel")
# Lines read "  COST (PCT)  FILE:SYMBOL [OBJECT]"; keep the binary's own.
functions() {
  callgrind_annotate --threshold=100 "$1" |
    sed -n "s|^ *[0-9,]* ([ 0-9.]*%)  [^:]*:\([^ ]*\) \[$binary\]\$|\1|p" |
    grep -v "^0x" | sort -u
}
functions "$work/callgrind" >"$work/lookup"
functions "$work/callgrind-churn" | comm -23 - "$work/lookup" >"$work/store"
cat "$work/lookup" "$work/store" >tools/keel.order
echo "tools/keel.order: $(wc -l <"$work/lookup") functions of a lookup, then $(wc -l <"$work/store") of a store"
