#!/usr/bin/env bash
# The switch benchmark loop (issue 9): dpdk-testpmd with two virtio-user ports in MAC
# forwarding mode, looped through a switch with two vhost-user ports, measured at testpmd.
#
#   bench/switch-loop.sh ovs      SIZE SECONDS   # the reference: OVS-DPDK (openvswitch-switch-dpdk)
#   bench/switch-loop.sh ringlink SIZE SECONDS   # Ringlink's switch (needs the vhost-user transport)
#
# Prints one line "pps=<packets per second per direction> gbps=<...>" on success.
# testpmd is the virtio-user side in server mode (it owns the sockets) in both variants, so
# the only difference between the two runs is the switch. Everything runs in a private
# directory (no systemd, no /var/run/openvswitch) and is removed on exit, also on Ctrl-C.
# MAC forwarding (not io) so that each port's frames carry its own source MAC and the
# switches really learn: io mode would loop the same source MAC through both ports.
#
# Environment: RLB_DIR (run dir, default /tmp/rlclb-loop-$$), RINGLINK (the launcher),
# RINGLINK_VHOST_PARAMS (extra vhost-user spec parameters, default mode=client),
# RINGLINK_SWITCH_OPTS (options of `ringlink switch`, default --threads 1 --cpus $RLB_SWITCH_CPU
# --batch $RLB_SWITCH_BATCH), RLB_BURST (tx_first bursts, default 8), RLB_SWITCH_CPU (default 1),
# RLB_SWITCH_BATCH (packets per receive batch of Ringlink's switch, default 32), RLB_WARMUP
# (seconds of traffic before the measured interval, default 2).
#
# Batch size is the same for both switches too: OVS-DPDK's PMD receives and sends in bursts of
# at most 32 (NETDEV_MAX_BURST, not configurable), so Ringlink's switch is run with --batch 32
# (its CLI default, 64, was bimodal in this loop and 8% slower on average at 64 B).
#
# CPU placement is the same for both switches: testpmd's lcores are pinned to CPU 0, the
# switch's one polling thread to CPU RLB_SWITCH_CPU (OVS: pmd-cpu-mask; Ringlink: --cpus), and
# everything else of either switch (OVS's handler threads, the JVM's compiler and GC threads)
# is left to the scheduler. Without pinning, the scheduler now and then put Ringlink's polling
# thread on testpmd's CPU while OVS's PMD thread never moved: an unfair ~8% at 64 B.
set -euo pipefail
mode=${1:?usage: switch-loop.sh ovs|ringlink SIZE SECONDS}
size=${2:-64}
secs=${3:-5}
here="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
D=${RLB_DIR:-/tmp/rlclb-loop-$$}
RINGLINK=${RINGLINK:-$here/ringlink}
burst=${RLB_BURST:-8}
swcpu=${RLB_SWITCH_CPU:-1}
swbatch=${RLB_SWITCH_BATCH:-32}
warmup=${RLB_WARMUP:-2}
mac0=02:72:6c:00:00:01
mac1=02:72:6c:00:00:02
pids=()

