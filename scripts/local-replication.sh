#!/usr/bin/env bash
# A 3-node MariaDB primary/replica cluster (GTID, semi-synchronous) on 127.0.0.1 for development and demos.
#   local-replication.sh start DIR [BASE_PORT]  initialise DIR/node1..node3 (first time only), start the nodes that
#                                               are not running; the first start makes node 1 the primary and nodes
#                                               2 and 3 its replicas, later starts keep whatever replication each
#                                               node had; waits until every replica's IO and SQL threads run and
#                                               it has applied what the primary had written
#   local-replication.sh stop DIR               stop replicas first, node 1 last (SIGTERM, 30 s, then SIGKILL)
#   local-replication.sh status DIR             one line per node; exit 0 if all nodes run, 3 otherwise
# Node N: client port BASE_PORT+N (default base 3320: 3321..3323), server_id N. Every node has log_bin,
# log_slave_updates, binlog_format=ROW, gtid_strict_mode and semi-sync (master and slave side) enabled, so any node
# can become the primary; replicas run read_only=ON, heartbeat 0.5 s, slave_net_timeout 2 s, connect retry 1 s.
# SEMI_SYNC=OFF at the first start turns semi-synchronous replication off.
# First start creates users app/app (ALL on *.*), repl/repl (REPLICATION SLAVE) and baton_monitor/monitor (the
# grants listed in docs/configuration.md) and the database baton_test. Root keeps an empty password (socket, or TCP
# from 127.0.0.1).
set -euo pipefail

NODES=3

die() { echo "local-replication: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR [BASE_PORT] | stop DIR | status DIR"; }

