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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.packet.Checksum;
import ringlink.packet.PacketBatch;
import ringlink.sys.Endian;
import ringlink.sys.CpuAffinity;
import ringlink.sys.Fd;
import ringlink.xdp.BpfAssembler;
import ringlink.xdp.BpfAttrLayout;
import ringlink.xdp.XdpConfig;
import ringlink.xdp.XdpLink;
import ringlink.xdp.XdpProgram;

/**
 * 64-byte packet rates of the Java AF_XDP link beside DPDK's {@code net_af_xdp} PMD in
 * {@code dpdk-testpmd}, on the same veth pair (rlxdb0 ↔ rlxdb1) in the same run:
 *
 * <ul>
 * <li>TX: the sender (Java XSK, then testpmd txonly) transmits on rlxdb0 as fast as it can; the
 *     rate is what arrives on rlxdb1 (its rx_packets, a counter neither side controls) and what
 *     the sender reports.</li>
 * <li>RX: one traffic source on rlxdb1 feeds both; the receiver on rlxdb0 is the Java XSK, then
 *     testpmd rxonly; the rate is what the receiver reports per second. The source is testpmd
 *     txonly (default; copy-mode AF_XDP TX, about 1 Mpps here, so it limits both receivers) or,
 *     with {@code --source live}, {@link LiveFrameSource} (frames made in the kernel, several
 *     Mpps), which also adds the kernel's XDP_DROP ceilings ({@code --only drop}).</li>
 * </ul>
 * Note that testpmd's PMD attaches its own XDP program in native mode on a veth whatever
 * {@code --attach} says (printed in the RX case); {@code --attach} sets the Java link's mode.
 * Rates are the mean of the per-second samples after a warm-up second. Prints Mpps and the
 * Java/DPDK ratio. Needs root and dpdk-testpmd with librte-net-af-xdp; mounts bpffs if needed.
 *
 * <pre>ringlink bench --only xdp
 * bench/xdp.sh [--seconds 10] [--size 64] [--attach skb|drv] [--only rx|tx|drop]
 *     [--source testpmd|live] [--tag rlxd]</pre>
 */
