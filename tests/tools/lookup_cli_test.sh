#!/bin/bash
# keel lookup and keel table compile on the ip2asn fixtures: output format,
# stdin, bad addresses, images, and fields a table lacks.
# Usage: lookup_cli_test.sh SOURCE_DIR BUILD_DIR KEEL_BINARY
set -u
source_dir=$1
keel=$3
data=$source_dir/tests/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() {  # expect NAME EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    echo "FAIL $1"
    echo "  expected: $(printf '%q' "$2")"
    echo "  actual:   $(printf '%q' "$3")"
    failures=$((failures + 1))
  fi
}

tables=(--table "$data/ip2asn-v4-sample.tsv" --table "$data/ip2asn-v6-sample.tsv")
want=$'1.0.0.1\t13335\tAU\tCloudflare, Inc.\n0.0.0.0\t-\n2001::1\t6939\t-\tHurricane Electric LLC\n::\t-'
out=$("$keel" lookup "${tables[@]}" 1.0.0.1 0.0.0.0 2001::1 ::)
expect "positional lookups" "$want" "$out"

out=$(printf '1.0.0.1\n\n 0.0.0.0 \r\n2001::1\n::\n' | "$keel" lookup "${tables[@]}")
expect "stdin lookups" "$want" "$out"

out=$("$keel" lookup "${tables[@]}" 1.0.0.1 1.2.3 ::1 2>"$work/err")
code=$?
expect "bad address exit code" 1 "$code"
expect "bad address keeps the rest" $'1.0.0.1\t13335\tAU\tCloudflare, Inc.\n::1\t-' "$out"
expect "bad address on stderr" \
  $'1.2.3\terror: invalid IPv4 address "1.2.3": fewer than four parts' \
  "$(cat "$work/err")"

"$keel" table compile --out "$work/t.keel" "$data/ip2asn-v4-sample.tsv" \
  "$data/ip2asn-v6-sample.tsv" >"$work/compile.json"
expect "compile exit code" 0 $?
grep -q '"v4_rows":' "$work/compile.json" || { echo "FAIL compile JSON"; failures=$((failures + 1)); }
out=$("$keel" lookup --table "$work/t.keel" 1.0.0.1 0.0.0.0 2001::1 ::)
expect "image lookups" "$want" "$out"

out=$("$keel" lookup --table "$data/ip2asn-country-sample.csv" 1.0.0.1)
expect "country-only table" $'1.0.0.1\t-\tAU\t-' "$out"

printf '10.0.0.0,10.0.0.255,AU\n10.0.0.128,10.0.0.128,NZ\n' >"$work/nested.csv"
"$keel" lookup --table "$work/nested.csv" 10.0.0.1 >/dev/null 2>"$work/err"
expect "overlap refused by default" 1 $?
grep -q "nested.csv:2 (10.0.0.128-10.0.0.128) overlaps .*nested.csv:1" "$work/err" ||
  { echo "FAIL overlap message: $(cat "$work/err")"; failures=$((failures + 1)); }
out=$("$keel" lookup --table "$work/nested.csv" --overlap last 10.0.0.128 10.0.0.129)
expect "overlap last" $'10.0.0.128\t-\tNZ\t-\n10.0.0.129\t-\tAU\t-' "$out"
out=$("$keel" lookup --table "$work/nested.csv" --overlap first 10.0.0.128)
expect "overlap first" $'10.0.0.128\t-\tAU\t-' "$out"

# More addresses than one batch, the families interleaved, a bad address in
# the middle: every answer in input order, as a linear scan of the feeds
# gives them (rows of AS 0 are gaps, a country of None is -), and the error
# after the answers before it.
addresses=()
for i in $(seq 0 139); do  # 280 addresses: a batch of 256 and a part
  addresses+=("1.0.$((i % 256)).$((i * 7 % 256))" "2001:$((i % 5))::$i")
done
addresses[133]=1.2.3
printf '%s\n' "${addresses[@]}" >"$work/many.txt"
"$keel" lookup --table "$work/t.keel" <"$work/many.txt" >"$work/batched" 2>&1
expect "batched exit code" 1 $?
python3 - "$work/many.txt" "$data/ip2asn-v4-sample.tsv" \
  "$data/ip2asn-v6-sample.tsv" >"$work/scanned" <<'PY'
