#!/usr/bin/env bash
# Memory per idle, logged-in client: Baton's live heap, RSS and direct memory with N idle sessions.
#
#   bench/idle-clients.sh
#
# Everything runs on 127.0.0.1: its own MariaDB (scripts/local-mariadb.sh, thread pool, max_connections raised)
# in a temp dir and Baton in front of it, with quotas raised to let N clients in from one address. With
# CLUSTER=galera the server is a 3-node Galera cluster (scripts/local-galera.sh, the same server settings on each
# node) and Baton runs `type: galera` with a monitor user that may read the password hashes, so sessions are
# movable: each also carries what a move replays (SessionState, PreparedStatements) and a framer on the client
# leg. The script checks through Baton that sessions are tracked (@@session_track_system_variables = '*') before
# measuring; only the elected writer gets client connections, so MariaDB's RSS is read from its process. For each run
# a fresh Baton starts; bench/IdleClients.java (one thread, java.nio) logs N clients in as app/app, each going
# through Baton's greeting, the forced auth switch to the server's scramble and the server's OK, and keeps them
# open and idle. Baton is measured before the clients arrive (after a warm-up login) and with all N open:
#   - live heap: `jcmd PID GC.class_histogram` (a full GC first; its total is the bytes of all live objects),
#     and the histogram difference per class, divided by the clients logged in;
#   - heap used after that GC (`GC.heap_info`), the process RSS (/proc/PID/status VmRSS), Baton's threads;
#   - native memory from the JVM's own tracking (-XX:NativeMemoryTracking=summary): "Other" holds Netty's
#     direct buffers (its pooled arenas), "Thread" the thread stacks;
#   - MariaDB's RSS per connection, for scale (every Baton client has a server connection behind it; with
#     galera, the elected writer's process).
# Then, with the N clients still idle, five fresh clients log in and run SELECT 1 (login time and SELECT 1
# round trip, median), and the idle clients are checked to be still open.
#
# Environment (all optional):
#   CLUSTER=single       single: one MariaDB, Baton `type: single` (no session is tracked for moves);
#                        galera: 3 Galera nodes, Baton `type: galera` with a monitor user (movable sessions)
#   GALERA_BASE=3440     with galera: node N listens on GALERA_BASE+N (its group, IST and SST ports shift with it,
#                        see scripts/local-galera.sh); the script refuses to start if any of them is taken
#   N=10000              idle clients in the large runs. Baton holds two sockets per client (client and server),
#                        so N is capped at (hard open-files limit - 200) / 2; the report says when it was.
#   SMALL_N=1000         idle clients in the small run (linearity)
#   SMALL_HEAP=256m      -Xmx of the small-heap run
#   RUNS="default:SMALL default:N small:N"
#                        runs, each HEAP:COUNT; HEAP is default (no -Xmx: the JVM's default, 1/4 of RAM), small
#                        (-Xmx$SMALL_HEAP) or an -Xmx value such as 512m; COUNT is SMALL, N or a number
#   CONCURRENCY=100      clients logging in at once
#   DB_PORT=3331 BATON_PORT=6053 BATON_ADMIN_PORT=6054
#                        first port tried for each; the next free one is used if it is taken
#   BATON_JAVA_OPTS=     extra JVM options for Baton
#   KEEP_TMP=1           keep the temp dir (logs, histograms) even on success; it is always kept on failure
#
# Output: the markdown tables (plus machine facts) on stdout and in bench/results/idle-clients-latest.md
# (CLUSTER=galera: bench/results/idle-clients-galera-latest.md).
# Exit status: 0 if every client of every run logged in, stayed open and the fresh SELECT 1 worked; 1 otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
N=${N:-10000}
SMALL_N=${SMALL_N:-1000}
SMALL_HEAP=${SMALL_HEAP:-256m}
RUNS=${RUNS:-"default:SMALL default:N small:N"}
CONCURRENCY=${CONCURRENCY:-100}
CLUSTER=${CLUSTER:-single}
GALERA_BASE=${GALERA_BASE:-3440}
GALERA_NODES=3
JAR=$ROOT/proxy-server/target/baton-proxy.jar
CLIENT_SRC=$ROOT/bench/IdleClients.java
RESULTS_DIR=$ROOT/bench/results
OUT=$RESULTS_DIR/idle-clients-latest.md
PROBES=5
WRITER_NOTE=""
CLUSTER_TITLE=""
if [[ $CLUSTER == galera ]]; then
  OUT=$RESULTS_DIR/idle-clients-galera-latest.md
  CLUSTER_TITLE=" (Galera, movable sessions)"
