package ringlink.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.BenchCellProvider;
import ringlink.cli.bench.BenchOptions;
import ringlink.cli.bench.Harness;
import ringlink.cli.bench.TransportCells;
import ringlink.cli.demo.DemoContext;
import ringlink.cli.demo.DemoStep;
import ringlink.cli.demo.DemoTools;
import ringlink.cli.demo.PacketStep;
import ringlink.cli.support.Cleanup;
import ringlink.cli.support.Shell;
import ringlink.link.Links;

/**
 * The AF_PACKET cells (issue 21), each beside its peer in the same run:
 * <ul>
 * <li>{@code af_packet rx}/{@code af_packet tx}: {@code bench/afpacket.sh} (PacketBench): our
 *     {@code packet:} link beside DPDK testpmd's {@code net_af_packet} (reference) on the same end
 *     of one veth pair, both directions measured in one run per repetition;</li>
 * <li>{@code af_packet iperf3}: TCP between two namespaces through Ringlink's switch with a
 *     {@code packet:} port on the host end of each namespace's veth (the demo's {@code packet}
 *     step), beside a kernel bridge between the same host ends (reference).</li>
 * </ul>
 */
public final class PacketCells implements BenchCellProvider {
    @Override
    public List<BenchCell> cells(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        if (o.quick()) return cells;
        List<Integer> sizes = o.sizes().stream().filter(s -> s >= 60 && s <= 1514).toList();
        TransportCells.Paired p = new TransportCells.Paired();
        for (String dir : List.of("rx", "tx")) {
            for (int size : sizes) {
                cells.add(new Rate(p, dir, size, sizes, true));
                cells.add(new Rate(p, dir, size, sizes, false));
            }
        }
        cells.add(new Iperf(true));
        cells.add(new Iperf(false));
        return cells;
    }

    private static final Pattern ROW =
            Pattern.compile("(?m)^(rx|tx)\\s+(\\d+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+|NaN)\\s*$");

    /** Packet rates: Ringlink's {@code packet:} link vs testpmd's net_af_packet on one veth. */
    record Rate(TransportCells.Paired paired, String dir, int size, List<Integer> sizes,
            boolean dpdk) implements BenchCell {
        static final String OURS = "ringlink packet", PEER = "testpmd af_packet";
        /** The harness main, run from this jar's class path ({@code bench/afpacket.sh} wraps it too). */
        static final String HARNESS = "ringlink.cli.bench.harness.PacketBench";

        @Override public String group() { return "af_packet " + dir; }
        @Override public String variant() { return dpdk ? PEER : OURS; }
        @Override public boolean reference() { return dpdk; }
        @Override public String harness() { return HARNESS; }

        @Override
        public String unavailable() {
            if (Shell.which("dpdk-testpmd") == null)
                    return "dpdk-testpmd not installed (apt-get install dpdk-dev librte-net-af-packet23)";
            if (!Shell.isRoot()) return "needs root";
            return Links.providers().containsKey("packet") ? null : "the packet transport is not in this build";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            long s = Math.max(1, Math.round(d.toMillis() / 1000.0));
            return paired.take(dir + size + variant(), () -> {
                // Both directions in one harness run: the veth pair is made once and each
                // direction's two figures are taken back to back.
                return parse(Harness.run(HARNESS, null, sizes.size() * 4 * (s + 40) + 300, "seconds=" + s,
                        "sizes=" + sizes.stream().map(String::valueOf).collect(Collectors.joining(","))));
            });
        }

        /** PacketBench's rows "rx 64 ours dpdk ratio", keyed as the cells take them ("rx64ringlink packet"). */
        static Map<String, Measurement> parse(String out) throws IOException {
            Map<String, Measurement> m = new HashMap<>();
            Matcher x = ROW.matcher(out);
            while (x.find()) {
                int size = Integer.parseInt(x.group(2));
                m.put(x.group(1) + size + OURS, rate(Double.parseDouble(x.group(3)) * 1e6, size));
                m.put(x.group(1) + size + PEER, rate(Double.parseDouble(x.group(4)) * 1e6, size));
            }
            if (m.isEmpty()) throw new IOException("no rows in PacketBench's output: "
                    + out.strip().lines().reduce((first, last) -> last).orElse(""));
            return m;
        }

        private static Measurement rate(double pps, int size) {
            return new Measurement(pps, pps * size * 8 / 1e9);
        }

    }

    /**
     * iperf3 TCP between two namespaces whose veths' host ends are joined by Ringlink's switch
     * over two {@code packet:} ports, or (reference) by a kernel bridge.
     */
    record Iperf(boolean bridge) implements BenchCell {
        static final String PREFIX = "rlcpk";

        @Override public String group() { return "af_packet iperf3"; }
        @Override public String variant() { return bridge ? "kernel bridge" : "ringlink switch packet"; }
        @Override public boolean reference() { return bridge; }
        @Override public int size() { return 0; }

        private static DemoContext context(int seconds, Cleanup cleanup) {
            return new DemoContext(PREFIX, seconds, new PrintStream(OutputStream.nullOutputStream()), cleanup,
                    Shell.isRoot(), true);
        }

        @Override
        public String unavailable() {
            if (Shell.which("iperf3") == null) return "iperf3 not installed (apt-get install iperf3)";
            return new PacketStep().unavailable(context(1, new Cleanup(m -> { })));
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            List<String> problems = new ArrayList<>();
            Cleanup cleanup = new Cleanup(problems::add);
            DemoContext c = context((int) Math.max(1, Math.round(d.toMillis() / 1000.0)), cleanup);
            try {
                DemoTools.Iperf r;
                if (bridge) {
                    PacketStep step = new PacketStep();
                    String[] host = PacketStep.topology(c, step.name());
                    String br = PREFIX + "pbr";
                    Shell.run(10, "ip", "link", "del", br);
                    Shell.must(10, "ip", "link", "add", br, "type", "bridge");
                    cleanup.add("delete " + br, () -> Shell.run(10, "ip", "link", "del", br));
                    Shell.run(10, "sysctl", "-qw", "net.ipv6.conf." + br + ".disable_ipv6=1");
                    for (String h : host) Shell.must(10, "ip", "link", "set", h, "master", br);
                    Shell.must(10, "ip", "link", "set", br, "up");
                    String a = DemoTools.ns(c, step.name(), 'a'), b = DemoTools.ns(c, step.name(), 'b');
                    DemoTools.ping(c, a, PacketStep.ADDR_B);
                    r = DemoTools.iperf(c, a, b, PacketStep.ADDR_B);
                } else {
                    DemoStep.Outcome o = new PacketStep().run(c);
                    return new Measurement(Double.NaN, o.gbps(), o.retransmits() < 0 ? Double.NaN : o.retransmits());
                }
                return new Measurement(Double.NaN, r.gbps(), r.retransmits() < 0 ? Double.NaN : r.retransmits());
            } finally {
                cleanup.run();
                if (!problems.isEmpty()) System.err.println("ringlink bench: cleanup: " + String.join("; ", problems));
            }
        }
    }
}
