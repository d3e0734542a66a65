package ringlink.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.BenchCellProvider;
import ringlink.cli.bench.BenchOptions;
import ringlink.cli.demo.DemoCommand;
import ringlink.cli.demo.DemoContext;
import ringlink.cli.demo.DemoStep;
import ringlink.cli.demo.MixedStep;
import ringlink.cli.demo.SharedMemoryStep;
import ringlink.cli.demo.TapStep;
import ringlink.cli.demo.XdpStep;
import ringlink.cli.support.Cleanup;
import ringlink.cli.support.Shell;

/**
 * Bench cells for namespace-to-namespace TCP (iperf3) through Ringlink's switch over each
 * kernel-facing transport: the demo's steps, run quietly. Each is skipped while its transport is
 * not in the build.
 *
 * <p>References (issue 22: "a kernel bridge between the same two kinds of port"): the tap, xdp and
 * mixed cells each have their own group ({@code netns iperf3 tap|xdp|mixed}) whose reference is
 * the kernel's bridge ({@code ip link add type bridge}) between two veth pairs set up as the
 * switch's ports are ({@link BridgeCell}): the namespace ends as in the step, the host ends
 * enslaved to the bridge instead of opened by Ringlink. The shm cell stays in {@code netns iperf3}
 * beside the kernel veth pair ({@code BuiltinCells.VethIperf}; the kernel has no shared-memory
 * port to bridge).
 */
public final class NetnsCells implements BenchCellProvider {
    @Override
    public List<BenchCell> cells(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        if (o.quick()) return cells;
        for (DemoStep s : DemoCommand.steps()) {
            if (s instanceof TapStep || s instanceof XdpStep || s instanceof MixedStep) {
                cells.add(new BridgeCell(s.name()));
                cells.add(new StepCell(s));
            } else if (s instanceof SharedMemoryStep) {
                cells.add(new StepCell(s));
            }
        }
        return cells;
    }

    /** The group of a step's cell: its own (with its bridge reference), or shm beside kernel veth. */
    static String group(String step) {
        return step.equals("shm") ? "netns iperf3" : "netns iperf3 " + step;
    }

    /**
     * The reference of the {@code tap}, {@code xdp} and {@code mixed} cells: iperf3 TCP between two
     * namespaces through the kernel's bridge, each namespace on a veth pair whose host end is a
     * bridge port. Offloads as the switch's ports see them:
     * <ul>
     * <li>{@code tap}: all on (a TAP with a vnet header carries TSO/GSO superpackets whole, and so do
     *     veth and the bridge);</li>
     * <li>{@code xdp}: checksum offload, TSO and GSO off on both namespace ends, as XdpStep sets them
     *     (AF_XDP frames carry no offload metadata: finished MTU-sized packets both ways);</li>
     * <li>{@code mixed}: side a all on (the TAP's TSO); side b's namespace end off as in MixedStep, and
     *     TSO/GSO off on b's bridge port, so the bridge must segment side a's superpackets in software
     *     before b (validate_xmit_skb's GSO), the work the switch does for its AF_XDP port.</li>
     * </ul>
     */
    record BridgeCell(String kind) implements BenchCell {
        static final String NS_A = "rlbbr-a", NS_B = "rlbbr-b", BRIDGE = "rlbbr0";

        @Override public String group() { return NetnsCells.group(kind); }
        @Override public boolean reference() { return true; }
        @Override public int size() { return 0; }

        @Override
        public String variant() {
            return switch (kind) {
                case "xdp" -> "kernel bridge veth (no offloads)";
                case "mixed" -> "kernel bridge veth (software gso)";
                default -> "kernel bridge veth (offloads)";
            };
        }

