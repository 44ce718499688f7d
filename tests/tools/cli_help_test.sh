#!/bin/bash
# keel explains itself: `keel --version`; for every command that `keel --help`
# lists (recursively: `keel bench --help` lists the benchmarks; serve, stats
# and bench flood answer from keel-serve), `keel COMMAND --help` exits 0 and
# names exactly the flags listed below (the flags scripts, tests and the
# README use: renaming one breaks them), and the parser accepts each flag it
# names; a bad flag exits 2 naming the command's --help.
# Usage: cli_help_test.sh SOURCE_DIR BUILD_DIR KEEL_BINARY
set -u
keel=$3
fail() { echo "FAIL: $*"; exit 1; }

# Every command and its flags (besides -h,--help), in one place.
declare -A want=(
  ["alloc probe"]="--count --free --json --size"
  ["bench forward"]="--max-samples-per-send --samples-per-series --series --shards --sink --url"
  ["bench flood"]="--pid --queriers --seconds --series --series-per-request --url --writers"
  ["bench prefixes"]="--json --passes --queries --table"
  ["bench query"]="--data --hours --instances --json --keep --queries --reps --script"
  ["bench ranges"]="--json --overlap --queries --seed --table --verify"
  ["bench series"]="--chunk-window --input --json --samples-per-series --series"
  ["bench sealed-query"]="--chunk-window --input --json --reps"
  ["bench serve-memory"]="--scrapes --series --series-per-request --serve-flag --servers --settle-seconds --sustain-seconds --work --writers"
  ["bench snapshot"]="--chunk-window --chunks-per-series --input --json --path --seal --series"
  ["churn"]="--allocator --defrag --hours-after-restart --hours-before-restart --huge-pages --layout --order --plot --restore --seal --seed --series --snapshot --turnover"
  ["lookup"]="--overlap --table"
  ["prefix"]="--exact --less --longest --mask --more --skip-bad --table"
  ["query"]="--end --format --snapshot --start --step --time --url"
  ["serve"]="--auth-token-file --chunk-window --config --data-dir --heap-profiling --idle-timeout --import-max-bytes --ip2asn --listen --max-concurrent-queries --max-concurrent-writes --max-future --max-new-series-per-request --max-series --memory-limit --pfx2as --query-max-result-bytes --query-max-samples --query-timeout --read-timeout --remote-write --remote-write-queue-max-bytes --retention-windows --self-scrape-interval --snapshot-interval --snapshot-keep --snapshot-max-series-loss --threads --write-decoded-budget"
  ["series dump"]="--snapshot"
  ["series import"]="--snapshot-out"
  ["snapshot inspect"]=""
  ["snapshot verify"]=""
  ["stats"]=""
  ["table compile"]="--out --overlap"
)

version=$("$keel" --version) || fail "--version exited $?"
[[ $version =~ ^keel\ [0-9]+\.[0-9]+\.[0-9]+\ \(revision\ [0-9a-z]+\)$ ]] ||
  fail "--version printed \"$version\""

# The commands `keel WORDS... --help` lists, one a line.
subcommands() {
  awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit } on && /^  [^ ]/ { print $1 }'
}
# "--flag<TAB>VALUE" for each flag of a help text: VALUE is one the flag
# takes (its default, its first choice, its range's low end), empty for a
# switch.
flags() {
  grep -E '^ +--[a-z]' | grep -v -e '^ *-h,--help' | sed -E 's/^ +//' |
    awk '{
      flag = $1; rest = substr($0, length(flag) + 1); value = ""
      if (rest ~ /^ [A-Z]/) {
        value = "x"
        if (match(rest, /=[^ ]+/)) value = substr(rest, RSTART + 1, RLENGTH - 1)
        else if (match(rest, /:\{[^,}]+/)) value = substr(rest, RSTART + 2, RLENGTH - 2)
        else if (match(rest, /in \[[-0-9.]+/)) value = substr(rest, RSTART + 4, RLENGTH - 4)
        else if (rest ~ /^ (U?INT|FLOAT)/) value = 1
      }
      print flag "\t" value
    }'
}

seen=()
check() {  # WORDS...: one command or group, then those it lists
  local help
  help=$("$keel" "$@" --help) || fail "keel $* --help exited $?"
  [[ $help == *"Usage: keel${*:+ $*}"* ]] || fail "keel $* --help: no usage line"
  local subs
  subs=$(subcommands <<<"$help")
  if [[ -n $subs ]]; then
    local sub
    for sub in $subs; do check "$@" "$sub"; done
    return
  fi
  local name="$*"
  seen+=("$name")
  [[ -v want[$name] ]] || fail "keel $name: a command this test does not know"
  local listed got=() words=() flag value word
  listed=$(flags <<<"$help")
  while IFS=$'\t' read -r flag value; do
    [[ -n $flag ]] || continue
    got+=("$flag")
    word=$flag
    [[ -n $value ]] && word="$flag=$value"
    words+=("$word")
  done <<<"$listed"
  # Accepted: the parser takes each flag (with a value it allows) before
  # --help; all at once (a run each costs seconds under the sanitizers),
  # then one by one only to name the one refused.
  if ! "$keel" "$@" "${words[@]}" --help >/dev/null 2>&1; then
    for word in "${words[@]}"; do
      "$keel" "$@" "$word" --help >/dev/null 2>&1 ||
        fail "keel $name: $word --help exited $?, so ${word%%=*} is not accepted"
    done
    fail "keel $name: ${words[*]} --help is refused, though each flag alone is accepted"
  fi
  local sorted
  sorted=$(printf '%s\n' "${got[@]}" | sort | tr '\n' ' ')
  [[ ${sorted% } == "${want[$name]}" ]] ||
    fail "keel $name --help names \"${sorted% }\", want \"${want[$name]}\""
  # A flag it does not take: exit 2, naming the flag and the help to read.
  local err rc
  err=$("$keel" "$@" --no-such-flag 2>&1 >/dev/null)
  rc=$?
  [[ $rc == 2 ]] || fail "keel $name --no-such-flag: exit $rc, want 2"
  [[ $err == *"--no-such-flag"* && $err == *"keel $name --help"* ]] ||
    fail "keel $name --no-such-flag: \"$err\" names neither the flag nor the help"
  "$keel" "$@" --no-such-flag --help >/dev/null 2>&1
  rc=$?
  [[ $rc == 2 ]] || fail "keel $name --no-such-flag --help: exit $rc, want 2"
}
check

for name in "${!want[@]}"; do
  [[ " ${seen[*]/%/,} " == *" $name,"* ]] || fail "keel --help does not list \"$name\""
done

err=$("$keel" no-such-command 2>&1 >/dev/null)
rc=$?
[[ $rc == 2 && $err == *'unknown command "no-such-command"'* && $err == *"keel --help"* ]] ||
  fail "unknown command: exit $rc, \"$err\""
"$keel" >/dev/null 2>&1
[[ $? == 2 ]] || fail "keel alone: want exit 2"
"$keel" help lookup | grep -q -- '--table' || fail "keel help lookup: no --table"
echo "cli help: ${#seen[@]} commands"
echo PASS
