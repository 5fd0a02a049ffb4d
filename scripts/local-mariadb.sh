#!/usr/bin/env bash
# A standalone MariaDB on 127.0.0.1 for development, demos and benchmarks; data and config live in one directory.
#   local-mariadb.sh start DIR PORT   initialise DIR (first time only), start, wait until it answers
#   local-mariadb.sh stop DIR         SIGTERM, wait up to 30 s, then SIGKILL
#   local-mariadb.sh status DIR       exit 0 if running, 3 if not
# First start creates users app/app (mysql_native_password) and app_ed/app (ed25519), both with ALL on *.*,
# and the databases baton_test and sbtest. Root keeps an empty password (socket, or TCP from 127.0.0.1).
# MARIADB_EXTRA_CNF (optional): more [mariadbd] lines for my.cnf, e.g. "ssl_cert=...<newline>ssl_key=...".
set -euo pipefail

die() { echo "local-mariadb: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR PORT | stop DIR | status DIR"; }

[[ $# -ge 2 ]] || usage
cmd=$1
if [[ $cmd == start ]]; then mkdir -p "$2"; fi
[[ -d $2 ]] || { echo "local-mariadb: not running ($2 does not exist)"; [[ $cmd == status ]] && exit 3; exit 0; }
DIR=$(cd "$2" && pwd)

pid_of() {  # prints the server's pid if it is alive
  local pid
  [[ -r $DIR/pid ]] || return 1
  pid=$(tr -dc '0-9' < "$DIR/pid")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

client() { mariadb --no-defaults --socket="$DIR/sock" -uroot "$@"; }

start() {
  local port=$1 pid first=no
  [[ $port =~ ^[0-9]+$ ]] || usage
  if pid=$(pid_of); then
    echo "local-mariadb: already running (pid $pid) in $DIR"
    return 0
  fi
  command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]] || die "mariadbd not found; run scripts/install-deps.sh"
  local mariadbd; mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  (( ${#DIR} < 100 )) || die "$DIR is too long for a unix socket path; pick a shorter directory"

  local as_root=no user_opt=()
  if [[ $(id -u) -eq 0 ]]; then
    as_root=yes
    user_opt=(--user=mysql)
    chown mysql:mysql "$DIR"
    chmod 755 "$DIR"
    if ! runuser -u mysql -- test -x "$DIR"; then
      local d="" part
      IFS=/ read -ra parts <<<"${DIR#/}"
      for part in "${parts[@]}"; do d+="/$part"; runuser -u mysql -- test -x "$d" || break; done
      die "WARNING: user mysql cannot traverse $d (needed to reach $DIR); use a directory under /tmp or chmod o+x $d"
    fi
  fi

  cat > "$DIR/my.cnf" <<CNF
[mariadbd]
datadir=$DIR/data
port=$port
socket=$DIR/sock
pid-file=$DIR/pid
log-error=$DIR/error.log
bind-address=127.0.0.1
skip-name-resolve
innodb_buffer_pool_size=128M
max_connections=300
max_allowed_packet=64M
local_infile=ON
performance_schema=OFF
innodb_flush_log_at_trx_commit=2
skip-log-bin
${MARIADB_EXTRA_CNF:-}
CNF

  if [[ ! -d $DIR/data ]]; then
    first=yes
    if ! mariadb-install-db --no-defaults --datadir="$DIR/data" --auth-root-authentication-method=normal \
        "${user_opt[@]}" >"$DIR/install-db.log" 2>&1; then
      tail -n 20 "$DIR/install-db.log" >&2
      rm -rf "$DIR/data"
      die "mariadb-install-db failed (log: $DIR/install-db.log)"
    fi
  fi
  [[ -f $DIR/users-created ]] || first=yes
  [[ $as_root == yes ]] && chown -R mysql:mysql "$DIR"

  rm -f "$DIR/pid"
  setsid "$mariadbd" --defaults-file="$DIR/my.cnf" "${user_opt[@]}" </dev/null >>"$DIR/console.log" 2>&1 &
  local launched=$! deadline=$((SECONDS + 60))
  until mariadb-admin --no-defaults --socket="$DIR/sock" -uroot --connect-timeout=2 ping >/dev/null 2>&1; do
    if ! kill -0 "$launched" 2>/dev/null || (( SECONDS >= deadline )); then
      kill -KILL "$launched" 2>/dev/null || true
      echo "---- tail of $DIR/error.log ----" >&2
      tail -n 25 "$DIR/error.log" >&2 2>/dev/null || true
      die "server in $DIR exited or did not answer on port $port within 60 s"
    fi
    sleep 0.2
  done

  if [[ $first == yes ]]; then
    local anon
    anon=$(client -N -B -e "SELECT CONCAT('DROP USER ''''@''', host, ''';') FROM mysql.user WHERE user=''")
    client -e "$anon
      CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app';
      GRANT ALL PRIVILEGES ON *.* TO 'app'@'%';
      CREATE DATABASE IF NOT EXISTS baton_test;
      CREATE DATABASE IF NOT EXISTS sbtest;"
    if [[ $(client -N -B -e "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME='ed25519'") == 0 ]]; then
      client -e "INSTALL SONAME 'auth_ed25519'"
    fi
    client -e "CREATE USER IF NOT EXISTS 'app_ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('app');
      GRANT ALL PRIVILEGES ON *.* TO 'app_ed'@'%';"
    touch "$DIR/users-created"
  fi
  echo "local-mariadb: running on 127.0.0.1:$port (pid $(pid_of || echo "$launched"), dir $DIR)"
}

stop() {
  local pid
  if ! pid=$(pid_of); then
    echo "local-mariadb: not running in $DIR"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "local-mariadb: killed pid $pid after 30 s (SIGTERM ignored)"
  else
    echo "local-mariadb: stopped pid $pid"
  fi
}

status() {
  local pid port
  if pid=$(pid_of); then
    port=$(sed -n 's/^port=//p' "$DIR/my.cnf" 2>/dev/null || true)
    echo "local-mariadb: running (pid $pid, port ${port:-?}, dir $DIR)"
  else
    echo "local-mariadb: not running in $DIR"
    return 3
  fi
}

case $cmd in
  start)  [[ $# -eq 3 ]] || usage; start "$3" ;;
  stop)   [[ $# -eq 2 ]] || usage; stop ;;
  status) [[ $# -eq 2 ]] || usage; status ;;
  *) usage ;;
esac
