#!/usr/bin/env bash
# iperf3 across veth vs. the Java TUN relay (without / with offloads), one run, ratios to veth.
# The same as `ringlink bench tun ARGS` (ringlink.cli.bench.TunRelayBench); `bench/tun.sh --help` lists the options.
# Usage: bench/tun.sh [--seconds N] [--parallel P] [--only veth,plain,offload] [--spin MICROS] [--qdisc NAME]
#        [--omit N] [--repeat N] [--pin CLIENT,SERVER,AB,BA] [--congestion NAME|system] [--tag PREFIX]
# Defaults: --pin 0,1,1,0 --congestion bbr, the fixed setting that keeps the ratio stable
# (docs/parts/tun.md, "Third round"); --pin -,-,-,- --congestion system measure unpinned with the host default.
#   (root; ip, iperf3, tc for --qdisc)
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
. "$here/scripts/lib.sh"
ringlink_find_jdk25
jar="$(ringlink_cli_jar "$here")"
exec java --enable-native-access=ALL-UNNAMED ${RINGLINK_JVM_OPTS:-} -jar "$jar" bench tun "$@"
