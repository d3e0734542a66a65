package ringlink.vhost;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import ringlink.link.Offloads;
import ringlink.tun.TunConfig;
import ringlink.tun.TunDevice;
import ringlink.packet.PacketBatch;

/**
 * Packet-rate comparison inside the QEMU guest, all in one run so the ratios are fair under the
 * (slow, noisy) emulated CPU: 64-byte frames transmitted into a TAP by
 * <ol>
 *   <li>our vhost-net link ({@code link}; {@code link-sndbuf:BYTES}: with that TAP send buffer,
 *       for A/B: 0 leaves the kernel's, a finite one turns vhost-net's transmit batching off),</li>
 *   <li>plain {@code write(2)} per packet on a TAP descriptor from Java ({@code tap}),</li>
 *   <li>DPDK's virtio_user PMD with {@code path=/dev/vhost-net} in {@code dpdk-testpmd}
 *       txonly mode ({@code dpdk}: the same kernel device driven by DPDK's C driver).</li>
 * </ol>
 * The rate is what the kernel accepted: the TAP's {@code rx_packets} over a window after a
 * warm-up that ends by the same rule for every method ({@link #warmedUp}).
 * The receive direction ({@code rx-link}, {@code rx-tap}, {@code rx-dpdk}: our link's receive,
 * {@code read(2)} per packet, testpmd rxonly) is fed by the kernel's pktgen transmitting 64-byte
 * frames out of the TAP; the rate is the TAP's {@code tx_packets} (counted when the reader takes
 * a packet). Prints {@code BENCH tx|rx <method> <pps>} and {@code BENCH-RATIO tx|rx link/<method>}.
 *
 * <p>Arguments: {@code SECONDS [methods...]} (default all six).
 */
final class VhostNetGuestBench {
    private VhostNetGuestBench() {}

    static final int FRAME = 64;
    /**
     * A fixed warm-up before every window ({@code -Drlvnb.warmup=MS}); unset (the default): the
     * same adaptive rule for every method, see {@link #warmedUp}.
     */
    static final long WARMUP_FIXED_MS = Long.getLong("rlvnb.warmup", -1);
    /** Adaptive warm-up: at least this long, at most {@link #WARMUP_MAX_S} ({@code -Drlvnb.warmup.min=S}). */
    static final int WARMUP_MIN_S = Integer.getInteger("rlvnb.warmup.min", 6);
    static final int WARMUP_MAX_S = Integer.getInteger("rlvnb.warmup.max", 30);
    /** The JIT counts as quiet when it spent at most this long compiling over the last 3 s. */
    static final long JIT_QUIET_MS = Long.getLong("rlvnb.jitquiet", 150);
    /** The method being measured, for the trace lines. */
    static String current = "";

