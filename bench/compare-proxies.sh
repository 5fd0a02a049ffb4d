#!/usr/bin/env bash
# Compares sysbench throughput and latency: MariaDB direct vs through Baton vs through HAProxy (mode tcp).
#
#   bench/compare-proxies.sh
#
# Everything runs on 127.0.0.1: its own MariaDB (scripts/local-mariadb.sh) in a temp dir, Baton and HAProxy
# in front of it. For each workload and thread count the three targets run alternating (direct, baton,
# haproxy, repeated ROUNDS times) so that drift in the machine's load hits all three alike; the table shows
# the median of the rounds. Everything the script started is stopped on exit (also on Ctrl-C or failure).
#
# Environment (all optional):
#   ROUNDS=3            rounds per workload and thread count
#   DURATION=10         seconds per sysbench run
#   WARMUP=10           seconds of each workload (8 threads) against each target before measuring, so that every
#                       code path a round takes is compiled by the JIT first; the report gives each warm-up's qps
#   WORKLOADS="oltp_point_select oltp_read_write"
#   THREADS="1 8"
#   TABLES=4 TABLE_SIZE=10000
#   DB_PORT=3321 BATON_PORT=6043 BATON_ADMIN_PORT=6044 HAPROXY_PORT=6045
#                       first port tried for each; the next free one is used if it is taken
#   BATON_IO_THREADS=   sets Baton's io-threads (default: Baton's own default)
#   BATON_JAVA_OPTS=    extra JVM options for Baton (and for every variant)
#   BATON_VARIANTS=     more Batons measured in the same rounds, each as target baton-NAME, written as
#                       NAME:SETTING[,SETTING...]; a SETTING key=value is a top-level config line "key: value",
#                       one starting with "-" a JVM option added to BATON_JAVA_OPTS (no commas inside it), e.g.
#                       BATON_VARIANTS="uring:transport=io_uring epoll:transport=epoll noleak:-Dio.netty.leakDetection.level=disabled"
#   BATON_JFR=1         records a Java Flight Recorder profile of each Baton over the whole run into the temp dir
#                       (NAME.jfr, written when Baton stops; the temp dir is kept)
#   PROFILE=1           after the rounds, for each proxy (baton, its variants, haproxy) and thread count, takes
#                       oltp_point_select apart: CPU per query split into user and kernel time and context
#                       switches per query (from /proc, in a run of PROFILE_SECONDS=10 with nothing attached),
#                       system calls per query by name (strace -c over PROFILE_EVENTS=20000 queries), and where
#                       the CPU goes in the kernel (perf record, shares of the samples). Installs strace and
#                       linux-perf if missing. Adds a table to the report.
#   HAPROXY_BUSY=1      also measure haproxy-busy: a second HAProxy with 'busy-polling' in its global section, to
#                       compare with -Dbaton.busy-poll-us. It polls with a zero timeout all the time it runs, idle or
#                       not, keeping a CPU busy, which would speed up the wake-ups of every other target on a virtual
#                       machine; so it runs only during its own warm-up, rounds and profile, and is stopped between.
#   KEEP_TMP=1          keep the temp dir (logs, data) even on success; it is always kept on failure
#   CLUSTER=single      what Baton is configured for: single (one MariaDB, Baton relays bytes) or galera (a 3-node
#                       Galera cluster, scripts/local-galera.sh, with a monitor user: Baton elects the writer and,
#                       as sessions may move, tracks each session's state and reads every command, as it does in
#                       front of Rancher). direct and haproxy then go to the node Baton elected. galera implies TLS=0.
#   TLS=1               also measure TLS: direct-tls (sysbench to MariaDB over TLS), baton-tls (a second Baton
#                       with TLS on both legs: it terminates the client's TLS and opens its own to the server,
#                       verifying the server's certificate) and haproxy-tls (the client's TLS passed through
#                       HAProxy's TCP relay to the server; HAProxy cannot terminate MySQL's in-protocol TLS).
#                       Their ratios are to direct-tls. TLS=0 leaves them out.
#
# Output: the markdown table (plus machine facts, each variant's transport and each target's warm-up qps) on stdout
# and in bench/results/latest.md.
# Exit status: 0 if every run completed with no reconnect and no fatal error, 1 otherwise. Deadlocks that
# sysbench retries ("ignored errors") belong to the workload, not the proxy: they are shown, not failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-10}
WORKLOADS=${WORKLOADS:-"oltp_point_select oltp_read_write"}
THREADS=${THREADS:-"1 8"}
TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-10000}
CLUSTER=${CLUSTER:-single}
[[ $CLUSTER == single || $CLUSTER == galera ]] || { echo "CLUSTER must be single or galera (got '$CLUSTER')" >&2; exit 1; }
if [[ $CLUSTER == galera ]]; then
  [[ ${TLS:-0} == 0 ]] || { echo "TLS=1 is measured with CLUSTER=single only" >&2; exit 1; }
  TLS=0
