package ringlink.cli.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import ringlink.cli.support.Shell;
import ringlink.link.LinkStats;
import ringlink.link.Offloads;
import ringlink.tun.LinkRelay;
import ringlink.tun.TunConfig;
import ringlink.tun.TunLink;

/**
 * {@code ringlink bench tun}: iperf3 TCP between two network namespaces over (a) a veth pair
 * (kernel only, the reference), (b) two TUN devices joined by the Java relay without offloads,
 * (c) the same with offloads (TSO/USO superpackets, checksum offload, GRO on write), all in one
 * run, printing Gbit/s and each figure's ratio to veth. Needs root, {@code ip} and {@code iperf3}.
 * The matrix's {@code tun iperf3} cells run one path each through {@link #vethGbps}/{@link #relayGbps}
 * with the default setting. Every setting is per instance: two runs in one JVM do not share any.
 */
@Command(name = "tun", mixinStandardHelpOptions = true,
        description = {"iperf3 TCP across a veth pair vs the Java TUN relay without / with offloads, in one run; "
                + "ratios to veth.",
            "",
            "Root; ip, iperf3 (tc for --qdisc, taskset for --pin). The defaults are a fixed setting that keeps the "
                    + "ratio stable "
                + "(iperf3 client CPU 0, server CPU 1, relay threads 1,0, TCP bbr where available; docs/parts/tun.md, "
                + "\"Third round\"); --pin -,-,-,- --congestion system measure unpinned with the host's default."},
        footer = {"", "Examples:", "  sudo ringlink bench tun --seconds 5",
                "  sudo ringlink bench tun --only veth,offload --repeat 3 --spin 0"})
public final class TunRelayBench implements Callable<Integer> {
    @Option(names = {"--seconds", "-t"}, paramLabel = "N",
            description = "Length of each iperf3 run (default: ${DEFAULT-VALUE}).")
    int seconds = 10;

    @Option(names = {"--parallel", "-P"}, paramLabel = "P", description = "iperf3 streams (default: ${DEFAULT-VALUE}).")
    int parallel = 1;

    @Option(names = "--only", paramLabel = "PATHS", description = "Paths to run, of veth,plain,offload (default: all).")
    String only = "veth,plain,offload";

    @Option(names = "--spin", paramLabel = "MICROS[,BACK]",
            description = "The relay's busy-poll time before it sleeps (default: LinkRelay.DEFAULT_SPIN); a second "
                    + "value for the B->A (ACK) direction.")
    String spinSpec;

    @Option(names = "--qdisc", paramLabel = "NAME",
            description = "Root qdisc on both interfaces of every path (e.g. fq; default: the kernel's).")
    String qdisc;

    @Option(names = "--omit", paramLabel = "N",
            description = "Seconds at the start of each iperf3 run left out (iperf3 -O; default: ${DEFAULT-VALUE}).")
    int omit = 1;

    @Option(names = "--repeat", paramLabel = "N",
            description = "Rounds, paths alternating; medians reported (default: ${DEFAULT-VALUE}).")
    int repeat = 1;

    @Option(names = "--pin", paramLabel = "CLIENT,SERVER,AB,BA",
            description = "CPUs of the iperf3 client and server and the relay's two threads, - for none (default: "
                    + "0,1,1,0 where CPUs 0 and 1 are allowed).")
    String pinSpec;

    @Option(names = {"--congestion", "-C"}, paramLabel = "NAME|system",
            description = "iperf3's TCP congestion control (default: bbr where available).")
    String congestionSpec;

    @Option(names = "--rps", paramLabel = "A,B",
            description = "RPS CPU for the A-side and B-side interface's receive queue, - for off.")
    String rpsSpec;

    @Option(names = "--tag", paramLabel = "PREFIX",
            description = "Prefix of the bench's namespace/interface names (default: ${DEFAULT-VALUE}).")
    String tag = "rltn";

    PrintStream out = System.out;