    static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        String[] methods = args.length > 1 ? java.util.Arrays.copyOfRange(args, 1, args.length)
                : new String[] {"link", "tap", "dpdk", "rx-link", "rx-tap", "rx-dpdk"};
        Map<String, Double> pps = new LinkedHashMap<>();
        for (String m : methods) {
            current = m;
            double r = m.startsWith("link-sndbuf:") ? linkTx(seconds, Integer.parseInt(m.substring(12))) : switch (m) {
                case "link" -> linkTx(seconds, VhostNetLink.Options.of("rlvnb0").tapSndbuf());
                case "tap" -> tapTx(seconds);
                case "dpdk" -> dpdk(seconds, "txonly", "rlvnb2", "rx_packets", null);
                case "rx-link" -> linkRx(seconds);
                case "rx-tap" -> tapRx(seconds);
                case "rx-dpdk" -> dpdk(seconds, "rxonly", "rlvnb5", "tx_packets", "rlvnb5");
                default -> throw new IllegalArgumentException("unknown method " + m
                        + " (link, link-sndbuf:BYTES, tap, dpdk, rx-link, rx-tap, rx-dpdk)");
            };
            pps.put(m, r);
            System.out.printf("BENCH %s %s %.0f%n", m.startsWith("rx-") ? "rx" : "tx", m.replace("rx-", ""), r);
            System.out.flush();
        }
        for (String dir : new String[] {"", "rx-"}) {
            for (var ours : pps.entrySet()) {
                String name = ours.getKey();
                if (!name.equals(dir + "link") && !(dir.isEmpty() && name.startsWith("link-"))) continue;
                for (String other : new String[] {"tap", "dpdk"}) {
                    Double o = pps.get(dir + other);
                    if (o != null && o > 0) {
                        System.out.printf("BENCH-RATIO %s %s/%s %.3f%n", dir.isEmpty() ? "tx" : "rx",
                                name.replace("rx-", ""), other,
                                ours.getValue() / o);
                    }
                }
            }
        }
    }

    /**
     * Fills {@code seg} with the frame testpmd's txonly sends (IPv4/UDP 198.18.0.1:9 → 198.18.0.2:9,
     * 64 bytes in all) to a MAC nobody has, so our link, TAP write and testpmd cost the kernel the
     * same: counted on the TAP, then dropped by ip_rcv as addressed to another host.
     */
    static void frame(MemorySegment seg, long off) {
        seg.asSlice(off, FRAME).fill((byte) 0);
        byte[] h = {0x02, 0, 0, 0, 0, 0x00, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00, // Ethernet, IPv4
                0x45, 0, 0, FRAME - 14, 0, 0, 0, 0, 64, 17, 0, 0, // IPv4: length, TTL 64, UDP, checksum below
                (byte) 198, 18, 0, 1, (byte) 198, 18, 0, 2,
                0, 9, 0, 9, 0, FRAME - 34, 0, 0}; // UDP 9 -> 9, no checksum
        int sum = 0;
        for (int i = 14; i < 34; i += 2) sum += ((h[i] & 0xff) << 8) | (h[i + 1] & 0xff);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
        h[24] = (byte) (~sum >> 8);
        h[25] = (byte) ~sum;
        MemorySegment.copy(h, 0, seg, ValueLayout.JAVA_BYTE, off, h.length);
    }

    /**
     * Samples {@code tap}'s rx_packets over {@code seconds} while {@code load} runs, after the
     * counter started moving (a slow starter like testpmd is not measured while still starting)
     * and a second of warm-up.
     */
    static double measure(String tap, int seconds, Runnable load) throws Exception {
        return measure(tap, "rx_packets", seconds, load);
    }

    static double measure(String tap, String counter, int seconds, Runnable load) throws Exception {
        Thread t = new Thread(load, "load");
        t.setDaemon(true);
        t.start();
        long start = GuestNet.stat(tap, counter);
        VhostNetGuestMain.waitFor(() -> GuestNet.stat(tap, counter) > start + 100, 60_000,
                tap + " " + counter + " moves");
        pinVhostWorkersToCpu0();
        // The JIT is slow under TCG: warm up before measuring, until the rate stops rising and
        // the JIT is quiet (warmedUp). The rate of every second (warm-up included) is printed
        // afterwards as BENCH-TRACE, so a rate still climbing shows.
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        java.util.List<Double> rates = new java.util.ArrayList<>();
        java.util.List<Long> jitMs = new java.util.ArrayList<>(java.util.List.of(jit.getTotalCompilationTime()));
        StringBuilder trace = new StringBuilder("BENCH-TRACE " + current + " kpps/s:");
        long pc = GuestNet.stat(tap, counter), pt = System.nanoTime();
        String why = null;
        while (why == null) {
            Thread.sleep(WARMUP_FIXED_MS >= 0 ? Math.min(1000, WARMUP_FIXED_MS - 1000L * rates.size()) : 1000);
            long c = GuestNet.stat(tap, counter), now = System.nanoTime();
            rates.add((c - pc) * 1e6 / (now - pt));
            jitMs.add(jit.getTotalCompilationTime());
            trace.append(String.format(" %.1f", rates.getLast()));
            pc = c;
            pt = now;
            why = WARMUP_FIXED_MS >= 0 ? (1000L * rates.size() >= WARMUP_FIXED_MS ? "fixed" : null)
                    : warmedUp(rates, jitMs);
        }
        trace.append(" |");
        // Snapshots first, then the window's start: scanning /proc takes ~0.5 s of CPU 1 under
        // TCG, which the first second of every window lost to the load thread or testpmd's lcore.
        long[][] cpu0 = cpuTimes();
        Map<String, long[]> threads0 = kernelThreads();
        // An empty young generation, so no collection stops our load thread in the window (the
        // scan above allocates; a pause lets the worker run the ring dry). Same for every method.
        System.gc();
        // The snapshot's own code gets compiled now (the first method of a run saw 1.8 s of JIT
        // in its window, on CPU 1 beside the load thread): let that finish first, i.e. wait for
        // two quiet half seconds in a row (a compile counts when it completes), up to 6 s.
        for (int i = 0, quiet = 0; i < 12 && quiet < 2; i++) {
            long before = jit.getTotalCompilationTime();
            Thread.sleep(500);
            quiet = jit.getTotalCompilationTime() - before <= 20 ? quiet + 1 : 0;
        }
        long[] gc0 = gcCountAndMs();
        long jit0 = jit.getTotalCompilationTime();
        pc = GuestNet.stat(tap, counter);
        pt = System.nanoTime();
        long c0 = pc, t0 = pt;
        for (int k = 0; k < seconds; k++) {
            Thread.sleep(1000);
            long c = GuestNet.stat(tap, counter), now = System.nanoTime();
            trace.append(String.format(" %.1f", (c - pc) * 1e6 / (now - pt)));
            pc = c;
            pt = now;
        }
        long[] gc1 = gcCountAndMs();
        long jit1 = jit.getTotalCompilationTime();
        System.out.println(trace);
        StringBuilder w =
                new StringBuilder("BENCH-WARMUP " + current + " " + rates.size() + " s (" + why + "); JIT ms per s:");
        for (int i = 1; i < jitMs.size(); i++) w.append(' ').append(jitMs.get(i) - jitMs.get(i - 1));
        w.append("; in the window: ").append(gc1[0] - gc0[0]).append(" GCs, ").append(gc1[1] - gc0[1])
                .append(" ms, JIT ")
                .append(jit1 - jit0).append(" ms");
        System.out.println(w);
        printCpu(cpu0, cpuTimes(), threads0, kernelThreads());
        return (pc - c0) * 1e9 / (pt - t0);
    }

    /** Collections so far and the milliseconds they took, over all collectors of this JVM. */
    static long[] gcCountAndMs() {
        long n = 0, ms = 0;
        for (var b : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, b.getCollectionCount());
            ms += Math.max(0, b.getCollectionTime());
        }
        return new long[] {n, ms};
    }

    /**
     * The warm-up rule, the same for every method: done once at least {@link #WARMUP_MIN_S}
     * seconds have passed, the mean rate of the last 3 s is no more than 10% above that of the 3 s
     * before, and the JIT compiled for at most {@link #JIT_QUIET_MS} over the last 3 s; in any
     * case after {@link #WARMUP_MAX_S}. The JIT condition is there because under TCG our load
     * thread runs C1 code at a plateau for several seconds before C2's version is installed (a
     * rate rule alone took the plateau for the end); testpmd has no JIT, so for it only the rate
     * counts (the measuring thread's own compiles are done within the first seconds).
     *
     * @param rates kpps of each second so far
     * @param jitMs total JIT compilation time, at the start and after each second
     * @return why the warm-up is over, or null to go on
     */
    static String warmedUp(java.util.List<Double> rates, java.util.List<Long> jitMs) {
        int n = rates.size();
        if (n >= WARMUP_MAX_S) return "cap";
        if (n < Math.max(WARMUP_MIN_S, 6)) return null;
        double recent = (rates.get(n - 1) + rates.get(n - 2) + rates.get(n - 3)) / 3;
        double before = (rates.get(n - 4) + rates.get(n - 5) + rates.get(n - 6)) / 3;
        long compiled = jitMs.get(n) - jitMs.get(n - 3);
        return recent <= 1.10 * before && compiled <= JIT_QUIET_MS ? "stable" : null;
    }

    /**
     * Pins the kernel's vhost workers (ours or testpmd's, whichever exist now) to guest CPU 0, as
     * a VM host pins its vhost threads: left free, a worker woken from CPU 1 was seen running
     * there beside the spinning load thread (the JVM and testpmd's forwarding lcore are on CPU 1),
     * halving its share. Same for every vhost method.
     */
    static void pinVhostWorkersToCpu0() throws Exception {
        for (var e : kernelThreads().keySet()) {
            String[] pidComm = e.split(" ", 2);
            if (pidComm[1].startsWith("vhost-")) GuestNet.sh("taskset", "-p", "1", pidComm[0]);
        }
    }

    /** Per CPU from /proc/stat: {user+nice, system, irq+softirq, idle+iowait} in ticks. */
    static long[][] cpuTimes() throws java.io.IOException {
        return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).stream()
                .filter(l -> l.matches("cpu\\d+ .*"))
                .map(l -> {
                    String[] f = l.trim().split("\\s+");
                    long[] v = new long[9];
                    for (int i = 0; i < 9 && i + 1 < f.length; i++) v[i] = Long.parseLong(f[i + 1]);
                    return new long[] {v[0] + v[1], v[2], v[5] + v[6], v[3] + v[4]};
                }).toArray(long[][]::new);
    }

    /** Every process (vhost workers, pktgen, ksoftirqd, testpmd, ...): {ticks, last cpu} by "pid comm". */
    static Map<String, long[]> kernelThreads() {
        Map<String, long[]> m = new java.util.TreeMap<>();
        java.io.File[] procs = new java.io.File("/proc").listFiles((d, n) -> n.chars().allMatch(Character::isDigit));
        if (procs == null) return m;
        for (java.io.File p : procs) {
            try {
                String st = java.nio.file.Files.readString(p.toPath().resolve("stat"));
                int l = st.indexOf('('), r = st.lastIndexOf(')');
                String comm = st.substring(l + 1, r);
                String[] f = st.substring(r + 2).split(" ");
                // after "(comm) ": state is field 3 (index 0); utime 14, stime 15, processor 39
                m.put(p.getName() + " " + comm,
                        new long[] {Long.parseLong(f[11]) + Long.parseLong(f[12]), Long.parseLong(f[36])});
            } catch (Exception ignored) {
                // gone
            }
        }
        return m;
    }

    static void printCpu(long[][] a, long[][] b, Map<String, long[]> ta, Map<String, long[]> tb) {
        StringBuilder sb = new StringBuilder("BENCH-CPU " + current + " (ticks in window: user/sys/irq+softirq/idle)");
        for (int c = 0; c < Math.min(a.length, b.length); c++) {
            sb.append(" cpu").append(c).append(' ').append(b[c][0] - a[c][0]).append('/').append(b[c][1] - a[c][1])
                    .append('/').append(b[c][2] - a[c][2]).append('/').append(b[c][3] - a[c][3]);
        }
        for (var e : tb.entrySet()) {
            long[] before = ta.getOrDefault(e.getKey(), new long[] {0, 0});
            long d = e.getValue()[0] - before[0];
            if (d > 2) sb.append("; ").append(e.getKey()).append(' ').append(d).append(" ticks on cpu")
                    .append(e.getValue()[1]);
        }
        System.out.println(sb);
    }

    /**
     * What a Java load thread does when it found nothing to do (ring full / nothing received /
     * EAGAIN): yield the CPU. The JVM is pinned to one guest CPU, so while the ring is full this
     * hands the CPU to the JIT compiler threads instead of sharing it with a spinning thread:
     * under TCG the compilers run emulated, and with onSpinWait() the hot methods were still
     * being compiled after a 12 s warm-up. When nothing else is runnable it returns at once.
     */
    static void idle() {
        Thread.yield();
    }

    /**
     * Our link's transmit; {@code sndbuf} is the TAP's send buffer (the link's default, unlimited,
     * lets vhost-net batch into the TAP; 0 leaves the kernel's; a finite one turns batching off).
     */
    static double linkTx(int seconds, int sndbuf) throws Exception {
        try (VhostNetLink link = VhostNetLink.open(VhostNetLink.Options.of("rlvnb0").withOffloads(Offloads.NONE)
                .withTapSndbuf(sndbuf));
             PacketBatch batch = new PacketBatch(64, 256)) {
            GuestNet.sh("ip", "link", "set", "rlvnb0", "up");
            for (int i = 0; i < batch.capacity(); i++) {
                int k = batch.add();
                frame(batch.memory(), batch.dataOffset(k));
                batch.setLength(k, FRAME);
            }
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            long[] calls = new long[2];
            try {
                return measure("rlvnb0", seconds, () -> {
                    try {
                        while (!stop.get()) {
                            calls[0]++;
                            // Spin on a full ring like testpmd: the JVM is pinned away from the vhost worker.
                            if (link.transmit(batch) == 0) {
                                calls[1]++;
                                idle();
                            }
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
            } finally {
                stop.set(true);
                Thread.sleep(50);
                System.out.println("BENCH-INFO tx " + current + ": " + link.counters().snapshot().txPackets()
                        + " packets, " + calls[0]
                        + " transmit calls, " + calls[1] + " took none, " + link.txKicks() + " kicks; TAP sndbuf "
                        + link.tapSndbuf());
            }
        }
    }

    static double tapTx(int seconds) throws Exception {
        try (TunDevice tap = TunDevice.open(TunConfig.tap("rlvnb1").vnetHdrSize(12).offloads(Offloads.NONE).up(false));
             Arena a = Arena.ofShared()) {
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

    /**
     * dpdk-testpmd with a virtio_user port on /dev/vhost-net whose TAP is {@code tap};
     * {@code pktgenOn}: feed that TAP with pktgen (receive direction).
     */
    static double dpdk(int seconds, String mode, String tap, String counter, String pktgenOn) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("dpdk-testpmd", "-l", "0-1", "--no-huge", "-m", "192", "--no-pci",
                "--file-prefix=" + tap, "--vdev=net_virtio_user0,path=/dev/vhost-net,iface=" + tap + ",queue_size=256",
                "--", "--forward-mode=" + mode, "--txpkts=" + FRAME, "--burst=32", "--nb-cores=1",
                "--total-num-mbufs=8192", "--stats-period=1")
                .redirectErrorStream(true).redirectOutput(new java.io.File("/tmp/testpmd-" + mode + ".log"));
        pb.environment().put("LD_LIBRARY_PATH", "/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu");
        Process p = pb.start();
        try {
            // EAL loads every PMD plugin over 9p under TCG: slow (about 20 s here).
            VhostNetGuestMain.waitFor(() -> GuestNet.exists(tap) || !p.isAlive(), 90_000, "testpmd created " + tap);
            if (!p.isAlive()) {
                throw new AssertionError("dpdk-testpmd exited " + p.exitValue() + ":\n"
                        + java.nio.file.Files.readString(java.nio.file.Path.of("/tmp/testpmd-" + mode + ".log")));
            }
            GuestNet.sh("ip", "link", "set", tap, "up");
            if (pktgenOn == null) return measure(tap, counter, seconds, () -> { });
            try (Pktgen g = Pktgen.start(pktgenOn)) {
                return measure(tap, counter, seconds, () -> { });
            }
        } finally {
            p.destroy(); // SIGTERM: testpmd stops its ports and exits
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    static double linkRx(int seconds) throws Exception {
        try (VhostNetLink link = VhostNetLink.open(VhostNetLink.Options.of("rlvnb3").withOffloads(Offloads.NONE));
             PacketBatch batch = new PacketBatch(64, 2048)) {
            GuestNet.sh("ip", "link", "set", "rlvnb3", "up");
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            long[] calls = new long[2];
            try (Pktgen g = Pktgen.start("rlvnb3")) {
                return measure("rlvnb3", "tx_packets", seconds, () -> {
                    try {
                        while (!stop.get()) {
                            batch.clear();
                            calls[0]++;
                            if (link.receive(batch) == 0) {
                                calls[1]++;
                                idle();
                            }
                        }
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
            } finally {
                stop.set(true);
                Thread.sleep(50);
                System.out.println("BENCH-INFO rx link: " + link.counters().snapshot().rxPackets() + " packets, "
                        + calls[0]
                        + " receive calls, " + calls[1] + " got none, " + link.rxKicks() + " kicks; TAP tx_dropped "
                        + GuestNet.stat("rlvnb3", "tx_dropped"));
            }
        }
    }

    static double tapRx(int seconds) throws Exception {
        try (TunDevice tap = TunDevice.open(TunConfig.tap("rlvnb4").vnetHdrSize(12).offloads(Offloads.NONE).up(false));
             Arena a = Arena.ofShared()) {
            GuestNet.sh("ip", "link", "set", "rlvnb4", "up");
            MemorySegment buf = a.allocate(2048, 64);
            // Non-blocking, so the reader can stop (and the buffer be freed) when pktgen stops.
            tap.fd().setNonBlocking(true);
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            try (Pktgen g = Pktgen.start("rlvnb4")) {
                return measure("rlvnb4", "tx_packets", seconds, () -> {
                    try {
                        while (!stop.get()) if (tap.fd().read(buf) < 0) idle();
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

    /** The kernel's packet generator sending 64-byte frames out of a TAP (towards its reader), until closed. */
    static final class Pktgen implements AutoCloseable {
        private final Thread runner;
        private final String dev;

        private Pktgen(String dev, Thread runner) {
            this.dev = dev;
            this.runner = runner;
        }

        static Pktgen start(String dev) throws Exception {
            java.nio.file.Path pg = java.nio.file.Path.of("/proc/net/pktgen");
            if (!java.nio.file.Files.exists(pg))
                    throw new AssertionError("no pktgen (kernel module pktgen not loaded)");
            write(pg.resolve("kpktgend_0"), "rem_device_all");
            write(pg.resolve("kpktgend_0"), "add_device " + dev);
            java.nio.file.Path d = pg.resolve(dev);
            for (String c : new String[] {
                    "count 0", "pkt_size 64", "delay 0", "clone_skb 0", "dst_mac 02:00:00:00:00:01",
                    "dst 10.99.0.2", "src_min 10.99.0.1", "src_max 10.99.0.1"}) {
                write(d, c);
            }
            Thread t = new Thread(() -> {
                try {
                    write(pg.resolve("pgctrl"), "start"); // returns when stopped
                } catch (Exception ignored) {
                    // stopped
                }
            }, "pktgen");
            t.setDaemon(true);
            t.start();
            return new Pktgen(dev, t);
        }

        private static void write(java.nio.file.Path p, String cmd) throws java.io.IOException {
            java.nio.file.Files.writeString(p, cmd + "\n");
        }

        @Override
        public void close() throws Exception {
            write(java.nio.file.Path.of("/proc/net/pktgen/pgctrl"), "stop");
            runner.join(10_000);
            write(java.nio.file.Path.of("/proc/net/pktgen/kpktgend_0"), "rem_device_all");
        }

        @Override
        public String toString() { return "pktgen on " + dev; }
    }
}
