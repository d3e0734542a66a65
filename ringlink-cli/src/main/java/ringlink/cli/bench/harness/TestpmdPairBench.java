package ringlink.cli.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.link.Link;
import ringlink.memif.MemifConfig;
import ringlink.memif.MemifInPlaceBatch;
import ringlink.memif.MemifInterface;
import ringlink.memif.MemifLink;
import ringlink.packet.PacketBatch;
import ringlink.vhostuser.BackendConfig;
import ringlink.vhostuser.VhostUserBackend;

/**
 * Ringlink's side of a shared-memory transport against dpdk-testpmd, beside two testpmd
 * processes over the same transport (the reference), same sizes, same run. One measurement
 * skeleton for both transports that have this shape ({@link Transport}):
 * <ul>
 * <li><b>vhost-user</b>: our back-end against testpmd's virtio-user front-end; reference
 *     net_vhost (testpmd) ↔ virtio-user (testpmd); split and packed rings;</li>
 * <li><b>memif</b>: our server link against testpmd's net_memif client; reference testpmd server ↔
 *     testpmd client.</li>
 * </ul>
 * Directions: <b>rx</b>: the testpmd facing us runs {@code txonly}, we count what we receive
 * (reference: the other testpmd {@code rxonly}, its RX counter); <b>tx</b>: we transmit as fast
 * as the ring takes it, the testpmd facing us runs {@code rxonly} and its RX counter is the rate
 * (reference: the other testpmd {@code txonly}). The testpmd facing us runs on CPU 0; our data
 * thread (the JVM, pinned by the caller: {@code taskset -c 1}) or the reference's second testpmd
 * on CPU 1.
 *
 * <p>Prints one row per point and the table again at the end: vhost-user
 * {@code "rx split 64 ours-Mpps dpdk-Mpps ratio"}, memif {@code "rx 64 ours-Mpps dpdk-Mpps ratio"}.
 * Usage: {@code TestpmdPairBench vhost-user|memif [seconds=5] [warmup=4000] [sizes=64,1500]
 * [dirs=rx,tx] [rings=split,packed]} (rings: vhost-user only; memif also dirs=rxip: our server lending
 * testpmd's packets in place, not in the default). Properties:
 * {@code -Drlvu.tag}/{@code -Drlmif.tag} (socket and file prefixes), {@code -Drlvu.pause=false}
 * (spin without PAUSE), {@code -Drlvu.rxburst=N}, {@code -Drlvu.mrg}, {@code -Drlvu.inorder},
 * {@code -Drlvu.verbose=true} (empty-call counts).
 */
public final class TestpmdPairBench {
    private TestpmdPairBench() {}

    /**
     * Traffic runs this long before the measured window (both implementations alike). 1 s was
     * too short on the shared 2-core machine: our own rate for one build moved 2x between runs
     * (the JIT not done yet, we think), 4 s made the tx cells repeatable (docs/parts/vhostuser.md).
     */
    static long warmupMillis = 4000;

    /**
     * Whether our loops pause ({@link Thread#onSpinWait()}, x86 PAUSE) after a call that moved
     * nothing, as ringlink's own poll loops do; {@code -Drlvu.pause=false} spins without it.
     * Without the pause the loop re-reads the descriptor line the front-end is writing every few
     * nanoseconds and slows it (docs/parts/vhostuser.md, round 3).
     */
    static final boolean PAUSE = !"false".equals(System.getProperty("rlvu.pause"));

    /** Packets per receive call of our rx loop ({@code -Drlvu.rxburst=N}). */
    static final int RX_BURST = Integer.getInteger("rlvu.rxburst", 64);

    static final boolean VERBOSE = Boolean.getBoolean("rlvu.verbose");

    /** What differs between the transports: our side, the vdev facing it, the reference pair. */
    interface Transport extends AutoCloseable {
        /** Opens our side on {@code sock} (before testpmd starts). */
        void open(Path sock) throws IOException;

        /** Waits for testpmd to connect; our data-path link. */
        Link awaitLink() throws Exception;

        /** testpmd's vdev facing our side (or the reference's server) on {@code sock}. */
        String peerVdev(Path sock);

