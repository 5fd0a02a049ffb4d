#!/usr/bin/env bash
# A 3-node Galera cluster (MariaDB + galera-4, rsync SST) on 127.0.0.1 for development, demos and failover tests.
#   local-galera.sh start DIR [BASE_PORT]  initialise DIR/node1..node3 (first time only), start the nodes that are
#                                          not running, wait until every node is Synced
#   local-galera.sh stop DIR               stop joiners first, node 1 last (SIGTERM, 30 s, then SIGKILL)
#   local-galera.sh status DIR             one line per node; exit 0 if all nodes run, 3 otherwise
# Node N: client port BASE_PORT+N (default base 3310: 3311..3313), group port 4560+N, IST 4570+N, SST 4580+N, the
# last three shifted by BASE_PORT-3310 as well. When no node runs, the node with the newest data (safe_to_bootstrap,
# else highest seqno, else node 1) bootstraps the cluster (--wsrep-new-cluster); otherwise nodes join the running ones.
# First start creates users app/app (ALL on *.*) and baton_monitor/monitor (PROCESS, REPLICATION CLIENT on *.*, ALL on
# baton.*) and the database baton_test. Root keeps an empty password (socket, or TCP from 127.0.0.1).
# GALERA_PROVIDER_OPTIONS, if set at start, is appended to wsrep_provider_options (e.g. shorter evs.* timeouts).
# GALERA_EXTRA_CNF (optional, at start): more [mariadbd] lines for every node's my.cnf, after the defaults, so a
# setting there overrides one above (e.g. "max_connections=2000<newline>thread_handling=pool-of-threads").
set -euo pipefail

NODES=3
PROVIDER=/usr/lib/galera/libgalera_smm.so

die() { echo "local-galera: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR [BASE_PORT] | stop DIR | status DIR"; }

