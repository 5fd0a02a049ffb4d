#!/usr/bin/env bash
# Acknowledged writes under faults: runs AcknowledgedWritesSurviveFaultsIT with more faults and prints its figures.
#
#   bench/chaos.sh                 # 40 faults, about 10 minutes
#   FAULTS=100 bench/chaos.sh
#
# A real 3-node MariaDB + galera-4 cluster on loopback, two Baton instances in the test JVM, 8 clients each
# inserting through Baton, while nodes are killed (kill -9), frozen (SIGSTOP/SIGCONT) and restarted, and quorum is
# lost once in every five faults. At the end every acknowledged row is looked up on every node.
#
# Environment (all optional):
#   FAULTS=40                 faults to apply (the normal test suite runs 10)
#   PAUSE_MS=4000             undisturbed writing between faults, once the cluster is whole again
#   CLIENTS_PER_INSTANCE=8    writing clients per Baton instance
#   EVS=                      Galera evs.* provider options (default: the tuned ones of GaleraFailoverIT;
#                             EVS=" " for Galera's own defaults)
#   OFFLINE=1                 pass -o to Maven (everything already in ~/.m2)
#
# Output: the figures (lines starting with "chaos |") on stdout and in bench/results/chaos-latest.txt; the whole
# Maven log, with Baton's own log lines, in bench/results/chaos-latest.log. Exit status: Maven's (0: no
# acknowledged write lost, one writer at a time).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FAULTS=${FAULTS:-40}
PAUSE_MS=${PAUSE_MS:-4000}
CLIENTS_PER_INSTANCE=${CLIENTS_PER_INSTANCE:-8}
RESULTS_DIR=$ROOT/bench/results
LOG=$RESULTS_DIR/chaos-latest.log
OUT=$RESULTS_DIR/chaos-latest.txt

for v in FAULTS PAUSE_MS CLIENTS_PER_INSTANCE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$v must be a non-negative integer (got '${!v}')" >&2; exit 2; }
done
command -v mvn >/dev/null || { echo "mvn not found" >&2; exit 2; }
mkdir -p "$RESULTS_DIR"

args=(-B -ntp verify -pl integration-tests -am
      -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false
      -Dit.test=AcknowledgedWritesSurviveFaultsIT -Dfailsafe.failIfNoSpecifiedTests=false
      -Dbaton.chaos.faults="$FAULTS" -Dbaton.chaos.pause-ms="$PAUSE_MS"
      -Dbaton.chaos.clients-per-instance="$CLIENTS_PER_INSTANCE")
[[ -n ${EVS+x} ]] && args+=("-Dbaton.it.evs=${EVS// /}")
[[ ${OFFLINE:-0} == 1 ]] && args=(-o "${args[@]}")

echo "[$(date +%T)] running $FAULTS faults; log: $LOG" >&2
status=0
# Only one test run that starts MariaDB processes at a time on this machine.
(cd "$ROOT" && flock /tmp/baton-it.lock mvn "${args[@]}") >"$LOG" 2>&1 || status=$?
grep "^chaos |" "$LOG" | awk '!seen[$0]++' | tee "$OUT" || true  # the runner echoes test output twice
if (( status != 0 )); then
  echo "[$(date +%T)] FAILED (exit $status); the assertion and Baton's log lines are in $LOG:" >&2
  grep -E 'FAIL|AssertionFailed|expected:' "$LOG" | head -20 >&2 || true
fi
exit "$status"