        /** The reference's other testpmd (on CPU 1) on {@code sock}. */
        String referenceVdev(Path sock);

        /** Waits until the reference's server is ready for its client. */
        default void awaitReferenceServer(Path sock) throws InterruptedException {}

        /** Socket and testpmd file prefix of this run. */
        String tag();

        @Override
        void close() throws IOException;
    }

    /** Our vhost-user back-end; testpmd's virtio-user front-end; reference net_vhost. */
    static final class VhostUser implements Transport {
        private final boolean packed;
        private VhostUserBackend be;

        VhostUser(boolean packed) {
            this.packed = packed;
        }

        @Override public String tag() { return System.getProperty("rlvu.tag", "rlvp"); }

        @Override
        public void open(Path sock) throws IOException { be = VhostUserBackend.listen(sock, BackendConfig.defaults()); }

        @Override
        public Link awaitLink() throws Exception {
            if (!be.awaitReady(1, 20_000))
                    throw new IllegalStateException("virtio-user did not start: " + be.lastError());
            return be.link(0);
        }

        @Override
        public String peerVdev(Path sock) {
            // -Drlvu.inorder=0|1 sets virtio-user's in_order devarg (its default is 1: IN_ORDER is
            // negotiated when the back-end offers it, as DPDK's net_vhost does).
            String inOrder = System.getProperty("rlvu.inorder");
            return "net_virtio_user0,path=" + sock + ",queues=1,packed_vq=" + (packed ? 1 : 0) + ",mrg_rxbuf="
                    + System.getProperty("rlvu.mrg", "1")
                    + (inOrder != null ? ",in_order=" + inOrder : "");
        }

        @Override public String referenceVdev(Path sock) { return "net_vhost0,iface=" + sock + ",queues=1"; }

        @Override
        public void awaitReferenceServer(Path sock) throws InterruptedException {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && System.currentTimeMillis() < end) Thread.sleep(20);
        }

