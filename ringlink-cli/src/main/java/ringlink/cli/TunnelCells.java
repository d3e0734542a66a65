package ringlink.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.BenchCellProvider;
import ringlink.cli.bench.BenchOptions;
import ringlink.cli.bench.PairTraffic;
import ringlink.cli.demo.DemoContext;
import ringlink.cli.demo.DemoStep;
import ringlink.cli.demo.VxlanStep;
import ringlink.cli.support.Cleanup;
import ringlink.cli.support.ProcNetUdp;
import ringlink.cli.support.Shell;
import ringlink.link.Link;
import ringlink.link.Links;

/**
 * Issue 20's speed cells. {@code --quick} runs them only when {@code --only} selects them
 * ({@code --only vxlan --quick}: about a minute, two switch JVMs start), not in CI's plain
 * {@code --quick}:
 * <ul>
 * <li>{@code vxlan iperf3}: iperf3 TCP from a namespace behind the kernel's vxlan device, over a
 *     veth underlay, to a namespace behind {@code ringlink switch} (TAP + {@code vxlan:} port, its
 *     own process): the demo's vxlan step, quietly, after an untimed warm-up run. Reference: the
 *     same with the kernel's bridge + vxlan (+ veth instead of the TAP) on the Ringlink side.</li>
 * <li>{@code vxlan underlay udp} at 1500 B (1472-byte payloads, 1500-byte IP packets) on
 *     loopback: datagrams/s received. Reference: {@code iperf3 -u -b 0} client to server (one
 *     {@code write}/{@code read} per datagram: the usual user-space UDP sender, as fast as the
 *     kernel's per-datagram path goes; iperf3 3.12 has no GSO). Ringlink: one {@code udp:} link
 *     sending with {@code sendmmsg} + {@code UDP_SEGMENT} to another receiving with
 *     {@code recvmmsg} + {@code UDP_GRO}, and the same with {@code gso=false&gro=false}
 *     ({@code sendmmsg}/{@code recvmmsg} alone), so the gain of each is visible. Both Ringlink
 *     threads sleep when they cannot proceed (the receiver on the link's {@code readyFd}, the
 *     sender on POLLOUT), as iperf3's blocking processes do.</li>
 * <li>{@code vxlan iperf3 rev}: the first cell the other way (b → a): the compared side
 *     encapsulates (Ringlink: TSO superpackets from the TAP segmented into UDP_SEGMENT sends).</li>
 * </ul>
 * Every cell reports the kernel's drops of its receiving UDP sockets ({@code /proc/net/udp}).
 */
public final class TunnelCells implements BenchCellProvider {
    /** Namespace and interface prefix of the vxlan cells (not the demo's, not NetnsCells'). */
    static final String PREFIX = "rlbvx";

    @Override
    public List<BenchCell> cells(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        for (boolean reverse : new boolean[] {false, true}) {
            cells.add(new VxlanIperf(true, reverse));
            cells.add(new VxlanIperf(false, reverse));
        }
        for (String v : List.of(Udp.IPERF, Udp.GSO, Udp.MMSG)) cells.add(new Udp(v));
        return cells;
    }

    /**
     * The demo's vxlan step as a cell: its iperf3 receiver rate and the UDP drops of both hosts'
     * port-4789 sockets. {@code reverse}: from b (the side compared) to a (the kernel's vxlan), so
     * the compared side encapsulates instead of decapsulating.
     */
    record VxlanIperf(boolean kernel, boolean reverse) implements BenchCell {
        @Override public String group() { return reverse ? "vxlan iperf3 rev" : "vxlan iperf3"; }
        @Override public String variant() { return kernel ? "kernel bridge+vxlan" : "ringlink switch tap+vxlan"; }
        @Override public boolean reference() { return kernel; }
        @Override public int size() { return 0; }
        @Override public boolean quickWhenSelected() { return true; }

        private VxlanStep step() {
            return new VxlanStep(kernel, 2, reverse);
        }

        private static DemoContext context(int seconds, Cleanup cleanup) {
            return new DemoContext(PREFIX, seconds, new PrintStream(OutputStream.nullOutputStream()), cleanup,
                    Shell.isRoot(), true);
        }

        @Override
        public String unavailable() {
            return step().unavailable(context(1, new Cleanup(m -> { })));
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            List<String> problems = new ArrayList<>();
            Cleanup cleanup = new Cleanup(problems::add);
            DemoContext c = context((int) Math.max(1, Math.round(d.toMillis() / 1000.0)), cleanup);
            try {
                VxlanStep step = step();
                DemoStep.Outcome o = step.run(c);
                long a = step.udpDropsA(), b = step.udpDropsB();
                return new Measurement(Double.NaN, o.gbps(), o.retransmits() < 0 ? Double.NaN : o.retransmits())
                        .withUdpDrops(a < 0 || b < 0 ? -1 : a + b);
            } finally {
                cleanup.run();
                if (!problems.isEmpty()) System.err.println("ringlink bench: cleanup: " + String.join("; ", problems));
            }
        }
    }