    /** Kernel object names (netns, interfaces), from {@code --tag}. */
    private String nsA, nsB, ifA, ifB;
    /** How long the relay threads busy-poll before sleeping; the B→A (ACK) direction apart. */
    private Duration spin = LinkRelay.DEFAULT_SPIN, spinBack = LinkRelay.DEFAULT_SPIN;
    /**
     * TCP congestion control for iperf3 ({@code -C}, every path alike); null: the system's
     * default. Defaults to {@code bbr} where the kernel has it ({@link #defaultSetting}).
     */
    private String congestion;
    /** CPUs for iperf3 client, server, relay A→B, relay B→A; -1: not pinned. Default: {@link #defaultSetting}. */
    private final int[] pins = {-1, -1, -1, -1};
    /** RPS CPU for the A-side and B-side interface's receive queue (every path alike); -1: off. */
    private final int[] rps = {-1, -1};

    /** The default setting, as the matrix's cells use it. */
    public TunRelayBench() {
        defaultSetting();
        names(tag);
    }

    /**
     * The fixed measuring setting every path gets unless told otherwise (docs/parts/tun.md,
     * "Third round"): iperf3 client on CPU 0, server on CPU 1 (veth and relay alike), the relay's
     * A→B thread beside the server and its B→A (ACK) thread beside the client, TCP {@code bbr}.
     * Why: under cubic (no pacing) veth alone swings 6–38 Gbit/s between and within runs even
     * with the iperf3 ends pinned, so no ratio is stable; under bbr with a fixed placement veth
     * stays within ~±10 %. Without CPUs 0 and 1 (or without bbr) that part is left to the system.
     * {@code --pin -,-,-,-} and {@code --congestion system} undo it.
     */
    private void defaultSetting() {
        if (allowedCpus().get(0) && allowedCpus().get(1)) {
            pins[0] = 0;
            pins[1] = 1;
            pins[2] = 1;
            pins[3] = 0;
        }
        try {
            String cc = java.nio.file.Files.readString(
                    java.nio.file.Path.of("/proc/sys/net/ipv4/tcp_available_congestion_control"));
            if (java.util.Arrays.asList(cc.trim().split("\\s+")).contains("bbr")) congestion = "bbr";
        } catch (IOException e) {
            congestion = null; // not Linux /proc: the system's default
        }
    }

    /** Applies the options given on the command line over the default setting. */
    private void applyOptions() {
        if (seconds < 1 || parallel < 1 || repeat < 1 || omit < 0) {
            throw new IllegalArgumentException(
                    "--seconds, --parallel and --repeat must be at least 1, --omit at least 0");
        }
        if (spinSpec != null) {
            String[] sp = spinSpec.split(",");
            spin = Duration.ofNanos((long) (Double.parseDouble(sp[0]) * 1000));
            spinBack = sp.length > 1 ? Duration.ofNanos((long) (Double.parseDouble(sp[1]) * 1000)) : spin;
        }
        if (congestionSpec != null) congestion = congestionSpec.equals("system") ? null : congestionSpec;
        if (pinSpec != null) pin(pinSpec);
        if (rpsSpec != null) {
            String[] r = rpsSpec.split(",", -1);
            if (r.length != 2) throw new IllegalArgumentException("--rps wants A,B (CPU numbers or -)");
            for (int k = 0; k < 2; k++) rps[k] = r[k].equals("-") ? -1 : Integer.parseInt(r[k]);
        }
        names(tag);
    }