fi
TLS=${TLS:-1}
TARGETS=(direct baton haproxy)
declare -A VARIANT_CONFIG VARIANT_OPTS   # variant target -> config lines / JVM options
for spec in ${BATON_VARIANTS:-}; do
  vname=${spec%%:*}; settings=${spec#*:}
  [[ $spec == *:* && $vname =~ ^[a-z0-9_]+$ && -n $settings ]] \
    || { echo "BATON_VARIANTS: '$spec' is not NAME:SETTING[,SETTING...] (NAME in a-z, 0-9, _)" >&2; exit 1; }
  t=baton-$vname
  [[ $t != baton-tls && -z ${VARIANT_OPTS[$t]+x} ]] || { echo "BATON_VARIANTS: '$vname' is used twice or reserved" >&2; exit 1; }
  VARIANT_CONFIG[$t]=""; VARIANT_OPTS[$t]=""
  IFS=, read -ra parts <<<"$settings"
  for part in "${parts[@]}"; do
    if [[ $part == -* ]]; then
      VARIANT_OPTS[$t]+=" $part"
    elif [[ $part == ?*=* ]]; then
      VARIANT_CONFIG[$t]+="${part%%=*}: ${part#*=}"$'\n'
    else
      echo "BATON_VARIANTS: '$part' in '$spec' is neither key=value nor a JVM option" >&2; exit 1
    fi
  done
  TARGETS+=("$t")
done
VARIANTS=("${TARGETS[@]:3}")
[[ ${HAPROXY_BUSY:-0} == 1 ]] && TARGETS+=(haproxy-busy)
[[ $TLS == 1 ]] && TARGETS+=(direct-tls baton-tls haproxy-tls)
JAR=$ROOT/proxy-server/target/baton-proxy.jar
RESULTS_DIR=$ROOT/bench/results
OUT=$RESULTS_DIR/latest.md


PROFILE=${PROFILE:-0}
PROFILE_SECONDS=${PROFILE_SECONDS:-10}
PROFILE_EVENTS=${PROFILE_EVENTS:-20000}
for v in ROUNDS DURATION WARMUP TABLES TABLE_SIZE PROFILE_SECONDS PROFILE_EVENTS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( ROUNDS >= 1 && DURATION >= 1 )) || die "ROUNDS and DURATION must be at least 1"

# ---------------------------------------------------------------- dependencies and build
PROFILE_PACKAGES=()
[[ $PROFILE == 1 ]] && PROFILE_PACKAGES=(strace linux-perf)
"$ROOT/scripts/install-deps.sh" "${PROFILE_PACKAGES[@]}" >&2 || die "scripts/install-deps.sh failed"
for cmd in sysbench haproxy mariadb mariadb-admin java ss timeout openssl; do
  command -v "$cmd" >/dev/null || die "$cmd not found"
done
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)

# bin/baton-proxy builds the jar when it is missing or older than its sources, so a run never measures an old build.
command -v mvn >/dev/null || [[ -f $JAR ]] || die "$JAR is missing and mvn is not installed"
"$ROOT/bin/baton-proxy" --version >&2 || die "Baton build failed"

# ---------------------------------------------------------------- processes and cleanup
TMP=$(mktemp -d /tmp/baton-bench.XXXXXX)
chmod 755 "$TMP"   # mariadbd runs as mysql when we are root and must traverse it
DB_DIR=$TMP/db
BATON_PID=""
declare -A PID_OF   # variant target -> its Baton's pid
BATON_TLS_PID=""
GALERA_STARTED=no
HAPROXY_PID=""
HAPROXY_BUSY_PID=""
SB_PID=""
DB_STARTED=no


exec 3>&1 4>&2   # the script's own stdout/stderr, for cleanup (a signal may arrive inside a redirected call)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  exec 1>&3 2>&4
  stop_pid "$SB_PID" sysbench
  stop_pid "$HAPROXY_PID" haproxy
  stop_pid "$HAPROXY_BUSY_PID" haproxy-busy
  stop_pid "$BATON_PID" baton
  stop_pid "$BATON_TLS_PID" baton-tls
  for v in "${VARIANTS[@]}"; do stop_pid "${PID_OF[$v]:-}" "$v"; done
  [[ $DB_STARTED == yes ]] && "$ROOT/scripts/local-mariadb.sh" stop "$DB_DIR" >&2
  [[ $GALERA_STARTED == yes ]] && "$ROOT/scripts/local-galera.sh" stop "$TMP/galera" >&2
  if [[ $rc -eq 0 && ${KEEP_TMP:-0} != 1 && ${BATON_JFR:-0} != 1 ]]; then
    rm -rf "$TMP"
  else
    log "kept $TMP (logs: baton.log, haproxy.log, db/error.log, runs/)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DB_PORT=$(free_port "${DB_PORT:-3321}");             USED_PORTS+=" $DB_PORT"
BATON_PORT=$(free_port "${BATON_PORT:-6043}");       USED_PORTS+=" $BATON_PORT"
BATON_ADMIN_PORT=$(free_port "${BATON_ADMIN_PORT:-6044}"); USED_PORTS+=" $BATON_ADMIN_PORT"
HAPROXY_PORT=$(free_port "${HAPROXY_PORT:-6045}");   USED_PORTS+=" $HAPROXY_PORT"
BATON_TLS_PORT=$(free_port "${BATON_TLS_PORT:-6046}"); USED_PORTS+=" $BATON_TLS_PORT"
BATON_TLS_ADMIN_PORT=$(free_port "${BATON_TLS_ADMIN_PORT:-6047}"); USED_PORTS+=" $BATON_TLS_ADMIN_PORT"
HAPROXY_BUSY_PORT=$(free_port "${HAPROXY_BUSY_PORT:-6048}"); USED_PORTS+=" $HAPROXY_BUSY_PORT"

