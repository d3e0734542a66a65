package ringlink.cli.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import ringlink.cli.support.Json;
import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.sw.PortStats;
import ringlink.sw.Switch;

/** What the demo's steps share: namespaces, ping, iperf3, a switch between two links, and its summary. */
public final class DemoTools {
    /** The {@code ringlink} command's main class, for the steps that start a second ringlink process. */
    static final String MAIN_CLASS = "ringlink.cli.Main";

    private DemoTools() {}


    public static String ns(DemoContext c, String step, char side) {
        return c.prefix() + "-" + step + "-" + side;
    }

    /** Creates the two namespaces of a step (their deletion is registered first, so it runs last). */
    public static void namespaces(DemoContext c, String step) throws IOException {
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
    public static void place(String dev, String ns, String addr) throws IOException {
        Shell.must(10, "ip", "link", "set", dev, "netns", ns);
        Shell.must(10, "ip", "-n", ns, "addr", "add", addr, "dev", dev);
        Shell.must(10, "ip", "-n", ns, "link", "set", dev, "up");
    }

    private static final Pattern RTT = Pattern.compile("= [0-9.]+/([0-9.]+)/");

    /** Pings {@code to} from namespace {@code ns}; returns the average RTT ("0.061 ms"). */
    public static String ping(DemoContext c, String ns, String to) throws IOException {
        // -w 10: until 3 replies came or 10 s passed, so a first reply delayed by ARP or a peer
        // process still starting (a loaded machine) is waited for, not a failure.
        Shell.Result r = Shell.run(20, "ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-w", "10", to);
        for (String line : r.output().split("\n")) if (line.contains("packets transmitted") || line.startsWith("rtt"))
                c.say("ping: " + line.strip());
        if (!r.ok()) throw new IOException("ping " + to + " from " + ns + " failed: " + lastLine(r.output()));
        Matcher m = RTT.matcher(r.output());
        return m.find() ? m.group(1) + " ms" : "ok";
    }

    private static final Pattern RECEIVER = Pattern.compile("([0-9.]+) ([KMG]?)bits/sec.*receiver");
    /** The sender's summary line: "... 9.40 Gbits/sec  137   sender" (Retr column before "sender"). */
    private static final Pattern SENDER = Pattern.compile("bits/sec\\s+([0-9]+)\\s+sender");

    /**
     * One iperf3 run: the receiver's rate ("9.41 Gbit/s" and in Gbit/s) and the sender's retransmissions (-1: unknown).
     */
    public record Iperf(String rate, double gbps, long retransmits) {}

    /**
     * iperf3 TCP from namespace a to the server in namespace b: its per-second lines shown live
     * (or, with {@link DemoContext#json}, one {@code -J} run read from its JSON); returns the
     * receiver's rate and the sender's retransmissions.
     */
    public static Iperf iperf(DemoContext c, String nsA, String nsB, String server) throws IOException,
            InterruptedException {
        Process srv = new ProcessBuilder("ip", "netns", "exec", nsB, "iperf3", "-s", "-1", "-B", server)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        c.cleanup().add("stop iperf3 server", () -> Shell.kill(srv));
        if (c.json()) return iperfJson(c, nsA, server);
        Process cli = null;
        Iperf result = null;
        long retr = -1;
        StringBuilder all = new StringBuilder();
        for (int attempt = 0; attempt < 30 && result == null; attempt++) {
            cli = new ProcessBuilder("ip", "netns", "exec", nsA, "iperf3", "-c", server, "-t",
                    String.valueOf(c.iperfSeconds()),
                    "-i", "1", "--forceflush").redirectErrorStream(true).start();
            Process p = cli;
            c.cleanup().add("stop iperf3 client", () -> Shell.kill(p));
            all.setLength(0);
            boolean refused = false;
            try (BufferedReader r =
                    new BufferedReader(new InputStreamReader(cli.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    all.append(line).append('\n');
                    if (line.contains("Connection refused") || line.contains("unable to connect")) refused = true;
                    if (line.contains("bits/sec") || line.startsWith("[ ID]")) c.say("iperf3: " + line.strip());
                    Matcher s = SENDER.matcher(line);
                    if (s.find()) retr = Long.parseLong(s.group(1));
                    Matcher m = RECEIVER.matcher(line);
                    if (m.find()) {
                        double gbps = gbit(Double.parseDouble(m.group(1)), m.group(2));
                        result = new Iperf(rate(gbps), gbps, retr);
                    }
                }
            }
            if (!cli.waitFor(c.iperfSeconds() + 30L, TimeUnit.SECONDS)) Shell.kill(cli);
            if (result == null && !refused) break;
            if (result == null) Thread.sleep(100); // the server is still starting
        }
        if (result == null) throw new IOException("iperf3 through the link failed: " + lastLine(all.toString()));
        return result;
    }

    /**
     * {@link #iperf} with {@code -J}: the rate from {@code end.sum_received}, retransmissions from
     * {@code end.sum_sent.retransmits}.
     */
    private static Iperf iperfJson(DemoContext c, String nsA, String server) throws IOException, InterruptedException {
        Shell.Result r = null;
        for (int attempt = 0; attempt < 30; attempt++) {
            r = Shell.run(c.iperfSeconds() + 30L, "ip", "netns", "exec", nsA, "iperf3", "-c", server, "-t",
                    String.valueOf(c.iperfSeconds()), "-J");
            // iperf3 -J may exit 1 with {"error": "unable to connect ..."} while the server starts.
            if (!r.output().contains("unable to connect") && !r.output().contains("Connection refused")) break;
            Thread.sleep(100);
        }
        return parseJson(r.output());
    }

    /** Reads an iperf3 {@code -J} TCP client result. */
    public static Iperf parseJson(String out) throws IOException {
        int brace = out.indexOf('{');
        Object doc;
        try {
            doc = brace < 0 ? null : Json.parse(out.substring(brace).strip());
        } catch (RuntimeException e) {
            throw new IOException("iperf3's output is not JSON: " + lastLine(out), e);
        }
        if (!(doc instanceof java.util.Map<?, ?> m))
                throw new IOException("iperf3's output is not JSON: " + lastLine(out));
        if (m.get("error") != null) throw new IOException("iperf3 through the link failed: " + m.get("error"));
        if (!(m.get("end") instanceof java.util.Map<?, ?> end)
                || !(end.get("sum_received") instanceof java.util.Map<?, ?> recv)
                || !(end.get("sum_sent") instanceof java.util.Map<?, ?> sent)) {
            throw new IOException("no end.sum_sent/sum_received in iperf3's JSON: "
                    + out.substring(0, Math.min(300, out.length())));
        }
        double gbps = ((Number) recv.get("bits_per_second")).doubleValue() / 1e9;
        Object retr = sent.get("retransmits");
        return new Iperf(rate(gbps), gbps, retr instanceof Number n ? n.longValue() : -1);
    }

    private static double gbit(double v, String unit) {
        return switch (unit) {
            case "G" -> v;
            case "M" -> v / 1e3;
            case "K" -> v / 1e6;
            default -> v / 1e9;
        };
    }

    private static String rate(double gbit) {
        return gbit >= 1 ? String.format(Locale.ROOT, "%.2f Gbit/s", gbit)
                : String.format(Locale.ROOT, "%.0f Mbit/s", gbit * 1000);
    }

    private static String lastLine(String s) {
        String[] l = s.strip().split("\n");
        return l.length == 0 ? "" : l[l.length - 1];
    }

    /** Requirements of the namespace steps; null if met. */
    public static String needNamespaces(DemoContext c) {
        if (!c.root()) return "needs root (network namespaces)";
        for (String p : List.of("ip", "ping", "iperf3")) {
            if (Shell.which(p) == null) return p + " not installed (apt-get install iproute2 iputils-ping iperf3)";
        }
        return null;
    }

    public static String needScheme(String scheme) {
        return Links.providers().containsKey(scheme) ? null
                : "the '" + scheme + "' transport is not in this build (it arrives with its branch)";
    }

    /** Starts a switch between {@code a} and {@code b}; closing it (registered) closes both links. */
    public static Switch switchOf(DemoContext c, Link a, Link b) throws IOException {
        Switch sw = Switch.builder().port(a).port(b).log(m -> c.say("switch: " + m)).build();
        c.cleanup().add("stop the switch", sw::close);
        sw.start();
        c.say("switch started: " + a.name() + " [offloads " + a.offloads() + "] <-> " + b.name() + " [offloads "
                + b.offloads() + "]");
        return sw;
    }

    /** e.g. {@code q0 rx 12 tx 10, q1 rx 1 tx 0}. */
    public static String queueSummary(PortStats p) {
        StringBuilder sb = new StringBuilder();
        for (var q : p.queues()) {
            if (!sb.isEmpty()) sb.append(", ");
            sb.append('q').append(q.queue()).append(q.enabled() ? "" : " (off)").append(" rx ")
                    .append(q.forwarded().rxPackets())
                    .append(" tx ").append(q.forwarded().txPackets());
        }
        return sb.toString();
    }

    /**
     * The AF_XDP steps' ring sizes: 4096 receive frames instead of the link's default 2048. A veth
     * cannot hold back a sender (its XDP hook drops what the socket has no frame for), so the
     * socket's rings are the only buffer between TCP and a poller that the scheduler keeps off
     * the CPU for a moment: with 2048, a 5 s iperf3 run on a loaded 2-core machine lost 400-2600
     * frames ("fill ring empty" in the socket's statistics, one TCP retransmission each), with
     * 4096 none (docs/ARCHITECTURE.md, "Back-pressure").
     */
    public static final String XDP_RINGS = "?ring=4096&frames=8192";

    /**
     * The shm step's queues (the server creates them, the second process maps them): 8 MiB of
     * data and 256 KiB pipes each instead of gVisor's 1 MiB / 64 KiB. The data region is the
     * only buffer between the switch and a peer process the scheduler keeps off the CPU for a
     * while; 1 MiB is 512 frames, 6 ms at 1 Gbit/s, and on a loaded 2-core machine the peer was
     * away longer than that often enough for thousands of BACKPRESSURE drops in 5 s (a TCP
     * retransmission each) whatever the retry; 8 MiB (4096 frames, the pipes sized for as many
     * descriptors) left 0-6 (docs/ARCHITECTURE.md, "Back-pressure").
     */
    public static final String SHM_QUEUES = "&data=8388608&pipe=262144";

    /** What the kernel dropped at an AF_XDP link's socket (its rings full or empty): not in the link's counters. */
    public static String xskDrops(Link l) {
        if (!(l instanceof ringlink.xdp.XdpLink x)) return l.name() + ": not AF_XDP";
        try {
            var st = x.statistics();
            return l.name() + " rx dropped " + st.rxDropped() + ", rx ring full " + st.rxRingFull()
                    + ", fill ring empty " + st.rxFillRingEmptyDescs();
        } catch (IOException | RuntimeException e) {
            return l.name() + ": no statistics (" + e.getMessage() + ")";
        }
    }

    public static String switchSummary(Switch sw) {
        var s = sw.stats();
        long pkts = 0, sup = 0, drops = 0, seg = 0, csum = 0, linkDrops = 0;
        java.util.Map<ringlink.sw.DropReason, Long> why = new java.util.EnumMap<>(ringlink.sw.DropReason.class);
        for (var p : s.ports()) {
            pkts += p.forwarded().txPackets();
            sup += p.link().superpackets();
            drops += p.totalDrops();
            seg += p.segmented();
            csum += p.checksummed();
            linkDrops += p.link().rxDrops() + p.link().txDrops();
            p.drops().forEach((r, n) -> why.merge(r, n, Long::sum));
        }
        StringBuilder reasons = new StringBuilder();
        why.forEach((r, n) -> reasons.append(reasons.isEmpty() ? "" : ", ").append(r.name().toLowerCase(Locale.ROOT))
                .append(' ').append(n));
        if (linkDrops > 0) reasons.append(reasons.isEmpty() ? "" : ", ").append("by the links ").append(linkDrops);
        return pkts + " packets forwarded, " + drops + " drops" + (reasons.isEmpty() ? "" : " (" + reasons + ")")
                + "; superpackets seen by the links: " + sup
                + ", segmented in software: " + seg + ", checksums finished in software: " + csum;
    }

    /** The last 600 characters of a peer's log, for an error message. */
    public static String tail(Path log) {
        try {
            String t = Files.readString(log).strip();
            return t.length() > 600 ? "..." + t.substring(t.length() - 600) : t;
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** A step's temporary directory, removed with everything in it at cleanup. */
    public static Path tempDir(DemoContext c, String what) throws IOException {
        Path dir = Files.createTempDirectory(c.prefix() + "-" + what);
        c.cleanup().add("remove " + dir, () -> {
            try (var w = Files.walk(dir)) {
                for (Path p : w.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        });
        return dir;
    }

    /**
     * The command line that starts this same program ({@code ringlink ARGS}) as a second process:
     * this JVM's java and class path. The main class is named, not imported, so that the demo
     * does not depend on the package that lists the commands.
     */
    public static List<String> ringlinkCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), MAIN_CLASS));
        cmd.addAll(List.of(args));
        return cmd;
    }
}
