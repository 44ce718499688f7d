# Shell helpers for the scripts and script tests that start servers on
# loopback (keel serve, prometheus, exporters). Source it:
#   source "$(dirname "$0")/../../scripts/lib/processes.sh"
#
# stop PID: SIGTERM, then wait at most 30 s, then SIGKILL; the process's
# exit code is left in stopped_rc (0 when there was nothing to stop).
stop() {
  local pid=$1
  stopped_rc=0
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || stopped_rc=$?
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_ready SECONDS NAME URL PID [NAME URL PID ...]: waits until every
# URL/-/ready answers 200. Returns 1, saying why on stderr, when a PID exits
# first or SECONDS pass.
wait_ready() {
  local deadline=$((SECONDS + $1)) pending code i
  shift
  local -a args=("$@")
  while :; do
    pending=""
    for ((i = 0; i < ${#args[@]}; i += 3)); do
      code=$(curl -s -o /dev/null -w '%{http_code}' "${args[i + 1]}/-/ready" || true)
      [[ $code == 200 ]] && continue
      kill -0 "${args[i + 2]}" 2>/dev/null || { echo "${args[i]} exited at start" >&2; return 1; }
      pending+=" ${args[i]} ($code)"
    done
    [[ -z $pending ]] && return 0
    ((SECONDS < deadline)) || { echo "not ready in time:$pending" >&2; return 1; }
    sleep 0.2
  done
}

# start_prometheus DIR PORT [FLAG...]: a real Prometheus on 127.0.0.1:PORT
# with DIR/prometheus.yml, its TSDB in DIR/tsdb and its log in
# DIR/prometheus.log, in the background; its pid in prom_pid.
start_prometheus() {
  local dir=$1 port=$2
  shift 2
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
    --web.listen-address="127.0.0.1:$port" "$@" >"$dir/prometheus.log" 2>&1 &
  prom_pid=$!
}

# server_test_start: the scaffolding of a script test that starts servers.
# Makes a scratch directory, $work, removed at exit (kept and named when
# KEEL_TEST_KEEP=1) after stopping the servers whose pids are in prom_pid,
# keel_pid and extra_pids. fail MESSAGE prints the servers' logs
# ($work/keel*.log, $work/prometheus.log) and exits 1.
server_test_start() {
  work=$(mktemp -d)
  keel_pid="" prom_pid="" extra_pids=() stopped_rc=0
  trap server_test_cleanup EXIT
  trap 'exit 1' INT TERM
}
server_test_cleanup() {
  local pid
  for pid in "$prom_pid" "$keel_pid" "${extra_pids[@]}"; do stop "$pid"; done
  if [[ ${KEEL_TEST_KEEP:-} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
fail() {
  echo "FAILED: $*"
  echo "--- keel log"; tail -n 20 "$work"/keel*.log 2>/dev/null || true
  echo "--- prometheus log"; tail -n 20 "$work/prometheus.log" 2>/dev/null || true
  exit 1
}