declare -A PORT=([direct]=$DB_PORT [baton]=$BATON_PORT [haproxy]=$HAPROXY_PORT
                 [direct-tls]=$DB_PORT [baton-tls]=$BATON_TLS_PORT [haproxy-tls]=$HAPROXY_PORT [haproxy-busy]=$HAPROXY_BUSY_PORT)
declare -A ADMIN_PORT
next_port=6050
for v in "${VARIANTS[@]}"; do
  PORT[$v]=$(free_port "$next_port"); USED_PORTS+=" ${PORT[$v]}"
  ADMIN_PORT[$v]=$(free_port "$next_port"); USED_PORTS+=" ${ADMIN_PORT[$v]}"
  next_port=$((ADMIN_PORT[$v] + 1))
done


# ---------------------------------------------------------------- certificates (TLS=1)
MARIADB_EXTRA_CNF=""
if [[ $TLS == 1 ]]; then
  mkdir -p "$TMP/tls"
  (
    cd "$TMP/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj "/CN=bench CA" -keyout ca.key -out ca.pem \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    openssl req -newkey rsa:2048 -nodes -sha256 -subj /CN=localhost -keyout server.key -out server.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 -sha256 \
      -extfile server.ext -out server.pem
    # sysbench --mysql-ssl=on loads these three names from its working directory
    openssl req -newkey rsa:2048 -nodes -sha256 -subj /CN=sysbench -keyout client-key.pem -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' > client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 -sha256 \
      -extfile client.ext -out client-cert.pem
    cp ca.pem cacert.pem
  ) >"$TMP/tls/openssl.log" 2>&1 || { cat "$TMP/tls/openssl.log" >&2; die "openssl could not make the bench certificates"; }
  chmod 755 "$TMP/tls"; chmod 644 "$TMP/tls"/*
  MARIADB_EXTRA_CNF=$(printf 'ssl_ca=%s\nssl_cert=%s\nssl_key=%s' "$TMP/tls/ca.pem" "$TMP/tls/server.pem" "$TMP/tls/server.key")
fi

# ---------------------------------------------------------------- MariaDB
if [[ $CLUSTER == single ]]; then
  log "starting MariaDB on 127.0.0.1:$DB_PORT in $DB_DIR"
  DB_STARTED=yes
  MARIADB_EXTRA_CNF=$MARIADB_EXTRA_CNF "$ROOT/scripts/local-mariadb.sh" start "$DB_DIR" "$DB_PORT" >&2
else
  # local-galera.sh: node N listens on BASE+N and uses group/IST/SST ports 4560+N, 4570+N, 4580+N shifted by BASE-3310.
  GALERA_BASE=${GALERA_BASE:-3410}
  for p in $((GALERA_BASE + 1)) $((GALERA_BASE + 2)) $((GALERA_BASE + 3)); do
    port_free "$p" || die "port $p (Galera node, GALERA_BASE=$GALERA_BASE) is taken; set GALERA_BASE"
  done
  log "starting a 3-node Galera cluster on 127.0.0.1:$((GALERA_BASE + 1))-$((GALERA_BASE + 3)) in $TMP/galera"
  GALERA_STARTED=yes
  "$ROOT/scripts/local-galera.sh" start "$TMP/galera" "$GALERA_BASE" >&2
  # Moving a session logs it in again with its stored password hash, which the monitor user must be able to read.
  mariadb --no-defaults -h127.0.0.1 -P$((GALERA_BASE + 1)) -uroot -N -B -e \
    "GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%'; CREATE DATABASE IF NOT EXISTS sbtest" \
    || die "could not grant the monitor user or create sbtest on the Galera cluster"
fi

# ---------------------------------------------------------------- Baton
baton_yaml() {  # baton_yaml PORT ADMIN_PORT TLS(0|1) [LINES]: a single-node config, with TLS on both legs when TLS is 1, plus LINES
  echo "listen: 127.0.0.1:$1"
  echo "admin:"
  echo "  listen: 127.0.0.1:$2"
  [[ -n ${BATON_IO_THREADS:-} && ${4:-} != *io-threads:* ]] && echo "io-threads: $BATON_IO_THREADS"
  printf '%s' "${4:-}"
  if [[ $3 == 1 ]]; then
    printf 'tls:\n  cert: %s\n  key: %s\n' "$TMP/tls/server.pem" "$TMP/tls/server.key"
  fi
  echo "cluster:"
  if [[ $CLUSTER == galera ]]; then
    echo "  type: galera"
    echo "  nodes:"
    for n in 1 2 3; do echo "    - {name: db$n, address: 127.0.0.1:$((GALERA_BASE + n))}"; done
    echo "  monitor:"
    echo "    user: baton_monitor"
    echo "    password: monitor"
    return
  fi
  echo "  type: single"
  if [[ $3 == 1 ]]; then
    printf '  tls:\n    mode: verify-ca\n    ca: %s\n' "$TMP/tls/ca.pem"
  fi
  echo "  nodes:"
  echo "    - {name: db1, address: 127.0.0.1:$DB_PORT}"
}
start_baton() {  # start_baton NAME PORT ADMIN_PORT TLS PIDVAR [CONFIG_LINES [JVM_OPTS]]: starts it (its pid in PIDVAR, for cleanup), waits until it answers
  local name=$1 port=$2 admin=$3 tls=$4 pid
  baton_yaml "$port" "$admin" "$tls" "${6:-}" > "$TMP/$name.yaml"
  log "starting $name on 127.0.0.1:$port (admin $admin)${7:+ with$7}"
  # shellcheck disable=SC2086  # BATON_JAVA_OPTS is a list of options
  local jfr=""
  [[ ${BATON_JFR:-0} == 1 ]] && jfr="-XX:StartFlightRecording=settings=profile,dumponexit=true,filename=$TMP/$name.jfr"
  java ${BATON_JAVA_OPTS:-} ${7:-} $jfr -jar "$JAR" --config "$TMP/$name.yaml" </dev/null >"$TMP/$name.log" 2>&1 &
  pid=$!
  if [[ $5 == PID_OF:* ]]; then PID_OF[${5#PID_OF:}]=$pid; else printf -v "$5" '%s' "$pid"; fi
  wait_sql "$port" "$name" "$pid" "$TMP/$name.log"
  grep -m1 -o 'transport .*' "$TMP/$name.log" | sed "s/^/[$name] /" >&2 || true
}
start_baton baton "$BATON_PORT" "$BATON_ADMIN_PORT" 0 BATON_PID
if [[ $CLUSTER == galera ]]; then
  # direct and HAProxy go to the node Baton elected; Baton must track the session (what it does to move one).
  DB_PORT=$(sql "$BATON_PORT" 'SELECT @@port') || die "no answer through Baton"
  PORT[direct]=$DB_PORT
  tracked=$(sql "$BATON_PORT" 'SELECT @@session.session_track_system_variables')
  [[ $tracked == '*' ]] || die "Baton does not track the sessions' state (session_track_system_variables '$tracked'); see $TMP/baton.log"
  log "Baton elected the node on 127.0.0.1:$DB_PORT; sessions through it are tracked, so they may move"
fi
for v in "${VARIANTS[@]}"; do
  start_baton "$v" "${PORT[$v]}" "${ADMIN_PORT[$v]}" 0 "PID_OF:$v" "${VARIANT_CONFIG[$v]}" "${VARIANT_OPTS[$v]}"
done

if [[ $TLS == 1 ]]; then
  start_baton baton-tls "$BATON_TLS_PORT" "$BATON_TLS_ADMIN_PORT" 1 BATON_TLS_PID
  tls_seen=$(mariadb --no-defaults -h127.0.0.1 -P"$BATON_TLS_PORT" -uapp -papp --ssl -N -B sbtest \
    -e "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME='Ssl_version'")
  [[ $tls_seen == TLSv1* ]] || die "baton-tls does not reach the server over TLS (Ssl_version '$tls_seen')"
fi

# ---------------------------------------------------------------- HAProxy
cat > "$TMP/haproxy.cfg" <<CFG
global
    maxconn 2000

defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h

frontend mysql_in
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend mysql_db

backend mysql_db
    server db1 127.0.0.1:$DB_PORT
CFG
haproxy -c -q -f "$TMP/haproxy.cfg" >&2 || die "generated haproxy.cfg is invalid"
log "starting HAProxy on 127.0.0.1:$HAPROXY_PORT"
haproxy -db -f "$TMP/haproxy.cfg" </dev/null >"$TMP/haproxy.log" 2>&1 &
HAPROXY_PID=$!
wait_sql "$HAPROXY_PORT" HAProxy "$HAPROXY_PID" "$TMP/haproxy.log"
if [[ ${HAPROXY_BUSY:-0} == 1 ]]; then
  sed -e "s/^global$/global\n    busy-polling/" -e "s/127.0.0.1:$HAPROXY_PORT\$/127.0.0.1:$HAPROXY_BUSY_PORT/" \
    "$TMP/haproxy.cfg" > "$TMP/haproxy-busy.cfg"
  grep -q busy-polling "$TMP/haproxy-busy.cfg" && grep -q ":$HAPROXY_BUSY_PORT\$" "$TMP/haproxy-busy.cfg" \
    && haproxy -c -q -f "$TMP/haproxy-busy.cfg" >&2 || die "generated haproxy-busy.cfg is invalid"
fi
start_haproxy_busy() {  # only while haproxy-busy is measured: its polling keeps a CPU busy for everyone
  haproxy -db -f "$TMP/haproxy-busy.cfg" </dev/null >>"$TMP/haproxy-busy.log" 2>&1 &
  HAPROXY_BUSY_PID=$!
  wait_sql "$HAPROXY_BUSY_PORT" "HAProxy (busy-polling)" "$HAPROXY_BUSY_PID" "$TMP/haproxy-busy.log"
}
stop_haproxy_busy() { stop_pid "$HAPROXY_BUSY_PID" haproxy-busy; HAPROXY_BUSY_PID=""; }

# ---------------------------------------------------------------- sysbench
mkdir -p "$TMP/runs"
sb() {  # sb WORKLOAD PORT THREADS SECONDS COMMAND [extra sysbench options...]
  local workload=$1 port=$2 threads=$3 secs=$4 cmd=$5; shift 5
  # In the background plus wait, so that a signal to this script is handled at once (bash defers traps
  # while a foreground command runs); cleanup stops it through SB_PID.
  # From the certificates' directory: sysbench --mysql-ssl=on reads cacert.pem and client-*.pem from where it runs.
  (cd "$TMP/${SB_DIR:-runs}" && exec timeout --foreground -k 10 $((secs + 120)) sysbench "$workload" \
    --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port="$port" \
    --mysql-user=app --mysql-password=app --mysql-db=sbtest \
    --tables="$TABLES" --table-size="$TABLE_SIZE" --threads="$threads" --time="$secs" \
    --report-interval=0 "$@" "$cmd" </dev/null) &
  SB_PID=$!
  local rc=0
  wait "$SB_PID" || rc=$?
  SB_PID=""
  return "$rc"
}

log "sysbench prepare (--tables=$TABLES --table-size=$TABLE_SIZE)"
sb oltp_read_write "$DB_PORT" "$TABLES" 0 prepare >"$TMP/prepare.log" 2>&1 \
  || { tail -n 20 "$TMP/prepare.log" >&2; die "sysbench prepare failed"; }

ssl_opt() { [[ $1 == *-tls ]] && echo "--mysql-ssl=on" || true; }   # ssl_opt TARGET
[[ $TLS == 1 ]] && SB_DIR=tls
baseline() { [[ $1 == *-tls ]] && echo direct-tls || echo direct; }  # baseline TARGET: what its ratio is to

TOTAL_ERRORS=0
FAILED_RUNS=0
declare -A WARM   # "workload target" -> qps of its warm-up run
if (( WARMUP > 0 )); then
  for w in $WORKLOADS; do
    for t in "${TARGETS[@]}"; do
      log "warm-up: $t, $w, 8 threads, ${WARMUP}s"
      [[ $t == haproxy-busy ]] && start_haproxy_busy
      # shellcheck disable=SC2046  # ssl_opt prints one option or nothing
      if ! sb "$w" "${PORT[$t]}" 8 "$WARMUP" run $(ssl_opt "$t") >"$TMP/runs/warmup-$w-$t.log" 2>&1; then
        tail -n 20 "$TMP/runs/warmup-$w-$t.log" >&2
        log "warm-up against $t failed"
        FAILED_RUNS=$((FAILED_RUNS + 1))
      fi
      WARM["$w $t"]=$(awk '/^[[:space:]]*queries:/ { q = $0; sub(/.*\(/, "", q); sub(/ per sec.*/, "", q); print q }' \
        "$TMP/runs/warmup-$w-$t.log" 2>/dev/null || true)
      log "  warm-up $t, $w: ${WARM["$w $t"]:-n/a} qps"
      [[ $t == haproxy-busy ]] && stop_haproxy_busy
    done
  done
