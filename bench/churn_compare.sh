#!/usr/bin/env bash
# Runs keel churn three ways (keel's default, the naive layout under the
# store's jemalloc arena, the naive layout under glibc malloc) and draws their
# RSS over simulated time in one plot, as docs/churn.md shows.
#
#   bench/churn_compare.sh [KEEL] [OUT_DIR]   # default build/keel, /tmp/churn
#
# Writes OUT_DIR/<run>.jsonl (the runs' own output) and OUT_DIR/churn.png,
# and prints each run's summary line.
set -euo pipefail
keel=${1:-build/keel}
out=${2:-/tmp/churn}
for tool in gnuplot jq; do
  command -v "$tool" >/dev/null || { echo "churn_compare: $tool is missing (scripts/setup installs it)" >&2; exit 1; }
done
mkdir -p "$out"
runs=(
  "keel|keel: sizeclass, chronological, arena|"
  "naive-arena|naive: exact, random, jemalloc arena|--restore exact --order random"
  "naive-malloc|naive: exact, random, glibc malloc|--restore exact --order random --allocator malloc"
)
plot=""
for run in "${runs[@]}"; do
  IFS='|' read -r name title flags <<<"$run"
  # shellcheck disable=SC2086  # flags are words
  "$keel" churn $flags >"$out/$name.jsonl"
  echo "$name: $(tail -n 1 "$out/$name.jsonl")"
  jq -r 'select(.hour) | "\(.hour)\t\(.rss_bytes / 1048576)\t\(.live_bytes / 1048576)"' \
    "$out/$name.jsonl" >"$out/$name.tsv"
  plot+="'$out/$name.tsv' using 1:2 with linespoints lw 2 title '$title (RSS)', "
done
restart=$(jq -r 'select(.phase == "before") | .hour' "$out/keel.jsonl" | tail -n 1)
gnuplot <<GNUPLOT
set terminal pngcairo size 1000,560
set output '$out/churn.png'
set title 'keel churn: RSS over simulated time (20k series, 4 h windows, 8 kept; snapshot + restart at hour $restart)'
set xlabel 'simulated hour'
set ylabel 'MiB'
set grid dt 3 lc rgb '#dddddd'
set key top left
set yrange [0:*]
set arrow from $restart, graph 0 to $restart, graph 1 nohead dt 2
plot ${plot}'$out/keel.tsv' using 1:3 with lines dt 3 lw 2 title 'live bytes (all runs)'
GNUPLOT
echo "plot: $out/churn.png"
