#!/usr/bin/env bash
# 64-byte RX/TX packet rates of Ringlink's AF_XDP link beside DPDK's net_af_xdp PMD (dpdk-testpmd)
# on one veth pair, in one run. Root only. Usage: bench/xdp.sh [--seconds 10] [--size 64]
# [--attach skb|drv] [--only rx|tx|drop] [--source testpmd|live] [--tag rlxd].
# --source live: the RX traffic comes from frames made in the kernel (BPF_PROG_RUN live frames,
# kernel >= 5.18) instead of testpmd txonly (~1 Mpps, the limit of the RX figures), and the run
# adds the kernel's XDP_DROP ceilings. `ringlink bench` runs `--attach drv --source live` (like with like: testpmd always attaches natively).
# A short smoke run: bench/xdp.sh --seconds 3.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"
ringlink_find_jdk25
ringlink_apt_install dpdk-dev librte-net-af-xdp23 ethtool iproute2
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
(cd "$here" && ./mvnw -B -q -ntp -o test-compile >&2 || ./mvnw -B -q -ntp test-compile >&2)
exec java --enable-native-access=ALL-UNNAMED -cp "$here/ringlink-core/target/classes:$here/ringlink-core/target/test-classes:$here/ringlink-benchmarks/target/classes" \
  ringlink.bench.xdp.XdpBench "$@"
