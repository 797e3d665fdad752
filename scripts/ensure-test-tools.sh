#!/usr/bin/env bash
# Installs the system tools the end-to-end tests use, only when they are missing:
#   mosquitto     MQTT broker (the tests start their own on a free loopback port)
#   redis-server  Redis (the dedupe tests start their own on a free loopback port)
#   chromium      browser driven by playwright-core (executablePath /usr/bin/chromium)
#   xmllint       libxml2's parser (libxml2-utils), the XML parser's differential test
#   bzip2         reads the corpus's 4PiSky month (tar.bz2) for the archive's tests
#   postgresql    PostgreSQL server binaries (/usr/lib/postgresql/<ver>/bin): the archive tests
#                 run initdb in a temporary folder and their own server on a free loopback port
#   python3-lxml  lxml for Debian's /usr/bin/python3, the XPath namespace axis' differential test
#   gpg           GnuPG (gnupg), the signed-VOEvent interoperability tests (gpg signs, we verify; and back)
#   openssl       makes the TLS tests' throw-away certificates (a CA and a PostgreSQL server's)
# Quiet when everything is present. Runs `apt-get update` at most once.
set -euo pipefail

need=()
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/xmllint ] || need+=(libxml2-utils)
command -v bzip2 >/dev/null 2>&1 || need+=(bzip2)
has_postgres() { compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; }
has_postgres || need+=(postgresql)
/usr/bin/python3 -c "import lxml.etree" >/dev/null 2>&1 || need+=(python3-lxml)
[ -x /usr/bin/gpg ] || need+=(gnupg)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: missing ${need[*]} and no apt-get here; install them by hand" >&2
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "ensure-test-tools: missing ${need[*]}; not root and no sudo" >&2
    exit 1
  fi
fi

echo "ensure-test-tools: installing ${need[*]} (Debian packages)..." >&2

# Keep the packages' services from starting: the tests run their own broker, Redis and PostgreSQL.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
  "${SUDO[@]}" chmod 755 "$policy"
  made_policy=1
fi
cleanup() {
  if [ "$made_policy" -eq 1 ]; then "${SUDO[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

for bin in /usr/sbin/mosquitto /usr/bin/redis-server /usr/bin/chromium /usr/bin/xmllint /usr/bin/gpg; do
  if [ ! -x "$bin" ]; then
    echo "ensure-test-tools: $bin still missing after install" >&2
    exit 1
  fi
done
if ! command -v openssl >/dev/null 2>&1; then
  echo "ensure-test-tools: openssl still missing after install" >&2
  exit 1
fi
if ! has_postgres; then
  echo "ensure-test-tools: /usr/lib/postgresql/<ver>/bin/postgres still missing after install" >&2
  exit 1
fi
if ! /usr/bin/python3 -c "import lxml.etree" >/dev/null 2>&1; then
  echo "ensure-test-tools: lxml still missing for /usr/bin/python3 after install" >&2
  exit 1
fi
echo "ensure-test-tools: done" >&2
