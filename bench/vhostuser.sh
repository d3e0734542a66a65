#!/usr/bin/env bash
# vhost-user benchmark: our back-end vs DPDK's net_vhost, DPDK virtio-user as the front-end in both,
# 64 B and 1500 B, split and packed, both directions. Prints Mpps and the ratio ours/DPDK.
#   bench/vhostuser.sh                 # full run (5 s per point)
#   bench/vhostuser.sh seconds=1       # short smoke run
#   bench/vhostuser.sh sizes=64 rings=split dirs=rx warmup=2000
# Needs root and dpdk-testpmd (dpdk-dev + librte-net-vhost23, librte-net-virtio23, librte-mempool-ring23).
# A thin wrapper around ringlink.cli.bench.harness.TestpmdPairBench in ringlink.jar (what
# `ringlink bench --only vhost-user` runs), built from this tree if needed.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"
ringlink_find_jdk25
jar="$(ringlink_cli_jar "$here")"
# The JVM (our back-end's data thread) on CPU 1, testpmd's front-end lcores on CPU 0 (it pins
# itself with --lcores); the reference net_vhost testpmd runs on CPU 1 like our back-end.
# RINGLINK_JAVA_OPTS: extra JVM options, e.g. a flight recording of our data path.
exec taskset -c 1 java ${RINGLINK_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED --illegal-native-access=deny \
    -cp "$jar" ringlink.cli.bench.harness.TestpmdPairBench vhost-user "$@"
