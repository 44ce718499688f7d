#!/usr/bin/env bash
# Writes keel's man pages into OUT_DIR with help2man, from the --help of the
# built binary: keel.1, then keel-COMMAND.1 for each command and group that
# `keel --help` lists, recursively (keel-bench.1, keel-bench-ranges.1). The
# pages are replaced as a whole, so a removed command leaves none behind.
#
#   tools/man_pages.sh build/keel build/man 0.1.0 help2man
set -euo pipefail
keel=$1 out=$2 version=$3 help2man=${4:-help2man}

# The commands `keel WORDS... --help` lists, "name<TAB>summary" a line.
subcommands() {
  "$keel" "$@" --help |
    awk '/^Subcommands:/ { on = 1; next }
         on && /^$/ { exit }
         on && /^  [^ ]/ { name = $1; sub(/^  [^ ]+ +/, ""); print name "\t" $0 }'
}

# The page of `keel WORDS...`, then those of the commands under it.
page() {
  local summary=$1
  shift
  local name=keel
  for word in "$@"; do name+=-$word; done
  "$help2man" --no-info --section=1 --source="keel $version" \
    --version-string="$name $version" --name="$summary" \
    --help-option="$* --help" --output="$tmp/$name.1" "$keel"
  local sub sub_summary
  while IFS=$'\t' read -r sub sub_summary; do
    page "$sub_summary" "$@" "$sub"
  done < <(subcommands "$@")
}

mkdir -p "$out"
tmp=$(mktemp -d "$out/.pages.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
page "IP lookup tables, a Prometheus-like series store, arena diagnostics"
count=$(find "$tmp" -name '*.1' | wc -l)
((count > 1)) || { echo "man_pages.sh: no command pages from $keel --help" >&2; exit 1; }
rm -f "$out"/*.1
mv "$tmp"/*.1 "$out"/
