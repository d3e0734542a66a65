package ringlink.cli.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import ringlink.afpacket.PacketConfig;
import ringlink.afpacket.PacketLink;
import ringlink.link.LinkSpec;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;

/**
 * AF_PACKET packet rates: Ringlink's {@code packet:} link beside DPDK testpmd's
 * {@code net_af_packet} on the same end of one veth pair, same frames, same run (issue 21).
 * <ul>
 * <li><b>tx</b>: the sender on veth end A (its thread on CPU 1) transmits 64-frame batches of one
 *     UDP frame as fast as its ring takes them; the rate is the kernel's {@code rx_packets} of
 *     the other end B, for both senders alike. Ours: {@code packet:A?vnethdr=false&qdisc-bypass=true}
 *     (testpmd's PMD has no virtio-net header either and bypasses the qdisc by default);
 *     testpmd: {@code txonly} on lcore 1 pinned to CPU 1.</li>
 * <li><b>rx</b>: frames made in the kernel ({@link LiveFrameSource}, BPF_PROG_RUN live frames on
 *     CPU 0; where the kernel refuses those, a Java AF_PACKET sender on B, see {@link #source})
 *     go out of B into A, whose softirq (also CPU 0) hands them to the AF_PACKET socket;
 *     the receiver polls on CPU 1. Ours: {@code packet:A?vnethdr=false}, its received count;
 *     testpmd: {@code rxonly}, its RX-packets. The source is faster than either receiver, so
 *     the kernel drops what a receiver does not take; the rate is what it took.</li>
 * </ul>
 * Each case discards {@code warmup} ms, then measures {@code seconds}. Prints rows
 * "dir size ours-Mpps dpdk-Mpps ratio". Usage (bench/afpacket.sh, root):
 * {@code PacketBench [seconds=5] [warmup=2000] [sizes=64] [dirs=rx,tx] [tag=rlpkb] [source=auto|live|packet]}.
 */
public final class PacketBench {
    private PacketBench() {}

    static String tag = "rlpkb";
    static String a, b;
    static long warmupMillis = 2000;
    static final int BATCH = 64;

    public static void main(String[] args) throws Exception {
        double seconds = 5;
        List<Integer> sizes = List.of(64);
        List<String> dirs = List.of("rx", "tx");
        for (String arg : args) {
            String[] kv = arg.split("=", 2);
            switch (kv[0]) {
                case "seconds" -> seconds = Double.parseDouble(kv[1]);
                case "sizes" -> sizes = java.util.Arrays.stream(kv[1].split(",")).map(Integer::valueOf).toList();
                case "dirs" -> dirs = List.of(kv[1].split(","));
                case "warmup" -> warmupMillis = Long.parseLong(kv[1]);
                case "tag" -> tag = kv[1];
                case "source" -> sourceKind = kv[1];
                default -> throw new IllegalArgumentException("unknown argument " + arg
                        + " (seconds=N warmup=MS sizes=64 dirs=rx,tx tag=rlpkb source=auto|live|packet)");
            }
        }
        if (!tag.matches("[a-z][a-z0-9]{1,8}"))
                throw new IllegalArgumentException("tag: 2-9 lower-case letters/digits: " + tag);
        for (int size : sizes) if (size < 60 || size > 1514)
                throw new IllegalArgumentException("size " + size + " not in 60..1514");
        a = tag + "0";
        b = tag + "1";
        Runtime.getRuntime().addShutdownHook(new Thread(PacketBench::cleanUp));
        cleanUp();
        must("ip", "link", "add", a, "type", "veth", "peer", "name", b);
        for (String d : new String[] {a, b}) {
            sh("sysctl", "-qw", "net.ipv6.conf." + d + ".disable_ipv6=1");
            must("ip", "link", "set", d, "up");
        }
        // A veth takes XDP-redirected frames (the live source) only when the receiving end has NAPI: GRO on.
        sh("ethtool", "-K", a, "gro", "on");
        Thread.sleep(300);
        System.out.printf(Locale.ROOT, "AF_PACKET packet rate, veth %s (measured) <-> %s, %.1f s per case after %d ms "
                + "warm-up, %d CPUs, load %s%n",
                a, b, seconds, warmupMillis, Runtime.getRuntime().availableProcessors(),
                        Files.readString(Path.of("/proc/loadavg")).trim());
        List<String> rows = new ArrayList<>();
        try {
            for (String dir : dirs) {
                for (int size : sizes) {
                    boolean rx = dir.equals("rx");
                    double ours = rx ? oursRx(size, seconds) : oursTx(size, seconds);
                    double dpdk = rx ? dpdkRx(size, seconds) : dpdkTx(size, seconds);
                    String row = String.format(Locale.ROOT, "%-4s %5d %10.3f %10.3f %7.2f", dir, size, ours, dpdk,
                            dpdk > 0 ? ours / dpdk : Double.NaN);
                    rows.add(row);
                    System.out.println(row);
                }
            }
        } finally {
            cleanUp();
        }
        System.out.println();
        System.out.println("dir   size  ours Mpps  DPDK Mpps   ratio");
        rows.forEach(System.out::println);
    }