fi

# parse FILE -> "qps avg_latency_ms retried reconnects" or nothing if the run has no statistics.
# The average latency is sysbench's per-event (= per transaction) latency; it is computed from the
# "Threads fairness" lines (execution time / events), which have more digits than the 2-decimal "avg:" line.
parse() {
  awk '
    /^[[:space:]]*queries:/            { q = $0; sub(/.*\(/, "", q); sub(/ per sec.*/, "", q); qps = q }
    /^[[:space:]]*ignored errors:/     { e = $0; sub(/^[^:]*:[[:space:]]*/, "", e); ign += e + 0 }
    /^[[:space:]]*reconnects:/         { e = $0; sub(/^[^:]*:[[:space:]]*/, "", e); rec += e + 0 }
    /^Latency \(ms\):/                 { inlat = 1 }
    inlat && /^[[:space:]]*avg:/       { avg = $2; inlat = 0 }
    /^[[:space:]]*events \(avg\/stddev\):/         { split($3, a, "/"); ev = a[1] }
    /^[[:space:]]*execution time \(avg\/stddev\):/ { split($4, a, "/"); et = a[1] }
    END {
      if (qps == "" || avg == "") exit 1
      if (ev > 0 && et > 0) avg = et * 1000 / ev
      printf "%s %.4f %d %d\n", qps, avg, ign, rec
    }' "$1"
}

declare -A QPS LAT ERR RETRIED FAILS CPU
CLK_TCK=$(getconf CLK_TCK)
proc_cpu_ticks() {  # proc_cpu_ticks PID: user + system clock ticks of PID so far (0 without a PID)
  [[ -n $1 ]] || { echo 0; return; }
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}   # key "workload threads target" -> space-separated values per round
for w in $WORKLOADS; do
  for th in $THREADS; do
    for ((r = 1; r <= ROUNDS; r++)); do
      for t in "${TARGETS[@]}"; do
        key="$w $th $t"
        f="$TMP/runs/$w-$th-$t-$r.log"
        log "round $r/$ROUNDS: $w, $th thread(s), $t, ${DURATION}s"
        rc=0
        pid=""
        [[ $t == haproxy-busy ]] && start_haproxy_busy
        [[ $t == baton ]] && pid=$BATON_PID
        [[ $t == baton-tls ]] && pid=$BATON_TLS_PID
        [[ $t == haproxy || $t == haproxy-tls ]] && pid=$HAPROXY_PID
        [[ $t == haproxy-busy ]] && pid=$HAPROXY_BUSY_PID
        [[ -n ${PID_OF[$t]:-} ]] && pid=${PID_OF[$t]}
        cpu_before=$(proc_cpu_ticks "$pid")
        # shellcheck disable=SC2046  # ssl_opt prints one option or nothing
        sb "$w" "${PORT[$t]}" "$th" "$DURATION" run $(ssl_opt "$t") >"$f" 2>&1 || rc=$?
        cpu_after=$(proc_cpu_ticks "$pid")
        [[ $t == haproxy-busy ]] && stop_haproxy_busy
        if (( rc == 0 )) && res=$(parse "$f"); then
          read -r q l i e <<<"$res"
          QPS[$key]+="$q "
          LAT[$key]+="$l "
          if [[ -n $pid ]]; then  # proxy CPU (user + system) per query, in microseconds
            CPU[$key]+="$(awk -v t=$((cpu_after - cpu_before)) -v hz="$CLK_TCK" -v q="$q" -v d="$DURATION" \
              'BEGIN { printf "%.2f", t / hz * 1e6 / (q * d) }') "
          fi
          RETRIED[$key]=$(( ${RETRIED[$key]:-0} + i ))
          ERR[$key]=$(( ${ERR[$key]:-0} + e ))
          TOTAL_ERRORS=$((TOTAL_ERRORS + e))
          (( e == 0 )) || log "  $e reconnect(s) in $f"
        else
          tail -n 15 "$f" >&2
          log "  run failed (exit $rc): $f"
          FAILED_RUNS=$((FAILED_RUNS + 1))
          ERR[$key]="${ERR[$key]:-0}"
          FAILS[$key]=$(( ${FAILS[$key]:-0} + 1 ))
        fi
      done
    done
  done
done

# ---------------------------------------------------------------- profile (PROFILE=1)
pid_of_target() {  # pid_of_target TARGET: the proxy process measured for TARGET (nothing for direct)
  case $1 in
    baton) echo "$BATON_PID" ;;
    haproxy) echo "$HAPROXY_PID" ;;
    haproxy-busy) echo "$HAPROXY_BUSY_PID" ;;
    *) echo "${PID_OF[$1]:-}" ;;
  esac
}
ctx_switches() {  # ctx_switches PID: voluntary + involuntary context switches of all of PID's threads so far
  [[ -n $1 ]] || { echo 0; return; }
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}
user_sys_ticks() { [[ -n $1 ]] && awk '{ print $14, $15 }' "/proc/$1/stat" || echo 0 0; }   # user_sys_ticks PID
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' /proc/stat; }   # busy idle, all CPUs
sb_queries() { awk '/^[[:space:]]*queries:/ { print $2; exit }' "$1"; }   # total queries of a sysbench log
PROFILE_ROWS=""
if [[ $PROFILE == 1 ]]; then
  command -v strace >/dev/null && command -v perf >/dev/null || die "PROFILE=1 needs strace and perf"
  mkdir -p "$TMP/profile"
  for th in $THREADS; do
    for t in "${TARGETS[@]}"; do
      [[ $t == *-tls ]] && continue
      [[ $t == haproxy-busy ]] && start_haproxy_busy
      pid=$(pid_of_target "$t"); f=$TMP/profile/$t-$th
      if [[ $t == direct ]]; then
        log "profile: direct, oltp_point_select, $th thread(s): ${PROFILE_SECONDS}s (machine CPU only)"
      else
        log "profile: $t, oltp_point_select, $th thread(s): ${PROFILE_SECONDS}s plain, $PROFILE_EVENTS queries under strace, ${PROFILE_SECONDS}s under perf"
      fi
      # 1. nothing attached: CPU split and context switches per query
      read -r u0 s0 <<<"$(user_sys_ticks "$pid")"; c0=$(ctx_switches "$pid"); read -r mb0 mi0 <<<"$(machine_ticks)"
      sb oltp_point_select "${PORT[$t]}" "$th" "$PROFILE_SECONDS" run >"$f.plain.log" 2>&1 || die "profile run failed: $f.plain.log"
      read -r u1 s1 <<<"$(user_sys_ticks "$pid")"; c1=$(ctx_switches "$pid"); read -r mb1 mi1 <<<"$(machine_ticks)"
      q=$(sb_queries "$f.plain.log")
      read -r qps us ks ctx mbusy midle <<<"$(awk -v q="$q" -v d="$PROFILE_SECONDS" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v c=$((c1 - c0)) \
        -v mb=$((mb1 - mb0)) -v mi=$((mi1 - mi0)) -v hz="$CLK_TCK" \
        'BEGIN { printf "%.0f %.1f %.1f %.2f %.1f %.0f", q / d, u / hz * 1e6 / q, s / hz * 1e6 / q, c / q, mb / hz * 1e6 / q, 100 * mi / (mb + mi) }')"
      if [[ $t == direct ]]; then
        PROFILE_ROWS+="| $th | direct | $qps | $mbusy | $midle % | – | – | – | – | – | – | – | – | – | – |"$'\n'
        continue
      fi
      # 2. strace: system calls per query by name (strace slows the proxy down; only the counts are used)
      strace -c -f -o "$f.strace" -p "$pid" 2>/dev/null & tracer=$!
      sleep 1
      sb oltp_point_select "${PORT[$t]}" "$th" 0 run --events="$PROFILE_EVENTS" >"$f.strace.log" 2>&1 || die "profile run failed: $f.strace.log"
      kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
      q=$(sb_queries "$f.strace.log")
      calls=$(awk -v q="$q" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" && $4 / q >= 0.05 { printf "%s%s %.2f", sep, $NF, $4 / q; sep = ", " }' "$f.strace")
      # 3. perf: where the samples fall (kernel paths by the system call they run in, and user space)
      perf record -q -e cpu-clock -F 2999 -g -p "$pid" -o "$f.perf" >/dev/null 2>&1 & recorder=$!
      sleep 0.5
      sb oltp_point_select "${PORT[$t]}" "$th" "$PROFILE_SECONDS" run >"$f.perf.log" 2>&1 || die "profile run failed: $f.perf.log"
      kill -INT "$recorder"; wait "$recorder" 2>/dev/null || true
      perf report -i "$f.perf" --children --sort sym --stdio -g none 2>/dev/null >"$f.perf.txt" || true
      perf report -i "$f.perf" --no-children --sort dso --stdio -g none 2>/dev/null >"$f.perf-dso.txt" || true
      share() { awk -v re="$1" '$3 == "[k]" && $4 ~ re { s += $1 + 0 } END { printf "%.0f", s }' "$f.perf.txt"; }
      kernel=$(awk '$2 == "[kernel.kallsyms]" { printf "%.0f", $1 + 0 }' "$f.perf-dso.txt")
      [[ $t == haproxy-busy ]] && stop_haproxy_busy
      PROFILE_ROWS+="| $th | $t | $qps | $mbusy | $midle % | $(awk -v a="$us" -v b="$ks" 'BEGIN { printf "%.1f", a + b }') | $us | $ks | $ctx | $calls | $(share '^__x64_sys_(sendto|write|writev|sendmsg)$') % | $(share '^sock_def_readable$') % | $(share '^__x64_sys_(recvfrom|read|readv|recvmsg)$') % | $(share '^__x64_sys_(epoll_wait|epoll_pwait|epoll_pwait2|io_uring_enter)$') % | $(awk -v k="${kernel:-0}" 'BEGIN { printf "%.0f", 100 - k }') % |"$'\n'
    done
  done
fi

# ---------------------------------------------------------------- report
median() {  # median VALUES...: prints the median, or nothing if there are no values
  printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) exit; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.4f\n", m }'
}
fmt() { awk -v x="$1" -v d="$2" 'BEGIN { if (x == "") print "n/a"; else printf "%.*f\n", d, x }'; }

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
[[ -n $cpu_model ]] || cpu_model=$(lscpu 2>/dev/null | awk -F': *' '/Model name/ { print $2; exit }')
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && commit+=" (with uncommitted changes)"

