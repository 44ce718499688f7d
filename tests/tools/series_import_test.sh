#!/bin/bash
# keel series import: prints what it stored as JSON, from a file or stdin; a
# bad line fails with its file and line number; usage errors exit 2.
set -u
src=$1
keel=$3
fail() { echo "FAIL: $*"; exit 1; }

out=$("$keel" series import "$src/tests/data/series_sample.txt") || fail "import exited $?"
for want in '"appended":8' '"duplicates":1' '"conflicts":1' '"out_of_order":1' \
            '"series":4' '"samples":8' '"min_time":1700000000000' '"max_time":1700000030000'; do
  [[ $out == *"$want"* ]] || fail "missing $want in $out"
done

err=$("$keel" series import "$src/tests/data/series_bad_line.txt" 2>&1 >/dev/null)
rc=$?
[[ $rc == 1 ]] || fail "bad line: exit $rc, want 1"
[[ $err == *"series_bad_line.txt:4: at byte 14"* ]] || fail "bad line: $err"

# No file, or -, reads stdin: the same store as from the file.
from_stdin=$("$keel" series import <"$src/tests/data/series_sample.txt") || fail "stdin: exit $?"
from_dash=$(cat "$src/tests/data/series_sample.txt" | "$keel" series import -) || fail "-: exit $?"
for got in "$from_stdin" "$from_dash"; do
  [[ ${got#*\"lines\"} == "${out#*\"lines\"}" ]] || fail "stdin: $got, want as $out"
done
[[ $from_stdin == '{"file":"-",'* ]] || fail "stdin: file not named -: $from_stdin"
"$keel" series import a.txt b.txt >/dev/null 2>&1
rc=$?
[[ $rc == 2 ]] || fail "two files: exit $rc, want 2"
"$keel" series import /nonexistent/file.txt >/dev/null 2>&1
rc=$?
[[ $rc == 1 ]] || fail "missing file: exit $rc, want 1"
# An endless line on a pipe (valid lines, then NULs without a newline) is an
# error naming the line, and no snapshot is written: getline's allocation
# failure was once taken for the end of the file.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
err=$(cat "$src/tests/data/series_sample.txt" /dev/zero |
      "$keel" series import /dev/stdin --snapshot-out "$tmp/p.snap" 2>&1 >/dev/null)
rc=$?
lines=$(wc -l < "$src/tests/data/series_sample.txt")
[[ $rc == 1 ]] || fail "endless line: exit $rc, want 1 ($err)"
[[ $err == *"/dev/stdin:$((lines + 1)): line longer than the limit of 1048576 bytes"* ]] ||
  fail "endless line: $err"
[[ ! -e $tmp/p.snap ]] || fail "endless line: a snapshot was written"
echo PASS