fi


for v in N SMALL_N CONCURRENCY GALERA_BASE; do
  [[ ${!v} =~ ^[0-9]+$ ]] && (( ${!v} >= 1 )) || die "$v must be a positive integer (got '${!v}')"
done
[[ $CLUSTER == single || $CLUSTER == galera ]] || die "CLUSTER must be single or galera (got '$CLUSTER')"

# ---------------------------------------------------------------- limits
# Every client costs Baton two descriptors (client socket, server socket) and the server and this script's client
# one each. The hard limit cannot be raised without privileges this machine may not grant, so N is capped to it.
HARD_FILES=$(ulimit -Hn)
[[ $HARD_FILES == unlimited ]] && HARD_FILES=1048576
ulimit -n "$HARD_FILES"
MAX_N=$(( (HARD_FILES - 200) / 2 ))
N_ASKED=$N
CAP_NOTE=""
if (( N > MAX_N )); then
  N=$MAX_N
  CAP_NOTE="N=$N_ASKED asked; capped to $N: the hard open-files limit is $HARD_FILES (ulimit -Hn, not raisable here) and Baton holds 2 sockets per client plus ~100 descriptors of its own."
  log "$CAP_NOTE"
fi
(( SMALL_N <= N )) || SMALL_N=$N
MAX_CLIENTS=$(( N > SMALL_N ? N : SMALL_N ))

# ---------------------------------------------------------------- dependencies and build
"$ROOT/scripts/install-deps.sh" >&2 || die "scripts/install-deps.sh failed"
for cmd in mariadb mariadb-admin java jcmd ss timeout curl; do
  command -v "$cmd" >/dev/null || die "$cmd not found"
done
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)

# bin/baton-proxy builds the jar when it is missing or older than its sources, so a run never measures an old build.
command -v mvn >/dev/null || [[ -f $JAR ]] || die "$JAR is missing and mvn is not installed"
"$ROOT/bin/baton-proxy" --version >&2 || die "Baton build failed"

# ---------------------------------------------------------------- processes and cleanup
TMP=$(mktemp -d /tmp/baton-idle.XXXXXX)
chmod 755 "$TMP"   # mariadbd runs as mysql when we are root and must traverse it
DB_DIR=$TMP/db
[[ $CLUSTER == galera ]] && DB_DIR=$TMP/galera
BATON_PID=""
CLIENT_PID=""
DB_STARTED=no


exec 3>&1 4>&2   # the script's own stdout/stderr, for cleanup (a signal may arrive inside a redirected call)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  exec 1>&3 2>&4
  exec 5>&- 2>/dev/null
  stop_pid "$CLIENT_PID" clients
  stop_pid "$BATON_PID" baton
  if [[ $DB_STARTED == yes && $CLUSTER == galera ]]; then
    "$ROOT/scripts/local-galera.sh" stop "$DB_DIR" >&2
  elif [[ $DB_STARTED == yes ]]; then
    "$ROOT/scripts/local-mariadb.sh" stop "$DB_DIR" >&2
  fi
  if [[ $rc -eq 0 && ${KEEP_TMP:-0} != 1 ]]; then
    rm -rf "$TMP"
  else
    log "kept $TMP (logs: baton-*.log, clients-*.out, db/error.log or galera/node*/error.log, measure/)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $CLUSTER == galera ]]; then
  # local-galera.sh puts node N on BASE+N and its group, IST and SST ports on 4560+N, 4570+N, 4580+N, all shifted
  # by BASE-3310; they are fixed by the base, so a taken one cannot be skipped.
  for i in $(seq 1 $GALERA_NODES); do
    off=$(( GALERA_BASE - 3310 ))
    for p in $(( GALERA_BASE + i )) $(( 4560 + i + off )) $(( 4570 + i + off )) $(( 4580 + i + off )); do
      port_free "$p" || die "port $p (Galera node $i with GALERA_BASE=$GALERA_BASE) is taken; pick another GALERA_BASE"
      USED_PORTS+=" $p"
    done
  done
