package ringlink.cli.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import ringlink.cli.support.Shell;
import ringlink.link.Links;

/**
 * The transports' own benchmark harnesses as cells, each beside its peer in the same run:
 * <ul>
 * <li>{@code tun iperf3}: {@link TunRelayBench} in process: kernel veth (reference) vs the Java
 *     TUN relay without and with offloads (also in {@code --quick} as root: 1 s iperf3 each);</li>
 * <li>{@code xdp rx}/{@code xdp tx}: {@code XdpBench --attach drv --source live}:
 *     Ringlink's XSK vs DPDK's net_af_xdp in dpdk-testpmd (reference) on one veth pair, both
 *     attached natively, RX fed by frames made in the kernel (BPF_PROG_RUN live frames);</li>
 * <li>{@code shm}: {@code ShmBench}: Java↔Java processes vs gVisor's Go↔Go
 *     sharedmem queue code (reference), client sends; as root, DPDK's memif PMD between two
 *     testpmd processes in the same run, for scale;</li>
 * <li>{@code memif rx}/{@code memif tx}: {@code TestpmdPairBench memif}: our memif server
 *     against testpmd's net_memif client, beside testpmd server ↔ testpmd client (reference);</li>
 * <li>{@code vhost-net tx}/{@code vhost-net rx}: {@code bench/vhostnet-bench.sh}: inside a QEMU TCG
 *     guest, our vhost-net link vs TAP read/write vs dpdk-testpmd's virtio_user on /dev/vhost-net
 *     (reference). Boots a guest: minutes; exclude it with {@code --only '^(?!vhost-net)'}.</li>
 * </ul>
 * The harnesses are classes of {@code ringlink.cli.bench.harness}, run in a child JVM on the CLI's
 * own class path ({@link Harness}): they need neither the source tree nor a build step (the
 * bench/*.sh scripts are thin wrappers around the same classes). vhost-net is the exception: its
 * guest side still runs from ringlink-core's test classes ({@code bench/vhostnet-bench.sh}).
 * A harness that measures both sides in one invocation (xdp, shm, vhost-net) runs once per
 * repetition: the first of its cells runs it and leaves the sibling cells' figures for them
 * ({@link Paired}), so each repetition still compares figures taken back to back.
 *
 * <p>The JMH-only benchmarks are listed as cells that are always skipped, pointing at JMH.
 *
 * <p>vhost-user: Ringlink's back-end beside dpdk-testpmd's vhost PMD ({@link #vhostUser},
 * {@code TestpmdPairBench vhost-user}); the switch loop over vhost-user is in {@link SwitchLoopCell}.
 */
public final class TransportCells implements BenchCellProvider {
    @Override
    public List<BenchCell> cells(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        // tun: cheap (iperf3 for whole seconds, in process), so --quick runs it as the real-peer check.
        for (String v : List.of("kernel veth", "ringlink relay", "ringlink relay+offload")) cells.add(new Tun(v));
        if (o.quick()) return cells;
        Paired xdp = new Paired();
        for (int size : o.sizes()) {
            for (String dir : List.of("rx", "tx")) {
                cells.add(new Xdp(xdp, dir, size, true));
                cells.add(new Xdp(xdp, dir, size, false));
            }
        }
        Paired shm = new Paired();
        for (int size : o.sizes()) {
            for (String v : List.of(Shm.GO, Shm.JAVA, Shm.MEMIF)) cells.add(new Shm(shm, size, v));
        }
        cells.addAll(vhostUser(o));
        cells.addAll(memif(o));
        Paired vnet = new Paired();
        for (String dir : List.of("tx", "rx")) {
            for (String m : List.of("dpdk", "link", "tap")) cells.add(new VhostNet(vnet, dir, m));
        }
        cells.add(new JmhOnly("virtio ring", "VirtqueueBench, VirtqueuePipeBench (ringlink.bench.virtio)"));
        cells.add(new JmhOnly("packet", "ChecksumBench, GsoBench (ringlink.bench.packet)"));
        cells.add(new JmhOnly("xdp ring", "XskRingBench (ringlink.bench.xdp)"));
        cells.add(new JmhOnly("shm queue", "ShmQueueJmh (ringlink.bench.shm)"));
        cells.add(new JmhOnly("switch forward", "SwitchForwardBench (ringlink.sw)"));
        return cells;
    }