    static void cleanUp() {
        sh("ip", "link", "del", a);
        sh("rm", "-rf", "/var/run/dpdk/" + tag + "-tx", "/var/run/dpdk/" + tag + "-rx");
    }

    // ---- tx ----

    /** Our link transmits on A; Mpps that arrive at B. */
    static double oursTx(int size, double seconds) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        try (PacketLink l =
                PacketLink.open(PacketConfig.parse(LinkSpec.parse("packet:" + a + "?vnethdr=false&qdisc-bypass=true")));
             PacketBatch frames = new PacketBatch(BATCH, 2048)) {
            for (int k = 0; k < BATCH; k++) {
                XdpBench.udpFrame(frames, mac(a), mac(b), 0x0a4f0101, 0x0a4f0102, size, k);
            }
            Thread t = Thread.ofPlatform().name(tag + "-tx").start(() -> {
                try {
                    CpuAffinity.pinCurrentThread(1);
                    while (!stop.get()) {
                        if (l.transmit(frames) == 0) Thread.onSpinWait();
                    }
                } catch (IOException e) {
                    e.printStackTrace();
                }
            });
            try {
                return measure(() -> counter(b, "rx_packets"), seconds);
            } finally {
                stop.set(true);
                t.join(10_000);
            }
        }
    }

    /** testpmd txonly on A (net_af_packet); Mpps that arrive at B. */
    static double dpdkTx(int size, double seconds) throws Exception {
        try (Testpmd pmd =
                Testpmd.start(tag + "-tx", "0@0,1@1", vdev(), 60_000, "--forward-mode=txonly", "--txpkts=" + size)) {
            pmd.command("start", 10_000);
            try {
                return measure(() -> counter(b, "rx_packets"), seconds);
            } finally {
                pmd.command("stop", 10_000);
            }
        }
    }

    // ---- rx ----

    /** The live source sends into A; Mpps our link on A receives. */
    static double oursRx(int size, double seconds) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        try (PacketLink l = PacketLink.open(PacketConfig.parse(LinkSpec.parse("packet:" + a + "?vnethdr=false")));
             Source src = source(size)) {
            long s0 = src.sent(), n0 = System.nanoTime();
            Thread t = Thread.ofPlatform().name(tag + "-rx").start(() -> {
                try (PacketBatch batch = new PacketBatch(BATCH, 2048)) {
                    CpuAffinity.pinCurrentThread(1);
                    while (!stop.get()) {
                        batch.clear();
                        if (l.receive(batch) == 0) Thread.onSpinWait();
                    }
                } catch (IOException e) {
                    e.printStackTrace();
                }
            });
            try {
                double r = measure(() -> {
                    src.check();
                    return l.counters().snapshot().rxPackets();
                }, seconds);
                src.check();
                offered(src, s0, n0);
                System.out.println("      ours: kernel statistics " + l.statistics());
                return r;
            } finally {
                stop.set(true);
                t.join(10_000);
            }
        }
    }

    /** The live source sends into A; Mpps testpmd rxonly (net_af_packet on A) receives. */
    static double dpdkRx(int size, double seconds) throws Exception {
        try (Testpmd pmd = Testpmd.start(tag + "-rx", "0@0,1@1", vdev(), 60_000, "--forward-mode=rxonly");
             Source src = source(size)) {
            long s0 = src.sent(), n0 = System.nanoTime();
            pmd.command("start", 10_000);
            try {
                double r = measure(() -> {
                    src.check();
                    return pmd.rxPackets();
                }, seconds);
                src.check();
                offered(src, s0, n0);
                return r;
            } finally {
                pmd.command("stop", 10_000);
            }
        }
    }

    /** testpmd's AF_PACKET port on A; a ring as deep as ours (4096 frames) so neither starves for slots. */
    static String vdev() {
        return "net_af_packet0,iface=" + a + ",framecnt=4096";
    }

    /** Where the RX frames come from: {@code live} (the kernel) or {@code packet} (a Java AF_PACKET sender on B). */
    static String sourceKind = "auto";

    /**
     * The RX traffic source, started on CPU 0: frames made in the kernel ({@link LiveFrameSource})
     * when it may run BPF_PROG_RUN with live frames, else (EPERM in some VMs and containers) our
     * own AF_PACKET sender on B ({@code qdisc-bypass}), which is slower: then the source, not the
     * receiver, may bound both figures, and the printed offered rate says so.
     */
    static Source source(int size) throws Exception {
        byte[] frame;
        try (PacketBatch f = new PacketBatch(1, 2048)) {
            int i = XdpBench.udpFrame(f, mac(b), mac(a), 0x0a4f0102, 0x0a4f0101, size, 0);
            frame = f.data(i).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
        if (!sourceKind.equals("packet")) {
            LiveFrameSource live = LiveFrameSource.toInterface(ifindex(b), frame);
            live.start(0);
            Thread.sleep(300);
            try {
                live.check();
                return new Source() {
                    @Override public long sent() { return live.sent(); }
                    @Override public void check() throws IOException { live.check(); }
                    @Override public void close() { live.close(); }
                };
            } catch (IOException e) {
                live.close();
                if (sourceKind.equals("live")) throw e;
                System.out.println("      (live frames refused: " + e.getMessage() + "; RX source: AF_PACKET sender on "
                        + b + ")");
                sourceKind = "packet";
            }
        }
        return new PacketSource(frame);
    }

    /** A traffic source: frames into A, counted as offered. */
    interface Source extends AutoCloseable {
        long sent();

        void check() throws IOException;

        @Override
        void close();
    }

    /** Our AF_PACKET link on B transmitting one frame in 64-frame batches, pinned to CPU 0. */
    static final class PacketSource implements Source {
        private final PacketLink link;
        private final PacketBatch frames;
        private final Thread thread;
        private volatile boolean stop;
        private volatile Throwable failure;

        PacketSource(byte[] frame) throws IOException {
            link = PacketLink.open(PacketConfig.parse(
                    LinkSpec.parse("packet:" + b + "?vnethdr=false&qdisc-bypass=true&promisc=false")));
            frames = new PacketBatch(BATCH, 2048);
            for (int k = 0; k < BATCH; k++) {
                int i = frames.add();
                java.lang.foreign.MemorySegment.copy(frame, 0, frames.memory(), java.lang.foreign.ValueLayout.JAVA_BYTE,
                        frames.dataOffset(i), frame.length);
                frames.setLength(i, frame.length);
            }
            thread = Thread.ofPlatform().name(tag + "-src").daemon().start(() -> {
                try {
                    CpuAffinity.pinCurrentThread(0);
                    while (!stop) {
                        if (link.transmit(frames) == 0) Thread.onSpinWait();
                    }
                } catch (Throwable t) {
                    failure = t;
                }
            });
        }

        @Override public long sent() { return link.counters().snapshot().txPackets(); }

        @Override
        public void check() throws IOException {
            if (failure != null) throw new IOException("AF_PACKET source failed", failure);
        }

        @Override
        public void close() {
            stop = true;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            link.close();
            frames.close();
        }
    }

    static void offered(Source src, long s0, long n0) {
        System.out.printf(Locale.ROOT, "      source offered %.3f Mpps (%s)%n",
                (src.sent() - s0) / ((System.nanoTime() - n0) / 1e9) / 1e6, sourceKind);
    }

    interface Counter { long get() throws Exception; }

    /**
     * Waits for traffic (the counter grows within 20 s), discards the warm-up, then returns the
     * counter's rate over {@code seconds} in Mpps.
     */
    static double measure(Counter c, double seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        long first = c.get();
        while (c.get() - first < 1000) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("no traffic within 20 s");
            Thread.sleep(50);
        }
        Thread.sleep(warmupMillis);
        long c0 = c.get(), t0 = System.nanoTime();
        Thread.sleep((long) (seconds * 1000));
        long c1 = c.get(), t1 = System.nanoTime();
        return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
    }

    static long counter(String dev, String name) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", dev, "statistics", name)).trim());
    }

    static int ifindex(String dev) throws IOException {
        return Integer.parseInt(Files.readString(Path.of("/sys/class/net", dev, "ifindex")).trim());
    }

    static byte[] mac(String dev) throws IOException {
        String[] p = Files.readString(Path.of("/sys/class/net", dev, "address")).trim().split(":");
        byte[] m = new byte[6];
        for (int i = 0; i < 6; i++) m[i] = (byte) Integer.parseInt(p[i], 16);
        return m;
    }

    static int sh(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    static void must(String... cmd) {
        if (sh(cmd) != 0) throw new IllegalStateException("failed: " + String.join(" ", cmd));
    }
}