else
  DB_PORT=$(free_port "${DB_PORT:-3331}");           USED_PORTS+=" $DB_PORT"
fi
BATON_PORT=$(free_port "${BATON_PORT:-6053}");       USED_PORTS+=" $BATON_PORT"
BATON_ADMIN_PORT=$(free_port "${BATON_ADMIN_PORT:-6054}"); USED_PORTS+=" $BATON_ADMIN_PORT"


# ---------------------------------------------------------------- MariaDB
# The thread pool keeps MariaDB at a few threads for all connections; the table caches are kept small so that its
# descriptors go to connections.
DB_MAX_CONNECTIONS=$(( MAX_CLIENTS + 200 ))
MARIADB_EXTRA_CNF="thread_handling=pool-of-threads
max_connections=$DB_MAX_CONNECTIONS
open_files_limit=$HARD_FILES
table_open_cache=400
table_definition_cache=400
innodb_buffer_pool_size=64M"
if [[ $CLUSTER == galera ]]; then
  log "starting Galera nodes on 127.0.0.1:$((GALERA_BASE + 1))..$((GALERA_BASE + GALERA_NODES)) in $DB_DIR (max_connections=$DB_MAX_CONNECTIONS, thread pool)"
  DB_STARTED=yes
  GALERA_EXTRA_CNF=$MARIADB_EXTRA_CNF "$ROOT/scripts/local-galera.sh" start "$DB_DIR" "$GALERA_BASE" >&2
  # app's default database (sql in bench/lib.sh) and the grant that lets the monitor read password hashes, as a real
  # deployment has it: without it a move cannot log a session in again on another node and closes it instead.
  mariadb --no-defaults --socket="$DB_DIR/node1/sock" -uroot -e "CREATE DATABASE IF NOT EXISTS sbtest;
    GRANT SELECT ON mysql.global_priv TO 'baton_monitor'@'%';"
  for i in $(seq 1 $GALERA_NODES); do
    db_max=$(sql $(( GALERA_BASE + i )) "SELECT @@max_connections")
    (( db_max >= MAX_CLIENTS + 10 )) || die "Galera node $i took max_connections=$db_max (asked $DB_MAX_CONNECTIONS): see $DB_DIR/node$i/error.log"
  done
  DB_PID=""   # the elected writer's, found through Baton in each run
else
  log "starting MariaDB on 127.0.0.1:$DB_PORT in $DB_DIR (max_connections=$DB_MAX_CONNECTIONS, thread pool)"
  DB_STARTED=yes
  MARIADB_EXTRA_CNF=$MARIADB_EXTRA_CNF "$ROOT/scripts/local-mariadb.sh" start "$DB_DIR" "$DB_PORT" >&2
  DB_PID=$(tr -dc '0-9' < "$DB_DIR/pid")
  db_max=$(sql "$DB_PORT" "SELECT @@max_connections")
  (( db_max >= MAX_CLIENTS + 10 )) || die "MariaDB took max_connections=$db_max (asked $DB_MAX_CONNECTIONS): see $DB_DIR/error.log"
fi

