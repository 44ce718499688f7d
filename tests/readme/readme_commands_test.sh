#!/usr/bin/env bash
# Every command in README.md's ```sh blocks, run as written from the
# repository root, passes: each one exits 0 within its time limit, or the
# test fails naming its README line. Commands that cannot run in a test are
# listed with the reason in tests/readme/skipped.txt; an entry there that no
# longer names a README command fails the test too, so the list cannot rot.
#
# The root the commands run in is a scratch directory whose entries are
# links to the source tree's (and build/ a link to this build), so the files
# the commands write (ip2asn.keel, addresses.txt, series.snap, ...) land in
# scratch and the checkout stays clean. Setup, as a user would have it:
# commands that name 127.0.0.1:9464 get scripts/run's server there (keel
# serve on tools/data/serve.conf); the port must be free. Nothing else is
# prepared: each README block makes the inputs it uses.
#
#   tests/readme/readme_commands_test.sh SRC BUILD KEEL [SECONDS_PER_COMMAND]
set -euo pipefail
src=$1 build=$2
limit=${4:-300}
readme=$src/README.md
skipped=$src/tests/readme/skipped.txt

work=$(mktemp -d)
serve_pid=""
source "$src/scripts/lib/processes.sh"
trap 'stop "$serve_pid"; rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

root=$work/root
mkdir "$root"
for entry in "$src"/* "$src"/.[!.]*; do
  [[ -e $entry ]] || continue
  name=${entry##*/}
  [[ $name == build* || $name == .git ]] && continue
  ln -s "$entry" "$root/$name"
done
ln -s "$(cd "$build" && pwd)" "$root/build"

# skipped.txt: `COMMAND ## REASON` a line, COMMAND as the README has it
# without its comment.
declare -A skip_reason=()
while IFS= read -r line; do
  [[ -z $line || $line == \#* ]] && continue
  [[ $line == *' ## '* ]] || fail "$skipped: '$line' has no ' ## REASON'"
  skip_reason[${line%% ## *}]=${line#* ## }
done <"$skipped"

python3 "$src/tests/readme/readme_commands.py" "$readme" >"$work/commands" ||
  fail "tests/readme/readme_commands.py could not read $readme"
lines=() commands=() keys=()
while IFS=$'\t' read -r -d '' number command key; do
  lines+=("$number") commands+=("$command") keys+=("$key")
done <"$work/commands"
((${#commands[@]} > 0)) || fail "no \`\`\`sh commands found in $readme"

declare -A in_readme=()
for key in "${keys[@]}"; do in_readme[$key]=1; done
for key in "${!skip_reason[@]}"; do
  [[ -n ${in_readme[$key]:-} ]] || fail "$skipped names '$key', which README.md no longer has"
done

for i in "${!commands[@]}"; do
  [[ -n ${skip_reason[${keys[i]}]:-} || ${commands[i]} != *127.0.0.1:9464* ]] && continue
  code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9464/ || true)
  [[ $code == 000 ]] || fail "127.0.0.1:9464 is taken (HTTP $code); README.md:${lines[i]} needs keel serve there"
  (cd "$root" && exec build/keel serve --config tools/data/serve.conf \
    --data-dir "$work/serve-data") >"$work/serve.log" 2>&1 &
  serve_pid=$!
  wait_ready 60 "keel serve" http://127.0.0.1:9464 "$serve_pid" ||
    fail "keel serve for README.md:${lines[i]} did not start: $(tail -5 "$work/serve.log")"
  break
done

failures=() ran=0
for i in "${!commands[@]}"; do
  where="README.md:${lines[i]}"
  if [[ -n ${skip_reason[${keys[i]}]:-} ]]; then
    echo "skip: $where ${keys[i]} (${skip_reason[${keys[i]}]})"
    continue
  fi
  start=$SECONDS
  status=0
  (cd "$root" && timeout --kill-after=10 "$limit" bash -o pipefail -c "${commands[i]}") \
    </dev/null >"$work/out" 2>&1 || status=$?
  ran=$((ran + 1))
  if ((status == 0)); then
    echo "ok: $where ${keys[i]} ($((SECONDS - start)) s)"
  else
    ((status == 124)) && status="timeout after $limit s"
    failures+=("$where: ${keys[i]} (exit $status)")
    echo "FAILED: $where ${keys[i]} (exit $status), last output:"
    tail -15 "$work/out" | sed 's/^/    /'
  fi
done

((${#failures[@]} == 0)) || fail "$(printf '\n  %s' "${failures[@]}")"
echo "ok: $ran README commands passed, ${#skip_reason[@]} skipped (tests/readme/skipped.txt)"
