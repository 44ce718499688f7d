#!/bin/bash
# keel series import --snapshot-out, series dump, snapshot verify/inspect:
# import -> snapshot -> dump round-trips exactly; damage exits 1 with an
# offset. Args: SOURCE_DIR BUILD_DIR KEEL_BINARY.
set -euo pipefail
src=$1
keel=$3
fixture=$src/tests/data/snapshot_import.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$keel" series import "$fixture" --snapshot-out "$tmp/a.snap" > "$tmp/import.json"
"$keel" snapshot verify "$tmp/a.snap" > /dev/null || fail "verify of a fresh snapshot"
"$keel" snapshot inspect "$tmp/a.snap" > "$tmp/inspect.json"
grep -q '"version":2' "$tmp/inspect.json" || fail "inspect: no version"
grep -q '"series":12,' "$tmp/inspect.json" || fail "inspect: series count"
grep -q '"samples":300,' "$tmp/inspect.json" || fail "inspect: sample count"

"$keel" series dump --snapshot "$tmp/a.snap" > "$tmp/dump1.txt"
[ "$(wc -l < "$tmp/dump1.txt")" -eq 300 ] || fail "dump: expected 300 samples"
"$keel" series import "$tmp/dump1.txt" --snapshot-out "$tmp/b.snap" > /dev/null
"$keel" series dump --snapshot "$tmp/b.snap" > "$tmp/dump2.txt"
cmp "$tmp/dump1.txt" "$tmp/dump2.txt" || fail "dump does not round-trip"

# Every fixture sample appears in the dump with the same timestamp and the
# same value (compared as numbers parsed by python: bit-exact floats).
python3 - "$fixture" "$tmp/dump1.txt" <<'PY' || fail "dump differs from the import"
import math, re, struct, sys
def load(path):
    out = {}
    for line in open(path):
        if line.startswith('#') or not line.strip():
            continue
        head, value, t = line.rstrip('\n').rsplit(' ', 2)
        name, _, rest = head.partition('{')
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest)))
        v = float(value.replace('Inf', 'inf'))
        bits = 'nan' if math.isnan(v) else struct.pack('<d', v)
        out.setdefault((name, labels), []).append((int(t), bits))
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a == b, 'samples differ'
PY

# A flipped byte and a truncation: exit 1, naming the offset.
cp "$tmp/a.snap" "$tmp/bad.snap"
printf '\x55' | dd of="$tmp/bad.snap" bs=1 seek=200 conv=notrunc status=none
if "$keel" snapshot verify "$tmp/bad.snap" 2> "$tmp/err"; then fail "flipped byte passed"; fi
grep -q "offset" "$tmp/err" || fail "no offset in: $(cat "$tmp/err")"
head -c 300 "$tmp/a.snap" > "$tmp/short.snap"
set +e
"$keel" snapshot verify "$tmp/short.snap" 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "truncated file: exit $rc"
grep -q "truncated" "$tmp/err" || fail "no truncation reason in: $(cat "$tmp/err")"
if "$keel" series dump --snapshot "$tmp/short.snap" > /dev/null 2>&1; then
  fail "dump of a truncated file succeeded"
fi
# A FIFO is refused at once, not waited on (no writer ever comes).
mkfifo "$tmp/fifo"
set +e
timeout 20 "$keel" snapshot verify "$tmp/fifo" 2> "$tmp/err"
rc=$?
set -e
[ $rc -eq 1 ] || fail "verify of a FIFO: exit $rc"
grep -q "not a regular file" "$tmp/err" || fail "FIFO: $(cat "$tmp/err")"
echo ok
