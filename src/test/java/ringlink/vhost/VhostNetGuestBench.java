package ringlink.vhost;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;

/**
 * Packet-rate comparison inside the QEMU guest, all in one run so the ratios are fair under the
 * (slow, noisy) emulated CPU: 64-byte frames transmitted into a TAP by
 * <ol>
 *   <li>our vhost-net link ({@code link}),</li>
 *   <li>plain {@code write(2)} per packet on a TAP descriptor from Java ({@code tap}),</li>
 *   <li>DPDK's virtio_user PMD with {@code path=/dev/vhost-net} in {@code dpdk-testpmd}
 *       txonly mode ({@code dpdk}: the same kernel device driven by DPDK's C driver).</li>
 * </ol>
 * The rate is what the kernel accepted: the TAP's {@code rx_packets} over a window after warm-up.
 * Prints {@code BENCH tx <method> <pps>} and {@code BENCH-RATIO link/<method> <ratio>} lines.
 *
 * <p>Arguments: {@code SECONDS [methods...]} (default all three).
 */
final class VhostNetGuestBench {
    private VhostNetGuestBench() {}

    static final int FRAME = 64;

    static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        String[] methods = args.length > 1 ? java.util.Arrays.copyOfRange(args, 1, args.length) : new String[] {"link", "tap", "dpdk"};
        Map<String, Double> pps = new LinkedHashMap<>();
        for (String m : methods) {
            double r = switch (m) {
                case "link" -> linkTx(seconds);
                case "tap" -> tapTx(seconds);
                case "dpdk" -> dpdkTx(seconds);
                default -> throw new IllegalArgumentException("unknown method " + m + " (link, tap, dpdk)");
            };
            pps.put(m, r);
            System.out.printf("BENCH tx %s %.0f%n", m, r);
            System.out.flush();
        }
        Double link = pps.get("link");
        if (link != null) {
            for (var e : pps.entrySet()) {
                if (!e.getKey().equals("link") && e.getValue() > 0) {
                    System.out.printf("BENCH-RATIO link/%s %.3f%n", e.getKey(), link / e.getValue());
                }
            }
        }
    }

    /** Fills {@code seg} with a unicast frame for a MAC nobody has: the kernel drops it right after counting. */
    static void frame(MemorySegment seg, long off) {
        seg.asSlice(off, FRAME).fill((byte) 0);
        byte[] h = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, (byte) 0x88, (byte) 0xb5};
        MemorySegment.copy(h, 0, seg, ValueLayout.JAVA_BYTE, off, h.length);
    }

    /**
     * Samples {@code tap}'s rx_packets over {@code seconds} while {@code load} runs, after the
     * counter started moving (a slow starter like testpmd is not measured while still starting)
     * and a second of warm-up.
     */
    static double measure(String tap, int seconds, Runnable load) throws Exception {
        Thread t = new Thread(load, "load");
        t.setDaemon(true);
        t.start();
        long start = GuestNet.stat(tap, "rx_packets");
        VhostNetGuestMain.waitFor(() -> GuestNet.stat(tap, "rx_packets") > start + 100, 60_000, tap + " receives packets");
        Thread.sleep(1000);
        long c0 = GuestNet.stat(tap, "rx_packets");
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        long c1 = GuestNet.stat(tap, "rx_packets");
        long t1 = System.nanoTime();
        return (c1 - c0) * 1e9 / (t1 - t0);
    }

    static double linkTx(int seconds) throws Exception {
        try (VhostNetLink link = VhostNetLink.open(VhostNetLink.Options.of("rlvnb0").withOffloads(Offloads.NONE));
             PacketBatch batch = new PacketBatch(64, 256)) {
            GuestNet.sh("ip", "link", "set", "rlvnb0", "up");
            for (int i = 0; i < batch.capacity(); i++) {
                int k = batch.add();
                frame(batch.memory(), batch.dataOffset(k));
                batch.setLength(k, FRAME);
            }
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            try {
                return measure("rlvnb0", seconds, () -> {
                    try {
                        while (!stop.get()) {
                            if (link.transmit(batch) == 0) Thread.onSpinWait();
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
            } finally {
                stop.set(true);
                Thread.sleep(50);
            }
        }
    }

    static double tapTx(int seconds) throws Exception {
        try (VhostTap tap = VhostTap.open("rlvnb1", 12); Arena a = Arena.ofShared()) {
            tap.setOffloads(Offloads.NONE);
            GuestNet.sh("ip", "link", "set", "rlvnb1", "up");
            MemorySegment buf = a.allocate(12 + FRAME, 64);
            frame(buf, 12); // header zero: no offload
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            try {
                return measure("rlvnb1", seconds, () -> {
                    try {
                        while (!stop.get()) tap.fd().write(buf, 12 + FRAME);
                    } catch (Exception e) {
                        if (!stop.get()) throw new RuntimeException(e);
                    }
                });
            } finally {
                stop.set(true);
                Thread.sleep(50);
            }
        }
    }

    static double dpdkTx(int seconds) throws Exception {
        String tap = "rlvnb2";
        ProcessBuilder pb = new ProcessBuilder("dpdk-testpmd", "-l", "0-1", "--no-huge", "-m", "192", "--no-pci",
                "--file-prefix=rlvnb", "--vdev=net_virtio_user0,path=/dev/vhost-net,iface=" + tap + ",queue_size=256",
                "--", "--forward-mode=txonly", "--txpkts=" + FRAME, "--burst=32", "--nb-cores=1",
                "--total-num-mbufs=8192", "--stats-period=1")
                .redirectErrorStream(true).redirectOutput(new java.io.File("/tmp/testpmd.log"));
        pb.environment().put("LD_LIBRARY_PATH", "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu");
        Process p = pb.start();
        try {
            // EAL loads every PMD plugin over 9p under TCG: slow (about 20 s here).
            VhostNetGuestMain.waitFor(() -> GuestNet.exists(tap) || !p.isAlive(), 90_000, "testpmd created " + tap);
            if (!p.isAlive()) {
                throw new AssertionError("dpdk-testpmd exited " + p.exitValue() + ":\n"
                        + java.nio.file.Files.readString(java.nio.file.Path.of("/tmp/testpmd.log")));
            }
            GuestNet.sh("ip", "link", "set", tap, "up");
            return measure(tap, seconds, () -> { });
        } finally {
            p.destroy(); // SIGTERM: testpmd stops its ports and exits
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }
}