# ---------------------------------------------------------------- measuring
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }          # rss_kib PID
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }    # threads_of PID
# nmt_kib FILE CATEGORY: committed KiB of one category in a VM.native_memory summary ("Total" for all)
nmt_kib() {
  awk -v cat="$2" '
    cat == "Total" && /^Total:/ { for (i = 1; i <= NF; i++) if ($i ~ /^committed=/) { v = $i; sub(/committed=/, "", v); sub(/KB.*/, "", v); print v; exit } }
    cat != "Total" && $0 ~ "^-[ ]+" cat " \\(" { for (i = 1; i <= NF; i++) if ($i ~ /committed=/) { v = $i; sub(/.*committed=/, "", v); sub(/KB.*/, "", v); print v; exit } }
  ' "$1"
}
hist_total() { awk '/^Total/ { print $3 }' "$1"; }                    # hist_total FILE: live bytes
heap_used_kib() {  # heap_used_kib FILE: "used NNNK" of the whole heap in a GC.heap_info answer
  awk '/ used [0-9]+K/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K.*/, "", v); print v; exit } }' "$1"
}
measure() {  # measure PID DIR: full GC + histogram, heap info, NMT, RSS, threads into DIR
  local pid=$1 dir=$2
  mkdir -p "$dir"
  jcmd "$pid" GC.class_histogram > "$dir/histogram.txt"   # runs a full GC first: only live objects count
  jcmd "$pid" GC.heap_info > "$dir/heap_info.txt"
  jcmd "$pid" VM.native_memory summary > "$dir/nmt.txt"
  rss_kib "$pid" > "$dir/rss"
  threads_of "$pid" > "$dir/threads"
  rss_kib "$DB_PID" > "$dir/db_rss"
}

# ---------------------------------------------------------------- the client program
CLIENT_OUT=""
client_start() {  # client_start NAME: IdleClients against Baton, commands through fd 5
  CLIENT_OUT=$TMP/clients-$1.out
  rm -f "$TMP/ctl"; mkfifo "$TMP/ctl"
  java -XX:+UseSerialGC "$CLIENT_SRC" 127.0.0.1 "$BATON_PORT" app app <"$TMP/ctl" >"$CLIENT_OUT" 2>&1 &
  CLIENT_PID=$!
  exec 5>"$TMP/ctl"
  local deadline=$((SECONDS + 60))
  until grep -q '^READY' "$CLIENT_OUT"; do
    kill -0 "$CLIENT_PID" 2>/dev/null && (( SECONDS < deadline )) || { cat "$CLIENT_OUT" >&2; die "the client program did not start"; }
    sleep 0.2
  done
}
ctl() {  # ctl COMMAND...: sends one command, waits for its END (10 min), prints its answer lines without the tag
  # the tag counter lives in a file: ctl runs in command substitutions, whose variables do not come back
  local tag deadline=$((SECONDS + 600))
  tag=$(( $(cat "$TMP/tag" 2>/dev/null || echo 0) + 1 ))
  echo "$tag" > "$TMP/tag"
  echo "$tag $*" >&5
  until grep -q "^$tag END" "$CLIENT_OUT"; do
    kill -0 "$CLIENT_PID" 2>/dev/null && (( SECONDS < deadline )) || { tail -n 20 "$CLIENT_OUT" >&2; die "client command '$*' did not finish"; }
    sleep 0.2
  done
  grep "^$tag " "$CLIENT_OUT" | grep -v "^$tag END" | cut -d' ' -f2- || true
}
client_stop() {
  exec 5>&-
  local deadline=$((SECONDS + 30))
  while kill -0 "$CLIENT_PID" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
  stop_pid "$CLIENT_PID" clients
  CLIENT_PID=""
}

baton_yaml() {  # baton_yaml MAX: a config for CLUSTER whose quotas let MAX clients in from 127.0.0.1
  echo "listen: 127.0.0.1:$BATON_PORT"
  echo "admin:"
  echo "  listen: 127.0.0.1:$BATON_ADMIN_PORT"
  echo "quotas:"
  echo "  per-client: $(( $1 + 100 ))"
  echo "  max-total: $(( $1 + 100 ))"
  echo "cluster:"
  if [[ $CLUSTER == galera ]]; then
    echo "  type: galera"
    echo "  nodes:"
    for i in $(seq 1 $GALERA_NODES); do
      echo "    - {name: db$i, address: 127.0.0.1:$(( GALERA_BASE + i )), priority: $i}"
    done
    echo "  monitor:"
    echo "    user: baton_monitor"
    echo "    password: monitor"
  else
    echo "  type: single"
    echo "  nodes:"
    echo "    - {name: db1, address: 127.0.0.1:$DB_PORT}"
  fi
}
# galera_writer: checks that Baton tracks sessions for moves, then sets DB_PID to the elected writer's mariadbd
galera_writer() {
  local tracked port node pid
  tracked=$(sql "$BATON_PORT" "SELECT @@session.session_track_system_variables") || die "SELECT through Baton failed"
  [[ $tracked == '*' ]] || die "sessions through Baton are not tracked for moves (session_track_system_variables is '$tracked', not '*'): Baton needs the monitor user, a galera cluster, sessions.move and SELECT on mysql.global_priv; see $TMP/baton-$name.log"
  port=$(sql "$BATON_PORT" "SELECT @@port")
  node=$(( port - GALERA_BASE ))
  (( node >= 1 && node <= GALERA_NODES )) || die "Baton's writer answers on port $port, which is none of the Galera nodes"
  pid=$(tr -dc '0-9' < "$DB_DIR/node$node/pid")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || die "no running mariadbd for node $node (pid file $DB_DIR/node$node/pid)"
  DB_PID=$pid
  WRITER_NOTE="db$node (127.0.0.1:$port)"
  log "$name: sessions tracked for moves; writer db$node on port $port, mariadbd pid $pid"
}

