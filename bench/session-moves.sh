#!/usr/bin/env bash
# Sessions through writer changes: runs SessionMoveIT (Galera) and PrimaryReplicaSessionMoveIT and prints their
# figures: errors the applications saw, sessions moved, and how long writes paused.
#
#   bench/session-moves.sh
#   OFFLINE=1 bench/session-moves.sh     # pass -o to Maven (everything already in ~/.m2)
#
# Galera: a real 3-node MariaDB + galera-4 cluster on loopback and one Baton instance in the test JVM, with the
# monitor user allowed to read the password hashes. sysbench oltp_read_write (8 threads, server-side prepared
# statements) runs through three switchovers; a commons-dbcp2 pool of 50 connections shaped like Rancher's (no test
# on borrow; each connection with its database, SET NAMES utf8mb4 and its own sql_mode), used by 8 workers, runs
# through a switchover there and back and then through kill -9 of the writer. Primary/replica: a MariaDB primary
# with two GTID replicas; an idle session through a switchover and through kill -9 of the primary.
#
# Output: the figures (lines starting with "moves |") on stdout and in bench/results/session-moves-latest.txt; the
# whole Maven log in bench/results/session-moves-latest.log. Exit status: Maven's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RESULTS_DIR=$ROOT/bench/results
LOG=$RESULTS_DIR/session-moves-latest.log
OUT=$RESULTS_DIR/session-moves-latest.txt
command -v mvn >/dev/null || { echo "mvn not found" >&2; exit 2; }
command -v sysbench >/dev/null || { echo "sysbench not found (scripts/install-deps.sh installs it)" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"

args=(-B -ntp verify -pl integration-tests -am
      -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false
      -Dit.test=SessionMoveIT,PrimaryReplicaSessionMoveIT -Dfailsafe.failIfNoSpecifiedTests=false)
[[ ${OFFLINE:-0} == 1 ]] && args=(-o "${args[@]}")

echo "[$(date +%T)] running; log: $LOG" >&2
status=0
# Only one test run that starts MariaDB processes at a time on this machine.
(cd "$ROOT" && flock /tmp/baton-it.lock mvn "${args[@]}") >"$LOG" 2>&1 || status=$?
grep "^moves |" "$LOG" | awk '!seen[$0]++' | tee "$OUT" || true
if (( status != 0 )); then
  echo "[$(date +%T)] FAILED (exit $status); the assertion and Baton's log lines are in $LOG:" >&2
  grep -E 'FAIL|AssertionFailed|expected:' "$LOG" | head -20 >&2 || true
fi
exit "$status"
