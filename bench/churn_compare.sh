#!/usr/bin/env bash
# Runs keel churn four ways without turnover (keel's default, which seals
# closed windows, keel without sealing, the naive layout under the store's
# jemalloc arena, the naive layout under glibc malloc) and three ways with 10%
# of the series replaced every hour (keel with and without sealing, and the
# naive run without defragmentation), and draws their RSS over simulated
# time in one plot of two panels, as docs/churn.md shows. The naive runs
# never seal: they stand for stores that keep every chunk as ingested.
#
#   bench/churn_compare.sh [KEEL] [OUT_DIR] [CHURN_FLAG...]
#   bench/churn_compare.sh                                 # build/keel, /tmp/churn
#   bench/churn_compare.sh build/keel /tmp/churn --series 2000
#
# CHURN_FLAGs (--series, --hours-before-restart, ...) go to every run.
# Writes OUT_DIR/<run>.jsonl (the runs' own output) and OUT_DIR/churn.png,
# and prints each run's summary line.
set -euo pipefail
keel=${1:-build/keel}
out=${2:-/tmp/churn}
shift $(($# < 2 ? $# : 2))
command -v gnuplot >/dev/null || { echo "churn_compare: gnuplot is missing (scripts/setup installs it)" >&2; exit 1; }
[[ -x $keel ]] || { echo "churn_compare: $keel is not an executable; build keel or name it first" >&2; exit 2; }
mkdir -p "$out"

# jsonl_columns FILE: the hourly points of a run as hour, RSS MiB, live MiB.
jsonl_columns() {
  python3 -c '
import json, sys
for line in open(sys.argv[1]):
    p = json.loads(line)
    if p.get("hour"):
        print("%s\t%s\t%s" % (p["hour"], p["rss_bytes"] / 1048576, p["live_bytes"] / 1048576))
' "$1"
}
runs=(
  "keel|keel: sizeclass, chronological, arena, sealed|"
  "keel-xor|keel without sealing|--seal off"
  "naive-arena|naive: exact, random, jemalloc arena|--seal off --restore exact --order random"
  "naive-malloc|naive: exact, random, glibc malloc|--seal off --restore exact --order random --allocator malloc"
)
turnover_runs=(
  "keel-turnover|keel: defragmented, sealed|--turnover 0.1"
  "keel-xor-turnover|keel without sealing|--turnover 0.1 --seal off"
  "naive-turnover|naive: no defragmentation, exact, random|--turnover 0.1 --seal off --defrag off --restore exact --order random"
)
# run_all PLOT_VAR RUN...: runs each, appending its RSS line to PLOT_VAR.
run_all() {
  local -n plot_ref=$1
  shift
  local run name title flags
  for run in "$@"; do
    IFS='|' read -r name title flags <<<"$run"
    # shellcheck disable=SC2086  # flags are words
    "$keel" churn $flags "${extra[@]}" >"$out/$name.jsonl"
    echo "$name: $(tail -n 1 "$out/$name.jsonl")"
    jsonl_columns "$out/$name.jsonl" >"$out/$name.tsv"
    plot_ref+="'$out/$name.tsv' using 1:2 with linespoints lw 2 title '$title (RSS)', "
  done
}
extra=("$@")
plot=""
turnover_plot=""
run_all plot "${runs[@]}"
run_all turnover_plot "${turnover_runs[@]}"
restart=$(python3 -c '
import json, sys
print([p["hour"] for p in map(json.loads, open(sys.argv[1])) if p.get("phase") == "before"][-1])
' "$out/keel.jsonl")
gnuplot <<GNUPLOT
set terminal pngcairo size 1000,1000
set output '$out/churn.png'
set multiplot layout 2,1
set xlabel 'simulated hour'
set ylabel 'MiB'
set grid dt 3 lc rgb '#dddddd'
set key top left
set yrange [0:*]
set arrow from $restart, graph 0 to $restart, graph 1 nohead dt 2
set title 'keel churn (${*:-20k series}): fixed series; 4 h windows, 8 kept; snapshot + restart at hour $restart'
plot ${plot}'$out/keel.tsv' using 1:3 with lines dt 3 lw 2 title 'live bytes (sealed)', '$out/keel-xor.tsv' using 1:3 with lines dt 3 lw 2 title 'live bytes (not sealed)'
set title 'the same with 10% of the series replaced every hour (--turnover 0.1)'
plot ${turnover_plot}'$out/keel-turnover.tsv' using 1:3 with lines dt 3 lw 2 title 'live bytes (keel, sealed)', '$out/keel-xor-turnover.tsv' using 1:3 with lines dt 3 lw 2 title 'live bytes (keel, not sealed)', '$out/naive-turnover.tsv' using 1:3 with lines dt 3 lw 2 title 'live bytes (naive)'
unset multiplot
GNUPLOT
echo "plot: $out/churn.png"