per() {  # per BEFORE WITH [DIVISOR]: (WITH - BEFORE) / ok / DIVISOR, one decimal
  awk -v a="$1" -v b="$2" -v n="$ok" -v d="${3:-1}" 'BEGIN { if (n > 0) printf "%.1f", (b - a) / n / d; else print "n/a" }'
}
live_mib() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 1048576 }'; }
median() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ---------------------------------------------------------------- runs
FAILURES=0
ROWS=()
BIGGEST_RUN=""
BIGGEST_OK=0
declare -A RUN_OK
run_no=0
for spec in $RUNS; do
  heap=${spec%%:*}; count=${spec#*:}
  case $count in SMALL) count=$SMALL_N ;; N) count=$N ;; esac
  [[ $count =~ ^[0-9]+$ ]] || die "RUNS: bad count in '$spec'"
  (( count <= N )) || count=$N
  case $heap in
    default) heap_opt=""; heap_label="default" ;;
    small) heap_opt="-Xmx$SMALL_HEAP"; heap_label="-Xmx$SMALL_HEAP" ;;
    *) heap_opt="-Xmx$heap"; heap_label="-Xmx$heap" ;;
  esac
  run_no=$((run_no + 1))
  name="run$run_no"
  log "---- $name: Baton heap $heap_label, $count idle clients"

  baton_yaml "$count" > "$TMP/$name.yaml"
  # shellcheck disable=SC2086  # options are lists
  java $heap_opt -XX:NativeMemoryTracking=summary ${BATON_JAVA_OPTS:-} -jar "$JAR" --config "$TMP/$name.yaml" \
    </dev/null >"$TMP/baton-$name.log" 2>&1 &
  BATON_PID=$!
  wait_sql "$BATON_PORT" baton "$BATON_PID" "$TMP/baton-$name.log"
  [[ $CLUSTER == galera ]] && galera_writer
  flags=$(jcmd "$BATON_PID" VM.flags 2>/dev/null | tr ' ' '\n')
  max_heap_mib=$(awk -F= '/^-XX:MaxHeapSize=/ { printf "%d", $2 / 1048576 }' <<<"$flags")
  gc_name=$(awk -F'[+=]' '/^-XX:\+Use.*GC$/ { sub(/^Use/, "", $2); print $2; exit }' <<<"$flags")

  client_start "$name"
  # Warm-up: classes loaded and code paths taken once, so the baseline holds what Baton keeps without clients.
  ctl probe >/dev/null
  ctl open 50 10 >/dev/null
  ctl close >/dev/null
  sleep 2
  measure "$BATON_PID" "$TMP/measure/$name-before"

  log "$name: opening $count clients, $CONCURRENCY at a time"
  opened=$(ctl open "$count" "$CONCURRENCY")
  read -r _ ok failed secs <<<"$(grep '^opened' <<<"$opened")"
  grep '^error' <<<"$opened" >&2 || true
  log "$name: $ok logged in, $failed failed, ${secs}s"
  sleep 3
  metric_conn=$(curl -s "http://127.0.0.1:$BATON_ADMIN_PORT/metrics" | awk '/^baton_connections_total / { print $2 }')
  measure "$BATON_PID" "$TMP/measure/$name-with"

  login_ms=(); select_ms=(); probe_fail=0
  for _ in $(seq 1 "$PROBES"); do
    p=$(ctl probe)
    if [[ $p =~ login_ms\ ([0-9.]+)\ select1_ms\ ([0-9.]+)\ result\ 1 ]]; then
      login_ms+=("${BASH_REMATCH[1]}"); select_ms+=("${BASH_REMATCH[2]}")
    else
      log "$name: $p"; probe_fail=$((probe_fail + 1))
    fi
  done
  read -r _ still_open closed < <(ctl status)
  log "$name: after the probes $still_open still open, $closed closed by Baton; Baton counts ${metric_conn:-?} connections"
  ctl close >/dev/null
  client_stop
  stop_pid "$BATON_PID" baton
  BATON_PID=""

  (( ok == count && failed == 0 && probe_fail == 0 && still_open == count )) || FAILURES=$((FAILURES + 1))

  b=$TMP/measure/$name-before; w=$TMP/measure/$name-with
  live_b=$(hist_total "$b/histogram.txt"); live_w=$(hist_total "$w/histogram.txt")
  heap_pc=$(per "$live_b" "$live_w" 1024)
  used_pc=$(per "$(heap_used_kib "$b/heap_info.txt")" "$(heap_used_kib "$w/heap_info.txt")")
  rss_pc=$(per "$(cat "$b/rss")" "$(cat "$w/rss")")
  other_pc=$(per "$(nmt_kib "$b/nmt.txt" Other)" "$(nmt_kib "$w/nmt.txt" Other)")
  nmt_pc=$(per "$(nmt_kib "$b/nmt.txt" Total)" "$(nmt_kib "$w/nmt.txt" Total)")
  db_pc=$(per "$(cat "$b/db_rss")" "$(cat "$w/db_rss")")
  ROWS+=("| $heap_label ($max_heap_mib MiB, $gc_name) | $ok / $count | $failed | $secs | $(live_mib "$live_b") → $(live_mib "$live_w") | **$heap_pc** | $used_pc | $rss_pc | $other_pc | $nmt_pc | $(cat "$b/threads") → $(cat "$w/threads") | $still_open | $(median "${login_ms[@]}") | $(median "${select_ms[@]}") | $db_pc |")
  if (( ok > BIGGEST_OK )) && [[ $heap == default ]]; then BIGGEST_OK=$ok; BIGGEST_RUN=$name; fi
  RUN_OK[$name]=$ok
