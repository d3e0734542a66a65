package ringlink.bench.vhostuser;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import ringlink.packet.PacketBatch;
import ringlink.vhostuser.BackendConfig;
import ringlink.vhostuser.BackendLink;
import ringlink.vhostuser.Testpmd;
import ringlink.vhostuser.VhostUserBackend;

/**
 * Our vhost-user back-end against DPDK's own (net_vhost), with DPDK virtio-user as the front-end
 * in both runs, for 64 B and 1500 B packets, split and packed rings, in both directions:
 * <ul>
 * <li><b>rx</b>: testpmd virtio-user {@code txonly} → back-end (we count what we receive; the
 *     reference is a second testpmd with net_vhost in {@code rxonly});</li>
 * <li><b>tx</b>: back-end → testpmd virtio-user {@code rxonly} (we transmit as fast as the ring
 *     takes it; the reference is net_vhost in {@code txonly}); testpmd's RX counter is the rate.</li>
 * </ul>
 * Prints Mpps for each and the ratio ours/DPDK. Only the ratio of one run means anything on a
 * shared machine. The front-end testpmd runs on CPU 0; our back-end thread (or the reference
 * testpmd) on CPU 1.
 *
 * <p>Usage: {@code VhostUserBench [seconds=5] [warmup=4000] [sizes=64,1500] [rings=split,packed] [dirs=rx,tx]}
 * (see bench/vhostuser.sh).
 */
public final class VhostUserBench {
    private VhostUserBench() {}

    record Result(String dir, String ring, int size, double ours, double dpdk) {}

    /**
     * Traffic runs this long before the measured window (both implementations alike). 1 s was
     * too short on the shared 2-core machine: our own rate for one build moved 2x between runs
     * (the JIT not done yet, we think), 4 s made the tx cells repeatable (docs/parts/vhostuser.md).
     */
    static long warmupMillis = 4000;