    @Override
    public Integer call() throws Exception {
        applyOptions();
        // Rounds alternate the paths (veth, relay, veth, relay...) so a slow patch of the host
        // hits both; the result is each path's median over the rounds.
        List<String> paths = new ArrayList<>();
        for (String p : new String[] {"veth", "plain", "offload"}) if (only.contains(p)) paths.add(p);
        double[][] g = new double[paths.size()][repeat];
        double[][] same = new double[paths.size()][repeat];
        String[] notes = new String[paths.size()];
        for (int round = 0; round < repeat; round++) {
            for (int k = 0; k < paths.size(); k++) {
                switch (paths.get(k)) {
                    case "veth" -> g[k][round] = runVeth(seconds, parallel);
                    default -> {
                        Run r = runRelay(seconds, parallel, paths.get(k).equals("offload"));
                        g[k][round] = r.gbps;
                        notes[k] = r.note;
                    }
                }
                same[k][round] = lastSameCpu;
            }
        }
        int v = paths.indexOf("veth");
        out.printf(Locale.ROOT,
                "%nTUN relay benchmark: iperf3 TCP, %d s (first %d omitted), %d stream(s), relay spin %d/%d us%s%s%s%n",
                seconds, omit, parallel, spin.toNanos() / 1000, spinBack.toNanos() / 1000,
                pinText() + (rps[0] >= 0 || rps[1] >= 0
                        ? ", rps " + (rps[0] < 0 ? "-" : rps[0]) + "," + (rps[1] < 0 ? "-" : rps[1]) : ""),
                congestion != null ? ", tcp " + congestion : "",
                repeat > 1 ? ", median of " + repeat + " rounds" : "");
        if (repeat > 1) {
            for (int round = 0; round < repeat; round++) {
                StringBuilder sb = new StringBuilder("round " + (round + 1) + ":");
                for (int k = 0; k < paths.size(); k++) {
                    sb.append(' ').append(paths.get(k)).append(' ').append(fmt(g[k][round]));
                    if (k != v && v >= 0) sb.append(" (").append(ratio(g[k][round], g[v][round])).append("x)");
                    if (same[k][round] >= 0)
                            sb.append(String.format(Locale.ROOT, " [iperf3 same cpu %.0f%%]", 100 * same[k][round]));
                }
                out.println(sb);
            }
        }
        double veth = v >= 0 ? median(g[v]) : 0;
        out.printf(Locale.ROOT, "%-28s %10s %8s  %s%n", "path", "Gbit/s", "x veth", "notes");
        for (int k = 0; k < paths.size(); k++) {
            String label = switch (paths.get(k)) {
                case "veth" -> "veth pair (kernel only)";
                case "plain" -> "Java relay, no offloads";
                default -> "Java relay, offloads";
            };
            double m = median(g[k]);
            out.printf(Locale.ROOT, "%-28s %10s %8s  %s%n", label, fmt(m), k == v ? "1.00" : ratio(m, veth),
                    notes[k] == null ? "" : notes[k] + (repeat > 1 ? " (last round)" : ""));
        }
        return 0;
    }