[[ $# -ge 2 ]] || usage
cmd=$1
if [[ $cmd == start ]]; then mkdir -p "$2"; fi
[[ -d $2 ]] || { echo "local-galera: not running ($2 does not exist)"; [[ $cmd == status ]] && exit 3; exit 0; }
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

status_var() {  # node, variable: the SHOW GLOBAL STATUS value, empty if the node does not answer
  client "$1" -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | awk -F'\t' -v v="$2" '$1 == v { print $2 }' || true
}

port_of() { sed -n 's/^port=//p' "$(node_dir "$1")/my.cnf" 2>/dev/null || true; }

write_cnf() {  # node, base
  local n=$1 base=$2 off=$(( $2 - 3310 )) d members="" i
  d=$(node_dir "$n")
  for i in $(seq 1 $NODES); do members+="${members:+,}127.0.0.1:$((4560 + i + off))"; done
  local options="gmcast.listen_addr=tcp://127.0.0.1:$((4560 + n + off));ist.recv_addr=127.0.0.1:$((4570 + n + off));gcache.size=32M"
  if [[ -n ${GALERA_PROVIDER_OPTIONS:-} ]]; then options+=";${GALERA_PROVIDER_OPTIONS#;}"; fi
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
skip-log-bin
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=baton-local
wsrep_cluster_address=gcomm://$members
wsrep_node_address=127.0.0.1:$((4560 + n + off))
wsrep_node_name=node$n
wsrep_provider_options="$options"
wsrep_sst_receive_address=127.0.0.1:$((4580 + n + off))
wsrep_sst_method=rsync
${GALERA_EXTRA_CNF:-}
CNF
}

die_with_log() {  # node, message
  echo "---- tail of $(node_dir "$1")/error.log ----" >&2
  tail -n 25 "$(node_dir "$1")/error.log" >&2 2>/dev/null || true
  die "$2"
}

bootstrap_node() {  # the node whose data is newest: the one Galera marked safe_to_bootstrap (the last to leave
  # cleanly), else the highest committed seqno, else node 1. Bootstrapping from an older node would make the
  # others discard their newer writes in the state transfer.
  local n g best=1 best_seqno=-2 seqno
  for n in $(seq 1 $NODES); do
    g=$(node_dir "$n")/data/grastate.dat
    [[ -f $g ]] || continue
    if grep -q '^safe_to_bootstrap: *1' "$g"; then echo "$n"; return; fi
    seqno=$(awk '/^seqno:/ { print $2 }' "$g")
    if [[ $seqno =~ ^-?[0-9]+$ ]] && (( seqno > best_seqno )); then best=$n; best_seqno=$seqno; fi
  done
  echo "$best"
}

launch() {  # node, bootstrap(yes|no): starts mariadbd and waits until it is Synced
  local n=$1 bootstrap=$2 d extra=() launched deadline
  d=$(node_dir "$n")
  [[ $bootstrap == yes ]] && extra+=(--wsrep-new-cluster)
  rm -f "$d/pid"   # stale after a crash
  setsid "$mariadbd" --defaults-file="$d/my.cnf" "${user_opt[@]}" "${extra[@]}" </dev/null >>"$d/console.log" 2>&1 &
  launched=$!
  echo "$launched" > "$d/pid"   # mariadbd writes the same pid once it is up; until then, status and stop need it
  [[ $as_root == yes ]] && chown mysql:mysql "$d/pid"
  deadline=$((SECONDS + 120))
  until [[ $(status_var "$n" wsrep_local_state_comment) == Synced && $(status_var "$n" wsrep_ready) == ON ]]; do
    if ! kill -0 "$launched" 2>/dev/null; then
      die_with_log "$n" "node $n exited while starting"
    fi
    if (( SECONDS >= deadline )); then
      kill -KILL -- "-$launched" 2>/dev/null || true
      die_with_log "$n" "node $n not Synced within 120 s (killed)"
    fi
    sleep 0.3
  done
}

start() {
  local base=${1:-} n d first=no running=() as_root=no
  if [[ -z $base ]]; then base=$(cat "$DIR/base-port" 2>/dev/null || echo 3310); fi
  [[ $base =~ ^[0-9]+$ ]] || usage
  command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]] || die "mariadbd not found; run scripts/install-deps.sh"
  [[ -r $PROVIDER ]] || die "$PROVIDER not found; run scripts/install-deps.sh (package galera-4)"
  command -v rsync >/dev/null || die "rsync not found; run scripts/install-deps.sh"
  mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  (( ${#DIR} < 90 )) || die "$DIR is too long for a unix socket path; pick a shorter directory"
  if [[ -f $DIR/base-port && $(cat "$DIR/base-port") != "$base" ]]; then
    pid_of 1 >/dev/null || pid_of 2 >/dev/null || pid_of 3 >/dev/null \
      && die "nodes in $DIR run with base port $(cat "$DIR/base-port"); stop them before changing it to $base"
  fi
  echo "$base" > "$DIR/base-port"

  user_opt=()
  if [[ $(id -u) -eq 0 ]]; then
    as_root=yes
    user_opt=(--user=mysql)   # as root, the rsync SST daemon would drop to nobody and fail
    chown mysql:mysql "$DIR"
    chmod 755 "$DIR"
    if ! runuser -u mysql -- test -x "$DIR"; then
      local p="" part
      IFS=/ read -ra parts <<<"${DIR#/}"
      for part in "${parts[@]}"; do p+="/$part"; runuser -u mysql -- test -x "$p" || break; done
      die "WARNING: user mysql cannot traverse $p (needed to reach $DIR); use a directory under /tmp or chmod o+x $p"
    fi
  fi

  local install=()
  for n in $(seq 1 $NODES); do
    d=$(node_dir "$n")
    mkdir -p "$d/tmp"
    if pid_of "$n" >/dev/null; then running+=("$n"); continue; fi
    write_cnf "$n" "$base"
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

  if [[ ${#running[@]} -eq 0 ]]; then
    local boot grastate
    boot=$(bootstrap_node)
    grastate=$(node_dir "$boot")/data/grastate.dat
    if [[ -f $grastate ]]; then sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' "$grastate"; fi
    launch "$boot" yes
  fi
  for n in $(seq 1 $NODES); do
    pid_of "$n" >/dev/null || launch "$n" no
  done
  if [[ $first == yes ]]; then
    local anon
    anon=$(client 1 -N -B -e "SELECT CONCAT('DROP USER ''''@''', host, ''';') FROM mysql.user WHERE user=''")
    client 1 -e "$anon
      CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
      GRANT ALL PRIVILEGES ON *.* TO 'app'@'%';
      CREATE USER IF NOT EXISTS 'baton_monitor'@'%' IDENTIFIED BY 'monitor';
      GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'baton_monitor'@'%';
      GRANT SELECT ON mysql.wsrep_cluster_members TO 'baton_monitor'@'%';
      GRANT ALL ON baton.* TO 'baton_monitor'@'%';
      CREATE DATABASE IF NOT EXISTS baton_test;"
    touch "$DIR/users-created"
  fi
  status
}

stop() {
  local n pid
  for n in $(seq $NODES -1 1); do
    if ! pid=$(pid_of "$n"); then
      echo "local-galera: node$n not running"
      continue
    fi
    kill -CONT "$pid" 2>/dev/null || true   # a SIGSTOPped server cannot act on SIGTERM
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true   # its group: SST scripts, rsync
      echo "local-galera: node$n killed (pid $pid) after 30 s (SIGTERM ignored)"
    else
      echo "local-galera: node$n stopped (pid $pid)"
    fi
  done
}

status() {
  local n pid all=yes
  for n in $(seq 1 $NODES); do
    if pid=$(pid_of "$n"); then
      echo "local-galera: node$n running (pid $pid, port $(port_of "$n"), state $(status_var "$n" wsrep_local_state_comment)," \
        "cluster size $(status_var "$n" wsrep_cluster_size), $(status_var "$n" wsrep_cluster_status))"
    else
      echo "local-galera: node$n not running (dir $(node_dir "$n"))"
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
