#!/usr/bin/env bash
# packaging/keel.service: `systemd-analyze verify` accepts it without a word
# (unknown keys, bad values and a missing ExecStart binary are all printed,
# some with exit status 0), once with ExecStart naming this build's keel and
# once as `cmake --install` writes it; keel serve takes the example
# configuration installed beside it; its hardening keeps
# `systemd-analyze security` at exposure 2.0 or below ("OK"); and the options
# the README promises are there. Needs no running systemd.
set -euo pipefail
src=$1 build=$2 keel=$3
unit=$src/packaging/keel.service

work=$(mktemp -d)
keel_pid=""
source "$src/scripts/lib/processes.sh"
trap 'stop "$keel_pid"; rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

verify() {  # verify FILE: nothing printed, exit 0
  local out
  out=$(systemd-analyze verify --man=no "$1" 2>&1) || fail "systemd-analyze verify $1: $out"
  [[ -z $out ]] || fail "systemd-analyze verify $1 warns: $out"
}

grep -q '^ExecStart=/usr/local/bin/keel serve ' "$unit" || fail "ExecStart does not start /usr/local/bin/keel serve"
sed "s|^ExecStart=/usr/local/bin/keel |ExecStart=$keel |" "$unit" >"$work/keel.service"
verify "$work/keel.service"
echo "ok: systemd-analyze verify accepts the unit with ExecStart=$keel"

# The installed copy names the install's paths (packaging/CMakeLists.txt).
DESTDIR=$work/root cmake --install "$build" --prefix /usr --component systemd >/dev/null
installed=$work/root/usr/lib/systemd/system/keel.service
[[ -f $installed ]] || fail "cmake --install --component systemd did not install $installed"
grep -q '^ExecStart=/usr/bin/keel serve --config /etc/keel/serve.conf ' "$installed" ||
  fail "the unit installed with prefix /usr: $(grep ^ExecStart "$installed")"
[[ -f $work/root/usr/share/keel/serve.conf.example ]] || fail "serve.conf.example not installed"
mkdir "$work/installed"
sed "s|^ExecStart=/usr/bin/keel |ExecStart=$keel |" "$installed" >"$work/installed/keel.service"
verify "$work/installed/keel.service"
echo "ok: installed with prefix /usr, the unit starts /usr/bin/keel with /etc/keel/serve.conf, and verifies"

# The example configuration is one keel serve takes.
sed "s|^listen = .*|listen = 127.0.0.1:0|" "$src/packaging/serve.conf.example" >"$work/serve.conf"
"$keel" serve --config "$work/serve.conf" --data-dir "$work/data" 2>"$work/keel.log" &
keel_pid=$!
for _ in $(seq 50); do
  grep -q 'listening on' "$work/keel.log" && break
  kill -0 "$keel_pid" 2>/dev/null || fail "keel serve refused serve.conf.example: $(cat "$work/keel.log")"
  sleep 0.1
done
stop "$keel_pid"
keel_pid=""
[[ $stopped_rc == 0 ]] || fail "keel serve with serve.conf.example exited $stopped_rc: $(cat "$work/keel.log")"
grep -q 'listening on' "$work/keel.log" || fail "keel serve with serve.conf.example: $(cat "$work/keel.log")"
echo "ok: keel serve starts with serve.conf.example"

# A unit that verify should refuse is refused: the check above can fail.
sed 's|^Type=simple|Type=simple\nNoSuchOption=1|' "$work/keel.service" >"$work/bad.service"
if (verify "$work/bad.service") >/dev/null; then fail "verify accepted an unknown option"; fi

security=$(systemd-analyze security --offline=yes --threshold=20 "$work/keel.service" 2>&1) ||
  fail "exposure above 2.0: $(tail -1 <<<"$security")"
echo "ok: $(tail -1 <<<"$security")"

for option in Type=simple StateDirectory=keel KillSignal=SIGTERM NoNewPrivileges=yes \
              ProtectSystem=strict ProtectHome=yes PrivateTmp=yes MemoryDenyWriteExecute=yes \
              DynamicUser=yes; do
  grep -qx "$option" "$unit" || fail "$option missing"
done
grep -q '^ExecStart=.* --data-dir %S/keel' "$unit" || fail "snapshots not in the state directory"
# The stop timeout covers a query running to query-timeout (2m by default)
# and two snapshots, each of many seconds on a large store.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)min$/\1/p' "$unit")
[[ -n $stop && $stop -ge 3 ]] || fail "TimeoutStopSec below 3min: $(grep ^TimeoutStopSec "$unit")"
# --threads workers (512 by default) and as many queued connections.
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
[[ -n $nofile && $nofile -ge 1100 ]] || fail "LimitNOFILE below the default threads' needs: $nofile"
echo "ok: stop timeout ${stop}min, LimitNOFILE $nofile, hardening options present"
echo "systemd_unit_test: passed"
