#!/usr/bin/env bash
# Runs Ringlink's whole test suite: installs what the tests need (Debian packages,
# Maven via the wrapper), picks JDK 25, then `mvnw install` (every module's tests, the
# hostile-peers and fuzz executions, the jars with sources and javadoc into ~/.m2), then the
# examples build against those installed artifacts (`mvnw -f examples/pom.xml verify`: a user's
# build on the module path). Extra arguments go to the first Maven run only, and then the examples
# are left out (e.g. scripts/test.sh -Dtest=ChecksumTest).
# With CI=true, tests that need root, /dev/net/tun, namespaces, KVM or a peer program
# fail instead of skipping.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$here"
. scripts/lib.sh
ringlink_find_jdk25
ringlink_apt_install $(grep -vE '^\s*(#|$)' scripts/packages.txt)
if [ $# -gt 0 ]; then
  exec ./mvnw -B -ntp install "$@"
fi
./mvnw -B -ntp install
exec ./mvnw -B -ntp -f examples/pom.xml verify