    private static double median(double[] x) {
        double[] c = x.clone();
        java.util.Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /**
     * {@code --pin CLIENT,SERVER,AB,BA}: CPUs for the iperf3 client and server (both runs, via
     * taskset, so veth and the relay get the same placement) and the relay's A→B and B→A threads;
     * {@code -} leaves one to the scheduler.
     */
    private void pin(String spec) {
        String[] p = spec.split(",", -1);
        if (p.length != 4)
                throw new IllegalArgumentException("--pin wants CLIENT,SERVER,AB,BA (CPU numbers or -), not " + spec);
        for (int k = 0; k < 4; k++) pins[k] = p[k].equals("-") ? -1 : Integer.parseInt(p[k]);
    }

    /** CPUs this process may run on ({@code Cpus_allowed_list} of /proc/self/status); empty if unknown. */
    private static java.util.BitSet allowedCpus() {
        java.util.BitSet set = new java.util.BitSet();
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (!line.startsWith("Cpus_allowed_list:")) continue;
                for (String r : line.substring(line.indexOf(':') + 1).trim().split(",")) {
                    String[] ab = r.split("-");
                    int a = Integer.parseInt(ab[0].trim());
                    set.set(a, Integer.parseInt(ab[ab.length - 1].trim()) + 1);
                }
            }
        } catch (IOException | RuntimeException e) {
            set.clear(); // not Linux, or a format we do not know: pin nothing
        }
        return set;
    }

    /** {@code --tag PREFIX}: kernel object names with another prefix, so two people's runs cannot collide. */
    private void names(String t) {
        if (!t.matches("[a-z0-9]{1,8}"))
                throw new IllegalArgumentException("--tag wants 1-8 lower-case letters/digits, not " + t);
        nsA = t + "-bena";
        nsB = t + "-benb";
        ifA = t + "-ba0";
        ifB = t + "-bb0";
    }

    private String pinText() {
        if (pins[0] < 0 && pins[1] < 0 && pins[2] < 0 && pins[3] < 0) return "";
        StringBuilder sb = new StringBuilder(", pinned client/server/ab/ba ");
        for (int k = 0; k < 4; k++) sb.append(k > 0 ? "," : "").append(pins[k] < 0 ? "-" : Integer.toString(pins[k]));
        return sb.toString();
    }

    private record Run(double gbps, String note) {}

    /**
     * One veth run (the reference), for {@code ringlink bench}'s cells: iperf3 TCP Gbit/s.
     * Creates and removes its namespaces like {@link #call}.
     */
    public double vethGbps(int seconds, int parallel) throws Exception {
        return runVeth(seconds, parallel);
    }

    /** One run through the Java relay, with or without offloads, for {@code ringlink bench}'s cells: Gbit/s. */
    public double relayGbps(int seconds, int parallel, boolean offloads) throws Exception {
        return runRelay(seconds, parallel, offloads).gbps;
    }

    private static String fmt(double g) { return String.format(Locale.ROOT, "%.2f", g); }

    private static String ratio(double g, double veth) {
        return veth > 0 ? String.format(Locale.ROOT, "%.2f", g / veth) : "-";
    }

    private double runVeth(int seconds, int parallel) throws Exception {
        try {
            namespaces();
            Shell.must(120, "ip", "link", "add", ifA, "type", "veth", "peer", "name", ifB);
            configure(nsA, ifA, "10.78.0.1/24");
            configure(nsB, ifB, "10.78.0.2/24");
            qdiscs();
            return iperf(seconds, parallel);
        } finally {
            cleanup();
        }
    }

    private Run runRelay(int seconds, int parallel, boolean offloads) throws Exception {
        TunLink a = null, b = null;
        LinkRelay ab = null, ba = null;
        try {
            namespaces();
            Offloads o = offloads ? Offloads.parse("csum,tso,uso") : Offloads.NONE;
            a = TunLink.open(TunConfig.tun(ifA).offloads(o).up(false));
            b = TunLink.open(TunConfig.tun(ifB).offloads(o).up(false));
            configure(nsA, ifA, "10.78.0.1/24");
            configure(nsB, ifB, "10.78.0.2/24");
            qdiscs();
            ab = pins[2] >= 0 ? LinkRelay.start(a, b, spin, pins[2]) : LinkRelay.start(a, b, spin);
            ba = pins[3] >= 0 ? LinkRelay.start(b, a, spinBack, pins[3]) : LinkRelay.start(b, a, spinBack);
            LinkStats s0 = a.counters().snapshot();
            LinkStats r0 = b.counters().snapshot();
            double g = iperf(seconds, parallel);
            LinkStats d = a.counters().snapshot().minus(s0);
            LinkStats back = b.counters().snapshot().minus(r0);
            String note = String.format(Locale.ROOT, "%s; A->B %d packets, %d superpackets, avg %d B; B->A %d packets",
                    a.offloads(), d.rxPackets(), d.superpackets(), d.rxBytes() / Math.max(1, d.rxPackets()),
                            back.rxPackets());
            return new Run(g, note);
        } finally {
            if (ab != null) ab.close();
            if (ba != null) ba.close();
            if (a != null) a.close();
            if (b != null) b.close();
            cleanup();
        }
    }

    /** {@code --qdisc}: the same root qdisc on both ends of every path (veth and TUN alike). */
    private void qdiscs() throws Exception {
        if (qdisc == null) return;
        Shell.must(120, "ip", "netns", "exec", nsA, "tc", "qdisc", "replace", "dev", ifA, "root", qdisc);
        Shell.must(120, "ip", "netns", "exec", nsB, "tc", "qdisc", "replace", "dev", ifB, "root", qdisc);
    }

    private void namespaces() throws Exception {
        cleanup();
        Shell.must(120, "ip", "netns", "add", nsA);
        Shell.must(120, "ip", "netns", "add", nsB);
    }

    private void configure(String ns, String ifname, String cidr) throws Exception {
        Shell.must(120, "ip", "link", "set", ifname, "netns", ns);
        Shell.must(120, "ip", "-n", ns, "addr", "add", cidr, "dev", ifname);
        Shell.must(120, "ip", "-n", ns, "link", "set", ifname, "up");
        Shell.must(120, "ip", "-n", ns, "link", "set", "lo", "up");
        int cpu = rps[ns.equals(nsA) ? 0 : 1];
        if (cpu >= 0) {
            // ip netns exec mounts the namespace's own sysfs, where the interface now lives
            Shell.must(120, "ip", "netns", "exec", ns, "sh", "-c",
                    "echo " + Long.toHexString(1L << cpu) + " > /sys/class/net/" + ifname + "/queues/rx-0/rps_cpus");
        }
    }

    private void cleanup() {
        try {
            for (String ns : new String[] {nsA, nsB}) Shell.run(10, "ip", "netns", "del", ns);
            Shell.run(10, "ip", "link", "del", ifA);
        } catch (IOException ignored) {
            // best effort: what is not there need not go
        }
    }

    private double iperf(int seconds, int parallel) throws Exception {
        Process srv = new ProcessBuilder(cmd(nsB, pins[1], "iperf3", "-s", "-1", "--forceflush"))
                .redirectErrorStream(true).start();
        try {
            StringBuilder sb = new StringBuilder();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sb.indexOf("listening") < 0) {
                if (System.nanoTime() > deadline || !srv.isAlive())
                        throw new IOException("iperf3 server did not start: " + sb);
                while (srv.getInputStream().available() > 0) sb.append((char) srv.getInputStream().read());
                Thread.sleep(20);
            }
            List<String> client = new ArrayList<>(List.of("iperf3", "-c", "10.78.0.2", "-t", Integer.toString(seconds),
                    "-O", Integer.toString(omit), "-P", Integer.toString(parallel), "-J"));
            if (congestion != null) client.addAll(List.of("-C", congestion));
            Process cl = new ProcessBuilder(cmd(nsA, pins[0], client.toArray(String[]::new))).redirectErrorStream(true)
                    .start();
            cl.getOutputStream().close();
            java.util.concurrent.CompletableFuture<String> out =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(cl.getInputStream().readAllBytes());
                } catch (IOException e) {
                    return e.toString();
                }
            });
            lastSameCpu = samplePlacement(cl, srv, seconds + omit + 30);
            String json = out.get(10, TimeUnit.SECONDS);
            if (cl.exitValue() != 0) throw new IOException("iperf3 client exit " + cl.exitValue() + "\n" + json);
            int k = json.lastIndexOf("\"sum_received\"");
            Matcher m =
                    Pattern.compile("\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)").matcher(json.substring(Math.max(k, 0)));
            if (k < 0 || !m.find()) throw new IOException("no result in iperf3 output: " + json);
            return Double.parseDouble(m.group(1)) / 1e9;
        } finally {
            srv.destroy();
            srv.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** Share of the last run's placement samples with the iperf3 client and server on the same CPU (-1: none). */
    private double lastSameCpu = -1;

    /**
     * Waits for the client to end (at most {@code limitSeconds}), sampling every 20 ms which CPU the
     * iperf3 client and server last ran on ({@code /proc/PID/stat} field 39; iperf3 3.12 is one
     * thread, and {@code ip netns exec}/{@code taskset} exec it in place, so the pid is iperf3's).
     * Returns the share of samples where both were on the same CPU: under cubic that decides
     * veth's figure (docs/parts/tun.md, "Third round").
     */
    private static double samplePlacement(Process client, Process server, int limitSeconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(limitSeconds);
        int same = 0, total = 0;
        while (client.isAlive()) {
            if (System.nanoTime() > deadline) {
                client.destroyForcibly();
                throw new IOException("iperf3 client did not end within " + limitSeconds + " s");
            }
            int c = cpuOf(client.pid()), s = cpuOf(server.pid());
            if (c >= 0 && s >= 0) {
                total++;
                if (c == s) same++;
            }
            client.waitFor(20, TimeUnit.MILLISECONDS);
        }
        return total == 0 ? -1 : (double) same / total;
    }

    private static int cpuOf(long pid) {
        try {
            String st = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
            String[] f = st.substring(st.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(f[36]); // field 39 "processor"; fields after ')' start at 3
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** {@code ip netns exec NS [taskset -c CPU] argv...}. */
    private static String[] cmd(String ns, int cpu, String... argv) {
        List<String> c = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        if (cpu >= 0) c.addAll(List.of("taskset", "-c", Integer.toString(cpu)));
        c.addAll(List.of(argv));
        return c.toArray(String[]::new);
    }
}