    /**
     * The vhost-user transport's cells: DPDK testpmd's virtio-user front-end talking to our
     * back-end beside the same front-end talking to DPDK's own net_vhost back-end, per direction
     * and ring format (TestpmdPairBench measures both in one run).
     */
    static List<BenchCell> vhostUser(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        for (String dir : List.of("rx", "tx")) {
            for (String ring : List.of("split", "packed")) {
                Paired p = new Paired();
                for (int size : o.sizes()) {
                    cells.add(new VhostUser(p, dir, ring, size, o.sizes(), true));
                    cells.add(new VhostUser(p, dir, ring, size, o.sizes(), false));
                }
            }
        }
        return cells;
    }

    private static final Pattern VUSER =
            Pattern.compile("(?m)^(rx|tx)\\s+(split|packed)\\s+(\\d+)\\s+([0-9.]+)\\s+([0-9.]+)");

    /** vhost-user: our back-end vs DPDK's net_vhost, testpmd virtio-user the front-end of both. */
    record VhostUser(Paired paired, String dir, String ring, int size, List<Integer> sizes,
            boolean dpdk) implements BenchCell {
        @Override public String group() { return "vhost-user " + dir + " " + ring; }
        @Override public String variant() { return dpdk ? "dpdk net_vhost" : "ringlink backend"; }
        @Override public boolean reference() { return dpdk; }

        @Override public String harness() { return PAIR; }

        @Override
        public String unavailable() {
            String why = needRoot("dpdk-testpmd");
            return why != null ? why : Links.providers().containsKey("vhost-user") ? null
                    : "the vhost-user transport is not in this build";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            long s = seconds(d, 1);
            return paired.take(size + variant(), () -> {
                // our data thread on CPU 1, testpmd's front-end lcores on CPU 0 (--lcores)
                String out = Harness.run(PAIR, "1", sizes.size() * 2 * (s + 60) + 300, "vhost-user", "seconds=" + s,
                        "sizes="
                                + sizes.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")),
                        "rings=" + ring, "dirs=" + dir);
                return parse(out, dir, ring);
            });
        }

        /** TestpmdPairBench vhost-user's rows "rx split 64 ours dpdk ratio", keyed as the cells take them. */
        static Map<String, Measurement> parse(String out, String dir, String ring) throws IOException {
            Map<String, Measurement> m = new HashMap<>();
            Matcher x = VUSER.matcher(out);
            while (x.find()) {
                if (!x.group(1).equals(dir) || !x.group(2).equals(ring)) continue;
                int size = Integer.parseInt(x.group(3));
                m.put(size + "ringlink backend", rate(Double.parseDouble(x.group(4)) * 1e6, size));
                m.put(size + "dpdk net_vhost", rate(Double.parseDouble(x.group(5)) * 1e6, size));
            }
            if (m.isEmpty()) throw new IOException("no " + dir + " " + ring + " rows in TestpmdPairBench's output: "
                    + SwitchLoopCell.tail(out));
            return m;
        }
    }

    /**
     * memif: our server link against testpmd's net_memif client, beside two testpmd processes over
     * memif, per direction and size (TestpmdPairBench measures both in one run).
     */
    static List<BenchCell> memif(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        for (String dir : List.of("rx", "tx")) {
            Paired p = new Paired();
            for (int size : o.sizes()) {
                cells.add(new Memif(p, dir, size, o.sizes(), true));
                cells.add(new Memif(p, dir, size, o.sizes(), false));
            }
        }
        return cells;
    }

    private static final Pattern MEMIF_ROW =
            Pattern.compile("(?m)^(rx|tx)\\s+(\\d+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+|NaN)\\s*$");

    /** memif: Ringlink server ↔ testpmd client vs testpmd server ↔ testpmd client. */
    record Memif(Paired paired, String dir, int size, List<Integer> sizes, boolean dpdk) implements BenchCell {
        @Override public String group() { return "memif " + dir; }
        @Override public String variant() { return dpdk ? "testpmd memif" : "ringlink memif"; }
        @Override public boolean reference() { return dpdk; }

        @Override public String harness() { return PAIR; }

