# Shared by the bench scripts (source it): logging, stopping processes, free ports, SQL through a port.
# shellcheck shell=bash

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stop_pid() {  # stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL
  local pid=$1 name=$2
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    log "killed $name (pid $pid) after 10 s"
  fi
  wait "$pid" 2>/dev/null || true
}

port_free() { [[ -z $(ss -Htln "sport = :$1") ]]; }
USED_PORTS=""
free_port() {  # free_port START: first port >= START nobody listens on and not in USED_PORTS
  local p=$1
  while ! port_free "$p" || [[ " $USED_PORTS " == *" $p "* ]]; do
    (( ++p < 65000 )) || die "no free port from $1"
  done
  echo "$p"
}

sql() {  # sql PORT STATEMENT: run through a TCP port as app/app
  mariadb --no-defaults -h127.0.0.1 -P"$1" -uapp -papp --connect-timeout=2 -N -B sbtest -e "$2"
}
wait_sql() {  # wait_sql PORT NAME PID LOGFILE: until SELECT 1 answers through PORT (30 s)
  local port=$1 name=$2 pid=$3 logf=$4 deadline=$((SECONDS + 30))
  until sql "$port" 'SELECT 1' >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null || (( SECONDS >= deadline )); then
      tail -n 30 "$logf" >&2 2>/dev/null || true
      die "$name did not answer on 127.0.0.1:$port within 30 s"
    fi
    sleep 0.2
  done
}
