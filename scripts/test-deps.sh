#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Python packages; safe to run again.
#  - Debian's chromium (browser tests; never Playwright's own browser download) and CJK fonts for Korean pages
#  - a running PostgreSQL server on 127.0.0.1:5432 (ingestion and benchmark baselines)
set -euo pipefail

sudo_cmd=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo"; fi

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then packages+=(fonts-noto-cjk); fi
if [ "${#packages[@]}" -gt 0 ]; then
  echo "Installing ${packages[*]} from Debian ..."
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null
fi

if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    echo "Starting PostgreSQL ..."
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    $sudo_cmd pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
else
  echo "PostgreSQL client tools not found: PostgreSQL tests will be skipped" >&2
fi
