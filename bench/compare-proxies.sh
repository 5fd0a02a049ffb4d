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
#   WARMUP=5            seconds of oltp_point_select (8 threads) against each target before measuring
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
#   KEEP_TMP=1          keep the temp dir (logs, data) even on success; it is always kept on failure
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
WARMUP=${WARMUP:-5}
WORKLOADS=${WORKLOADS:-"oltp_point_select oltp_read_write"}
THREADS=${THREADS:-"1 8"}
TABLES=${TABLES:-4}
TABLE_SIZE=${TABLE_SIZE:-10000}
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
[[ $TLS == 1 ]] && TARGETS+=(direct-tls baton-tls haproxy-tls)
JAR=$ROOT/proxy-server/target/baton-proxy.jar
RESULTS_DIR=$ROOT/bench/results
OUT=$RESULTS_DIR/latest.md


for v in ROUNDS DURATION WARMUP TABLES TABLE_SIZE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( ROUNDS >= 1 && DURATION >= 1 )) || die "ROUNDS and DURATION must be at least 1"

# ---------------------------------------------------------------- dependencies and build
"$ROOT/scripts/install-deps.sh" >&2 || die "scripts/install-deps.sh failed"
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
HAPROXY_PID=""
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
  stop_pid "$BATON_PID" baton
  stop_pid "$BATON_TLS_PID" baton-tls
  for v in "${VARIANTS[@]}"; do stop_pid "${PID_OF[$v]:-}" "$v"; done
  [[ $DB_STARTED == yes ]] && "$ROOT/scripts/local-mariadb.sh" stop "$DB_DIR" >&2
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

declare -A PORT=([direct]=$DB_PORT [baton]=$BATON_PORT [haproxy]=$HAPROXY_PORT
                 [direct-tls]=$DB_PORT [baton-tls]=$BATON_TLS_PORT [haproxy-tls]=$HAPROXY_PORT)
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
log "starting MariaDB on 127.0.0.1:$DB_PORT in $DB_DIR"
DB_STARTED=yes
MARIADB_EXTRA_CNF=$MARIADB_EXTRA_CNF "$ROOT/scripts/local-mariadb.sh" start "$DB_DIR" "$DB_PORT" >&2

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
declare -A WARM   # target -> qps of its warm-up run
if (( WARMUP > 0 )); then
  for t in "${TARGETS[@]}"; do
    log "warm-up: $t, oltp_point_select, 8 threads, ${WARMUP}s"
    if ! sb oltp_point_select "${PORT[$t]}" 8 "$WARMUP" run $(ssl_opt "$t") >"$TMP/runs/warmup-$t.log" 2>&1; then
      tail -n 20 "$TMP/runs/warmup-$t.log" >&2
      log "warm-up against $t failed"
      FAILED_RUNS=$((FAILED_RUNS + 1))
    fi
    WARM[$t]=$(awk '/^[[:space:]]*queries:/ { q = $0; sub(/.*\(/, "", q); sub(/ per sec.*/, "", q); print q }' \
      "$TMP/runs/warmup-$t.log" 2>/dev/null || true)
    log "  warm-up $t: ${WARM[$t]:-n/a} qps"
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
        [[ $t == baton ]] && pid=$BATON_PID
        [[ $t == baton-tls ]] && pid=$BATON_TLS_PID
        [[ $t == haproxy || $t == haproxy-tls ]] && pid=$HAPROXY_PID
        [[ -n ${PID_OF[$t]:-} ]] && pid=${PID_OF[$t]}
        cpu_before=$(proc_cpu_ticks "$pid")
        # shellcheck disable=SC2046  # ssl_opt prints one option or nothing
        sb "$w" "${PORT[$t]}" "$th" "$DURATION" run $(ssl_opt "$t") >"$f" 2>&1 || rc=$?
        cpu_after=$(proc_cpu_ticks "$pid")
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
  echo "- Baton config: single node${BATON_IO_THREADS:+, io-threads $BATON_IO_THREADS}${BATON_JAVA_OPTS:+, JVM options '$BATON_JAVA_OPTS'}; $(grep -m1 -o 'transport .*' "$TMP/baton.log" || echo 'transport not logged')"
  for v in "${VARIANTS[@]}"; do
    echo "- Variant $v: the same${VARIANT_CONFIG[$v]:+ plus config '$(printf '%s' "${VARIANT_CONFIG[$v]}" | paste -sd';' -)'}${VARIANT_OPTS[$v]:+ plus JVM options '${VARIANT_OPTS[$v]# }'}; $(grep -m1 -o 'transport .*' "$TMP/$v.log" || echo 'transport not logged')"
  done
  echo "- Runs: --tables=$TABLES --table-size=$TABLE_SIZE, ${DURATION}s per run, $ROUNDS round(s) alternating ${TARGETS[*]}; ${WARMUP}s warm-up per target. Medians over rounds."
  [[ $TLS == 1 ]] && echo "- TLS rows (sysbench --mysql-ssl=on, ratios to direct-tls): baton-tls terminates the client's TLS and opens its own to the server (verify-ca); haproxy-tls relays the client's TLS to the server untouched (mode tcp cannot terminate MySQL's in-protocol TLS)."
  echo "- sysbench, MariaDB, Baton and HAProxy all share the same CPUs, so the ratios show each proxy's CPU cost per packet."
  echo "- Latency is sysbench's average per transaction (1 query for oltp_point_select, 18 for oltp_read_write)."
  if (( WARMUP > 0 )); then
    warm=""
    for t in "${TARGETS[@]}"; do warm+="${warm:+, }$t $(fmt "${WARM[$t]:-}" 0)"; done
    echo "- Warm-up (oltp_point_select, 8 threads, ${WARMUP}s each, in this order, first requests to a fresh JVM): qps $warm"
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
