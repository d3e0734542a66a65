package ringlink.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.PairTraffic;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.Links;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;
import ringlink.sw.Switch;

/**
 * {@code ringlink demo}: the first thing a new user runs. Two network namespaces talk through a
 * Ringlink switch over each transport that this build has; ping and iperf3 show it works and how
 * fast; everything created is removed at the end, on an error, or on Ctrl-C.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Shows Ringlink working on this machine: two namespaces talking through its switch.",
            "",
            "Run as root: creates two network namespaces per step and connects them through a Ringlink switch over each "
                + "transport in this build (TAP with offloads, AF_XDP on veth, TAP to AF_XDP with software segmentation, "
                + "shared memory (shm:) to a second ringlink process, memif to DPDK testpmd, VXLAN between two \"hosts\" "
                + "(the kernel's vxlan device on one, a ringlink switch process with a vxlan: port on the other), "
                + "vhost-user to a QEMU guest), "
                + "runs ping and a short iperf3 through it with live throughput, prints a summary table and says what each "
                + "step shows. Everything it creates (namespaces, interfaces, processes) is removed at the end, also on Ctrl-C.",
            "",
            "Without root only the in-memory step runs."},
        footer = {"", "Examples:", "  sudo ./ringlink demo", "  sudo ./ringlink demo --steps veth,tap --iperf-seconds 10", "  sudo ./ringlink demo --steps shm",
            "  ./ringlink demo --list                      # the steps (memory, veth, tap, xdp, mixed, shm, memif, vxlan, vm) and which can run"})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--iperf-seconds", paramLabel = "N", description = "Length of each iperf3 run (default: ${DEFAULT-VALUE}).")
    int iperfSeconds = 3;

    @Option(names = "--steps", paramLabel = "NAME", split = ",", description = "Run only these steps (see --list).")
    List<String> only;

    @Option(names = "--prefix", paramLabel = "NAME", description = "Prefix of every namespace and interface created (at most 6 characters; default: ${DEFAULT-VALUE}).")
    String prefix = "rldemo";

    @Option(names = "--list", description = "List the steps, whether each can run here, and exit.")
    boolean list;

    PrintStream out = System.out;

    /** One part of the demo: a transport (or a reference) between the two namespaces. */
    public interface Step {
        String name();

        String title();

        /** What a success shows the user. */
        String proves();

        /** Null if the step can run here, else why not. */
        String unavailable(Context c);

        Outcome run(Context c) throws Exception;
    }

    /** A step's result for the summary. */
    record Outcome(String status, String ping, String throughput, String note) {}

    /** Shared by the steps: settings, output, and the cleanup stack. */
    record Context(String prefix, int iperfSeconds, PrintStream out, Cleanup cleanup, boolean root) {
        void say(String s) {
            out.println("    " + s);
            out.flush();
        }
    }

    static List<Step> steps() {
        return List.of(new InMemory(), new Veth(), new Tap(), new Xdp(), new Mixed(), new SharedMemory(), new Memif(), new Vxlan(false), new Vm());
    }

    @Override
    public Integer call() throws Exception {
        if (!prefix.matches("[a-z][a-z0-9]{0,5}")) throw new IllegalArgumentException("--prefix must be 1-6 lower-case letters/digits, starting with a letter");
        if (iperfSeconds < 1 || iperfSeconds > 600) throw new IllegalArgumentException("--iperf-seconds must be in [1, 600]");
        boolean root = Shell.isRoot();
        Cleanup cleanup = new Cleanup(m -> out.println("  ! " + m));
        Context c = new Context(prefix, iperfSeconds, out, cleanup, root);
        List<Step> steps = new ArrayList<>(steps());
        if (only != null) {
            for (String n : only) {
                if (steps.stream().noneMatch(s -> s.name().equals(n))) {
                    throw new IllegalArgumentException("unknown step '" + n + "' (steps: " + String.join(", ", steps.stream().map(Step::name).toList()) + ")");
                }
            }
            steps.removeIf(s -> !only.contains(s.name()));
        }
        if (list) {
            for (Step s : steps) {
                String why = s.unavailable(c);
                out.printf(Locale.ROOT, "%-8s %-44s %s%n", s.name(), s.title(), why == null ? "ready" : "skipped here: " + why);
            }
            return 0;
        }
        Thread hook = new Thread(() -> {
            out.println();
            out.println("ringlink demo: interrupted; removing what it created ...");
            cleanup.run();
            out.println("ringlink demo: clean.");
        }, "ringlink-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        out.println("Ringlink demo: two network namespaces talking through a Ringlink switch, one transport per step.");
        if (!root) out.println("(not root: namespaces need root, so only the in-memory step runs; try 'sudo ./ringlink demo')");
        if (root) removeLeftovers(c);
        List<String[]> rows = new ArrayList<>();
        int failed = 0, n = 0;
        try {
            for (Step s : steps) {
                n++;
                out.println();
                out.printf(Locale.ROOT, "[%d/%d] %s%n", n, steps.size(), s.title());
                String why = s.unavailable(c);
                Outcome o;
                if (why != null) {
                    c.say("skipped: " + why);
                    o = new Outcome("skipped", "-", "-", why);
                } else {
                    try {
                        o = s.run(c);
                        c.say("proves: " + s.proves());
                    } catch (Exception e) {
                        failed++;
                        c.say("FAILED: " + e.getMessage());
                        o = new Outcome("FAILED", "-", "-", String.valueOf(e.getMessage()));
                    } finally {
                        cleanup.run(); // each step leaves nothing behind for the next
                    }
                }
                rows.add(new String[] {s.name(), o.status(), o.ping(), o.throughput(), o.status().equals("ok") ? s.proves() : o.note()});
            }
        } finally {
            cleanup.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook runs (or ran) instead
            }
        }
        out.println();
        out.println("Summary");
        out.printf(Locale.ROOT, "  %-8s %-8s %-12s %-14s %s%n", "step", "result", "ping (avg)", "throughput", "what it shows");
        for (String[] r : rows) out.printf(Locale.ROOT, "  %-8s %-8s %-12s %-14s %s%n", (Object[]) r);
        if (root) {
            String left = leftovers(c);
            out.println(left.isEmpty() ? "Cleanup checked: no namespaces or interfaces named " + prefix + "* are left."
                    : "WARNING: left behind: " + left);
            if (!left.isEmpty()) failed++;
        }
        return failed == 0 ? 0 : 1;
    }

    // ---- namespaces and tools ----

    static String ns(Context c, String step, char side) {
        return c.prefix() + "-" + step + "-" + side;
    }

    /** Creates the two namespaces of a step (their deletion is registered first, so it runs last). */
    static void namespaces(Context c, String step) throws IOException {
        for (char side : new char[] {'a', 'b'}) {
            String name = ns(c, step, side);
            Shell.run(10, "ip", "netns", "del", name);
            Shell.must(10, "ip", "netns", "add", name);
            c.cleanup().add("delete namespace " + name, () -> Shell.must(10, "ip", "netns", "del", name));
            Shell.must(10, "ip", "-n", name, "link", "set", "lo", "up");
        }
        c.say("namespaces " + ns(c, step, 'a') + " and " + ns(c, step, 'b') + " created");
    }

    /** Moves {@code dev} into namespace {@code ns}, gives it {@code addr} and brings it up. */
    static void place(String dev, String ns, String addr) throws IOException {
        Shell.must(10, "ip", "link", "set", dev, "netns", ns);
        Shell.must(10, "ip", "-n", ns, "addr", "add", addr, "dev", dev);
        Shell.must(10, "ip", "-n", ns, "link", "set", dev, "up");
    }

    private static final Pattern RTT = Pattern.compile("= [0-9.]+/([0-9.]+)/");

    /** Pings {@code to} from namespace {@code ns}; returns the average RTT ("0.061 ms"). */
    static String ping(Context c, String ns, String to) throws IOException {
        Shell.Result r = Shell.run(20, "ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", to);
        for (String line : r.output().split("\n")) if (line.contains("packets transmitted") || line.startsWith("rtt")) c.say("ping: " + line.strip());
        if (!r.ok()) throw new IOException("ping " + to + " from " + ns + " failed: " + lastLine(r.output()));
        Matcher m = RTT.matcher(r.output());
        return m.find() ? m.group(1) + " ms" : "ok";
    }

    private static final Pattern RECEIVER = Pattern.compile("([0-9.]+) ([KMG]?)bits/sec.*receiver");

    /** iperf3 TCP from namespace a to the server in namespace b, its per-second lines shown live; returns "9.41 Gbit/s". */
    static String iperf(Context c, String nsA, String nsB, String server) throws IOException, InterruptedException {
        Process srv = new ProcessBuilder("ip", "netns", "exec", nsB, "iperf3", "-s", "-1", "-B", server)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        c.cleanup().add("stop iperf3 server", () -> Shell.kill(srv));
        Process cli = null;
        String result = null;
        StringBuilder all = new StringBuilder();
        for (int attempt = 0; attempt < 30 && result == null; attempt++) {
            cli = new ProcessBuilder("ip", "netns", "exec", nsA, "iperf3", "-c", server, "-t", String.valueOf(c.iperfSeconds()),
                    "-i", "1", "--forceflush").redirectErrorStream(true).start();
            Process p = cli;
            c.cleanup().add("stop iperf3 client", () -> Shell.kill(p));
            all.setLength(0);
            boolean refused = false;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(cli.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    all.append(line).append('\n');
                    if (line.contains("Connection refused") || line.contains("unable to connect")) refused = true;
                    if (line.contains("bits/sec") || line.startsWith("[ ID]")) c.say("iperf3: " + line.strip());
                    Matcher m = RECEIVER.matcher(line);
                    if (m.find()) result = rate(Double.parseDouble(m.group(1)), m.group(2));
                }
            }
            if (!cli.waitFor(c.iperfSeconds() + 30L, TimeUnit.SECONDS)) Shell.kill(cli);
            if (result == null && !refused) break;
            if (result == null) Thread.sleep(100); // the server is still starting
        }
        if (result == null) throw new IOException("iperf3 through the link failed: " + lastLine(all.toString()));
        return result;
    }

    private static String rate(double v, String unit) {
        double gbit = switch (unit) {
            case "G" -> v;
            case "M" -> v / 1e3;
            case "K" -> v / 1e6;
            default -> v / 1e9;
        };
        return gbit >= 1 ? String.format(Locale.ROOT, "%.2f Gbit/s", gbit) : String.format(Locale.ROOT, "%.0f Mbit/s", gbit * 1000);
    }

    private static String lastLine(String s) {
        String[] l = s.strip().split("\n");
        return l.length == 0 ? "" : l[l.length - 1];
    }

    /** Requirements of the namespace steps; null if met. */
    static String needNamespaces(Context c) {
        if (!c.root()) return "needs root (network namespaces)";
        for (String p : List.of("ip", "ping", "iperf3")) {
            if (Shell.which(p) == null) return p + " not installed (apt-get install iproute2 iputils-ping iperf3)";
        }
        return null;
    }

    static String needScheme(String scheme) {
        return Links.providers().containsKey(scheme) ? null
                : "the '" + scheme + "' transport is not in this build (it arrives with its branch)";
    }

    /** Namespaces and interfaces a killed earlier run (SIGKILL) may have left. */
    static void removeLeftovers(Context c) throws IOException {
        for (String name : ourNamespaces(c)) {
            Shell.run(10, "ip", "netns", "del", name);
            c.out().println("(removed namespace " + name + " left by an earlier run)");
        }
        for (String dev : devices(c)) {
            // A veth's peer goes with it, so the second of a pair may already be gone.
            if (Shell.run(10, "ip", "link", "del", dev).ok()) c.out().println("(removed interface " + dev + " left by an earlier run)");
        }
    }

    /** The interface names the steps use after the prefix: only these are ever removed as leftovers. */
    static final List<String> DEVICE_SUFFIXES = List.of("va", "vb", "ta", "tb", "xa", "xah", "xb", "xbh", "ma", "mb", "mbh", "sa", "sb", "wa", "fa");

    /** Interfaces in this namespace that one of the steps would have created. */
    static List<String> devices(Context c) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Shell.run(10, "ip", "-o", "link", "show").output().split("\n")) {
            String[] f = line.split(": ");
            if (f.length < 2) continue;
            String dev = f[1].split("@")[0].strip();
            if (dev.startsWith(c.prefix()) && DEVICE_SUFFIXES.contains(dev.substring(c.prefix().length()))) out.add(dev);
        }
        return out;
    }

    /** Namespaces one of the steps would have created. */
    static List<String> ourNamespaces(Context c) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Shell.run(10, "ip", "netns", "list").output().split("\n")) {
            String name = line.strip().split(" ")[0];
            for (Step s : steps()) {
                if (name.equals(ns(c, s.name(), 'a')) || name.equals(ns(c, s.name(), 'b'))) out.add(name);
            }
        }
        return out;
    }

    static String leftovers(Context c) throws IOException {
        List<String> left = new ArrayList<>(devices(c));
        for (String name : ourNamespaces(c)) left.add("netns " + name);
        return String.join(", ", left);
    }

    /** Starts a switch between {@code a} and {@code b}; closing it (registered) closes both links. */
    static Switch switchOf(Context c, Link a, Link b) throws IOException {
        Switch sw = Switch.builder().port(a).port(b).log(m -> c.say("switch: " + m)).build();
        c.cleanup().add("stop the switch", sw::close);
        sw.start();
        c.say("switch started: " + a.name() + " [offloads " + a.offloads() + "] <-> " + b.name() + " [offloads " + b.offloads() + "]");
        return sw;
    }

    /** Queue pairs of the vm step's guest: its driver turns them all on, each vCPU sends on its own. */
    static final int VM_QUEUES = 2;

    /** e.g. {@code q0 rx 12 tx 10, q1 rx 1 tx 0}. */
    static String queueSummary(ringlink.sw.PortStats p) {
        StringBuilder sb = new StringBuilder();
        for (var q : p.queues()) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append('q').append(q.queue()).append(q.enabled() ? "" : " (off)").append(" rx ").append(q.forwarded().rxPackets())
                    .append(" tx ").append(q.forwarded().txPackets());
        }
        return sb.toString();
    }

    static String switchSummary(Switch sw) {
        var s = sw.stats();
        long pkts = 0, sup = 0, drops = 0, seg = 0, csum = 0;
        for (var p : s.ports()) {
            pkts += p.forwarded().txPackets();
            sup += p.link().superpackets();
            drops += p.totalDrops();
            seg += p.segmented();
            csum += p.checksummed();
        }
        return pkts + " packets forwarded, " + drops + " drops; superpackets seen by the links: " + sup
                + ", segmented in software: " + seg + ", checksums finished in software: " + csum;
    }

    // ---- the steps ----

    /** The switch between in-memory links: needs nothing but Java. */
    static final class InMemory implements Step {
        public String name() { return "memory"; }
        public String title() { return "The switch between in-memory links (no kernel)"; }
        public String proves() { return "the switch learns and forwards batches between links (pure Java, FFM memory)"; }
        public String unavailable(Context c) { return null; }

        public Outcome run(Context c) throws Exception {
            PairLink[] a = PairLink.create("pair:demo-a", 1024, 2048 + PacketBatch.DEFAULT_HEADROOM, Layer.L2, 1500, Offloads.ALL);
            PairLink[] b = PairLink.create("pair:demo-b", 1024, 2048 + PacketBatch.DEFAULT_HEADROOM, Layer.L2, 1500, Offloads.ALL);
            c.cleanup().add("free the in-memory links", () -> {
                a[1].free();
                b[1].free();
            });
            Switch sw = Switch.builder().threads(1).port(a[0]).port(b[0]).log(m -> c.say("switch: " + m)).build();
            c.cleanup().add("stop the switch", sw::close);
            sw.start();
            try (PacketBatch hello = new PacketBatch(1, 2048)) {
                PairTraffic.frames(hello, 1, 64, 0xffff_ffff_ffffL, PairTraffic.MAC_B);
                b[1].transmit(hello);
            }
            long deadline = System.nanoTime() + 2_000_000_000L;
            while (sw.lookup(PairTraffic.MAC_B, 0) < 0 && System.nanoTime() < deadline) Thread.sleep(1);
            c.say("learned " + String.format("%012x", PairTraffic.MAC_B) + " on port 1; sending 64-byte frames for 1 s ...");
            BenchCell.Measurement m = PairTraffic.measure(a[1], b[1], 64, Duration.ofSeconds(1));
            String rate = String.format(Locale.ROOT, "%.2f Mpps", m.pps() / 1e6);
            c.say("forwarded " + rate + " of 64-byte frames (" + switchSummary(sw) + ")");
            c.say("(the sender runs flat out, faster than the receiving link drains: the switch never blocks"
                    + " on a full port, it drops and counts, which is what the drops are)");
            return new Outcome("ok", "-", rate, "");
        }
    }

    /** The kernel's own path, for comparison. */
    static final class Veth implements Step {
        public String name() { return "veth"; }
        public String title() { return "Reference: the kernel's veth pair (no Ringlink)"; }
        public String proves() { return "namespaces, ping and iperf3 work here; the kernel's figure to compare with"; }
        public String unavailable(Context c) { return needNamespaces(c); }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
            String va = c.prefix() + "va", vb = c.prefix() + "vb";
            Shell.must(10, "ip", "link", "add", va, "type", "veth", "peer", "name", vb);
            c.cleanup().add("delete " + va, () -> Shell.run(10, "ip", "link", "del", va));
            place(va, a, "10.77.0.1/24");
            place(vb, b, "10.77.0.2/24");
            String rtt = ping(c, a, "10.77.0.2");
            String rate = iperf(c, a, b, "10.77.0.2");
            return new Outcome("ok", rtt, rate, "");
        }
    }

    /** TAP devices with offloads, one in each namespace, switched by Ringlink. */
    static final class Tap implements Step {
        public String name() { return "tap"; }
        public String title() { return "TAP with offloads: namespace <-> tap <-> Ringlink switch <-> tap <-> namespace"; }
        public String proves() { return "real kernel TCP crosses Ringlink's switch over TAP; TSO superpackets pass whole"; }

        public String unavailable(Context c) {
            String why = needNamespaces(c);
            return why != null ? why : needScheme("tap");
        }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
            String ta = c.prefix() + "ta", tb = c.prefix() + "tb";
            Link la = Links.open("tap:" + ta);
            c.cleanup().add("close " + la.name(), la::close);
            Link lb = Links.open("tap:" + tb);
            c.cleanup().add("close " + lb.name(), lb::close);
            Switch sw = switchOf(c, la, lb);
            place(ta, a, "10.77.1.1/24");
            place(tb, b, "10.77.1.2/24");
            String rtt = ping(c, a, "10.77.1.2");
            String rate = iperf(c, a, b, "10.77.1.2");
            c.say("switch: " + switchSummary(sw));
            return new Outcome("ok", rtt, rate, "");
        }
    }

    /**
     * A TAP with offloads on one side, AF_XDP (no offloads) on the other: the switch must
     * segment the TAP's TSO superpackets in software for the AF_XDP port.
     */
    static final class Mixed implements Step {
        public String name() { return "mixed"; }
        public String title() { return "Offload translation: namespace <-> tap (TSO) <-> switch <-> AF_XDP (no offloads) <-> namespace"; }
        public String proves() { return "superpackets from a port with TSO are segmented in software for a port without it"; }

        public String unavailable(Context c) {
            String why = needNamespaces(c);
            if (why == null) why = needScheme("tap");
            return why != null ? why : needScheme("xdp");
        }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
            String ta = c.prefix() + "ma", xb = c.prefix() + "mb", xbh = c.prefix() + "mbh";
            Link la = Links.open("tap:" + ta);
            c.cleanup().add("close " + la.name(), la::close);
            Shell.must(10, "ip", "link", "add", xb, "type", "veth", "peer", "name", xbh);
            c.cleanup().add("delete " + xbh, () -> Shell.run(10, "ip", "link", "del", xbh));
            Shell.must(10, "ip", "link", "set", xbh, "up");
            place(ta, a, "10.77.3.1/24");
            place(xb, b, "10.77.3.2/24");
            Shell.run(10, "ip", "netns", "exec", b, "ethtool", "-K", xb, "tx", "off", "tso", "off", "gso", "off");
            Link lb = Links.open("xdp:" + xbh);
            c.cleanup().add("close " + lb.name(), lb::close);
            Switch sw = switchOf(c, la, lb);
            String rtt = ping(c, a, "10.77.3.2");
            String rate = iperf(c, a, b, "10.77.3.2");
            long segmented = sw.stats().ports().get(1).segmented();
            c.say("switch: " + switchSummary(sw));
            if (segmented == 0) c.say("(the TAP sent no superpackets this time, so nothing needed segmenting)");
            return new Outcome("ok", rtt, rate, "");
        }
    }

    /**
     * Shared memory between two processes: this process's switch joins a TAP in namespace a to
     * the server end of an {@code shm:} link; a second Ringlink process ({@code ringlink switch})
     * holds the client end and joins it to a TAP in namespace b. Traffic crosses gVisor's
     * sharedmem queues (memfd data, eventfd notifications) between the two JVMs.
     */
    static final class SharedMemory implements Step {
        public String name() { return "shm"; }
        public String title() { return "Shared memory: namespace <-> tap <-> switch <-> shm <-> 2nd ringlink process <-> tap <-> namespace"; }
        public String proves() { return "two processes exchange packets over gVisor-compatible sharedmem queues (shm:)"; }

        public String unavailable(Context c) {
            String why = needNamespaces(c);
            if (why == null) why = needScheme("tap");
            return why != null ? why : needScheme("shm");
        }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
            String ta = c.prefix() + "sa", tb = c.prefix() + "sb";
            Path dir = Files.createTempDirectory(c.prefix() + "-shm");
            c.cleanup().add("remove " + dir, () -> {
                try (var w = Files.walk(dir)) {
                    for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            });
            Path sock = dir.resolve("shm.sock"), log = dir.resolve("peer.log");
            // The peer: this same program as a second process, `ringlink switch` between the shm
            // client end and a TAP. --duration bounds it should this process be SIGKILLed.
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "switch", "--duration", String.valueOf(c.iperfSeconds() + 180), "shm:" + sock + "?role=client", "tap:" + tb));
            Process peer = Shell.start(log, cmd.toArray(String[]::new));
            c.cleanup().add("stop the second ringlink process", () -> Shell.kill(peer));
            c.cleanup().add("delete " + tb + " if still on the host", () -> Shell.run(10, "ip", "link", "del", tb));
            c.say("second process (pid " + peer.pid() + "): ringlink switch shm:" + sock + "?role=client tap:" + tb);
            Link la = Links.open("tap:" + ta);
            c.cleanup().add("close " + la.name(), la::close);
            Link ls;
            try {
                ls = Links.open("shm:" + sock + "?timeout=30000"); // the server end: waits for the peer to connect
            } catch (IOException e) {
                throw new IOException("the second process did not connect: " + e.getMessage() + "; its log: " + tail(log), e);
            }
            c.cleanup().add("close " + ls.name(), ls::close);
            Switch sw = switchOf(c, la, ls);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!Shell.run(10, "ip", "link", "show", tb).ok()) {
                if (!peer.isAlive() || System.nanoTime() > deadline) throw new IOException("the second process did not create " + tb + "; its log: " + tail(log));
                Thread.sleep(50);
            }
            place(ta, a, "10.77.6.1/24");
            place(tb, b, "10.77.6.2/24");
            String rtt = ping(c, a, "10.77.6.2");
            String rate = iperf(c, a, b, "10.77.6.2");
            c.say("switch: " + switchSummary(sw));
            return new Outcome("ok", rtt, rate, "");
        }

        static String tail(Path log) {
            try {
                String t = Files.readString(log).strip();
                return t.length() > 600 ? "..." + t.substring(t.length() - 600) : t;
            } catch (IOException e) {
                return "(unreadable: " + e.getMessage() + ")";
            }
        }
    }

    /**
     * memif against DPDK: a TAP in namespace a, the switch, our memif server link, and DPDK
     * testpmd as the memif client in {@code icmpecho} mode (it answers ARP and ping itself).
     */
    static final class Memif implements Step {
        public String name() { return "memif"; }
        public String title() { return "memif: namespace <-> tap <-> Ringlink switch <-> memif <-> DPDK testpmd (net_memif, icmpecho)"; }
        public String proves() { return "DPDK's memif driver answers ping through Ringlink's memif server (memif:)"; }

        public String unavailable(Context c) {
            String why = needNamespaces(c);
            if (why == null) why = needScheme("tap");
            if (why == null) why = needScheme("memif");
            if (why == null && Shell.which("dpdk-testpmd") == null) why = "dpdk-testpmd not installed (apt-get install dpdk-dev librte-net-memif23)";
            return why;
        }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a');
            Path dir = Files.createTempDirectory(c.prefix() + "-memif");
            c.cleanup().add("remove " + dir, () -> {
                try (var w = Files.walk(dir)) {
                    for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            });
            Path sock = dir.resolve("memif.sock"), log = dir.resolve("testpmd.log");
            String ta = c.prefix() + "fa";
            Link lt = Links.open("tap:" + ta);
            c.cleanup().add("close " + lt.name(), lt::close);
            Link lm = Links.open("memif:" + sock + "?role=server");
            c.cleanup().add("close " + lm.name(), lm::close);
            Switch sw = switchOf(c, lt, lm);
            String filePrefix = c.prefix() + "-memif";
            // Non-interactive: --auto-start forwards at once, --stats-period keeps it running
            // (without it testpmd waits for a key on stdin) until SIGTERM at cleanup.
            // stdbuf: testpmd's stdout is a file here, unbuffered so its progress shows as it happens.
            Process pmd = Shell.start(log, "stdbuf", "-o0", "dpdk-testpmd", "--no-pci", "--no-huge", "--single-file-segments", "-m", "256",
                    "--lcores=0@0,1@0", "--file-prefix=" + filePrefix, "--log-level=lib.eal:error",
                    "--vdev=net_memif0,role=client,socket=" + sock + ",socket-abstract=no",
                    "--", "--forward-mode=icmpecho", "--auto-start", "--stats-period=3600", "--nb-cores=1", "--total-num-mbufs=8192");
            c.cleanup().add("stop testpmd", () -> {
                Shell.kill(pmd);
                Shell.run(10, "rm", "-rf", "/var/run/dpdk/" + filePrefix);
            });
            c.say("testpmd (pid " + pmd.pid() + "): net_memif client on " + sock + ", forward mode icmpecho");
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.readString(log).contains("packet forwarding - ports")) {
                if (!pmd.isAlive() || System.nanoTime() > deadline) throw new IOException("testpmd did not start forwarding; its log: " + SharedMemory.tail(log));
                Thread.sleep(50);
            }
            place(ta, a, "10.77.8.1/24");
            String rtt = ping(c, a, "10.77.8.2");
            c.say("switch: " + switchSummary(sw));
            return new Outcome("ok", rtt, "-", "testpmd answers; no TCP (icmpecho)");
        }
    }

    /**
     * Two "hosts" (namespaces a and b) joined by a veth underlay: in a the kernel's own
     * {@code vxlan} device (VNI 42, dstport 4789) holds the overlay address; in b a second
     * Ringlink process ({@code ringlink switch}) joins a TAP to a {@code vxlan:} port. With
     * {@code kernelBoth} (the bench's reference) b has the kernel's bridge + vxlan instead, a veth
     * pair in place of the TAP.
     */
    static final class Vxlan implements Step {
        final boolean kernelBoth;
        final int warmupSeconds;

        Vxlan(boolean kernelBoth) {
            this(kernelBoth, 0);
        }

        /** {@code warmupSeconds}: an untimed iperf3 run first (the bench's: the switch JVM compiles its hot paths). */
        Vxlan(boolean kernelBoth, int warmupSeconds) {
            this.kernelBoth = kernelBoth;
            this.warmupSeconds = warmupSeconds;
        }

        public String name() { return "vxlan"; }
        public String title() {
            return kernelBoth ? "Reference: namespace <-> kernel vxlan <-> veth underlay <-> kernel vxlan + bridge <-> veth <-> namespace"
                    : "VXLAN, two hosts: namespace <-> kernel vxlan <-> veth underlay <-> vxlan: port, 2nd ringlink process <-> tap <-> namespace";
        }
        public String proves() { return "Ringlink's vxlan: port speaks VXLAN (RFC 7348) with the Linux kernel's own vxlan device across an underlay"; }

        public String unavailable(Context c) {
            String why = needNamespaces(c);
            if (why == null && !kernelBoth) why = needScheme("tap");
            if (why == null && !kernelBoth) why = needScheme("vxlan");
            if (why == null && Shell.which("ethtool") == null) why = "ethtool not installed (apt-get install ethtool)";
            return why;
        }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
            String ua = c.prefix() + "ka", ub = c.prefix() + "kb", vx = c.prefix() + "kx", tb = c.prefix() + "kt";
            // the underlay: one veth between the two hosts, created inside them (nothing on this host)
            Shell.must(10, "ip", "link", "add", ua, "netns", a, "type", "veth", "peer", "name", ub, "netns", b);
            Shell.must(10, "ip", "-n", a, "addr", "add", "10.77.7.1/24", "dev", ua);
            Shell.must(10, "ip", "-n", b, "addr", "add", "10.77.7.2/24", "dev", ub);
            Shell.must(10, "ip", "-n", a, "link", "set", ua, "up");
            Shell.must(10, "ip", "-n", b, "link", "set", ub, "up");
            // A veth passes a partially checksummed packet on as it is: the inner TCP checksum
            // would reach our UDP socket unfinished (docs/parts/tunnel.md, the veth checksum quirk).
            Shell.must(10, "ip", "netns", "exec", a, "ethtool", "-K", ua, "tx", "off");
            Shell.must(10, "ip", "-n", a, "link", "add", vx, "type", "vxlan", "id", "42", "dstport", "4789", "remote", "10.77.7.2", "local", "10.77.7.1");
            Shell.must(10, "ip", "-n", a, "link", "set", vx, "mtu", "1450");
            c.say("host a: the kernel's vxlan device " + vx + " (VNI 42, dstport 4789) over underlay " + ua + " 10.77.7.1");
            place0(a, vx, "10.77.8.1/24");
            Process peer = null;
            Path log = null;
            if (kernelBoth) {
                String vxb = c.prefix() + "kv", br = c.prefix() + "kr", hb = c.prefix() + "kw";
                Shell.must(10, "ip", "-n", b, "link", "add", vxb, "type", "vxlan", "id", "42", "dstport", "4789", "remote", "10.77.7.1", "local", "10.77.7.2");
                Shell.must(10, "ip", "-n", b, "link", "add", br, "type", "bridge");
                Shell.must(10, "ip", "-n", b, "link", "add", tb, "type", "veth", "peer", "name", hb);
                for (String d : List.of(vxb, tb, hb, br)) Shell.must(10, "ip", "-n", b, "link", "set", d, "mtu", "1450");
                Shell.must(10, "ip", "-n", b, "link", "set", vxb, "master", br);
                Shell.must(10, "ip", "-n", b, "link", "set", hb, "master", br);
                for (String d : List.of(vxb, hb, br)) Shell.must(10, "ip", "-n", b, "link", "set", d, "up");
                c.say("host b: the kernel's bridge " + br + " with vxlan " + vxb + " and veth " + hb + " <-> " + tb);
            } else {
                Path dir = Files.createTempDirectory(c.prefix() + "-vxlan");
                c.cleanup().add("remove " + dir, () -> {
                    try (var w = Files.walk(dir)) {
                        for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                    }
                });
                log = dir.resolve("switch.log");
                // Host b's switch: this same program as a process inside namespace b (its vxlan
                // port's sockets must live in b's network stack). --duration bounds it should
                // this process be SIGKILLed.
                List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", b,
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                        "switch", "--threads", "1", "--duration", String.valueOf(c.iperfSeconds() + 180),
                        "tap:" + tb + "?mtu=1450", "vxlan:10.77.7.2?remote=10.77.7.1&vni=42"));
                Process p = Shell.start(log, cmd.toArray(String[]::new));
                peer = p;
                c.cleanup().add("stop the ringlink switch process in " + b, () -> Shell.kill(p));
                c.say("host b (pid " + p.pid() + "): ringlink switch tap:" + tb + "?mtu=1450 'vxlan:10.77.7.2?remote=10.77.7.1&vni=42'");
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (!Shell.run(10, "ip", "-n", b, "link", "show", tb).ok()) {
                    if (!p.isAlive() || System.nanoTime() > deadline) throw new IOException("the switch process did not create " + tb + "; its log: " + SharedMemory.tail(log));
                    Thread.sleep(50);
                }
            }
            place0(b, tb, "10.77.8.2/24");
            String rtt = ping(c, b, "10.77.8.1");
            if (warmupSeconds > 0) iperf(new Context(c.prefix(), warmupSeconds, c.out(), c.cleanup(), c.root()), a, b, "10.77.8.2");
            String rate = iperf(c, a, b, "10.77.8.2");
            if (peer != null) {
                if (!peer.isAlive()) throw new IOException("the switch process exited; its log: " + SharedMemory.tail(log));
                Shell.run(10, "kill", "-USR1", String.valueOf(peer.pid()));
                Thread.sleep(300);
                List<String> lines = Files.readAllLines(log);
                int from = 0;
                for (int i = 0; i < lines.size(); i++) if (lines.get(i).startsWith("port ")) from = i; // the last SIGUSR1 table
                for (String line : lines.subList(from, lines.size())) c.say("switch: " + line.strip());
            }
            return new Outcome("ok", rtt, rate, "");
        }

        /** Gives {@code dev} (already in namespace {@code ns}) the address and brings it up. */
        private static void place0(String ns, String dev, String addr) throws IOException {
            Shell.must(10, "ip", "-n", ns, "addr", "add", addr, "dev", dev);
            Shell.must(10, "ip", "-n", ns, "link", "set", dev, "up");
        }
    }

    /** A QEMU guest on a vhost-user port, a namespace on a TAP port, switched by Ringlink. */
    static final class Vm implements Step {
        public String name() { return "vm"; }
        public String title() { return "vhost-user: namespace <-> tap <-> Ringlink switch <-> vhost-user <-> QEMU guest (virtio-net)"; }
        public String proves() { return "a virtio-net guest's driver talks to Ringlink's vhost-user back-end through the switch"; }

        public String unavailable(Context c) {
            String why = needNamespaces(c);
            if (why == null) why = needScheme("tap");
            if (why == null) why = needScheme("vhost-user");
            return why != null ? why : GuestVm.unavailable();
        }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a');
            Path dir = Files.createTempDirectory(c.prefix() + "-vm");
            c.cleanup().add("remove " + dir, () -> {
                try (var w = Files.walk(dir)) {
                    for (Path p : w.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
                }
            });
            Path sock = dir.resolve("vm.sock");
            String ta = c.prefix() + "wa";
            Link lt = Links.open("tap:" + ta);
            c.cleanup().add("close " + lt.name(), lt::close);
            // Our back-end listens, QEMU connects; two queue pairs, one switch port with both.
            LinkDevice lv = Links.openDevice("vhost-user:" + sock + "?mode=server&queues=" + VM_QUEUES);
            c.cleanup().add("close " + lv.name(), lv::close);
            Switch sw = Switch.builder().port(lt).port(lv).log(m -> c.say("switch: " + m)).build();
            c.cleanup().add("stop the switch", sw::close);
            sw.start();
            c.say("switch started: " + lt.name() + " [offloads " + lt.offloads() + "] <-> " + lv.name() + " ["
                    + VM_QUEUES + " queue pairs, offloads " + lv.queue(0).offloads() + "]");
            c.say("starting QEMU (TCG) with a " + VM_QUEUES + "-queue-pair virtio-net device (mq=on, one vCPU per pair) on vhost-user socket " + sock);
            GuestVm vm = GuestVm.start(dir, sock, "52:54:00:77:05:02", "10.77.5.2/24", "10.77.5.1", VM_QUEUES);
            c.cleanup().add("stop QEMU", vm::close);
            place(ta, a, "10.77.5.1/24");
            c.say("waiting for the guest to boot (TCG: up to a few minutes on a busy machine) ...");
            long t0 = System.nanoTime();
            vm.awaitReady(300);
            c.say(String.format(Locale.ROOT, "guest up after %.0f s; its eth0 is 10.77.5.2", (System.nanoTime() - t0) / 1e9));
            String rtt = ping(c, a, "10.77.5.2");
            c.say("switch: " + switchSummary(sw));
            c.say("guest port per queue pair (the guest pings once from each vCPU; replies follow the flow hash): "
                    + queueSummary(sw.stats().ports().get(1)));
            return new Outcome("ok", rtt, "-", "");
        }
    }

    /** AF_XDP sockets on the host ends of two veth pairs, switched by Ringlink. */
    static final class Xdp implements Step {
        public String name() { return "xdp"; }
        public String title() { return "AF_XDP on veth: namespace <-> veth <-> XDP socket <-> Ringlink switch <-> ..."; }
        public String proves() { return "AF_XDP sockets carry real namespace traffic through Ringlink's switch"; }

        public String unavailable(Context c) {
            String why = needNamespaces(c);
            return why != null ? why : needScheme("xdp");
        }

        public Outcome run(Context c) throws Exception {
            namespaces(c, name());
            String a = ns(c, name(), 'a'), b = ns(c, name(), 'b');
            String xa = c.prefix() + "xa", xah = c.prefix() + "xah", xb = c.prefix() + "xb", xbh = c.prefix() + "xbh";
            for (String[] v : new String[][] {{xa, xah}, {xb, xbh}}) {
                Shell.must(10, "ip", "link", "add", v[0], "type", "veth", "peer", "name", v[1]);
                c.cleanup().add("delete " + v[1], () -> Shell.run(10, "ip", "link", "del", v[1]));
                Shell.must(10, "ip", "link", "set", v[1], "up");
            }
            place(xa, a, "10.77.2.1/24");
            place(xb, b, "10.77.2.2/24");
            // AF_XDP frames carry no offload metadata: the namespaces must send finished, MTU-sized packets.
            for (String[] v : new String[][] {{a, xa}, {b, xb}}) {
                Shell.run(10, "ip", "netns", "exec", v[0], "ethtool", "-K", v[1], "tx", "off", "tso", "off", "gso", "off");
            }
            Link la = Links.open("xdp:" + xah);
            c.cleanup().add("close " + la.name(), la::close);
            Link lb = Links.open("xdp:" + xbh);
            c.cleanup().add("close " + lb.name(), lb::close);
            Switch sw = switchOf(c, la, lb);
            String rtt = ping(c, a, "10.77.2.2");
            String rate = iperf(c, a, b, "10.77.2.2");
            c.say("switch: " + switchSummary(sw));
            return new Outcome("ok", rtt, rate, "");
        }
    }
}