{
  echo "## Baton vs HAProxy (mode tcp) vs direct: sysbench on 127.0.0.1"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); Baton commit $commit"
  echo "- Machine: $(nproc) CPUs ($cpu_model); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- mariadbd: $("$MARIADBD" --version | sed 's/^.*Ver //')"
  echo "- HAProxy: $(haproxy -v | head -n 1)"
  echo "- sysbench: $(sysbench --version)"
  echo "- Java: $(java -version 2>&1 | head -n 2 | tail -n 1)"
  echo "- Baton config: $([[ $CLUSTER == galera ]] && echo "galera, 3 nodes, monitor user, sessions.move on (direct and haproxy go to the elected node 127.0.0.1:$DB_PORT)" || echo "single node")${BATON_IO_THREADS:+, io-threads $BATON_IO_THREADS}${BATON_JAVA_OPTS:+, JVM options '$BATON_JAVA_OPTS'}; $(grep -m1 -o 'transport .*' "$TMP/baton.log" || echo 'transport not logged')"
  for v in "${VARIANTS[@]}"; do
    echo "- Variant $v: the same${VARIANT_CONFIG[$v]:+ plus config '$(printf '%s' "${VARIANT_CONFIG[$v]}" | paste -sd';' -)'}${VARIANT_OPTS[$v]:+ plus JVM options '${VARIANT_OPTS[$v]# }'}; $(grep -m1 -o 'transport .*' "$TMP/$v.log" || echo 'transport not logged')"
  done
  echo "- Runs: --tables=$TABLES --table-size=$TABLE_SIZE, ${DURATION}s per run, $ROUNDS round(s) alternating ${TARGETS[*]}; ${WARMUP}s warm-up per target. Medians over rounds."
  [[ ${HAPROXY_BUSY:-0} == 1 ]] && echo "- haproxy-busy: the same HAProxy config plus 'busy-polling' in its global section; started only for its own warm-up, runs and profile (its polling keeps a CPU busy)."
  [[ $TLS == 1 ]] && echo "- TLS rows (sysbench --mysql-ssl=on, ratios to direct-tls): baton-tls terminates the client's TLS and opens its own to the server (verify-ca); haproxy-tls relays the client's TLS to the server untouched (mode tcp cannot terminate MySQL's in-protocol TLS)."
  echo "- sysbench, MariaDB, Baton and HAProxy all share the same CPUs, so the ratios show each proxy's CPU cost per packet."
  echo "- Latency is sysbench's average per transaction (1 query for oltp_point_select, 18 for oltp_read_write)."
  if (( WARMUP > 0 )); then
    for w in $WORKLOADS; do
      warm=""
      for t in "${TARGETS[@]}"; do warm+="${warm:+, }$t $(fmt "${WARM["$w $t"]:-}" 0)"; done
      echo "- Warm-up, $w (8 threads, ${WARMUP}s each, in this order; the first requests to a fresh JVM): qps $warm"
    done
  fi
  echo
  echo "| Workload | Threads | Target | qps (median) | qps / baseline | avg latency ms (median) | added latency ms | proxy CPU µs/query | reconnects | retried deadlocks | qps per round |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
  for w in $WORKLOADS; do
    for th in $THREADS; do
      for t in "${TARGETS[@]}"; do
        key="$w $th $t"
        b=$(baseline "$t")
        # shellcheck disable=SC2086  # the value lists are meant to split
        dq=$(median ${QPS["$w $th $b"]:-}); dl=$(median ${LAT["$w $th $b"]:-})
        # shellcheck disable=SC2086
        q=$(median ${QPS[$key]:-}); l=$(median ${LAT[$key]:-})
        ratio="n/a"; added="–"
        if [[ -n $q && -n $dq ]]; then ratio=$(awk -v a="$q" -v b="$dq" 'BEGIN { printf "%.2f", a / b }'); fi
        if [[ $th == 1 && $t != "$b" ]]; then
          added="n/a"
          [[ -n $l && -n $dl ]] && added=$(awk -v a="$l" -v b="$dl" 'BEGIN { printf "%+.3f", a - b }')
        fi
        errs=${ERR[$key]:-0}
        (( ${FAILS[$key]:-0} == 0 )) || errs+=" (+${FAILS[$key]} failed run(s))"
        rounds=$(for v in ${QPS[$key]:-}; do printf '%.0f ' "$v"; done)
        # shellcheck disable=SC2086
        c=$(median ${CPU[$key]:-}); [[ -n $c ]] && c=$(fmt "$c" 1) || c="–"
        echo "| $w | $th | $t | $(fmt "$q" 0) | $ratio | $(fmt "$l" 3) | $added | $c | $errs | ${RETRIED[$key]:-0} | ${rounds% } |"
      done
    done
  done
  echo
  if [[ -n $PROFILE_ROWS ]]; then
    echo "### Where each proxy's CPU goes (oltp_point_select)"
    echo
    echo "CPU, user/kernel split and context switches: ${PROFILE_SECONDS}s runs with nothing attached (/proc); *machine CPU* is the busy time"
    echo "of all CPUs per query (every process: sysbench, MariaDB and the proxy), *idle* the share of the CPUs left idle. System calls: strace -c over"
    echo "$PROFILE_EVENTS queries (counts only; calls under 0.05 per query left out). Shares: perf record (cpu-clock, call graphs) over"
    echo "${PROFILE_SECONDS}s, percent of the proxy's samples spent inside each kind of system call (children included); *waking the peer*"
    echo "is the part of the sends spent waking the process that receives the bytes (on loopback the sender does the receiver's TCP work)."
    echo
    echo "| Threads | Target | qps | machine CPU µs/query | idle | proxy CPU µs/query | user µs | kernel µs | context switches/query | system calls/query | in send | of it waking the peer | in recv | in epoll/io_uring wait | user space |"
    echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|"
    printf '%s' "$PROFILE_ROWS"
    echo
  fi
  if (( TOTAL_ERRORS > 0 || FAILED_RUNS > 0 )); then
    echo "**Not clean: $TOTAL_ERRORS reconnect(s), $FAILED_RUNS failed run(s).**"
  else
    echo "All runs completed with no reconnect and no fatal error (deadlocks retried by sysbench are listed per row)."
  fi
} > "$TMP/report.md"

mkdir -p "$RESULTS_DIR"
cp "$TMP/report.md" "$OUT"
echo
cat "$OUT"
log "written to ${OUT#"$ROOT"/}"

if (( TOTAL_ERRORS > 0 || FAILED_RUNS > 0 )); then
  log "FAILED: $TOTAL_ERRORS reconnect(s), $FAILED_RUNS failed run(s); logs in $TMP/runs"
  exit 1
fi
