#!/usr/bin/env bash
# Starts a Docker engine for the image check when none answers, and stops the one it started.
#   tools/docker-engine.sh start DIR   # dockerd logs to DIR/dockerd.log, its PID goes to DIR/dockerd.pid
#   tools/docker-engine.sh stop DIR    # stops that dockerd (by PID); does nothing if start found one
# `start` exits 0 when an engine answers (already running, or started here), 1 with the reason on
# stderr when it cannot start one (not installed, not root, dockerd failed: see DIR/dockerd.log).
#
# Only `--network host` and `--network none` are used (build and run), so dockerd runs without the
# docker0 bridge and without touching the host's iptables rules. The default storage driver first
# (overlay2 where the kernel and the backing filesystem allow it), then vfs (slow, works anywhere).
set -euo pipefail
cmd="${1:?usage: $0 start|stop DIR}"
dir="${2:?usage: $0 start|stop DIR}"
pidfile="$dir/dockerd.pid"
SOCKET="${DOCKER_SOCKET:-/var/run/docker.sock}"
START_TIMEOUT="${DOCKERD_START_TIMEOUT:-60}"

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

stop() {
  [[ -f "$pidfile" ]] || return 0
  local pid
  pid="$(cat "$pidfile")"
  rm -f "$pidfile"
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid"
  # dockerd stops its containers and its own containerd first; give it time, then kill it.
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { echo "dockerd (pid $pid) stopped" >&2; return 0; }
    sleep 0.5
  done
  echo "dockerd (pid $pid) did not stop in 30s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

start() {
  if engine_answers; then
    echo "a Docker engine already answers; not starting one" >&2
    return 0
  fi
  command -v docker >/dev/null || { echo "no docker CLI (apt-get install docker.io)" >&2; return 1; }
  command -v dockerd >/dev/null || { echo "no dockerd (apt-get install docker.io)" >&2; return 1; }
  [[ $EUID -eq 0 ]] || { echo "not root: cannot start dockerd" >&2; return 1; }
  mkdir -p "$dir"
  local attempt flags
  for attempt in default vfs; do
    flags=(--host "unix://$SOCKET" --iptables=false --bridge=none)
    [[ "$attempt" == vfs ]] && flags+=(--storage-driver vfs)
    echo "starting dockerd ${flags[*]} (log: $dir/dockerd.log)" >&2
    echo "=== dockerd ${flags[*]}" >>"$dir/dockerd.log"
    # All of dockerd's descriptors go to the log: it must not hold a caller's pipe open.
    dockerd "${flags[@]}" </dev/null >>"$dir/dockerd.log" 2>&1 &
    echo $! >"$pidfile"
    local waited=0
    while ((waited < START_TIMEOUT * 4)); do
      if engine_answers; then
        echo "dockerd (pid $(cat "$pidfile")) answers after ~$((waited / 4))s: $(docker info -f '{{.ServerVersion}}, storage driver {{.Driver}}')" >&2
        return 0
      fi
      kill -0 "$(cat "$pidfile")" 2>/dev/null || break
      sleep 0.25
      waited=$((waited + 1))
    done
    stop
    # Another engine (a service manager's) may have come up meanwhile and made ours fail.
    if engine_answers; then
      echo "a Docker engine answers (not the one started here)" >&2
      return 0
    fi
    echo "dockerd ($attempt storage driver) did not come up; last log lines:" >&2
    tail -n 5 "$dir/dockerd.log" >&2
  done
  echo "could not start dockerd (log: $dir/dockerd.log)" >&2
  return 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