done

# ---------------------------------------------------------------- report
# by_origin RUN: growth of live bytes per client, grouped by where the classes come from
by_origin() {
  local n=${RUN_OK[$1]}
  awk -v n="$n" '
    FNR == 1 { f++ }
    /^ *[0-9]+:/ { k = $4; if (f == 1) bb[k] = $3; else wb[k] = $3 }
    END {
      for (k in wb) {
        d = wb[k] - bb[k]
        g = k ~ /^dev\.baton\./ ? "Baton (dev.baton.*)" : k ~ /^io\.netty\./ ? "Netty (io.netty.*)" \
          : k == "[B" ? "byte arrays ([B)" : "other JDK classes"
        sum[g] += d; all += d
      }
      for (g in sum) printf "| %s | %.0f |\n", g, sum[g] / n
      printf "| **all** | **%.0f** |\n", all / n
    }' "$TMP/measure/$1-before/histogram.txt" "$TMP/measure/$1-with/histogram.txt"
}
# top_classes RUN: the classes whose live bytes grew most from before to with the clients, per client
top_classes() {
  local run=$1 n=${RUN_OK[$1]}
  awk -v n="$n" '
    FNR == 1 { f++ }
    /^ *[0-9]+:/ { k = $4; if (f == 1) { bi[k] = $2; bb[k] = $3 } else { wi[k] = $2; wb[k] = $3 } }
    END {
      for (k in wb) { d = wb[k] - bb[k]; if (d > 0) printf "%d %.2f %s\n", d, (wi[k] - bi[k]) / n, k }
    }' "$TMP/measure/$run-before/histogram.txt" "$TMP/measure/$run-with/histogram.txt" \
  | sort -rn | awk 'NR <= 15' | awk -v n="$n" '
    { side = "–"
      if ($3 ~ /BackendLink/) side = "backend link"
      else if ($3 ~ /ClientSession|ClientHandshake/) side = "client session"
      else if ($2 >= 1.5 && $2 <= 2.5) side = "both channels (≈2 per client)"
      else if ($2 >= 0.5 && $2 < 1.5) side = "one per client"
      printf "| `%s` | %.2f | %.0f | %s |\n", $3, $2, $1 / n, side }'
}

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && commit+=" (with uncommitted changes)"
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)

