#!/usr/bin/env bash
# Packet rate through kernel vhost-net, inside a QEMU (TCG) guest because the host kernel has no
# vhost-net: our vhost-net Link vs plain TAP write(2) from Java vs DPDK virtio_user
# (path=/dev/vhost-net) in dpdk-testpmd, all in one guest run; prints pps and ratios.
# TCG makes absolute numbers meaningless: read the ratios.
#
# usage: bench/vhostnet-bench.sh [SECONDS [methods...]]   methods: link tap dpdk rx-link rx-tap rx-dpdk,
#        link-sndbuf:BYTES (our link with that TAP send buffer: 0 = the kernel's, a finite one = no batching)
#        (default: a 5 s window each, all six; every window follows a warm-up that ends by the same
#        rule for every method: >= 6 s, rate no longer rising, JIT quiet; at most 30 s)
# RLVNB_JVM="FLAGS" adds flags to the guest JVM, e.g. -Drlvnb.warmup=MS (fixed warm-up) or
# -Xlog:jit+compilation=debug:file=$PWD/target/jit.log:uptime (target/ is shared writable).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ringlink_find_jdk25
# The guest side (ringlink.vhost.VhostNetGuestMain/VhostNetGuestBench) and the QEMU launcher
# (ringlink.testing.qemu.QemuGuest) are still in ringlink-core's test tree: it runs from
# ringlink-core/target/classes and test-classes alone (no JUnit, no dependency plugin), which
# `./mvnw install` (the README's build) leaves behind; built here (online) only if missing.
if [ ! -f ringlink-core/target/test-classes/ringlink/vhost/VhostNetBenchRunner.class ] \
   || [ -n "$(find ringlink-core/src -newer ringlink-core/target/test-classes/ringlink/vhost/VhostNetBenchRunner.class -name '*.java' -print -quit)" ]; then
  ./mvnw -B -ntp -q -pl ringlink-core test-compile >&2
fi
exec java --enable-native-access=ALL-UNNAMED --illegal-native-access=deny \
  -Dringlink.buildDir="$PWD/ringlink-core/target" -Dringlink.projectDir="$PWD/ringlink-core" -Dringlink.rootDir="$PWD" -Drlvnb.jvm="${RLVNB_JVM:-}" \
  -cp "ringlink-core/target/classes:ringlink-core/target/test-classes" ringlink.vhost.VhostNetBenchRunner "${@:-5}"
