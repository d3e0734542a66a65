package ringlink.tun.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import ringlink.link.LinkStats;
import ringlink.tun.LinkRelay;
import ringlink.tun.TunConfig;
import ringlink.tun.TunLink;
import ringlink.link.Offloads;

/**
 * {@code ringlink bench tun}: iperf3 TCP between two network namespaces over (a) a veth pair
 * (kernel only, the reference), (b) two TUN devices joined by the Java relay without offloads,
 * (c) the same with offloads (TSO/USO superpackets, checksum offload, GRO on write), all in one
 * run, printing Gbit/s and each figure's ratio to veth. Needs root, {@code ip} and {@code iperf3}.
 *
 * <p>Usage: {@code TunRelayBench [--seconds N] [--parallel P] [--only veth,plain,offload] [--spin MICROS] [--qdisc NAME]}:
 * {@code --spin} sets the relay's busy-poll time (default {@link LinkRelay#DEFAULT_SPIN}),
 * {@code --qdisc} puts that root qdisc (e.g. {@code noqueue}) on both TUN interfaces.
 * This is a harness that drives external tools; the library itself never runs {@code ip}.
 */
public final class TunRelayBench {
    private static final String NS_A = "rltn-bena", NS_B = "rltn-benb";
    private static final String IF_A = "rltn-ba0", IF_B = "rltn-bb0";

    /** How long the relay threads busy-poll before sleeping ({@code --spin MICROS}). */
    private static Duration spin = LinkRelay.DEFAULT_SPIN;
    /** Root qdisc to put on the TUN interfaces (null: the kernel's default). */
    private static String qdisc;

    private TunRelayBench() {}

    public static void main(String[] args) throws Exception {
        int seconds = 10;
        int parallel = 1;
        String only = "veth,plain,offload";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds", "-t" -> seconds = Integer.parseInt(args[++i]);
                case "--parallel", "-P" -> parallel = Integer.parseInt(args[++i]);
                case "--only" -> only = args[++i];
                case "--qdisc" -> qdisc = args[++i];
                case "--spin" -> spin = Duration.ofNanos((long) (Double.parseDouble(args[++i]) * 1000));
                case "-h", "--help" -> {
                    System.out.println("usage: ringlink bench tun [--seconds N] [--parallel P] [--only veth,plain,offload]"
                            + " [--spin MICROS] [--qdisc NAME]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "' (try --help)");
            }
        }
        List<String[]> rows = new ArrayList<>();
        double veth = 0;
        if (only.contains("veth")) {
            veth = runVeth(seconds, parallel);
            rows.add(new String[] {"veth pair (kernel only)", fmt(veth), "1.00", ""});
        }
        if (only.contains("plain")) {
            Run r = runRelay(seconds, parallel, false);
            rows.add(new String[] {"Java relay, no offloads", fmt(r.gbps), ratio(r.gbps, veth), r.note});
        }
        if (only.contains("offload")) {
            Run r = runRelay(seconds, parallel, true);
            rows.add(new String[] {"Java relay, offloads", fmt(r.gbps), ratio(r.gbps, veth), r.note});
        }
        System.out.printf(Locale.ROOT, "%nTUN relay benchmark: iperf3 TCP, %d s, %d stream(s), relay spin %d us%n", seconds, parallel,
                spin.toNanos() / 1000);
        System.out.printf(Locale.ROOT, "%-28s %10s %8s  %s%n", "path", "Gbit/s", "x veth", "notes");
        for (String[] r : rows) System.out.printf(Locale.ROOT, "%-28s %10s %8s  %s%n", (Object[]) r);
    }

    private record Run(double gbps, String note) {}

    /**
     * One veth run (the reference), for {@code ringlink bench}'s cells: iperf3 TCP Gbit/s.
     * Creates and removes its namespaces like {@link #main}.
     */
    public static double vethGbps(int seconds, int parallel) throws Exception {
        return runVeth(seconds, parallel);
    }

    /** One run through the Java relay, with or without offloads, for {@code ringlink bench}'s cells: Gbit/s. */
    public static double relayGbps(int seconds, int parallel, boolean offloads) throws Exception {
        return runRelay(seconds, parallel, offloads).gbps;
    }

    private static String fmt(double g) { return String.format(Locale.ROOT, "%.2f", g); }

    private static String ratio(double g, double veth) {
        return veth > 0 ? String.format(Locale.ROOT, "%.2f", g / veth) : "-";
    }

