#!/usr/bin/env bash
# 64-byte RX/TX packet rates of Ringlink's AF_XDP link beside DPDK's net_af_xdp PMD (dpdk-testpmd)
# on one veth pair, in one run. Root only. Usage: bench/xdp.sh [--seconds 10] [--size 64]
# [--attach skb|drv] [--only rx|tx|drop] [--source testpmd|live] [--tag rlxd].
# --source live: the RX traffic comes from frames made in the kernel (BPF_PROG_RUN live frames,
# kernel >= 5.18) instead of testpmd txonly (~1 Mpps, the limit of the RX figures), and the run
# adds the kernel's XDP_DROP ceilings. `ringlink bench` runs `--attach drv --source live` (like with like: testpmd always attaches natively).
# A short smoke run: bench/xdp.sh --seconds 3.
# A thin wrapper: the harness is ringlink.cli.bench.harness.XdpBench in ringlink.jar (what
# `ringlink bench --only xdp` runs), built from this tree if needed; no test classes, no Maven cache.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"
ringlink_find_jdk25
ringlink_apt_install dpdk-dev librte-net-af-xdp23 ethtool iproute2
jar="$(ringlink_cli_jar "$here")"
exec java --enable-native-access=ALL-UNNAMED ${RINGLINK_JAVA_OPTS:-} -cp "$jar" ringlink.cli.bench.harness.XdpBench "$@"
