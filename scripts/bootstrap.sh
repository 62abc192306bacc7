# Sourced by test.sh: what the whole test suite needs besides knit itself (MIT Kerberos,
# network namespaces and a firewall, Chromium, two Java 11 runtimes), then knit with its
# test extras (scripts/setup.sh). The demo needs none of this: demo.sh sources setup.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# MIT Kerberos: kinit for the Kerberos tests, and headers to build gssapi (requests-gssapi).
if ! command -v kinit >/dev/null || ! command -v krb5-config >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq krb5-user libkrb5-dev >/dev/null
  else
    echo "knit's tests need MIT Kerberos: apt-get install krb5-user libkrb5-dev (as root)" >&2
    exit 1
  fi
fi
# ip (network namespaces) and nft (a firewall in one): the multi-host tests' hosts
# (tests/multihost.py; unshare comes with util-linux).
if ! command -v nft >/dev/null || ! command -v ip >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 nftables >/dev/null
  else
    echo "knit's multi-host tests need iproute2 and nftables: apt-get install iproute2 nftables (as root)" >&2
    exit 1
  fi
fi
# Chromium: tests/test_docs_site.py opens the built docs site in it, headless.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "knit's docs test needs Chromium: apt-get install chromium (as root)" >&2
    exit 1
  fi
fi
KNIT_EXTRAS="test,demo" source scripts/setup.sh
# A full Java 11 (Kerberos on a Java 11 cluster): KNIT_TEST_FULL_JAVA11.
source scripts/java11.sh
