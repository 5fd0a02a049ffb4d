#!/usr/bin/env bash
# Installs the Debian packages Baton's scripts and integration tests need, only if some are missing.
# Usage: scripts/install-deps.sh [extra-package ...]
# Never leaves the Debian mariadb service running: tests and demos start their own servers on loopback.
set -euo pipefail

# systemd: TarballIT checks the shipped unit with systemd-analyze verify (no systemd needs to run).
packages=(mariadb-server galera-4 mariadb-client rsync sysbench haproxy socat prometheus systemd "$@")

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present (${packages[*]})"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages (${missing[*]}); run as root: sudo $0 $*" >&2
  exit 1
fi

service_pidfile=/run/mysqld/mysqld.pid

# The pid of the Debian service's server, if one runs (identified by its pid file, never by name alone).
service_pid() {
  local pid
  [[ -r $service_pidfile ]] || return 1
  pid=$(tr -dc '0-9' < "$service_pidfile")
  [[ -n $pid ]] || return 1
  pgrep -f /usr/sbin/mariadbd | grep -qx "$pid" || return 1
  echo "$pid"
}

was_running=no
service_pid >/dev/null && was_running=yes

# Forbid service starts by package scripts while installing (invoke-rc.d honours policy-rc.d; exit 101 = deny).
policy=/usr/sbin/policy-rc.d
created_policy=no
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=yes
fi
cleanup() { [[ $created_policy == yes ]] && rm -f "$policy"; true; }
trap cleanup EXIT

log=$(mktemp /tmp/install-deps.XXXXXX.log)
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "install-deps: apt-get failed installing ${missing[*]} (full log: $log)" >&2
  exit 1
fi
rm -f "$log"

# Some environments (no invoke-rc.d, no systemd) let postinst start mariadbd anyway: stop it, unless it ran before.
if [[ $was_running == no ]] && pid=$(service_pid); then
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  stopped=" (stopped the mariadb service the package started, pid $pid)"
fi

echo "install-deps: installed ${missing[*]}${stopped:-}"
