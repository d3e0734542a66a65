#!/usr/bin/env bash
# Sharedmem throughput, Ringlink (Java) beside gVisor's Go queue code, two processes each.
# Usage: bench/shm.sh [--seconds 5] [--warmup 3] [--sizes 64,1500] [--direction c2s|s2c|both] [--runs 1] [--memif]
# --memif adds DPDK's memif PMD between two testpmd processes, for scale (root, dpdk-testpmd).
# A short smoke run: bench/shm.sh --seconds 1
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ringlink_find_jdk25
./mvnw -B -ntp -q -o test-compile
./mvnw -B -ntp -q -o -pl ringlink-core dependency:build-classpath -Dmdep.outputFile="$PWD/ringlink-core/target/shm-bench.cp" -Dmdep.includeScope=test >/dev/null
CP="ringlink-benchmarks/target/classes:ringlink-core/target/test-classes:ringlink-core/target/classes:$(cat ringlink-core/target/shm-bench.cp)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --illegal-native-access=deny \
    -Dringlink.projectDir="$PWD/ringlink-core" -Dringlink.buildDir="$PWD/ringlink-core/target" -Dringlink.rootDir="$PWD" \
    -cp "$CP" ringlink.bench.shm.ShmBench "$@"