    public static void main(String[] args) throws Exception {
        double seconds = 5;
        List<Integer> sizes = List.of(64, 1500);
        List<String> rings = List.of("split", "packed");
        List<String> dirs = List.of("rx", "tx");
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "seconds" -> seconds = Double.parseDouble(kv[1]);
                case "sizes" -> sizes = java.util.Arrays.stream(kv[1].split(",")).map(Integer::valueOf).toList();
                case "rings" -> rings = List.of(kv[1].split(","));
                case "dirs" -> dirs = List.of(kv[1].split(","));
                case "warmup" -> warmupMillis = Long.parseLong(kv[1]);
                default -> throw new IllegalArgumentException("unknown argument " + a
                        + " (seconds=N warmup=MS sizes=64,1500 rings=split,packed dirs=rx,tx)");
            }
        }
        List<Result> results = new ArrayList<>();
        for (String dir : dirs) {
            for (String ring : rings) {
                for (int size : sizes) {
                    boolean packed = ring.equals("packed");
                    double ours = dir.equals("rx") ? oursRx(packed, size, seconds) : oursTx(packed, size, seconds);
                    double dpdk = dpdkPair(dir.equals("rx"), packed, size, seconds);
                    Result r = new Result(dir, ring, size, ours, dpdk);
                    results.add(r);
                    System.out.println(line(r));
                }
            }
        }
        System.out.println();
        System.out.println("direction ring    size   ours Mpps   DPDK Mpps   ratio");
        for (Result r : results) System.out.println(line(r));
    }

    static String line(Result r) {
        return String.format(Locale.ROOT, "%-9s %-7s %5d %10.3f %11.3f %7.2f", r.dir, r.ring, r.size, r.ours, r.dpdk,
                r.dpdk > 0 ? r.ours / r.dpdk : Double.NaN);
    }

    /**
     * Prefix of the sockets and testpmd file prefixes of a run ({@code -Drlvu.tag=...}), so two
     * engineers' runs never share names; "rlvp" by default.
     */
    static final String TAG = System.getProperty("rlvu.tag", "rlvp");

    static String virtioUser(Path sock, boolean packed) {
        // -Drlvu.inorder=0|1 sets virtio-user's in_order devarg (its default is 1: IN_ORDER is
        // negotiated when the back-end offers it, as DPDK's net_vhost does).
        String inOrder = System.getProperty("rlvu.inorder");
        return "net_virtio_user0,path=" + sock + ",queues=1,packed_vq=" + (packed ? 1 : 0) + ",mrg_rxbuf="
                + System.getProperty("rlvu.mrg", "1")
                + (inOrder != null ? ",in_order=" + inOrder : "");
    }

    /**
     * Whether our loops pause ({@link Thread#onSpinWait()}, x86 PAUSE) after a call that moved
     * nothing, as ringlink's own poll loops do (ringlink.sw.Poller, ringlink.tun.LinkRelay);
     * {@code -Drlvu.pause=false} spins without it. Without the pause the loop re-reads the
     * descriptor line the front-end is writing every few nanoseconds: most receive calls found
     * the ring empty, i.e. the front-end, slowed by that, bounded the run (docs/parts/vhostuser.md,
     * round 3). testpmd's rxonly/txonly on net_vhost poll far less often (an empty call there
     * still allocates and frees a burst of mbufs).
     */
    static final boolean PAUSE = !"false".equals(System.getProperty("rlvu.pause"));

    /** Packets per receive call of our rx loop ({@code -Drlvu.rxburst=N}). */
    static final int RX_BURST = Integer.getInteger("rlvu.rxburst", 64);

    /** testpmd virtio-user txonly → our back-end; Mpps we receive. */
    static double oursRx(boolean packed, int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + TAG + "-bench-rx.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults());
             Testpmd pmd = Testpmd.start(TAG + "-bfe", "0@0,1@0", virtioUser(sock, packed), 30_000,
                     "--forward-mode=txonly", "--txpkts=" + size)) {
            if (!be.awaitReady(1, 20_000))
                    throw new IllegalStateException("virtio-user did not start: " + be.lastError());
            BackendLink link = be.link(0);
            AtomicLong count = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            Thread t = new Thread(() -> {
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
                    if (Boolean.getBoolean("rlvu.verbose"))
                            System.err.println("receive calls " + calls + ", empty " + empty);
                } catch (Exception e) {
                    e.printStackTrace();
                }
            }, TAG + "-bench-rx");
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
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /** Our back-end → testpmd virtio-user rxonly; Mpps testpmd receives. */
    static double oursTx(boolean packed, int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + TAG + "-bench-tx.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults());
             Testpmd pmd = Testpmd.start(TAG + "-bfe", "0@0,1@0", virtioUser(sock, packed), 30_000,
                     "--forward-mode=rxonly")) {
            if (!be.awaitReady(1, 20_000))
                    throw new IllegalStateException("virtio-user did not start: " + be.lastError());
            BackendLink link = be.link(0);
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
                    if (Boolean.getBoolean("rlvu.verbose"))
                            System.err.println("transmit calls " + calls + ", empty " + zero);
                } catch (Exception e) {
                    e.printStackTrace();
                }
            }, TAG + "-bench-tx");
            t.start();
            Thread.sleep(warmupMillis);
            long c0 = pmd.rxPackets(), t0 = System.nanoTime();
            Thread.sleep((long) (seconds * 1000));
            long c1 = pmd.rxPackets(), t1 = System.nanoTime();
            stop.set(true);
            t.join(5000);
            pmd.command("stop", 5000);
            if (Boolean.getBoolean("rlvu.verbose")) System.err.println("ours tx: " + link.counters().snapshot());
            return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * The reference: testpmd net_vhost (CPU 1) and testpmd virtio-user (CPU 0). rx: virtio-user
     * txonly → net_vhost rxonly, rate = net_vhost's RX; tx: net_vhost txonly → virtio-user
     * rxonly, rate = virtio-user's RX.
     */
    static double dpdkPair(boolean rx, boolean packed, int size, double seconds) throws Exception {
        Path sock = Path.of("/tmp/" + TAG + "-bench-ref.sock");
        Files.deleteIfExists(sock);
        try (Testpmd vhost = Testpmd.start(TAG + "-bref", "0@1,1@1", "net_vhost0,iface=" + sock + ",queues=1", 30_000,
                "--forward-mode=" + (rx ? "rxonly" : "txonly"), "--txpkts=" + size)) {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && System.currentTimeMillis() < end) Thread.sleep(20);
            try (Testpmd vu = Testpmd.start(TAG + "-bfe", "0@0,1@0", virtioUser(sock, packed), 30_000,
                    "--forward-mode=" + (rx ? "txonly" : "rxonly"), "--txpkts=" + size)) {
                Thread.sleep(500); // net_vhost sees the device ready
                Testpmd counter = rx ? vhost : vu;
                vhost.command("start", 5000);
                vu.command("start", 5000);
                Thread.sleep(warmupMillis);
                long c0 = counter.rxPackets(), t0 = System.nanoTime();
                Thread.sleep((long) (seconds * 1000));
                long c1 = counter.rxPackets(), t1 = System.nanoTime();
                vu.command("stop", 5000);
                vhost.command("stop", 5000);
                return (c1 - c0) / ((t1 - t0) / 1e9) / 1e6;
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