public final class XdpBench {
    /** Interface names and testpmd file prefixes start with {@link #tag} ({@code --tag}). */
    static String tag = "rlxd", A = "rlxdb0", B = "rlxdb1";
    static int seconds = 10, size = 64;
    /**
     * Seconds of real traffic before the samples that count ({@code --warmup}, default 1): the
     * first {@code warmup} per-second samples of every case are dropped (testpmd's: its first
     * {@code warmup} non-zero ones). {@code --seconds} includes them.
     */
    static int warmup = 1;
    static XdpProgram.Attach attach = XdpProgram.Attach.SKB;
    static String only = null;
    /**
     * The RX traffic source: {@code testpmd} (txonly, net_af_xdp copy-mode TX on the other veth
     * end, ~1 Mpps here) or {@code live} ({@link LiveFrameSource}: frames made in the kernel by
     * BPF_PROG_RUN and redirected into the veth, several Mpps).
     */
    static String source = "testpmd";
    /**
     * CPUs: the source (and with it the veth's receive softirq) on {@code srcCpu}, every receiver's
     * polling thread (the Java XSK thread, testpmd's forwarding lcore) on {@code rxCpu}.
     */
    static int srcCpu, rxCpu;

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--attach" -> attach = XdpProgram.Attach.valueOf(args[++i].toUpperCase(Locale.ROOT));
                case "--only" -> only = args[++i];
                case "--source" -> source = args[++i];
                case "--tag" -> tag = args[++i];
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: XdpBench [--seconds N>=warmup+2] [--warmup S (1)] [--size 60..1514] "
                            + "[--attach skb|drv]"
                            + " [--only rx|tx|drop] [--source testpmd|live] [--tag rlxd]");
                    System.exit(2);
                }
            }
        }
        if (!source.equals("testpmd") && !source.equals("live"))
                throw new IllegalArgumentException("--source testpmd|live: " + source);
        if (!tag.matches("[a-z][a-z0-9]{1,8}"))
                throw new IllegalArgumentException("--tag: 2-9 lower-case letters/digits: " + tag);
        A = tag + "b0";
        B = tag + "b1";
        // testpmd's source forwards on CPU 1 and its receiver on CPU 0; the live source runs
        // where it is pinned (CPU 0) and takes the veth's softirq with it, receivers on CPU 1.
        srcCpu = source.equals("live") ? 0 : 1;
        rxCpu = 1 - srcCpu;
        if (warmup < 1) throw new IllegalArgumentException("--warmup must be >= 1 (the first second is partial)");
        if (seconds < warmup + 2)
                throw new IllegalArgumentException("--seconds must be >= warmup + 2 (two samples that count)");
        if (sh("command -v dpdk-testpmd") != 0)
                throw new IllegalStateException("dpdk-testpmd not found (Debian package dpdk-dev)");
        if (sh("mount | grep -q ' /sys/fs/bpf '") != 0) sh("mount -t bpf bpf /sys/fs/bpf");
        Runtime.getRuntime().addShutdownHook(new Thread(XdpBench::cleanUp));
        cleanUp();
        must("ip link add " + A + " type veth peer name " + B);
        for (String d : new String[] {A, B}) {
            sh("sysctl -qw net.ipv6.conf." + d + ".disable_ipv6=1");
            must("ip link set " + d + " up");
            // GRO on: a veth only takes XDP-redirected frames when its peer has NAPI (GRO or an XDP program).
            sh("ethtool -K " + d + " gro on >/dev/null 2>&1");
        }
        Thread.sleep(500);
        System.out.printf("XDP packet rate, %d-byte frames, %d s per case, attach=%s, rx source %s (CPU %d, receivers "
                + "CPU %d), veth %s<->%s, %d CPUs, load %s%n",
                size, seconds, attach.name().toLowerCase(Locale.ROOT), source, srcCpu, rxCpu, A, B,
                        Runtime.getRuntime().availableProcessors(),
                Files.readString(Path.of("/proc/loadavg")).trim());
        long jitWarm = warmUp();
        // One line with everything that differs between runs people compare (issue 22: an RX ratio
        // of 0.81x in one run against 1.29x in the docs came from different settings, not code).
        System.out.println(setting(jitWarm));
        try {
            if (only == null || only.equals("tx")) {
                double jt = javaTx();
                double dt = dpdkTx();
                System.out.printf("TX  java %.3f Mpps   dpdk af_xdp %.3f Mpps   ratio java/dpdk %.2f%n", jt / 1e6,
                        dt / 1e6, jt / dt);
            }
            if (only == null || only.equals("rx")) {
                double jr = javaRx();
                double dr = dpdkRx();
                System.out.printf("RX  java %.3f Mpps   dpdk af_xdp %.3f Mpps   ratio java/dpdk %.2f%n", jr / 1e6,
                        dr / 1e6, jr / dr);
            }
            if (source.equals("live") && (only == null || only.equals("drop"))) {
                double d = dropCeiling(XdpProgram.Attach.DRV), g = dropCeiling(XdpProgram.Attach.SKB);
                System.out.printf("DROP XDP_DROP on %s: native %.3f Mpps   generic %.3f Mpps (the kernel's own "
                        + "ceilings with this source)%n",
                        A, d / 1e6, g / 1e6);
            }
        } finally {
            cleanUp();
        }
    }

    /** Removes the veth pair and testpmd's runtime directories (its logs stay in /tmp/rlxd-b*.log). */
    /**
     * JIT warm-up of the receive and transmit paths on simulated rings (no kernel), so that a
     * short run on a busy machine does not measure the interpreter: on a starved CPU the first
     * seconds of a real run may not be enough for C2.
     */
    static long warmUp() throws IOException {
        long t0 = System.nanoTime();
        try (ringlink.xdp.XskSimulator sim = ringlink.xdp.XskSimulator.create(4096, 2048, 2048);
             PacketBatch rx = new PacketBatch(64, 2048); PacketBatch tx = new PacketBatch(64, 2048)) {
            XdpLink l = sim.link();
            for (int i = 0; i < 64; i++) tx.setLength(tx.add(), size);
            for (int i = 0; i < 100_000; i++) {
                sim.deliver(64, size);
                rx.clear();
                l.receive(rx);
                l.transmit(tx);
                sim.complete();
            }
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("(JIT warm-up on simulated rings: %d ms)%n", ms);
        return ms;
    }

    /**
     * The {@code SETTING} line: what this run measured with. Everything in it has moved a ratio
     * between runs at some point (PERFORMANCE.md, AF_XDP): the case order (RX right after start
     * or after the TX cases: the JVM's JIT still compiling on the receive path), the seconds
     * counted, who is on which CPU (the JVM's JIT and GC threads are not pinned, testpmd has no
     * such threads), batch sizes, polling and the ring/UMEM sizes of both sides.
     */
    static String setting(long jitWarmMs) throws IOException {
        String order = only != null ? only + " only" : source.equals("live") ? "tx,rx,drop" : "tx,rx";
        return String.format(Locale.ROOT, "SETTING xdp size=%d seconds=%d warmup=%ds counted=%ds order=%s source=%s "
                + "attach=%s(java) native(testpmd)"
                + " src_cpu=%d rx_cpu=%d testpmd_lcores=main:%d,fwd:%d java_rx_thread=cpu%d java_other_threads=unpinned"
                + " java_batch=64 java_poll=busy(no pause) testpmd_burst=32 testpmd_busy_budget=pmd-default"
                + " xsk=copy ring=%d frames=%d need_wakeup=%s jit_warmup_sim=%dms cpus=%d load=%s",
                size, seconds, warmup, seconds - warmup, order, source, attach.name().toLowerCase(Locale.ROOT), srcCpu,
                        rxCpu,
                1 - rxCpu, rxCpu, rxCpu, XdpConfig.DEFAULT_RING, XdpConfig.DEFAULT_FRAMES, XdpConfig.of(A).needWakeup(),
                        jitWarmMs,
                Runtime.getRuntime().availableProcessors(),
                        Files.readString(Path.of("/proc/loadavg")).trim().replace(' ', '/'));
    }

    static void cleanUp() {
        sh("ip link del " + A + " 2>/dev/null");
        sh("rm -rf /var/run/dpdk/" + tag + "-btx /var/run/dpdk/" + tag + "-brx /var/run/dpdk/" + tag + "-bsrc");
    }

    // ---- TX ----

    static double javaTx() throws Exception {
        byte[] src = mac(A), dst = mac(B);
        AtomicBoolean stop = new AtomicBoolean();
        try (XdpLink l = XdpLink.open(XdpConfig.of(A).withAttach(attach)); PacketBatch b = new PacketBatch(64, 2048)) {
            for (int k = 0; k < 64; k++) udpFrame(b, src, dst, 0x0a4f0001, 0x0a4f0002, size, k);
            AtomicLong cpu = new AtomicLong();
            Thread t = Thread.ofPlatform().name("xdp-bench-tx").start(() -> {
                long busy = 0;
                try {
                    while (!stop.get()) {
                        long t0 = System.nanoTime();
                        if (l.transmit(b) > 0) busy += System.nanoTime() - t0;
                    }
                } catch (IOException e) {
                    e.printStackTrace();
                }
                cpu.set(busy);
            });
            List<Double> peer = new ArrayList<>(), sent = new ArrayList<>();
            sample(() -> counter(B, "rx_packets"), () -> l.counters().snapshot().txPackets(), peer, sent);
            stop.set(true);
            t.join();
            report("TX java", sent, false, peer, false);
            cpuPerPacket(cpu.get(), l.counters().snapshot().txPackets());
            return mean(peer);
        }
    }

    static double dpdkTx() throws Exception {
        Process p = testpmd(tag + "-btx", A, "txonly", "0@0,1@1", mac(B));
        try {
            List<Double> peer = new ArrayList<>(), unused = new ArrayList<>();
            waitForForwarding(p);
            waitForTraffic(B);
            sample(() -> counter(B, "rx_packets"), () -> 0, peer, unused);
            List<Double> own = stop(p, "Tx-pps");
            report("TX dpdk", own, true, peer, false);
            return mean(peer);
        } finally {
            p.destroyForcibly();
        }
    }

    // ---- RX ----

    static double javaRx() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong calls = new AtomicLong();
        try (XdpLink l = XdpLink.open(XdpConfig.of(A).withAttach(attach)); PacketBatch b = new PacketBatch(64, 2048)) {
            AtomicLong cpu = new AtomicLong();
            Thread t = Thread.ofPlatform().name("xdp-bench-rx").start(() -> {
                long busy = 0;
                try {
                    CpuAffinity.pinCurrentThread(rxCpu);
                    while (!stop.get()) {
                        b.clear();
                        long t0 = System.nanoTime();
                        if (l.receive(b) > 0) {
                            busy += System.nanoTime() - t0;
                            calls.incrementAndGet();
                        }
                    }
                } catch (IOException e) {
                    e.printStackTrace();
                }
                cpu.set(busy);
            });
            try {
                if (source.equals("live")) {
                    try (LiveFrameSource src = liveSource()) {
                        src.start(srcCpu);
                        waitForGrowth(() -> l.counters().snapshot().rxPackets(), "the Java XSK", src);
                        List<Double> got = new ArrayList<>(), offered = new ArrayList<>();
                        sample(() -> l.counters().snapshot().rxPackets(), src::sent, got, offered);
                        src.check();
                        report("RX java", got, false, offered, false);
                    }
                } else {
                    Process src = testpmd(tag + "-bsrc", B, "txonly", "0@0,1@1", mac(A));
                    try {
                        waitForForwarding(src);
                        waitForTraffic(A);
                        List<Double> got = new ArrayList<>(), unused = new ArrayList<>();
                        sample(() -> l.counters().snapshot().rxPackets(), () -> 0, got, unused);
                        List<Double> offered = stop(src, "Tx-pps");
                        report("RX java", got, false, offered, true);
                    } finally {
                        src.destroyForcibly();
                    }
                }
                System.out.println("      kernel drops: " + l.statistics());
                return lastMean;
            } finally {
                stop.set(true);
                t.join();
                cpuPerPacket(cpu.get(), l.counters().snapshot().rxPackets());
                System.out.printf("      java: %.1f packets per non-empty receive call%n",
                        (double) l.counters().snapshot().rxPackets() / Math.max(1, calls.get()));
            }
        }
    }

    static double dpdkRx() throws Exception {
        // The forwarding lcore (lcore 1) on rxCpu, the main lcore (stats, mostly asleep) on the other.
        Process rx = testpmd(tag + "-brx", A, "rxonly", "0@" + (1 - rxCpu) + ",1@" + rxCpu, mac(B));
        Process src = null;
        LiveFrameSource live = null;
        try {
            waitForForwarding(rx);
            System.out.println("      testpmd's XDP program on " + A + ": " + xdpMode(A));
            List<Double> offered = new ArrayList<>(), unused = new ArrayList<>();
            if (source.equals("live")) {
                live = liveSource();
                live.start(srcCpu);
                LiveFrameSource ls = live;
                waitForGrowth(ls::sent, "the live-frame source", ls);
                // testpmd prints its own per-second rates; the source's are sampled meanwhile.
                sample(ls::sent, () -> 0, offered, unused);
                live.check();
                live.close();
                live = null;
            } else {
                src = testpmd(tag + "-bsrc", B, "txonly", "0@0,1@1", mac(A));
                waitForForwarding(src);
                waitForTraffic(A);
                Thread.sleep(seconds * 1000L);
                offered = stop(src, "Tx-pps");
            }
            List<Double> got = stop(rx, "Rx-pps");
            report("RX dpdk", got, true, offered, source.equals("testpmd"));
            return mean(tail(got, 0));
        } finally {
            rx.destroyForcibly();
            if (src != null) src.destroyForcibly();
            if (live != null) live.close();
        }
    }

    /**
     * The kernel's XDP_DROP ceiling: {@code return XDP_DROP} attached in {@code mode} on the
     * receiving end, the live source feeding it; the rate is what the source pushed through per
     * second (its softirq runs the drop program inline, so it cannot outrun it) and, in native
     * mode, the veth's own XDP drop counter (generic XDP drops are not counted by the veth).
     */
    static double dropCeiling(XdpProgram.Attach mode) throws Exception {
        int ifindex = ifindex(A);
        try (Fd prog =
                XdpProgram.load(new BpfAssembler().mov64Imm(BpfAssembler.R0, BpfAttrLayout.XDP_DROP).exit(), "rl_drop");
             Fd link = XdpProgram.linkCreate(prog, ifindex, A, mode);
             LiveFrameSource src = liveSource()) {
            long d0 = ethtoolSum(A, "xdp_drops");
            src.start(srcCpu);
            waitForGrowth(src::sent, "the live-frame source", src);
            List<Double> sent = new ArrayList<>(), drops = new ArrayList<>();
            sample(src::sent, () -> ethtoolSum(A, "xdp_drops"), sent, drops);
            src.check();
            System.out.printf("  DROP %-3s source %7.3f Mpps   veth xdp_drops %7.3f Mpps (total %d)   per-second "
                    + "source samples (Mpps) %s%n",
                    mode.name().toLowerCase(Locale.ROOT), mean(sent) / 1e6, mean(drops) / 1e6,
                            ethtoolSum(A, "xdp_drops") - d0, fmt(sent));
            return mean(drops) > 0 ? mean(drops) : mean(sent);
        }
    }

    static LiveFrameSource liveSource() throws IOException {
        try (PacketBatch f = new PacketBatch(1, 2048)) {
            int i = udpFrame(f, mac(B), mac(A), 0x0a4f0002, 0x0a4f0001, size, 0);
            return LiveFrameSource.toInterface(ifindex(B), f.data(i).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }

    /**
     * How an XDP program is attached to {@code dev}, from {@code ip -d link}: "xdp" (native), "xdpgeneric" or "none".
     */
    static String xdpMode(String dev) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "-d", "link", "show", "dev", dev).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        Matcher m = Pattern.compile("\\b(xdpgeneric|xdpdrv|xdpoffload|xdp)\\b").matcher(out);
        return m.find() ? (m.group(1).equals("xdp") ? "native (drv)" : m.group(1)) : "none";
    }

    static int ifindex(String dev) throws IOException {
        return Integer.parseInt(Files.readString(Path.of("/sys/class/net", dev, "ifindex")).trim());
    }

    /** Sum of the {@code ethtool -S} counters of {@code dev} whose names end in {@code suffix} (per-queue counters). */
    static long ethtoolSum(String dev, String suffix) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ethtool", "-S", dev).redirectErrorStream(true).start();
        long sum = 0;
        for (String line : new String(p.getInputStream().readAllBytes()).split("\n")) {
            String[] kv = line.trim().split(":\\s*");
            if (kv.length == 2 && kv[0].endsWith(suffix)) sum += Long.parseLong(kv[1].trim());
        }
        p.waitFor();
        return sum;
    }

    /**
     * Waits (up to 15 s) until {@code counter} grows by more than 1000 in 200 ms; fails at once
     * with the source's own error if the live source stopped.
     */
    static void waitForGrowth(LongSource counter, String what, LiveFrameSource source) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        long prev = counter.get();
        while (System.nanoTime() < deadline) {
            Thread.sleep(200);
            source.check();
            long now = counter.get();
            if (now - prev > 1000) return;
            prev = now;
        }
        throw new IllegalStateException("no traffic reached " + what + " within 15 s");
    }

    // ---- helpers ----

    /**
     * Wall time spent inside receive/transmit calls that moved packets, per packet (TX includes
     * the kernel's copy-mode transmit inside sendto). Empty polls are not counted, so on a busy
     * machine this separates "slow code" from "not scheduled"; preemption inside a call still
     * inflates it.
     */
    static void cpuPerPacket(long busyNanos, long packets) {
        if (packets > 0) {
            System.out.printf("      java: %.0f ns per packet inside calls that moved packets (%d packets)%n",
                    (double) busyNanos / packets, packets);
        }
    }

    interface LongSource { long get() throws Exception; }

    /** Samples two counters once a second for {@link #seconds}; keeps per-second deltas after the first second. */
    static void sample(LongSource a, LongSource b, List<Double> ra, List<Double> rb) throws Exception {
        long pa = a.get(), pb = b.get(), pt = System.nanoTime();
        var jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        long jit0 = 0;
        for (int s = 0; s < seconds; s++) {
            if (s == warmup) jit0 = jit.getTotalCompilationTime();
            Thread.sleep(1000);
            long na = a.get(), nb = b.get(), nt = System.nanoTime();
            double dt = (nt - pt) / 1e9;
            if (s >= warmup) {
                ra.add((na - pa) / dt);
                rb.add((nb - pb) / dt);
            }
            pa = na;
            pb = nb;
            pt = nt;
        }
        jitMsCounted = jit.getTotalCompilationTime() - jit0;
    }

    /**
     * Milliseconds this JVM's JIT spent compiling during the counted seconds of the last
     * {@link #sample}: compiler threads are not pinned and take CPU from the receiver or the source
     * (testpmd has none), so a Java figure taken while this is large was not steady.
     */
    static long jitMsCounted;

    /** The app's mean rate of the last {@link #report}. */
    static double lastMean;

    static double mean(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }

    /**
     * testpmd's steady-state samples: drops the start-up seconds (before its first non-zero
     * sample), the first {@link #warmup} non-zero ones (the first a partial second) and the last
     * one (may straddle the stop);
     * zero samples in between are kept so a stalled receiver is not flattered.
     */
    static List<Double> tail(List<Double> xs, int unused) {
        int first = 0;
        while (first < xs.size() && xs.get(first) == 0) first++;
        if (xs.size() - first <= warmup + 1) return xs.subList(first, xs.size());
        return xs.subList(first + warmup, xs.size() - 1);
    }

    /** Prints one case; {@code ownFromTestpmd}/{@code otherFromTestpmd} lists still hold testpmd's start-up samples. */
    static void report(String what, List<Double> own, boolean ownFromTestpmd, List<Double> other,
            boolean otherFromTestpmd) {
        double o = mean(ownFromTestpmd ? tail(own, 0) : own), x = mean(otherFromTestpmd ? tail(other, 0) : other);
        lastMean = o;
        System.out.printf("  %-8s app %7.3f Mpps   %s %7.3f Mpps   per-second app samples (Mpps) %s%s%n", what, o / 1e6,
                what.startsWith("TX") ? "peer rx_packets" : "offered by source", x / 1e6, fmt(own),
                what.contains("java") ? "   JIT " + jitMsCounted + " ms in the counted seconds" : "");
    }

    static String fmt(List<Double> xs) {
        StringBuilder sb = new StringBuilder("[");
        for (double x : xs) sb.append(String.format(Locale.ROOT, "%.2f ", x / 1e6));
        return sb.toString().trim() + "]";
    }

    static Process testpmd(String prefix, String iface, String mode, String lcores, byte[] peerMac) throws IOException {
        Path log = Path.of("/tmp/" + prefix + ".log");
        List<String> cmd = List.of("dpdk-testpmd", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix,
                "--lcores=" + lcores, "--vdev", "net_af_xdp0,iface=" + iface + ",start_queue=0,queue_count=1",
                "--", "--forward-mode=" + mode, "--txpkts=" + size, "--stats-period", "1", "--nb-cores=1",
                "--total-num-mbufs=16384", "--eth-peer=0," + macString(peerMac));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static void waitForForwarding(Process p) throws Exception {
        Path log = Path.of("/tmp/" + prefixOf(p) + ".log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) throw new IllegalStateException("dpdk-testpmd exited:\n" + Files.readString(log));
            if (Files.exists(log) && Files.readString(log).contains("Press enter to exit")
                    || Files.readString(log).contains("Port statistics")) {
                Thread.sleep(500);
                return;
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("dpdk-testpmd did not start forwarding in 20 s:\n" + Files.readString(log));
    }

    /** Waits (up to 15 s) until frames flow into {@code dev}, so that start-up is not measured. */
    static void waitForTraffic(String dev) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        long prev = counter(dev, "rx_packets");
        while (System.nanoTime() < deadline) {
            Thread.sleep(200);
            long now = counter(dev, "rx_packets");
            if (now - prev > 1000) return;
            prev = now;
        }
        throw new IllegalStateException("no traffic reached " + dev + " within 15 s");
    }

    static String prefixOf(Process p) {
        return p.info().arguments().map(a -> {
            for (int i = 0; i < a.length - 1; i++) if (a[i].equals("--file-prefix")) return a[i + 1];
            return "unknown";
        }).orElse("unknown");
    }

    /** Stops testpmd (SIGTERM: it prints final statistics) and returns its per-second samples of {@code field}. */
    static List<Double> stop(Process p, String field) throws Exception {
        String prefix = prefixOf(p);
        p.destroy();
        if (!p.waitFor(15, TimeUnit.SECONDS)) p.destroyForcibly();
        String out = Files.readString(Path.of("/tmp/" + prefix + ".log"));
        List<Double> xs = new ArrayList<>();
        Matcher m = Pattern.compile(field + ":\\s+(\\d+)").matcher(out);
        while (m.find()) xs.add(Double.parseDouble(m.group(1)));
        if (xs.isEmpty()) throw new IllegalStateException("no " + field + " in testpmd output:\n" + out);
        return xs;
    }

    /**
     * Appends an Ethernet/IPv4/UDP frame of {@code frameLen} bytes (at least 42) to {@code b}:
     * {@code srcIp:4000 -> dstIp:9}, IP id and the payload's first word {@code seq}, no UDP
     * checksum, a correct IP header checksum (10.79.0.1 is 0x0a4f0001).
     */
    static int udpFrame(PacketBatch b, byte[] srcMac, byte[] dstMac, int srcIp, int dstIp, int frameLen, int seq) {
        int i = b.add();
        b.setLength(i, frameLen);
        MemorySegment m = b.memory();
        long o = b.dataOffset(i), ip = o + 14, udp = ip + 20;
        m.asSlice(o, frameLen).fill((byte) 0);
        MemorySegment.copy(dstMac, 0, m, ValueLayout.JAVA_BYTE, o, 6);
        MemorySegment.copy(srcMac, 0, m, ValueLayout.JAVA_BYTE, o + 6, 6);
        m.set(Endian.BE16, o + 12, (short) 0x0800);
        m.set(ValueLayout.JAVA_BYTE, ip, (byte) 0x45);
        m.set(Endian.BE16, ip + 2, (short) (frameLen - 14));
        m.set(Endian.BE16, ip + 4, (short) seq);
        m.set(Endian.BE16, ip + 6, (short) 0x4000);
        m.set(ValueLayout.JAVA_BYTE, ip + 8, (byte) 64);
        m.set(ValueLayout.JAVA_BYTE, ip + 9, (byte) 17);
        m.set(Endian.BE32, ip + 12, srcIp);
        m.set(Endian.BE32, ip + 16, dstIp);
        m.set(Endian.BE16, ip + 10, (short) Checksum.checksum(m, ip, 20));
        m.set(Endian.BE16, udp, (short) 4000);
        m.set(Endian.BE16, udp + 2, (short) 9);
        m.set(Endian.BE16, udp + 4, (short) (frameLen - 34));
        if (frameLen >= 46) m.set(Endian.BE32, udp + 8, seq);
        return i;
    }

    static long counter(String dev, String name) throws IOException {
        return Long.parseLong(Files.readString(Path.of("/sys/class/net", dev, "statistics", name)).trim());
    }

    static byte[] mac(String dev) throws IOException {
        String[] p = Files.readString(Path.of("/sys/class/net", dev, "address")).trim().split(":");
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte) Integer.parseInt(p[i], 16);
        return b;
    }

    static String macString(byte[] m) {
        return String.format("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    }

    static int sh(String cmd) {
        try {
            Process p = new ProcessBuilder("sh", "-c", cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    static void must(String cmd) {
        if (sh(cmd) != 0) throw new IllegalStateException("failed: " + cmd);
    }
}
