#!/usr/bin/env bash
# Runs Ringlink's whole test suite: installs what the tests need (Debian packages,
# Maven via the wrapper), picks JDK 25, then `mvnw verify`. Extra arguments go to Maven
# (e.g. scripts/test.sh -Dtest=ChecksumTest).
# With CI=true, tests that need root, /dev/net/tun, namespaces, KVM or a peer program
# fail instead of skipping.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$here"
. scripts/lib.sh
ringlink_find_jdk25
ringlink_apt_install $(grep -vE '^\s*(#|$)' scripts/packages.txt)
exec ./mvnw -B -ntp verify "$@"