[[ $# -ge 2 ]] || usage
cmd=$1
if [[ $cmd == start ]]; then mkdir -p "$2"; fi
[[ -d $2 ]] || { echo "local-replication: not running ($2 does not exist)"; [[ $cmd == status ]] && exit 3; exit 0; }
DIR=$(cd "$2" && pwd)

node_dir() { echo "$DIR/node$1"; }

pid_of() {  # prints node $1's server pid if that process is alive and is this node's mariadbd
  local d pid
  d=$(node_dir "$1")
  [[ -r $d/pid ]] || return 1
  pid=$(tr -dc '0-9' < "$d/pid")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "--defaults-file=$d/my.cnf" || return 1
  echo "$pid"
}

client() { local n=$1; shift; mariadb --no-defaults --socket="$(node_dir "$n")/sock" -uroot --connect-timeout=2 "$@"; }

slave_field() {  # node, field of SHOW ALL SLAVES STATUS (default connection): empty if none or no answer
  client "$1" -e "SHOW ALL SLAVES STATUS\G" 2>/dev/null | awk -v f="$2" '$1 == f":" { sub(/^[^:]*: ?/, ""); print; exit }' || true
}

port_of() { sed -n 's/^port=//p' "$(node_dir "$1")/my.cnf" 2>/dev/null || true; }

write_cnf() {  # node, base, semi-sync ON|OFF
  local n=$1 base=$2 semi=$3 d ro=OFF
  d=$(node_dir "$n")
  (( n > 1 )) && ro=ON
  [[ -f $d/my.cnf ]] && ro=$(sed -n 's/^read_only=//p' "$d/my.cnf")   # keep what the node was
  cat > "$d/my.cnf" <<CNF
[mariadbd]
datadir=$d/data
port=$((base + n))
socket=$d/sock
pid-file=$d/pid
log-error=$d/error.log
tmpdir=$d/tmp
bind-address=127.0.0.1
skip-name-resolve
innodb_buffer_pool_size=64M
max_connections=300
max_allowed_packet=64M
performance_schema=OFF
innodb_flush_log_at_trx_commit=2
default_storage_engine=InnoDB
server_id=$n
log_basename=node$n
log_bin
log_slave_updates=ON
binlog_format=ROW
gtid_strict_mode=ON
read_only=${ro:-ON}
slave_net_timeout=2
rpl_semi_sync_master_enabled=$semi
rpl_semi_sync_slave_enabled=$semi
rpl_semi_sync_master_timeout=2000
CNF
}

die_with_log() {  # node, message
  echo "---- tail of $(node_dir "$1")/error.log ----" >&2
  tail -n 25 "$(node_dir "$1")/error.log" >&2 2>/dev/null || true
  die "$2"
}

launch() {  # node: starts mariadbd and waits until it answers
  local n=$1 d launched deadline
  d=$(node_dir "$n")
  rm -f "$d/pid"   # stale after a crash
  setsid "$mariadbd" --defaults-file="$d/my.cnf" "${user_opt[@]}" </dev/null >>"$d/console.log" 2>&1 &
  launched=$!
  echo "$launched" > "$d/pid"   # mariadbd writes the same pid once it is up; until then, status and stop need it
  [[ $as_root == yes ]] && chown mysql:mysql "$d/pid"
  deadline=$((SECONDS + 60))
  until client "$n" -N -B -e "SELECT 1" >/dev/null 2>&1; do
    kill -0 "$launched" 2>/dev/null || die_with_log "$n" "node $n exited while starting"
    if (( SECONDS >= deadline )); then
      kill -KILL -- "-$launched" 2>/dev/null || true
      die_with_log "$n" "node $n not answering within 60 s (killed)"
    fi
    sleep 0.3
  done
}

await_replicating() {  # node: waits until its IO and SQL threads run, if it replicates from anyone
  local n=$1 deadline=$((SECONDS + 60))
  [[ -n $(slave_field "$n" Master_Host) ]] || return 0
  until [[ $(slave_field "$n" Slave_IO_Running) == Yes && $(slave_field "$n" Slave_SQL_Running) == Yes ]]; do
    (( SECONDS < deadline )) || die_with_log "$n" "node $n not replicating within 60 s: $(slave_field "$n" Last_IO_Error) $(slave_field "$n" Last_SQL_Error)"
    sleep 0.3
  done
}

await_caught_up() {  # waits until every running replica applied what the node replicating from nobody has binlogged
  local n p="" pos
  for n in $(seq 1 $NODES); do pid_of "$n" >/dev/null && [[ -z $(slave_field "$n" Master_Host) ]] && { p=$n; break; }; done
  [[ -n $p ]] || return 0
  pos=$(client "$p" -N -B -e "SELECT @@global.gtid_binlog_pos")
  [[ -n $pos ]] || return 0
  for n in $(seq 1 $NODES); do
    [[ $n != "$p" ]] && pid_of "$n" >/dev/null || continue
    [[ $(client "$n" -N -B -e "SELECT MASTER_GTID_WAIT('$pos', 60)") == 0 ]] \
      || die_with_log "$n" "node $n did not apply the primary's $pos within 60 s"
  done
}

start() {
  local base=${1:-} n d first=no semi=${SEMI_SYNC:-ON}
  as_root=no
  if [[ -z $base ]]; then base=$(cat "$DIR/base-port" 2>/dev/null || echo 3320); fi
  [[ $base =~ ^[0-9]+$ ]] || usage
  [[ $semi == ON || $semi == OFF ]] || die "SEMI_SYNC must be ON or OFF, not $semi"
  command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]] || die "mariadbd not found; run scripts/install-deps.sh"
  mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  (( ${#DIR} < 90 )) || die "$DIR is too long for a unix socket path; pick a shorter directory"
  if [[ -f $DIR/base-port && $(cat "$DIR/base-port") != "$base" ]]; then
    pid_of 1 >/dev/null || pid_of 2 >/dev/null || pid_of 3 >/dev/null \
      && die "nodes in $DIR run with base port $(cat "$DIR/base-port"); stop them before changing it to $base"
  fi
  echo "$base" > "$DIR/base-port"
  [[ -f $DIR/semi-sync ]] && semi=$(cat "$DIR/semi-sync")
  echo "$semi" > "$DIR/semi-sync"

  user_opt=()
  if [[ $(id -u) -eq 0 ]]; then
    as_root=yes
    user_opt=(--user=mysql)
    chown mysql:mysql "$DIR"
    chmod 755 "$DIR"
    if ! runuser -u mysql -- test -x "$DIR"; then
      local p="" part
      IFS=/ read -ra parts <<<"${DIR#/}"
      for part in "${parts[@]}"; do p+="/$part"; runuser -u mysql -- test -x "$p" || break; done
      die "WARNING: user mysql cannot traverse $p (needed to reach $DIR); use a directory under /tmp or chmod o+x $p"
    fi
  fi

  local install=() started=()
  for n in $(seq 1 $NODES); do
    d=$(node_dir "$n")
    mkdir -p "$d/tmp"
    pid_of "$n" >/dev/null && continue
    write_cnf "$n" "$base" "$semi"
    [[ -d $d/data ]] || install+=("$n")
  done
  [[ $as_root == yes ]] && chown -R mysql:mysql "$DIR"
  for n in "${install[@]}"; do
    d=$(node_dir "$n")
    if ! TMPDIR=$d/tmp mariadb-install-db --no-defaults --datadir="$d/data" --auth-root-authentication-method=normal \
        "${user_opt[@]}" >"$d/install-db.log" 2>&1; then
      tail -n 20 "$d/install-db.log" >&2
      rm -rf "$d/data"
      die "mariadb-install-db failed for node $n (log: $d/install-db.log)"
    fi
  done
  [[ -f $DIR/users-created ]] || first=yes
  [[ $as_root == yes ]] && chown -R mysql:mysql "$DIR"

  for n in $(seq 1 $NODES); do
    pid_of "$n" >/dev/null || { launch "$n"; started+=("$n"); }
  done
  if [[ $first == yes ]]; then
    local anon
    anon=$(client 1 -N -B -e "SELECT CONCAT('DROP USER ''''@''', host, ''';') FROM mysql.user WHERE user=''")
    # binlogged on node 1, so the replicas get the same users and database by replication
    client 1 -e "$anon
      CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
      GRANT ALL PRIVILEGES ON *.* TO 'app'@'%';
      CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
      GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
      CREATE USER IF NOT EXISTS 'baton_monitor'@'%' IDENTIFIED BY 'monitor';
      GRANT SLAVE MONITOR, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, READ_ONLY ADMIN,
        CONNECTION ADMIN, PROCESS, RELOAD, BINLOG ADMIN ON *.* TO 'baton_monitor'@'%';
      GRANT ALL ON baton.* TO 'baton_monitor'@'%';
      CREATE DATABASE IF NOT EXISTS baton_test;"
    for n in $(seq 2 $NODES); do
      client "$n" -e "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$((base + 1)), MASTER_USER='repl',
          MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=0.5;
        START SLAVE;"
    done
    touch "$DIR/users-created"
  fi
  for n in $(seq 1 $NODES); do await_replicating "$n"; done
  await_caught_up
  status
}

stop() {
  local n pid
  for n in $(seq $NODES -1 1); do
    if ! pid=$(pid_of "$n"); then
      echo "local-replication: node$n not running"
      continue
    fi
    kill -CONT "$pid" 2>/dev/null || true   # a SIGSTOPped server cannot act on SIGTERM
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      echo "local-replication: node$n killed (pid $pid) after 30 s (SIGTERM ignored)"
    else
      echo "local-replication: node$n stopped (pid $pid)"
    fi
  done
}

status() {
  local n pid all=yes from
  for n in $(seq 1 $NODES); do
    if pid=$(pid_of "$n"); then
      from=$(slave_field "$n" Master_Port)
      if [[ -n $from ]]; then
        from="replica of 127.0.0.1:$from, IO $(slave_field "$n" Slave_IO_Running), SQL $(slave_field "$n" Slave_SQL_Running), $(slave_field "$n" Seconds_Behind_Master) s behind"
      else
        from="replicating from nobody"
      fi
      echo "local-replication: node$n running (pid $pid, port $(port_of "$n"), read_only $(client "$n" -N -B -e 'SELECT @@read_only' 2>/dev/null)," \
        "gtid $(client "$n" -N -B -e 'SELECT @@gtid_current_pos' 2>/dev/null), $from)"
    else
      echo "local-replication: node$n not running (dir $(node_dir "$n"))"
      all=no
    fi
  done
  [[ $all == yes ]] || return 3
}

case $cmd in
  start)  [[ $# -le 3 ]] || usage; start "${3:-}" ;;
  stop)   [[ $# -eq 2 ]] || usage; stop ;;
  status) [[ $# -eq 2 ]] || usage; status ;;
  *) usage ;;
esac