cleanup() {
  set +e
  if [ -S "$D/db.sock" ]; then
    OVS_RUNDIR=$D ovs-vsctl --timeout=5 --db="unix:$D/db.sock" --if-exists del-br rlclbr >/dev/null 2>&1
  fi
  for f in "$D/vswitchd.pid" "$D/ovsdb.pid"; do
    [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  # ringlink switch closes its ports in a shutdown hook: give it time before SIGKILL.
  for _ in $(seq 50); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  ip link del rlclbr >/dev/null 2>&1
  rm -rf "$D" /var/run/dpdk/rlclb-tp-$$ /var/run/dpdk/rlclb-ovs-$$
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$D"; mkdir -p "$D"

start_ovs() {
  export OVS_RUNDIR=$D OVS_DBDIR=$D OVS_LOGDIR=$D
  local V="ovs-vsctl --timeout=20 --db=unix:$D/db.sock"
  ovsdb-tool create "$D/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  ovsdb-server "$D/conf.db" --remote="punix:$D/db.sock" --pidfile="$D/ovsdb.pid" --detach --log-file="$D/ovsdb.log" 2>/dev/null
  $V --no-wait init
  # --no-huge needs --legacy-mem (OVS otherwise adds --in-memory, which excludes it); 3 GiB
  # because OVS sizes its shared mbuf pool for 262144 buffers at MTU 1500.
  $V --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    "other_config:dpdk-extra=--no-huge --legacy-mem -m 3072 --single-file-segments --no-pci --file-prefix=rlclb-ovs-$$" \
    other_config:dpdk-lcore-mask=0x1 "other_config:pmd-cpu-mask=$(printf '0x%x' $((1 << swcpu)))"
  /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk "unix:$D/db.sock" --pidfile="$D/vswitchd.pid" --detach \
    --log-file="$D/vswitchd.log" >/dev/null 2>&1
  $V add-br rlclbr -- set bridge rlclbr datapath_type=netdev
  $V add-port rlclbr vu0 -- set Interface vu0 type=dpdkvhostuserclient "options:vhost-server-path=$D/vu0.sock"
  $V add-port rlclbr vu1 -- set Interface vu1 type=dpdkvhostuserclient "options:vhost-server-path=$D/vu1.sock"
}

start_ringlink() {
  local p=${RINGLINK_VHOST_PARAMS:-mode=client}
  # shellcheck disable=SC2086
  "$RINGLINK" switch ${RINGLINK_SWITCH_OPTS:---threads 1 --cpus $swcpu --batch $swbatch} "vhost-user:$D/vu0.sock?$p" "vhost-user:$D/vu1.sock?$p" >"$D/ringlink.log" 2>&1 &
  pids+=($!)
}

# testpmd reads commands from a FIFO so they can be sent once both ports are connected.
mkfifo "$D/cmd"
exec 3<>"$D/cmd"
dpdk-testpmd --no-huge -m 512 --single-file-segments --file-prefix=rlclb-tp-$$ --no-pci --lcores=0@0,1@0 \
  --log-level=lib.eal:error \
  "--vdev=net_virtio_user0,path=$D/vu0.sock,server=1,queues=1,mac=$mac0" \
  "--vdev=net_virtio_user1,path=$D/vu1.sock,server=1,queues=1,mac=$mac1" \
  -- -i --forward-mode=mac "--eth-peer=0,$mac1" "--eth-peer=1,$mac0" --nb-cores=1 \
  --txd=1024 --rxd=1024 "--txpkts=$((size - 4))" --total-num-mbufs=32768 <&3 >"$D/testpmd.log" 2>&1 &
pids+=($!)
tp=$!
for _ in $(seq 100); do [ -S "$D/vu0.sock" ] && [ -S "$D/vu1.sock" ] && break; sleep 0.1; done

case "$mode" in
  ovs) start_ovs ;;
  ringlink) start_ringlink ;;
  *) echo "unknown mode $mode (ovs|ringlink)" >&2; exit 2 ;;
esac

# Wait until the switch connected both ports (testpmd logs the link state changes).
for _ in $(seq 300); do
  if [ "$mode" = ovs ]; then
    [ "$(grep -c 'virtio is now ready' "$D/vswitchd.log" 2>/dev/null)" -ge 2 ] && break
  else
    grep -q 'polling threads' "$D/ringlink.log" 2>/dev/null && break
  fi
  kill -0 "$tp" 2>/dev/null || { echo "testpmd exited:" >&2; tail -20 "$D/testpmd.log" >&2; exit 1; }
  sleep 0.1
done
sleep 1
echo "start tx_first $burst" >&3
sleep "$warmup"                           # warm-up: learning, caches, the JIT
# A burst sent while a switch was still setting up its queues can be lost whole, and then
# nothing circulates: check that both ports receive, and inject again if not.
for _ in 1 2 3; do
  echo "show port stats all" >&3          # testpmd's rates are per interval between two calls
  sleep 1
  moving=$({ grep -E 'Rx-pps:' "$D/testpmd.log" || true; } | tail -2 | awk '$2 > 0' | wc -l)
  [ "$moving" -ge 2 ] && break
  echo "stop" >&3
  echo "start tx_first $burst" >&3
  sleep 2
done
echo "show port stats all" >&3
sleep "$secs"
echo "show port stats all" >&3
sleep 1
echo "stop" >&3
echo "quit" >&3
for _ in $(seq 50); do kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done

# The last block of "Rx-pps:" lines is the measured interval: one per port.
rates=$({ grep -E 'Rx-pps:' "$D/testpmd.log" || true; } | tail -2 | awk '{print $2}')
n=$(echo "$rates" | grep -c . || true)
if [ "$n" -lt 2 ]; then
  echo "no rates from testpmd:" >&2; tail -30 "$D/testpmd.log" >&2
  [ "$mode" = ovs ] && grep -E 'ERR|EMER' "$D/vswitchd.log" | tail -5 >&2
  [ "$mode" = ringlink ] && tail -5 "$D/ringlink.log" >&2
  exit 1
fi
pps=$(echo "$rates" | awk '{s+=$1} END {printf "%.0f", s/NR}')
if [ "$pps" = 0 ]; then
  echo "no packets circulated through the $mode switch (see $D)" >&2
  exit 1
fi
echo "pps=$pps gbps=$(awk -v p="$pps" -v s="$size" 'BEGIN {printf "%.3f", p*s*8/1e9}')"
