#!/usr/bin/env bash
# memif benchmark: Ringlink's memif server against testpmd's net_memif client, beside two
# testpmd processes over memif (the reference), 64 B and 1500 B, both directions.
# Prints "dir size ours-Mpps dpdk-Mpps ratio".
#   bench/memif.sh                 # full run (5 s per point)
#   bench/memif.sh seconds=1 warmup=1000 sizes=64 dirs=rx
# Needs root and dpdk-testpmd (dpdk-dev + librte-net-memif23, librte-mempool-ring23).
# A thin wrapper around ringlink.cli.bench.harness.TestpmdPairBench in ringlink.jar (what
# `ringlink bench --only memif` runs), built from this tree if needed.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"
ringlink_find_jdk25
jar="$(ringlink_cli_jar "$here")"
# The JVM (our data thread) on CPU 1, the testpmd client on CPU 0 (--lcores); the reference
# testpmd server runs on CPU 1 like our link.
exec taskset -c 1 java ${RINGLINK_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED --illegal-native-access=deny \
    -cp "$jar" ringlink.cli.bench.harness.TestpmdPairBench memif "$@"
