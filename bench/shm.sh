#!/usr/bin/env bash
# Sharedmem throughput, Ringlink (Java) beside gVisor's Go queue code, two processes each.
# Usage: bench/shm.sh [--seconds 5] [--warmup 3] [--sizes 64,1500] [--direction c2s|s2c|both] [--runs 1] [--memif]
# --memif adds DPDK's memif PMD between two testpmd processes, for scale (root, dpdk-testpmd).
# A short smoke run: bench/shm.sh --seconds 1
# A thin wrapper around ringlink.cli.bench.harness.ShmBench in ringlink.jar (what
# `ringlink bench --only shm` runs), built from this tree if needed; the Go peer is built from
# the sources inside the jar (golang-go, golang-gvisor-gvisor-dev; offline).
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"
ringlink_find_jdk25
jar="$(ringlink_cli_jar "$here")"
exec java ${RINGLINK_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED --illegal-native-access=deny \
    -cp "$jar" ringlink.cli.bench.harness.ShmBench "$@"
