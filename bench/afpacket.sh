#!/usr/bin/env bash
# AF_PACKET benchmark: Ringlink's packet: link beside DPDK testpmd's net_af_packet on the same end
# of one veth pair, RX and TX, 64 B by default (issue 21). Prints "dir size ours-Mpps dpdk-Mpps ratio".
#   bench/afpacket.sh                      # 5 s per case
#   bench/afpacket.sh seconds=2 warmup=1000 sizes=64 dirs=rx
# RX frames come from the kernel (BPF_PROG_RUN live frames, kernel >= 5.18), as in bench/xdp.sh.
# Needs root and dpdk-testpmd (dpdk-dev + librte-net-af-packet23).
# A thin wrapper around ringlink.cli.bench.harness.PacketBench in ringlink.jar (what
# `ringlink bench --only af_packet` runs), built from this tree if needed; no test classes.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"
ringlink_find_jdk25
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
jar="$(ringlink_cli_jar "$here")"
exec java ${RINGLINK_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED --illegal-native-access=deny \
    -cp "$jar" ringlink.cli.bench.harness.PacketBench "$@"