import ipaddress, sys
rows = []
for path in sys.argv[2:]:
    for line in open(path, encoding="utf-8"):
        start, end, asn, country, name = line.rstrip("\n").split("\t")
        rows.append((ipaddress.ip_address(start), ipaddress.ip_address(end),
                     asn, country, name))
for text in open(sys.argv[1]).read().split():
    if text == "1.2.3":
        print('1.2.3\terror: invalid IPv4 address "1.2.3": fewer than four parts')
        continue
    a = ipaddress.ip_address(text)
    hit = [r for r in rows if r[0].version == a.version and r[0] <= a <= r[1]]
    if not hit or hit[0][2] == "0":
        print(f"{text}\t-")
        continue
    _, _, asn, country, name = hit[0]
    dash = lambda f: f if f and f != "None" else "-"
    print(f"{text}\t{asn}\t{dash(country)}\t{dash(name)}")
PY
expect "batched answers in input order" "$(cat "$work/scanned")" "$(cat "$work/batched")"

# A long bad line (within the 1 MiB line limit) is quoted to 100 bytes and
# its length, not echoed whole.
{ echo 1.0.0.1; head -c 500000 /dev/zero | tr '\0' x; echo; echo ::; } >"$work/long.txt"
out=$("$keel" lookup --table "$work/t.keel" <"$work/long.txt" 2>"$work/err")
expect "long bad line exit code" 1 $?
expect "long bad line keeps the rest" $'1.0.0.1\t13335\tAU\tCloudflare, Inc.\n::\t-' "$out"
err_bytes=$(wc -c <"$work/err")
((err_bytes < 400)) || { echo "FAIL long bad line: $err_bytes bytes on stderr"; failures=$((failures + 1)); }
grep -q "^x\{100\}\.\.\. (500000 bytes)"$'\t'"error: invalid IPv4 address" "$work/err" ||
  { echo "FAIL long bad line message: $(head -c 400 "$work/err")"; failures=$((failures + 1)); }

# A line past the limit (1 MiB) stops the reading with an error naming it.
{ echo 1.0.0.1; head -c 2000000 /dev/zero; } | "$keel" lookup --table "$work/t.keel" >"$work/out" 2>"$work/err"
expect "endless line exit code" 1 $?
expect "endless line answers what came before" $'1.0.0.1\t13335\tAU\tCloudflare, Inc.' "$(cat "$work/out")"
expect "endless line message" "keel lookup: stdin:2: line longer than the limit of 1048576 bytes" "$(cat "$work/err")"

# A repeated row is named a duplicate; an empty feed is refused by name.
printf '10.0.0.0,10.0.0.255,AU\n11.0.0.0,11.0.0.255,NZ\n10.0.0.0,10.0.0.255,AU\n' >"$work/twice.csv"
"$keel" table compile --out "$work/twice.keel" "$work/twice.csv" >/dev/null 2>"$work/err"
expect "duplicate row exit code" 1 $?
grep -q "twice.csv:3 (10.0.0.0-10.0.0.255) duplicates .*twice.csv:1 (the same range and values)" "$work/err" ||
  { echo "FAIL duplicate message: $(cat "$work/err")"; failures=$((failures + 1)); }
"$keel" table compile --out "$work/twice.keel" --overlap last "$work/twice.csv" >/dev/null
expect "duplicate row with --overlap last" 0 $?
: >"$work/empty.tsv"
"$keel" table compile --out "$work/empty.keel" "$data/ip2asn-v4-sample.tsv" "$work/empty.tsv" >/dev/null 2>"$work/err"
expect "empty feed exit code" 1 $?
expect "empty feed message" "keel table compile: $work/empty.tsv: no ranges (an empty feed)" "$(cat "$work/err")"
[[ ! -e $work/empty.keel ]] || { echo "FAIL empty feed wrote an image"; failures=$((failures + 1)); }

"$keel" lookup --table "$work/missing.tsv" 1.1.1.1 2>/dev/null
expect "missing table exit code" 1 $?
"$keel" lookup 1.1.1.1 2>/dev/null
expect "no table is a usage error" 2 $?

if ((failures > 0)); then
  echo "$failures failure(s)"
  exit 1
fi
echo "lookup CLI: all passed"