        @Override
        public String unavailable() {
            String why = needRoot("dpdk-testpmd");
            return why != null ? why : Links.providers().containsKey("memif") ? null
                    : "the memif transport is not in this build";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            long s = seconds(d, 1);
            return paired.take(size + variant(),
                    () -> parse(Harness.run(PAIR, "1", sizes.size() * 2 * (s + 60) + 300, "memif", "seconds=" + s,
                    "sizes=" + sizes.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")),
                            "dirs=" + dir), dir));
        }

        /** TestpmdPairBench memif's rows "rx 64 ours dpdk ratio", keyed as the cells take them. */
        static Map<String, Measurement> parse(String out, String dir) throws IOException {
            Map<String, Measurement> m = new HashMap<>();
            Matcher x = MEMIF_ROW.matcher(out);
            while (x.find()) {
                if (!x.group(1).equals(dir)) continue;
                int size = Integer.parseInt(x.group(2));
                m.put(size + "ringlink memif", rate(Double.parseDouble(x.group(3)) * 1e6, size));
                m.put(size + "testpmd memif", rate(Double.parseDouble(x.group(4)) * 1e6, size));
            }
            if (m.isEmpty()) throw new IOException("no " + dir + " rows in TestpmdPairBench's output: "
                    + SwitchLoopCell.tail(out));
            return m;
        }
    }

    /** Runs a harness once for several cells of a repetition and hands each its figure. */
    public static final class Paired {
        /** An empty set of pending figures (one per cell group and repetition source). */
        public Paired() {}


        private final Map<String, BenchCell.Measurement> pending = new HashMap<>();
        /** The harness's {@code SETTING} line of its last run (what it measured with), or null. */
        volatile String setting;

        /**
         * The figure for {@code key}: left by a sibling's run of the same harness in this
         * repetition, else {@code harness} runs now (its figures for the siblings are kept).
         */
        public synchronized BenchCell.Measurement take(String key, HarnessRun harness) throws Exception {
            BenchCell.Measurement m = pending.remove(key);
            if (m != null) return m;
            Map<String, BenchCell.Measurement> all = harness.run();
            m = all.get(key);
            if (m == null)
                    throw new IOException("the harness gave no figure for " + key + " (got " + all.keySet() + ")");
            pending.putAll(all);
            pending.remove(key);
            return m;
        }
    }

    /** One run of a harness: every figure it printed, keyed as the cells take them. */
    public interface HarnessRun {
        /** Runs the harness once. */
        Map<String, BenchCell.Measurement> run() throws Exception;
    }

    /** Seconds of real traffic XdpBench runs before the counted ones, in the xdp cells. */
    static final int XDP_WARMUP = 2;

    /** The {@code SETTING ...} line of a harness's output (what it measured with), or null. */
    static String setting(String out) {
        return out.lines().filter(l -> l.startsWith("SETTING ")).map(l -> l.substring(8).strip()).reduce((a, b) -> b)
                .orElse(null);
    }

    /** The harness main classes (run by {@link Harness} on the CLI's class path). */
    static final String PAIR = "ringlink.cli.bench.harness.TestpmdPairBench",
            XDP_BENCH = "ringlink.cli.bench.harness.XdpBench",
            SHM_BENCH = "ringlink.cli.bench.harness.ShmBench";

    private static long seconds(Duration d, int min) {
        return Math.max(min, Math.round(d.toMillis() / 1000.0));
    }

    private static String needRoot(String... programs) {
        for (String p : programs) if (Shell.which(p) == null) return p + " not installed (see scripts/packages.txt)";
        return Shell.isRoot() ? null : "needs root";
    }

    private static String needScript(String name) {
        return SwitchLoopCell.script(name) == null
                ? "bench/" + name + " not found (run from the source tree, or set RINGLINK_HOME)" : null;
    }

