#!/usr/bin/env bash
# keel alloc probe and keel stats, as issue 2 asks them to show.
set -euo pipefail
keel=$3

check() {  # check JSON PYTHON-EXPRESSION DESCRIPTION
  python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$1" \
    || { echo "FAILED: $3"; echo "$1"; exit 1; }
  echo "ok: $3"
}

all=$("$keel" alloc probe --json)
check "$all" 'j["size"]==100 and j["size_class"]==112 and j["count"]==1000000' "defaults"
check "$all" 'j["after_alloc"]["allocated"]==112000000' "allocated is count x class size"
check "$all" 'j["after_free"]["allocated"]==j["before"]["allocated"]' "allocated back to before after freeing all"
check "$all" 'j["after_alloc"]["resident"]-j["after_purge"]["resident"] >= 0.95*(j["after_alloc"]["resident"]-j["before"]["resident"])' "purge gives back >= 95% of what the allocations added"
check "$all" 'j["purged_bytes"] > 0' "purged bytes reported"

half=$("$keel" alloc probe --free every-other --json)
check "$half" 'abs(j["class_utilization_after_free"]-0.5) <= 0.01' "every-other leaves utilization 0.5 +- 0.01"
check "$half" 'j["after_free"]["allocated"]==56000000' "half the bytes still allocated"

small=$("$keel" alloc probe --size 3000 --count 5000 --free all --json)
check "$small" 'j["size_class"]==3072 and j["after_alloc"]["allocated"]==5000*3072' "other sizes"

if "$keel" alloc probe --free some >/dev/null 2>&1; then echo "FAILED: bad --free accepted"; exit 1; fi
if "$keel" alloc probe --size 0 >/dev/null 2>&1; then echo "FAILED: --size 0 accepted"; exit 1; fi
echo "ok: bad flags refused"

"$keel" stats > "${TMPDIR:-/tmp}/keel-stats.$$"
promtool check metrics < "${TMPDIR:-/tmp}/keel-stats.$$"
grep -q '^keel_alloc_resident_bytes{arena="all"}' "${TMPDIR:-/tmp}/keel-stats.$$"
rm -f "${TMPDIR:-/tmp}/keel-stats.$$"
echo "ok: keel stats passes promtool check metrics"
