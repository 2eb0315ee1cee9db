#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Python packages. Safe to run again,
# and quiet and quick when everything is there (`make test` runs it every time):
#  - Debian's chromium (browser tests; never Playwright's own browser download) and CJK fonts
#    for Korean pages
#  - node (runs the collector's JavaScript snippet)
#  - PostgreSQL running on 127.0.0.1:5432 with a database named test, which user postgres
#    reaches without a password (ingestion tests and benchmark baselines)
# A test whose prerequisite is still missing is skipped, or fails under CI=true
# (tests/prerequisites.py); under CI=true this script fails too.
set -euo pipefail

ci=false
case "${CI:-}" in true | TRUE | True | 1 | yes) ci=true ;; esac

# Say what is wrong; stop under CI, where a missing prerequisite must fail the run.
problem() {
  echo "scripts/test-deps.sh: $1" >&2
  if [ "$ci" = true ]; then exit 1; fi
}

sudo_cmd=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then sudo_cmd="sudo"; fi

has_cluster() { compgen -G "/etc/postgresql/*/main/postgresql.conf" >/dev/null; }

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
# (fc-list's output is read whole: `fc-list | grep -q` fails at random under pipefail)
if ! grep -qi "Noto Sans CJK" <<<"$(fc-list : family 2>/dev/null || true)"; then
  packages+=(fonts-noto-cjk)
fi
command -v node >/dev/null 2>&1 || packages+=(nodejs)
new_postgres=false
if ! has_cluster; then
  packages+=(postgresql)
  new_postgres=true
fi
if [ "${#packages[@]}" -gt 0 ]; then
  echo "Installing ${packages[*]} from Debian ..."
  if ! { $sudo_cmd apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
      "${packages[@]}" >/dev/null; }; then
    problem "could not install ${packages[*]} (run as root, or install them yourself)"
  fi
fi

if ! has_cluster; then
  problem "no PostgreSQL cluster in /etc/postgresql: PostgreSQL tests cannot run"
  exit 0
fi
version="$(ls /etc/postgresql | sort -V | tail -n 1)"
if [ "$new_postgres" = true ]; then
  # A cluster this script just created is a test server: trust local connections, as the
  # tests connect with postgresql://postgres@127.0.0.1:5432/test.
  $sudo_cmd sed -i '1i local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' \
    "/etc/postgresql/$version/main/pg_hba.conf"
  $sudo_cmd pg_ctlcluster --skip-systemctl-redirect "$version" main reload >/dev/null 2>&1 || true
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "Starting PostgreSQL $version ..."
  $sudo_cmd pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    problem "PostgreSQL $version did not start (see /var/log/postgresql/)"
    exit 0
  fi
fi

if ! found="$(psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -w -tAq \
  -c "SELECT count(*) FROM pg_database WHERE datname = 'test'" 2>&1)"; then
  problem "cannot connect to PostgreSQL as postgres without a password ($found); add
  'host all all 127.0.0.1/32 trust' at the top of /etc/postgresql/$version/main/pg_hba.conf"
  exit 0
fi
if [ "$found" = "0" ]; then
  echo "Creating the PostgreSQL database test ..."
  createdb -h 127.0.0.1 -p 5432 -U postgres -w test
fi