    /** Runs {@code bench/NAME args...}; its whole output, or an exception with its tail. */
    private static String script(String name, long timeout, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("bash", SwitchLoopCell.script(name).toString()));
        cmd.addAll(List.of(args));
        Shell.Result r = Shell.run(timeout, cmd.toArray(String[]::new));
        if (!r.ok()) throw new IOException(name + " failed: " + SwitchLoopCell.tail(r.output()));
        return r.output();
    }

    /** iperf3 between two namespaces: veth, or two TUNs joined by the Java relay. */
    record Tun(String variant) implements BenchCell {
        @Override public String group() { return "tun iperf3"; }
        @Override public boolean reference() { return variant.equals("kernel veth"); }
        @Override public int size() { return 0; }

        @Override
        public String unavailable() {
            String why = needRoot("ip", "iperf3");
            return why != null ? why : Links.providers().containsKey("tun") ? null
                    : "the tun transport is not in this build";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            int s = (int) seconds(d, 1);
            double g = switch (variant) {
                case "kernel veth" -> new TunRelayBench().vethGbps(s, 1);
                case "ringlink relay" -> new TunRelayBench().relayGbps(s, 1, false);
                default -> new TunRelayBench().relayGbps(s, 1, true);
            };
            return new Measurement(Double.NaN, g);
        }
    }

    private static final Pattern XDP = Pattern.compile("(RX|TX)\\s+java ([0-9.]+) Mpps\\s+dpdk af_xdp ([0-9.]+) Mpps");

    /** AF_XDP on a veth pair: Ringlink's XSK vs DPDK's net_af_xdp (XdpBench, both in one run). */
    record Xdp(Paired paired, String dir, int size, boolean dpdk) implements BenchCell {
        @Override public String group() { return "xdp " + dir; }
        @Override public String variant() { return dpdk ? "testpmd af_xdp" : "ringlink xsk"; }
        @Override public boolean reference() { return dpdk; }
        @Override public String harness() { return XDP_BENCH; }
        @Override public String setting() { return paired.setting; }

        @Override
        public String unavailable() {
            String why = needRoot("ip", "ethtool", "dpdk-testpmd");
            return why != null || size <= 1514 ? why : "XdpBench takes frames up to 1514 bytes";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            long s = seconds(d, 2); // seconds counted: at least two per-second samples
            return paired.take(dir + size + variant(), () -> {
                // Native attach for ours too: testpmd's net_af_xdp always attaches natively on veth, so
                // that is the like-for-like pair; RX from frames made in the kernel (live frames), since
                // testpmd's copy-mode TX (~1 Mpps) would bound both receivers below their own limit.
                // Two seconds of real traffic before the counted ones, for both sides: with one, a
                // 3-second cell counted the Java receiver while its JIT was still compiling
                // (PERFORMANCE.md, AF_XDP: why one run said 0.81x and another 1.29x).
                String out = Harness.run(XDP_BENCH, null, 4 * (s + XDP_WARMUP) + 300, "--seconds",
                        String.valueOf(s + XDP_WARMUP),
                        "--warmup", String.valueOf(XDP_WARMUP), "--size", String.valueOf(size), "--only", dir,
                                "--attach", "drv", "--source", "live");
                paired.setting = TransportCells.setting(out);
                return parse(out, dir, size);
            });
        }

        /** XdpBench's "RX  java 1.234 Mpps   dpdk af_xdp 2.345 Mpps ..." line, keyed as the cells take it. */
        static Map<String, Measurement> parse(String out, String dir, int size) throws IOException {
            Matcher m = XDP.matcher(out);
            while (m.find()) {
                if (!m.group(1).equalsIgnoreCase(dir)) continue;
                double java = Double.parseDouble(m.group(2)) * 1e6, peer = Double.parseDouble(m.group(3)) * 1e6;
                return Map.of(dir + size + "ringlink xsk", rate(java, size), dir + size + "testpmd af_xdp",
                        rate(peer, size));
            }
            throw new IOException("no " + dir + " result line in XdpBench's output: " + SwitchLoopCell.tail(out));
        }
    }

    private static BenchCell.Measurement rate(double pps, int size) {
        return new BenchCell.Measurement(pps, pps * size * 8 / 1e9);
    }

    private static final Pattern SHM =
            Pattern.compile("(?m)^c2s\\s+(\\d+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)");

    private static final Pattern MEMIF = Pattern.compile("(?m)^memif\\s+(\\d+)\\s+([0-9.]+)\\s+([0-9.]+)");

    /**
     * Sharedmem between two processes: Java↔Java vs gVisor's Go↔Go (ShmBench, both in one run),
     * and, for scale, DPDK's memif PMD between two testpmd processes in the same run (as root with
     * dpdk-testpmd; not wire-compatible with gVisor's queues, so not a peer of ours).
     */
    record Shm(Paired paired, int size, String variant) implements BenchCell {
        static final String GO = "gvisor go", JAVA = "ringlink java", MEMIF = "dpdk memif (scale)";

        @Override public String group() { return "shm"; }
        @Override public boolean reference() { return variant.equals(GO); }
        @Override public String harness() { return SHM_BENCH; }

        @Override
        public String unavailable() {
            String why = ringlink.cli.bench.harness.ShmBench.unavailable();
            if (why == null && variant.equals(MEMIF)) why = needRoot("dpdk-testpmd");
            return why;
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            double s = Math.max(1, d.toMillis() / 1000.0);
            return paired.take(size + variant, () -> {
                List<String> args = new ArrayList<>(List.of("--seconds", String.valueOf(s), "--warmup", "1",
                        "--sizes", String.valueOf(size), "--direction", "c2s"));
                if (needRoot("dpdk-testpmd") == null) args.add("--memif");
                return parse(Harness.run(SHM_BENCH, null, (long) (3 * s) + 600, args.toArray(String[]::new)), size);
            });
        }

        /**
         * ShmBench's row "c2s 64 jpps jgbps gopps gogbps ratio" (and "memif 64 pps gbps"), keyed as the cells take
         * them.
         */
        static Map<String, Measurement> parse(String out, int size) throws IOException {
            Map<String, Measurement> got = new HashMap<>();
            Matcher m = SHM.matcher(out);
            while (m.find()) {
                if (Integer.parseInt(m.group(1)) != size) continue;
                got.put(size + JAVA, new Measurement(Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3))));
                got.put(size + GO, new Measurement(Double.parseDouble(m.group(4)), Double.parseDouble(m.group(5))));
                break;
            }
            if (got.isEmpty()) throw new IOException("no c2s " + size + " B row in ShmBench's output: "
                    + SwitchLoopCell.tail(out));
            Matcher x = TransportCells.MEMIF.matcher(out);
            while (x.find()) {
                if (Integer.parseInt(x.group(1)) == size) {
                    got.put(size + MEMIF,
                            new Measurement(Double.parseDouble(x.group(2)), Double.parseDouble(x.group(3))));
                }
            }
            return got;
        }
    }

    private static final Pattern VNET = Pattern.compile("(?m)^BENCH (tx|rx) (link|tap|dpdk) ([0-9.]+)");

    /**
     * Kernel vhost-net inside a QEMU TCG guest (absolute figures meaningless under TCG: read the ratios), 64-byte
     * frames (bench/vhostnet-bench.sh, one guest for all six).
     */
    record VhostNet(Paired paired, String dir, String method) implements BenchCell {
        @Override public String group() { return "vhost-net " + dir; }
        @Override public boolean reference() { return method.equals("dpdk"); }
        @Override public int size() { return 64; }

        @Override
        public String variant() {
            return switch (method) {
                case "dpdk" -> "testpmd virtio_user";
                case "link" -> "ringlink vhost-net";
                default -> "tap read/write";
            };
        }

        @Override
        public String unavailable() {
            String why = needScript("vhostnet-bench.sh");
            if (why == null) why = needRoot("qemu-system-x86_64", "dpdk-testpmd");
            return why;
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            long s = seconds(d, 1);
            return paired.take(dir + method, () -> {
                String out = script("vhostnet-bench.sh", 12 * s + 900, String.valueOf(s),
                        "link", "tap", "dpdk", "rx-link", "rx-tap", "rx-dpdk");
                return parse(out);
            });
        }

        /** The guest's "BENCH tx|rx link|tap|dpdk PPS" lines, keyed "txlink" etc. as the cells take them. */
        static Map<String, Measurement> parse(String out) throws IOException {
            Map<String, Measurement> all = new HashMap<>();
            Matcher m = VNET.matcher(out);
            while (m.find()) all.put(m.group(1) + m.group(2), rate(Double.parseDouble(m.group(3)), 64));
            if (all.isEmpty())
                    throw new IOException("no BENCH lines in vhostnet-bench.sh's output: " + SwitchLoopCell.tail(out));
            return all;
        }
    }

    /** A benchmark that only JMH runs; listed so the matrix shows every part, always skipped. */
    record JmhOnly(String group, String benches) implements BenchCell {
        @Override public String variant() { return "jmh"; }
        @Override public boolean reference() { return false; }
        @Override public int size() { return 0; }

        @Override
        public String unavailable() {
            return "measured by JMH: " + benches + "; see docs/PERFORMANCE.md";
        }

        @Override
        public Measurement run(Duration d) {
            throw new UnsupportedOperationException(unavailable());
        }
    }
}