    /** 1472-byte UDP datagrams on loopback, received datagrams/s. */
    record Udp(String variant) implements BenchCell {
        static final String IPERF = "iperf3 -u", GSO = "ringlink sendmmsg+gso", MMSG = "ringlink sendmmsg";
        static final int PAYLOAD = 1472, PORT_TX = 47871, PORT_RX = 47872, PORT_IPERF = 47873;
        static final String BUF = "4194304";

        @Override public String group() { return "vxlan underlay udp"; }
        @Override public boolean reference() { return variant.equals(IPERF); }
        @Override public int size() { return PAYLOAD + 28; }
        @Override public boolean quickWhenSelected() { return true; }

        @Override
        public String unavailable() {
            if (variant.equals(IPERF)) return Shell.which("iperf3") == null ? "iperf3 not installed" : null;
            return Links.providers().containsKey("udp") ? null : "the udp transport is not in this build";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            if (variant.equals(IPERF)) return iperf(Math.max(1, Math.round(d.toMillis() / 1000.0)));
            String opts = "&rcvbuf=" + BUF + "&sndbuf=" + BUF + (variant.equals(GSO) ? "" : "&gso=false&gro=false");
            try (Link rx = Links.open("udp:127.0.0.1:" + PORT_RX + "?remote=127.0.0.1:" + PORT_TX + opts);
                 Link tx = Links.open("udp:127.0.0.1:" + PORT_TX + "?remote=127.0.0.1:" + PORT_RX + opts)) {
                // the sender keeps 32-datagram batches going (one sendmmsg; with gso one UDP_SEGMENT message)
                // and sleeps on POLLOUT when the socket is full; the receiver sleeps on the link's readyFd
                // when the socket is empty (as iperf3's blocking processes do: two spinning threads on two
                // shared cores take the sender's CPU). At least 2 s, the first fifth untimed: a fresh JIT
                // needs it, iperf3 is compiled.
                BenchCell.Measurement m = PairTraffic.measure(tx, rx, PAYLOAD,
                        d.compareTo(Duration.ofSeconds(2)) < 0 ? Duration.ofSeconds(2) : d, true);
                // drops over the whole run, warm-up included (the socket is this run's)
                return new Measurement(m.pps(), m.pps() * (PAYLOAD + 28) * 8 / 1e9)
                        .withUdpDrops(ProcNetUdp.drops(null, PORT_RX));
            }
        }

        private static final Pattern RECEIVER =
                Pattern.compile("([0-9.]+)-([0-9.]+)\\s+sec.*\\s(\\d+)/(\\d+) \\([0-9.e+-]+%\\)\\s+receiver");

        /**
         * iperf3 -u at full speed on loopback; datagrams the server received per second, and the
         * drops of the server's socket (sampled every 100 ms while it lives: iperf3's one-off
         * server closes it when the test ends; the last 100 ms may be missed).
         */
        static Measurement iperf(long seconds) throws Exception {
            Process srv = new ProcessBuilder("iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", String.valueOf(PORT_IPERF))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            java.util.concurrent.atomic.AtomicLong drops = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread sampler = Thread.ofPlatform().daemon().name("rl-bench-udp-drops").start(() -> {
                while (!done.get()) {
                    drops.accumulateAndGet(ProcNetUdp.drops(null, PORT_IPERF), Math::max);
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                String out = null;
                for (int attempt = 0; attempt < 30 && out == null; attempt++) {
                    Thread.sleep(100);
                    Shell.Result r =
                            Shell.run(seconds + 30, "iperf3", "-u", "-c", "127.0.0.1", "-p", String.valueOf(PORT_IPERF),
                            "-b", "0", "-l", String.valueOf(PAYLOAD), "-w", BUF, "-t", String.valueOf(seconds));
                    if (r.ok()) out = r.output();
                    else if (!r.output().contains("Connection refused") && !r.output().contains("unable to"))
                            throw new IOException("iperf3 -u: " + r.output());
                }
                if (out == null) throw new IOException("iperf3 -u: the server never answered");
                Matcher m = RECEIVER.matcher(out);
                if (!m.find()) throw new IOException("no receiver line in iperf3's output: " + out);
                double secs = Double.parseDouble(m.group(2)) - Double.parseDouble(m.group(1));
                long received = Long.parseLong(m.group(4)) - Long.parseLong(m.group(3));
                double pps = received / secs;
                done.set(true);
                sampler.join(2000);
                return new Measurement(pps, pps * (PAYLOAD + 28) * 8 / 1e9).withUdpDrops(drops.get());
            } finally {
                done.set(true);
                Shell.kill(srv);
            }
        }
    }
}
