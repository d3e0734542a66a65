package ringlink.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import ringlink.cli.support.Shell;
import ringlink.link.Layer;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;
import ringlink.sw.Switch;

/**
 * The cells that exist before any kernel transport: the switch between in-memory links beside
 * a direct in-memory link (the switch's own cost), the kernel's veth + iperf3 between two
 * namespaces (the reference the TAP/XDP cells of the same group are compared with), and the
 * testpmd loop through OVS-DPDK beside the same loop through Ringlink's switch over vhost-user
 * (skipped until that transport is merged).
 */
public final class BuiltinCells implements BenchCellProvider {
    @Override
    public List<BenchCell> cells(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        for (int size : o.sizes()) {
            cells.add(new DirectPair(size));
            cells.add(new SwitchPair(size));
        }
        if (!o.quick()) {
            cells.add(new VethIperf());
            for (int size : o.sizes()) {
                cells.add(new SwitchLoopCell(true, size));
                cells.add(new SwitchLoopCell(false, size));
            }
        }
        return cells;
    }

    private static final int SLOTS = 1024;

    /** Reference: frames through one in-memory pair, no switch. */
    record DirectPair(int size) implements BenchCell {
        @Override public String group() { return "switch (pair)"; }
        @Override public String variant() { return "direct pair"; }
        @Override public boolean reference() { return true; }

        @Override
        public Measurement run(Duration d) throws Exception {
            PairLink[] p = PairLink.create("rl-bench-direct", SLOTS, 2048 + PacketBatch.DEFAULT_HEADROOM, Layer.L2,
                    1500, Offloads.ALL);
            try {
                return PairTraffic.measure(p[0], p[1], size, d);
            } finally {
                p[0].free();
            }
        }
    }

    /** Ringlink's switch between two in-memory pairs (one polling thread). */
    record SwitchPair(int size) implements BenchCell {
        @Override public String group() { return "switch (pair)"; }
        @Override public String variant() { return "ringlink switch"; }
        @Override public boolean reference() { return false; }

        @Override
        public Measurement run(Duration d) throws Exception {
            PairLink[] a = PairLink.create("rl-bench-a", SLOTS, 2048 + PacketBatch.DEFAULT_HEADROOM, Layer.L2, 1500,
                    Offloads.ALL);
            PairLink[] b = PairLink.create("rl-bench-b", SLOTS, 2048 + PacketBatch.DEFAULT_HEADROOM, Layer.L2, 1500,
                    Offloads.ALL);
            try (Switch sw = Switch.builder().threads(1).port(a[0]).port(b[0]).log(m -> { }).build();
                 PacketBatch learn = new PacketBatch(1, 2048)) {
                sw.start();
                // B announces itself first, so the measured frames are switched, not flooded.
                PairTraffic.frames(learn, 1, 64, 0xff_ff_ff_ff_ff_ffL, PairTraffic.MAC_B);
                b[1].transmit(learn);
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (sw.lookup(PairTraffic.MAC_B, 0) < 0 && System.nanoTime() < deadline) Thread.sleep(1);
                return PairTraffic.measure(a[1], b[1], size, d);
            } finally {
                a[1].free();
                b[1].free();
            }
        }
    }

    /** Reference for the namespace-to-namespace cells: the kernel's veth pair, iperf3 TCP. */
    static final class VethIperf implements BenchCell {
        static final String NS_A = "rlclb-a", NS_B = "rlclb-b";

        @Override public String group() { return "netns iperf3"; }
        @Override public String variant() { return "kernel veth"; }
        @Override public boolean reference() { return true; }
        @Override public int size() { return 0; }

        @Override
        public String unavailable() {
            if (Shell.which("iperf3") == null) return "iperf3 not installed (apt-get install iperf3)";
            if (Shell.which("ip") == null) return "ip not installed (apt-get install iproute2)";
            if (!Shell.isRoot()) return "needs root (network namespaces)";
            return null;
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            Process server = null;
            Path log = Files.createTempFile("rlclb-iperf", ".log");
            try {
                cleanup();
                Shell.must(10, "ip", "netns", "add", NS_A);
                Shell.must(10, "ip", "netns", "add", NS_B);
                Shell.must(10, "ip", "link", "add", "rlclb0", "netns", NS_A, "type", "veth", "peer", "name", "rlclb1",
                        "netns", NS_B);
                Shell.must(10, "ip", "-n", NS_A, "addr", "add", "10.203.0.1/24", "dev", "rlclb0");
                Shell.must(10, "ip", "-n", NS_B, "addr", "add", "10.203.0.2/24", "dev", "rlclb1");
                Shell.must(10, "ip", "-n", NS_A, "link", "set", "rlclb0", "up");
                Shell.must(10, "ip", "-n", NS_B, "link", "set", "rlclb1", "up");
                server = Shell.start(log, "ip", "netns", "exec", NS_B, "iperf3", "-s", "-1", "-B", "10.203.0.2");
                return iperf(NS_A, "10.203.0.2", d);
            } finally {
                Shell.kill(server);
                cleanup();
                Files.deleteIfExists(log);
            }
        }

        static void cleanup() throws IOException {
            Shell.run(10, "ip", "netns", "del", NS_A);
            Shell.run(10, "ip", "netns", "del", NS_B);
        }
    }

    /** end.sum_sent's retransmits (the sender's TCP retransmissions over the run). */
    private static final Pattern RETRANSMITS =
            Pattern.compile("\"sum_sent\"\\s*:\\s*\\{[^}]*?\"retransmits\"\\s*:\\s*([0-9]+)");
    private static final Pattern RECEIVED = Pattern.compile("\"sum_received\"\\s*:\\s*\\{[^}]*?\"bytes\"\\s*:\\s*([0-9."
            + "e+]+)[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.e+]+)");

    /**
     * Runs an iperf3 TCP client in namespace {@code ns} against {@code server} for {@code d}
     * (whole seconds, at least 1) and returns the receiver's rate. Retries the connection while
     * the server starts.
     */
    public static BenchCell.Measurement iperf(String ns, String server, Duration d) throws IOException,
            InterruptedException {
        long secs = Math.max(1, Math.round(d.toMillis() / 1000.0));
        Shell.Result r = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            r = Shell.run(secs + 20, "ip", "netns", "exec", ns, "iperf3", "-c", server, "-t", String.valueOf(secs),
                    "-J");
            // iperf3 -J may exit 0 with {"error": "unable to connect ..."} while the server starts.
            if (r.ok() && !r.output().contains("unable to connect")) break;
            Thread.sleep(100);
        }
        if (r == null || !r.ok())
                throw new IOException("iperf3 client failed: " + (r == null ? "" : r.output().strip()));
        Matcher m = RECEIVED.matcher(r.output());
        if (!m.find()) throw new IOException("no sum_received in iperf3's JSON output: "
                + r.output().substring(0, Math.min(300, r.output().length())));
        double bits = Double.parseDouble(m.group(2));
        Matcher rt = RETRANSMITS.matcher(r.output());
        return new BenchCell.Measurement(Double.NaN, bits / 1e9,
                rt.find() ? Double.parseDouble(rt.group(1)) : Double.NaN);
    }
}