    private static double runVeth(int seconds, int parallel) throws Exception {
        try {
            namespaces();
            sh("ip", "link", "add", IF_A, "type", "veth", "peer", "name", IF_B);
            configure(NS_A, IF_A, "10.78.0.1/24");
            configure(NS_B, IF_B, "10.78.0.2/24");
            return iperf(seconds, parallel);
        } finally {
            cleanup();
        }
    }

    private static Run runRelay(int seconds, int parallel, boolean offloads) throws Exception {
        TunLink a = null, b = null;
        LinkRelay ab = null, ba = null;
        try {
            namespaces();
            Offloads o = offloads ? Offloads.parse("csum,tso,uso") : Offloads.NONE;
            a = TunLink.open(TunConfig.tun(IF_A).offloads(o).up(false));
            b = TunLink.open(TunConfig.tun(IF_B).offloads(o).up(false));
            configure(NS_A, IF_A, "10.78.0.1/24");
            configure(NS_B, IF_B, "10.78.0.2/24");
            if (qdisc != null) {
                sh("ip", "netns", "exec", NS_A, "tc", "qdisc", "replace", "dev", IF_A, "root", qdisc);
                sh("ip", "netns", "exec", NS_B, "tc", "qdisc", "replace", "dev", IF_B, "root", qdisc);
            }
            ab = LinkRelay.start(a, b, spin);
            ba = LinkRelay.start(b, a, spin);
            LinkStats s0 = a.counters().snapshot();
            LinkStats r0 = b.counters().snapshot();
            double g = iperf(seconds, parallel);
            LinkStats d = a.counters().snapshot().minus(s0);
            LinkStats back = b.counters().snapshot().minus(r0);
            String note = String.format(Locale.ROOT, "%s; A->B %d packets, %d superpackets, avg %d B; B->A %d packets",
                    a.offloads(), d.rxPackets(), d.superpackets(), d.rxBytes() / Math.max(1, d.rxPackets()), back.rxPackets());
            return new Run(g, note);
        } finally {
            if (ab != null) ab.close();
            if (ba != null) ba.close();
            if (a != null) a.close();
            if (b != null) b.close();
            cleanup();
        }
    }

    private static void namespaces() throws Exception {
        cleanup();
        sh("ip", "netns", "add", NS_A);
        sh("ip", "netns", "add", NS_B);
    }

    private static void configure(String ns, String ifname, String cidr) throws Exception {
        sh("ip", "link", "set", ifname, "netns", ns);
        sh("ip", "-n", ns, "addr", "add", cidr, "dev", ifname);
        sh("ip", "-n", ns, "link", "set", ifname, "up");
        sh("ip", "-n", ns, "link", "set", "lo", "up");
    }

    private static void cleanup() {
        for (String ns : new String[] {NS_A, NS_B}) quiet("ip", "netns", "del", ns);
        quiet("ip", "link", "del", IF_A);
    }

    private static double iperf(int seconds, int parallel) throws Exception {
        Process srv = new ProcessBuilder("ip", "netns", "exec", NS_B, "iperf3", "-s", "-1", "--forceflush")
                .redirectErrorStream(true).start();
        try {
            StringBuilder sb = new StringBuilder();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (sb.indexOf("listening") < 0) {
                if (System.nanoTime() > deadline || !srv.isAlive()) throw new IOException("iperf3 server did not start: " + sb);
                while (srv.getInputStream().available() > 0) sb.append((char) srv.getInputStream().read());
                Thread.sleep(20);
            }
            String json = sh("ip", "netns", "exec", NS_A, "iperf3", "-c", "10.78.0.2", "-t", Integer.toString(seconds),
                    "-P", Integer.toString(parallel), "-J");
            int k = json.lastIndexOf("\"sum_received\"");
            Matcher m = Pattern.compile("\"bits_per_second\"\\s*:\\s*([0-9.eE+]+)").matcher(json.substring(Math.max(k, 0)));
            if (k < 0 || !m.find()) throw new IOException("no result in iperf3 output: " + json);
            return Double.parseDouble(m.group(1)) / 1e9;
        } finally {
            srv.destroy();
            srv.waitFor(5, TimeUnit.SECONDS);
        }
    }

    private static String sh(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) throw new IOException("exit " + p.exitValue() + ": " + String.join(" ", cmd) + "\n" + out);
        return out;
    }

    private static void quiet(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException ignored) {
            // best effort
        }
    }
}
