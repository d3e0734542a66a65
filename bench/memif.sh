#!/usr/bin/env bash
# memif benchmark: Ringlink's memif server against testpmd's net_memif client, beside two
# testpmd processes over memif (the reference), 64 B and 1500 B, both directions.
# Prints "dir size ours-Mpps dpdk-Mpps ratio".
#   bench/memif.sh                 # full run (5 s per point)
#   bench/memif.sh seconds=1 warmup=1000 sizes=64 dirs=rx
# Needs root and dpdk-testpmd (dpdk-dev + librte-net-memif23, librte-mempool-ring23).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ringlink_find_jdk25
[ -n "${RINGLINK_NO_BUILD:-}" ] || ./mvnw -B -ntp -q -o test-compile
# The JVM (our data thread) on CPU 1, the testpmd client on CPU 0 (--lcores); the reference
# testpmd server runs on CPU 1 like our link.
exec taskset -c 1 "$JAVA_HOME/bin/java" ${RINGLINK_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED --illegal-native-access=deny \
    -cp ringlink-core/target/classes:ringlink-core/target/test-classes:ringlink-benchmarks/target/classes ringlink.bench.memif.MemifBench "$@"
