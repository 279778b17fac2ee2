#!/usr/bin/env bash
# install-deps.sh: installs every Debian 12 package the build, the engine and the tests need.
# Idempotent: packages already present are left alone; safe to run again.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates tzdata sqlite3
  libcaf-dev libboost1.81-dev libboost-json1.81-dev libpqxx-dev libspdlog-dev
  libgtest-dev libgmock-dev libsqlite3-dev libcurl4-openssl-dev libtomlplusplus-dev
  libhowardhinnant-date-dev libsodium-dev libxxhash-dev nlohmann-json3-dev libcli11-dev
  # PostgreSQL server for the PostgreSQL store tests (started by the tests in a temp dir)
  postgresql postgresql-client
  # the real mail stack the SMTP/IMAP tests start on loopback (deploy/mailstack.sh)
  dovecot-imapd dovecot-lmtpd dovecot-sieve postfix openssl curl python3
  # the web console's browser test: Debian's chromium driven by npm playwright-core
  # (npm itself comes with the machine's nodejs)
  chromium nodejs
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
# postfix asks which mail set-up to write; the tests write their own config.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