{
  echo "## Idle clients: memory per session${CLUSTER_TITLE:-}"
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); Baton commit $commit"
  echo "- Machine: $(nproc) CPUs ($cpu_model), $mem_gib GiB RAM; open-files limit $HARD_FILES (hard)"
  if [[ $CLUSTER == galera ]]; then
    echo "- mariadbd: $("$MARIADBD" --version | sed 's/^.*Ver //'), 3 Galera nodes (scripts/local-galera.sh) each with thread_handling=pool-of-threads, max_connections=$DB_MAX_CONNECTIONS; writer (last run) $WRITER_NOTE"
    echo "- Java: $(java -version 2>&1 | head -n 2 | tail -n 1); Baton galera (monitor user baton_monitor with SELECT on mysql.global_priv: sessions tracked for moves), quotas raised to the run's count + 100, otherwise defaults${BATON_JAVA_OPTS:+, JVM options '$BATON_JAVA_OPTS'}"
  else
    echo "- mariadbd: $("$MARIADBD" --version | sed 's/^.*Ver //') with thread_handling=pool-of-threads, max_connections=$DB_MAX_CONNECTIONS"
    echo "- Java: $(java -version 2>&1 | head -n 2 | tail -n 1); Baton single node, quotas raised to the run's count + 100, otherwise defaults${BATON_JAVA_OPTS:+, JVM options '$BATON_JAVA_OPTS'}"
  fi
  [[ -n $CAP_NOTE ]] && echo "- $CAP_NOTE"
  echo "- Clients: bench/IdleClients.java, one thread, $CONCURRENCY logging in at once (greeting, HandshakeResponse41, auth switch, OK), then idle."
  echo "- Per client = (value with the clients − value before them, after a warm-up login) / clients logged in."
  echo "  Live heap: total of \`jcmd GC.class_histogram\` (after its full GC). Heap used: \`GC.heap_info\` right after."
  echo "  RSS: VmRSS of the whole Baton process. Direct: NMT category Other (Netty's direct buffers). NMT: all committed native memory the JVM tracks."
  echo "  Fresh client: median of $PROBES new logins and SELECT 1 round trips with all clients idle. MariaDB RSS per connection: the server's side, for scale."
  echo
  echo "| Baton heap | logged in | failed | login s | live heap MiB before → with | **live heap KiB/client** | heap used KiB/client | RSS KiB/client | direct KiB/client | NMT committed KiB/client | Baton threads | still open at end | fresh login ms | fresh SELECT 1 ms | MariaDB RSS KiB/conn |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  if [[ -n $BIGGEST_RUN ]]; then
    echo "### Top 15 classes by live bytes per client ($BIGGEST_RUN, ${RUN_OK[$BIGGEST_RUN]} clients, default heap)"
    echo
    echo "| class | instances/client | bytes/client | side (by class name and count) |"
    echo "|---|---:|---:|---|"
    top_classes "$BIGGEST_RUN"
    echo
    echo "| classes from | bytes/client |"
    echo "|---|---:|"
    by_origin "$BIGGEST_RUN"
    echo
  fi
  if (( FAILURES > 0 )); then
    echo "**Not clean: $FAILURES run(s) had a failed login, a client closed while idle or a failed fresh SELECT 1.**"
  else
    echo "Every client of every run logged in and stayed open; the fresh SELECT 1 worked in every run."
  fi
} > "$TMP/report.md"

mkdir -p "$RESULTS_DIR"
cp "$TMP/report.md" "$OUT"
echo
cat "$OUT"
log "written to ${OUT#"$ROOT"/}"
(( FAILURES == 0 )) || { log "FAILED: $FAILURES run(s) not clean"; exit 1; }
