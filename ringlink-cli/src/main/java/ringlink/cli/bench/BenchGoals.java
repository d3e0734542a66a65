package ringlink.cli.bench;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The speed goals the project's issues set, as ratios to each group's reference in the same run:
 * one table, each goal with the issue it comes from. The ratio chart draws a line at each cell's
 * goal; results.json carries it. A group without a goal here has none set (e.g. {@code switch
 * (pair)}: issue 22 asks to halve the switch's own cost, not for a ratio; {@code tun iperf3}: the
 * relay is at the 2-vCPU limit, issue 22 asks to keep the comparison honest).
 */
public final class BenchGoals {
    private BenchGoals() {}

    /**
     * A goal: cells whose group matches {@code group} (and variant {@code variant}, when not null)
     * should reach {@code ratio} × their reference.
     */
    public record Goal(Pattern group, Pattern variant, double ratio, int issue, String what) {
        boolean matches(BenchCell c) {
            return !c.reference() && group.matcher(c.group()).matches()
                    && (variant == null || variant.matcher(c.variant()).matches());
        }
    }

    private static Goal goal(String group, String variant, double ratio, int issue, String what) {
        return new Goal(Pattern.compile(group), variant == null ? null : Pattern.compile(variant), ratio, issue, what);
    }

    /** Every goal, first match wins. */
    public static final List<Goal> GOALS = List.of(
            goal("xdp rx", "ringlink.*", 1.5, 22, "AF_XDP RX >= 1.5x DPDK net_af_xdp, 64 B and 1500 B"),
            goal("vhost-user (rx|tx) (split|packed)", "ringlink.*", 1.0, 22,
                    "vhost-user back-end >= 1.0x DPDK net_vhost in every cell"),
            goal("switch vhost-user", "ringlink.*", 1.3, 22,
                    "switch, two vhost-user ports, testpmd loop: >= 1.3x OVS-DPDK at both sizes"),
            goal("shm", "ringlink java", 1.0, 22,
                    "shm (gVisor format) Java<->Java >= 1.0x gVisor Go<->Go at both sizes"),
            goal("memif (rx|tx)", "ringlink.*", 1.0, 21, "memif: Ringlink<->testpmd >= 1.0x testpmd<->testpmd"),
            goal("af_packet (rx|tx)", "ringlink.*", 1.0, 21, "AF_PACKET RX/TX 64 B >= 1.0x DPDK net_af_packet"),
            goal("netns iperf3 (tap|xdp|mixed)", "ringlink.*", 1.0, 22,
                    "netns TCP through the switch >= 1.0x a kernel bridge between the same kinds of port"),
            goal("vxlan iperf3( rev)?", "ringlink.*", 1.0, 20,
                    "TAP + switch + vxlan >= 1.0x the kernel's bridge + vxlan"),
            goal("vxlan underlay udp", "ringlink sendmmsg\\+gso", 1.0, 20,
                    "udp link 1500 B datagrams/s >= 1.0x iperf3 -u"));

    /** The goal for {@code c}, if an issue set one. */
    public static Optional<Goal> of(BenchCell c) {
        return GOALS.stream().filter(g -> g.matches(c)).findFirst();
    }
}
