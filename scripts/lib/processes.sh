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