        @Override
        public void close() {
            if (be != null) be.close();
        }
    }

    /** Our memif server; testpmd's net_memif client; reference testpmd server. */
    static final class Memif implements Transport {
        private MemifInterface mif;

        @Override public String tag() { return System.getProperty("rlmif.tag", "rlmifb"); }

        @Override public void open(Path sock) throws IOException {
                mif = MemifInterface.open(MemifConfig.defaults(sock.toString()).withServer(true)); }

        @Override
        public Link awaitLink() throws Exception {
            if (!mif.awaitConnected(20, TimeUnit.SECONDS))
                    throw new IllegalStateException("testpmd did not connect: " + mif.lastError());
            return mif.link(0);
        }

        @Override
        public String peerVdev(Path sock) { return "net_memif0,role=client,socket=" + sock + ",socket-abstract=no"; }

        @Override public String referenceVdev(Path sock) {
                return "net_memif0,role=server,socket=" + sock + ",socket-abstract=no"; }

        @Override
        public void close() throws IOException {
            if (mif != null) mif.close();
        }
    }

    record Result(String dir, String ring, int size, double ours, double dpdk) {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !(args[0].equals("vhost-user") || args[0].equals("memif"))) {
            throw new IllegalArgumentException("usage: TestpmdPairBench vhost-user|memif [seconds=N] [warmup=MS] "
                    + "[sizes=64,1500] [dirs=rx,tx] [rings=split,packed]");
        }
        boolean vhost = args[0].equals("vhost-user");
        double seconds = 5;
        List<Integer> sizes = List.of(64, 1500);
        List<String> rings = vhost ? List.of("split", "packed") : List.of("-");
        List<String> dirs = List.of("rx", "tx");
        for (String a : List.of(args).subList(1, args.length)) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "seconds" -> seconds = Double.parseDouble(kv[1]);
                case "sizes" -> sizes = java.util.Arrays.stream(kv[1].split(",")).map(Integer::valueOf).toList();
                case "rings" -> {
                    if (!vhost) throw new IllegalArgumentException("rings= is for vhost-user only");
                    rings = List.of(kv[1].split(","));
                }
                case "dirs" -> dirs = List.of(kv[1].split(","));
                case "warmup" -> warmupMillis = Long.parseLong(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a
                        + " (seconds=N warmup=MS sizes=64,1500 dirs=rx,tx" + (vhost ? " rings=split,packed)" : ")"));
            }
        }
        System.out.printf(Locale.ROOT,
                "%s vs testpmd: %.1f s per point after %d ms warm-up, rx burst %d, pause %s, %d CPUs, load %s%n",
                args[0], seconds, warmupMillis, RX_BURST, PAUSE, Runtime.getRuntime().availableProcessors(),
                Files.readString(Path.of("/proc/loadavg")).trim());
        List<Result> results = new ArrayList<>();
        for (String dir : dirs) {
            for (String ring : rings) {
                for (int size : sizes) {
                    if (!List.of("rx", "tx", "rxip").contains(dir) || (vhost && dir.equals("rxip"))) {
                        throw new IllegalArgumentException("dirs: rx, tx" + (vhost ? "" : ", rxip") + ": " + dir);
                    }
                    boolean rx = !dir.equals("tx");
                    double ours, dpdk;
                    try (Transport t = transport(vhost, ring)) {
                        ours = rx ? oursRx(t, size, seconds, dir.equals("rxip")) : oursTx(t, size, seconds);
                    }
                    try (Transport t = transport(vhost, ring)) {
                        dpdk = reference(t, rx, size, seconds);
                    }
                    Result r = new Result(dir, ring, size, ours, dpdk);
                    results.add(r);
                    System.out.println(line(r));
                }
            }
        }
        System.out.println();
        System.out.println(vhost ? "direction ring    size   ours Mpps   DPDK Mpps   ratio"
                : "dir   size  ours Mpps  DPDK Mpps   ratio");
        for (Result r : results) System.out.println(line(r));
    }

    static Transport transport(boolean vhost, String ring) {
        return vhost ? new VhostUser(ring.equals("packed")) : new Memif();
    }

    static String line(Result r) {
        double ratio = r.dpdk > 0 ? r.ours / r.dpdk : Double.NaN;
        return r.ring.equals("-")
                ? String.format(Locale.ROOT, "%-4s %5d %10.3f %10.3f %7.2f", r.dir, r.size, r.ours, r.dpdk, ratio)
                : String.format(Locale.ROOT, "%-9s %-7s %5d %10.3f %11.3f %7.2f", r.dir, r.ring, r.size, r.ours, r.dpdk,
                        ratio);
    }

    /**
     * testpmd {@code txonly} → our side; Mpps we receive, through the copying {@code receive} or
     * ({@code inPlace}, memif only: dirs=rxip) lent in place ({@link MemifLink#receiveInPlace},
     * released at once).
     */
    static double oursRx(Transport tr, int size, double seconds, boolean inPlace) throws Exception {
        Path sock = Path.of("/tmp/" + tr.tag() + "-bench-rx.sock");
        Files.deleteIfExists(sock);
        try {
            tr.open(sock);
            try (Testpmd pmd = Testpmd.start(tr.tag() + "-bfe", "0@0,1@0", tr.peerVdev(sock), 30_000,
                    "--forward-mode=txonly", "--txpkts=" + size)) {
                Link link = tr.awaitLink();
                AtomicLong count = new AtomicLong();
                AtomicBoolean stop = new AtomicBoolean();
                // Two loops, not one with a branch: each mode's call sites get their own JIT profile.
                Thread t = new Thread(() -> {
                    if (inPlace) {
                        receiveInPlaceLoop((MemifLink) link, stop, count);
                        return;
                    }
                    try (PacketBatch b = new PacketBatch(RX_BURST, 2048)) {
                        long c = 0, calls = 0, empty = 0;
                        while (!stop.get()) {
                            b.clear();
                            int got = link.receive(b);
                            c += got;
                            calls++;
                            if (got == 0) {
                                empty++;
                                if (PAUSE) Thread.onSpinWait();
                            }
                            count.setOpaque(c);
                        }
                        if (VERBOSE) System.err.println("receive calls " + calls + ", empty " + empty);
                    } catch (Exception e) {
                        e.printStackTrace();
                    }
                }, tr.tag() + "-bench-rx");
                t.start();
                pmd.command("start", 5000);
                Thread.sleep(warmupMillis); // warm-up (JIT of our data path)
                long c0 = count.getOpaque(), t0 = System.nanoTime();
                Thread.sleep((long) (seconds * 1000));
                long c1 = count.getOpaque(), t1 = System.nanoTime();
                pmd.command("stop", 5000);
                stop.set(true);
                t.join(5000);
                return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    static void receiveInPlaceLoop(MemifLink link, AtomicBoolean stop, AtomicLong count) {
        try (MemifInPlaceBatch lent = new MemifInPlaceBatch(RX_BURST)) {
            long c = 0;
            while (!stop.get()) {
                int got = link.receiveInPlace(lent);
                link.releaseInPlace(lent);
                c += got;
                if (got == 0 && PAUSE) Thread.onSpinWait();
                count.setOpaque(c);
            }
        } catch (Exception e) {
            e.printStackTrace();
        }
    }

    /** Our side → testpmd {@code rxonly}; Mpps testpmd receives. */
    static double oursTx(Transport tr, int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + tr.tag() + "-bench-tx.sock");
        Files.deleteIfExists(sock);
        try {
            tr.open(sock);
            try (Testpmd pmd =
                    Testpmd.start(tr.tag() + "-bfe", "0@0,1@0", tr.peerVdev(sock), 30_000, "--forward-mode=rxonly")) {
                Link link = tr.awaitLink();
                AtomicBoolean stop = new AtomicBoolean();
                pmd.command("start", 5000);
                Thread t = new Thread(() -> {
                    try (PacketBatch b = new PacketBatch(32, 2048)) {
                        for (int k = 0; k < 32; k++) {
                            int i = b.add();
                            b.memory().asSlice(b.dataOffset(i), size).fill((byte) 0x5a);
                            b.memory().asSlice(b.dataOffset(i), 6).fill((byte) 0xff);
                            b.setLength(i, size);
                        }
                        long calls = 0, zero = 0;
                        while (!stop.get()) {
                            calls++;
                            if (link.transmit(b) == 0) {
                                zero++;
                                if (PAUSE) Thread.onSpinWait();
                            }
                        }
                        if (VERBOSE) System.err.println("transmit calls " + calls + ", empty " + zero);
                    } catch (Exception e) {
                        e.printStackTrace();
                    }
                }, tr.tag() + "-bench-tx");
                t.start();
                Thread.sleep(warmupMillis);
                long c0 = pmd.rxPackets(), t0 = System.nanoTime();
                Thread.sleep((long) (seconds * 1000));
                long c1 = pmd.rxPackets(), t1 = System.nanoTime();
                stop.set(true);
                t.join(5000);
                pmd.command("stop", 5000);
                if (VERBOSE) System.err.println("ours tx: " + link.counters().snapshot());
                return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * The reference: the server testpmd (CPU 1) and the client testpmd (CPU 0). rx: client
     * txonly → server rxonly, rate = the server's RX; tx: server txonly → client rxonly, rate =
     * the client's RX.
     */
    static double reference(Transport tr, boolean rx, int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + tr.tag() + "-bench-ref.sock");
        Files.deleteIfExists(sock);
        try (Testpmd server = Testpmd.start(tr.tag() + "-bref", "0@1,1@1", tr.referenceVdev(sock), 30_000,
                "--forward-mode=" + (rx ? "rxonly" : "txonly"), "--txpkts=" + size)) {
            tr.awaitReferenceServer(sock);
            try (Testpmd client = Testpmd.start(tr.tag() + "-bfe", "0@0,1@0", tr.peerVdev(sock), 30_000,
                    "--forward-mode=" + (rx ? "txonly" : "rxonly"), "--txpkts=" + size)) {
                Thread.sleep(500); // the server sees the device ready
                Testpmd counter = rx ? server : client;
                server.command("start", 5000);
                client.command("start", 5000);
                Thread.sleep(warmupMillis);
                long c0 = counter.rxPackets(), t0 = System.nanoTime();
                Thread.sleep((long) (seconds * 1000));
                long c1 = counter.rxPackets(), t1 = System.nanoTime();
                client.command("stop", 5000);
                server.command("stop", 5000);
                return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