        @Override
        public String unavailable() {
            for (String p : List.of("iperf3", "ip", "ethtool")) {
                if (Shell.which(p) == null) return p + " not installed (see scripts/packages.txt)";
            }
            return Shell.isRoot() ? null : "needs root (network namespaces)";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            Process server = null;
            java.nio.file.Path log = java.nio.file.Files.createTempFile("rlbbr-iperf", ".log");
            try {
                cleanup();
                Shell.must(10, "ip", "netns", "add", NS_A);
                Shell.must(10, "ip", "netns", "add", NS_B);
                Shell.must(10, "ip", "link", "add", BRIDGE, "type", "bridge");
                Shell.must(10, "ip", "link", "set", BRIDGE, "up");
                String[][] sides =
                        {{NS_A, "rlbbra", "rlbbrah", "10.204.0.1/24"}, {NS_B, "rlbbrb", "rlbbrbh", "10.204.0.2/24"}};
                for (String[] s : sides) {
                    Shell.must(10, "ip", "link", "add", s[1], "netns", s[0], "type", "veth", "peer", "name", s[2]);
                    Shell.must(10, "ip", "link", "set", s[2], "master", BRIDGE);
                    Shell.must(10, "ip", "link", "set", s[2], "up");
                    Shell.must(10, "ip", "-n", s[0], "addr", "add", s[3], "dev", s[1]);
                    Shell.must(10, "ip", "-n", s[0], "link", "set", s[1], "up");
                }
                if (kind.equals("xdp")) {
                    for (String[] s : sides) Shell.must(10, "ip", "netns", "exec", s[0], "ethtool", "-K", s[1], "tx",
                            "off", "tso", "off", "gso", "off");
                } else if (kind.equals("mixed")) {
                    Shell.must(10, "ip", "netns", "exec", NS_B, "ethtool", "-K", "rlbbrb", "tx", "off", "tso", "off",
                            "gso", "off");
                    Shell.must(10, "ethtool", "-K", "rlbbrbh", "tso", "off", "gso", "off");
                }
                server = Shell.start(log, "ip", "netns", "exec", NS_B, "iperf3", "-s", "-1", "-B", "10.204.0.2");
                return ringlink.cli.bench.BuiltinCells.iperf(NS_A, "10.204.0.2", d);
            } finally {
                Shell.kill(server);
                cleanup();
                java.nio.file.Files.deleteIfExists(log);
            }
        }

        static void cleanup() throws java.io.IOException {
            Shell.run(10, "ip", "netns", "del", NS_A);
            Shell.run(10, "ip", "netns", "del", NS_B);
            Shell.run(10, "ip", "link", "del", BRIDGE);
        }
    }

    /** One demo step as a cell: its iperf3 receiver rate and sender retransmissions. */
    record StepCell(DemoStep step) implements BenchCell {
        @Override public String group() { return NetnsCells.group(step.name()); }
        @Override public String variant() { return "ringlink switch " + step.name(); }
        @Override public boolean reference() { return false; }
        @Override public int size() { return 0; }

        private static DemoContext context(int seconds, Cleanup cleanup) {
            return new DemoContext("rlclb", seconds, new PrintStream(OutputStream.nullOutputStream()), cleanup,
                    Shell.isRoot(), true);
        }

        @Override
        public String unavailable() {
            return step.unavailable(context(1, new Cleanup(m -> { })));
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            List<String> problems = new ArrayList<>();
            Cleanup cleanup = new Cleanup(problems::add);
            DemoContext c = context((int) Math.max(1, Math.round(d.toMillis() / 1000.0)), cleanup);
            try {
                DemoStep.Outcome o = step.run(c);
                return new Measurement(Double.NaN, o.gbps(), o.retransmits() < 0 ? Double.NaN : o.retransmits());
            } finally {
                cleanup.run();
                if (!problems.isEmpty()) System.err.println("ringlink bench: cleanup: " + String.join("; ", problems));
            }
        }

        /** "5.50 Gbit/s" or "916 Mbit/s" in Gbit/s. */
        static double gbps(String rate) {
            String[] f = rate.trim().split(" ");
            double v = Double.parseDouble(f[0]);
            return f.length > 1 && f[1].startsWith("M") ? v / 1000 : v;
        }
    }
}
