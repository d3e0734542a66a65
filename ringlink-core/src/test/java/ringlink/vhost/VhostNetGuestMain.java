package ringlink.vhost;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import ringlink.link.Link;
import ringlink.link.LinkException;
import ringlink.link.LinkStats;
import ringlink.link.Links;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.virtio.SplitQueueDriver;
import ringlink.virtio.VirtioFeature;

/**
 * Runs inside the QEMU guest (the host kernel has no vhost-net): opens two vhost-net links on
 * TAPs rlvn0 and rlvn1, moves rlvn1 into its own network namespace, and bridges the two links in
 * Java. The guest kernel's stack then talks to itself through our rings in both directions:
 * ping of many sizes (v4 and v6, both ways), TCP bulk transfer both ways (superpackets when the
 * offloads allow them), a raw frame of an experimental ethertype, and the error paths.
 *
 * <p>Usage: {@code selftest CONFIG...}, each a link spec query string (e.g. {@code offload=none}
 * {@code offload=all&mrg-rxbuf=off}), prefixed {@code 2threads:} to bridge with one thread per
 * direction (receive and transmit of a link then run concurrently); prints {@code VHOSTNET-SELFTEST-OK <params>} per
 * configuration and exits non-zero on any failure.
 */
public final class VhostNetGuestMain {
    private VhostNetGuestMain() {}

    public static void main(String[] args) throws Exception {
        try {
            if (args.length < 1) throw new IllegalArgumentException("usage: selftest OFFLOADS... | bench ...");
            switch (args[0]) {
                case "selftest" -> {
                    errorsAreClear();
                    brokenRingStopsOnlyThatLink();
                    for (String o : Arrays.copyOfRange(args, 1, args.length)) selftest(o);
                }
                case "bench" -> VhostNetGuestBench.main(Arrays.copyOfRange(args, 1, args.length));
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
        } catch (Throwable t) {
            System.out.println("VHOSTNET-FAILED " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
        System.exit(0);
    }

    static void step(String what) {
        System.out.println("STEP " + what);
        System.out.flush();
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    private static void errorsAreClear() throws Exception {
        step("missing device gives a clear error");
        try (Link l = Links.open("vhost-net:tap=rlvnx?device=/dev/rlvn-nonexistent")) {
            throw new AssertionError("opened a link on a missing device: " + l);
        } catch (VhostUnavailableException e) {
            check(e.getMessage().contains("does not exist") && e.getMessage().contains("modprobe vhost_net"),
                    e.getMessage());
        }
        check(!GuestNet.exists("rlvnx"), "a failed open left TAP rlvnx behind");

        step("required feature the kernel lacks gives a clear error");
        VhostNetLink.Options o = VhostNetLink.Options.of("rlvnx").withFeatures(
                VhostNetLink.SUPPORTED.with(VirtioFeature.IN_ORDER),
                        ringlink.virtio.FeatureSet.of(VirtioFeature.IN_ORDER));
        try (Link l = VhostNetLink.open(o)) {
            throw new AssertionError("IN_ORDER is not something vhost-net offers, yet opened " + l);
        } catch (LinkException e) {
            check(e.getMessage().contains("features do not match"), e.getMessage());
        }
    }

    /**
     * Hands the kernel a transmit descriptor outside the memory table: vhost signals the error
     * eventfd, which must wake a receiver asleep on readyFd and stop that link with a
     * LinkFailedException, while another link keeps working.
     */
    private static void brokenRingStopsOnlyThatLink() throws Exception {
        step("a ring the kernel rejects stops only that link");
        try (VhostNetLink c = (VhostNetLink) Links.open("vhost-net:tap=rlvn2?offload=none");
             VhostNetLink d = (VhostNetLink) Links.open("vhost-net:tap=rlvn3?offload=none");
             PacketBatch batch = new PacketBatch(8, 2048)) {
            var outcome = new java.util.concurrent.CompletableFuture<Throwable>();
            Thread sleeper = new Thread(() -> {
                try (PacketBatch b = new PacketBatch(64, 2048)) {
                    long end = System.nanoTime() + 20_000_000_000L;
                    while (System.nanoTime() < end) {
                        b.clear();
                        if (c.receive(b) == 0 && c.prepareToWait()) {
                            PollSet.pollOne(c.readyFd(), PollfdLayout.POLLIN, 10_000);
                            c.finishWait();
                        }
                    }
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            });
            sleeper.start();
            Thread.sleep(300);
            // 64 bytes at guest address 16: in no region of the table.
            SplitQueueDriver txq = VhostNetInternals.txQueue(c);
            check(txq.offer(16L, 64, false) >= 0, "could not offer the bad descriptor");
            txq.publish();
            VhostNetInternals.txKick(c).signal();
            Throwable t = outcome.get(10, TimeUnit.SECONDS);
            check(t instanceof ringlink.link.LinkFailedException && t.getMessage().contains("VHOST_SET_VRING_ERR"),
                    "the sleeper ended with " + t);
            check(!c.isOpen(), "a failed link reports open");
            try {
                c.transmit(batch);
                throw new AssertionError("transmit on a failed link did not throw");
            } catch (ringlink.link.LinkFailedException expected) {
                // stays stopped
            }
            GuestNet.sh("ip", "link", "set", "rlvn3", "up");
            long before = GuestNet.stat("rlvn3", "rx_packets");
            int i = batch.add();
            batch.memory().asSlice(batch.dataOffset(i), 60).fill((byte) 0xff);
            batch.setLength(i, 60);
            check(d.transmit(batch) == 1, "the other link did not take a packet");
            waitFor(() -> GuestNet.stat("rlvn3", "rx_packets") > before, 5_000, "the other link still delivers");
        }
    }

    /**
     * One configuration: {@code params} is the spec's query string, e.g. {@code offload=all} or
     * {@code offload=tso&mrg-rxbuf=off&event-idx=off&indirect=off}.
     */
    private static void selftest(String config) throws Exception {
        // "2threads:": one bridge thread per direction; "zerocopy:": that, receiving straight into
        // the other link's zero-copy transmit batches.
        boolean zeroCopy = config.startsWith("zerocopy:");
        boolean twoThreads = zeroCopy || config.startsWith("2threads:");
        String params = twoThreads ? config.substring(config.indexOf(':') + 1) : config;
        ringlink.link.LinkSpec spec = ringlink.link.LinkSpec.parse("vhost-net:x?" + params);
        Offloads want = Offloads.parse(spec.param("offload", "all"));
        step("open two links with " + params);
        Process ns = null;
        Bridge bridge = null;
        String qa = spec.params().containsKey("queue-size") ? "" : "&queue-size=256";
        String qb = spec.params().containsKey("queue-size") ? "" : "&queue-size=128";
        try (VhostNetLink a = (VhostNetLink) Links.open("vhost-net:tap=rlvn0?" + params + qa);
             VhostNetLink b = (VhostNetLink) Links.open("vhost-net:tap=rlvn1?" + params + qb)) {
            System.out.println("link A " + a);
            System.out.println("link B " + b);
            check(a.features().has(VirtioFeature.VERSION_1), "VERSION_1 not negotiated: " + a.features());
            for (var f : List.of(List.of("mrg-rxbuf", VirtioFeature.NET_MRG_RXBUF),
                    List.of("event-idx", VirtioFeature.EVENT_IDX),
                    List.of("indirect", VirtioFeature.INDIRECT_DESC))) {
                boolean expect = !spec.param((String) f.get(0), "auto").equals("off");
                check(a.features().has((VirtioFeature) f.get(1)) == expect, f.get(1) + " negotiated should be " + expect
                        + ": " + a.features());
            }
            check(a.offloads().equals(want) || a.offloads().equals(want.without(Offloads.USO)),
                    "offloads " + a.offloads() + " vs requested " + want);

            step("a TAP in use gives a clear error");
            try (Link l = Links.open("vhost-net:tap=rlvn1")) {
                throw new AssertionError("opened rlvn1 twice: " + l);
            } catch (LinkException e) {
                check(e.getMessage().contains("in use"), e.getMessage());
            }

            step("raw frames of an experimental ethertype reach the kernel");
            GuestNet.sh("ip", "link", "set", "rlvn0", "up");
            long before = GuestNet.stat("rlvn0", "rx_packets");
            try (PacketBatch batch = new PacketBatch(16, 2048)) {
                int[] sizes = {60, 61, 64, 100, 127, 128, 500, 1000, 1200, 1514};
                for (int s : sizes) {
                    int i = batch.add();
                    MemorySegment d = batch.memory().asSlice(batch.dataOffset(i), s);
                    d.fill((byte) 0x5a);
                    for (int k = 0; k < 6; k++) d.set(ValueLayout.JAVA_BYTE, k, (byte) 0xff); // broadcast
                    d.set(ValueLayout.JAVA_BYTE, 6, (byte) 0x02);
                    d.set(ValueLayout.JAVA_BYTE, 12, (byte) 0x88);
                    d.set(ValueLayout.JAVA_BYTE, 13, (byte) 0xb5);
                    batch.setLength(i, s);
                }
                int sent = 0;
                for (int tries = 0; sent < sizes.length && tries < 1000; tries++)
                        sent += a.transmit(batch, sent, batch.count());
                check(sent == sizes.length, "transmitted " + sent + " of " + sizes.length);
            }
            waitFor(() -> GuestNet.stat("rlvn0", "rx_packets") >= before + 10, 10_000,
                    "the kernel counted the 10 raw frames on rlvn0");

            step("namespace and addresses");
            ns = GuestNet.newNetns();
            long pid = ns.pid();
            GuestNet.sh("sysctl", "-w", "net.ipv6.conf.rlvn0.accept_dad=0");
            GuestNet.sh("ip", "addr", "add", "10.77.0.1/24", "dev", "rlvn0");
            GuestNet.sh("ip", "addr", "add", "fd77::1/64", "dev", "rlvn0");
            GuestNet.sh("ip", "link", "set", "rlvn1", "netns", Long.toString(pid));
            GuestNet.nsSh(pid, "ip", "link", "set", "lo", "up");
            GuestNet.nsSh(pid, "sysctl", "-w", "net.ipv6.conf.rlvn1.accept_dad=0");
            GuestNet.nsSh(pid, "ip", "addr", "add", "10.77.0.2/24", "dev", "rlvn1");
            GuestNet.nsSh(pid, "ip", "addr", "add", "fd77::2/64", "dev", "rlvn1");
            GuestNet.nsSh(pid, "ip", "link", "set", "rlvn1", "up");

            if (zeroCopy) {
                step("zero-copy batches: clear errors for a wrong capacity, a foreign batch, a packet without header "
                        + "room");
                for (int cap : new int[] {0, 257}) {
                    try {
                        a.newTransmitBatch(cap);
                        throw new AssertionError("a zero-copy batch of capacity " + cap + " on a 256-entry queue");
                    } catch (IllegalArgumentException e) {
                        check(e.getMessage().contains("capacity"), e.getMessage());
                    }
                }
                try (PacketBatch foreign = new PacketBatch(1, 2048)) {
                    a.transmitted(foreign);
                    throw new AssertionError("transmitted() took a batch that is not the link's");
                } catch (IllegalArgumentException e) {
                    check(e.getMessage().contains("not a zero-copy batch"), e.getMessage());
                }
                PacketBatch zc = a.newTransmitBatch(4);
                zc.setData(zc.add(), 0, 60);
                try {
                    a.transmit(zc);
                    throw new AssertionError("sent a zero-copy packet with no room for its header");
                } catch (IllegalArgumentException e) {
                    check(e.getMessage().contains("headroom"), e.getMessage());
                }
                check(a.transmitted(zc), "a batch nothing was sent from counts as transmitted");
            }
            bridge = zeroCopy ? Bridge.zeroCopy(a, b) : new Bridge(a, b, twoThreads);
            bridge.start();
            System.out.println("bridge on " + bridge.threads.length + " thread(s)");

            step("ping both directions, many sizes");
            for (int size : new int[] {0, 1, 56, 64, 200, 512, 1000, 1400, 1472, 1473, 2000, 4000, 8972, 20000, 40000
                    }) {
                GuestNet.sh("ping", "-c", "1", "-W", "5", "-s", Integer.toString(size), "10.77.0.2");
                GuestNet.nsSh(pid, "ping", "-c", "1", "-W", "5", "-s", Integer.toString(size), "10.77.0.1");
                bridge.check();
            }
            for (int size : new int[] {8, 1000, 1452, 3000}) {
                GuestNet.sh("ping6", "-c", "1", "-W", "5", "-s", Integer.toString(size), "fd77::2");
                GuestNet.nsSh(pid, "ping6", "-c", "1", "-W", "5", "-s", Integer.toString(size), "fd77::1");
            }
            bridge.check();

            byte[] blob = new byte[4 << 20];
            new Random(42).nextBytes(blob);

            step("TCP download through both links (namespace -> root)");
            Path www = Files.createDirectories(Path.of("/tmp/www"));
            Files.write(www.resolve("blob"), blob);
            Process httpd =
                    new ProcessBuilder("nsenter", "-t", Long.toString(pid), "-n", "httpd", "-f", "-p", "10.77.0.2:8080",
                    "-h", www.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                            .start();
            try {
                byte[] got = null;
                for (int tries = 0; got == null; tries++) {
                    try (InputStream in = URI.create("http://10.77.0.2:8080/blob").toURL().openStream()) {
                        got = in.readAllBytes();
                    } catch (IOException e) {
                        if (tries > 50) throw e;
                        Thread.sleep(100); // httpd not listening yet
                    }
                }
                check(Arrays.equals(blob, got),
                        "downloaded " + got.length + " bytes differ from the " + blob.length + " sent");
            } finally {
                httpd.destroyForcibly();
            }
            bridge.check();

            step("TCP upload through both links (root -> namespace)");
            Path up = Path.of("/tmp/upload");
            Files.deleteIfExists(up);
            Process nc = new ProcessBuilder("nsenter", "-t", Long.toString(pid), "-n", "nc", "-l", "-p", "5002")
                    .redirectOutput(up.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try {
                Socket s = null;
                for (int tries = 0; s == null; tries++) {
                    try {
                        s = new Socket();
                        s.connect(new InetSocketAddress("10.77.0.2", 5002), 5000);
                    } catch (IOException e) {
                        s.close();
                        s = null;
                        if (tries > 50) throw e;
                        Thread.sleep(100);
                    }
                }
                try (Socket sock = s; OutputStream out = sock.getOutputStream()) {
                    out.write(blob);
                }
                waitFor(() -> Files.size(up) >= blob.length, 60_000, "nc received " + blob.length + " bytes");
                nc.waitFor(2, TimeUnit.SECONDS);
                check(Arrays.equals(blob, Files.readAllBytes(up)), "uploaded bytes differ");
            } finally {
                nc.destroyForcibly();
            }
            bridge.check();
            bridge.stop();
            bridge.check();

            step("close wakes a thread sleeping on readyFd, which then sees the link closed");
            var outcome = new java.util.concurrent.CompletableFuture<Throwable>();
            Thread sleeper = new Thread(() -> {
                try (PacketBatch batch = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
                    long end = System.nanoTime() + 20_000_000_000L;
                    while (System.nanoTime() < end) {
                        batch.clear();
                        if (a.receive(batch) == 0 && a.prepareToWait()) {
                            PollSet.pollOne(a.readyFd(), PollfdLayout.POLLIN, 10_000);
                            a.finishWait();
                        }
                    }
                    outcome.complete(null);
                } catch (Throwable t) {
                    outcome.complete(t);
                }
            });
            sleeper.start();
            Thread.sleep(300);
            LinkStats sa = a.counters().snapshot();
            a.close();
            Throwable woke = outcome.get(5, TimeUnit.SECONDS);
            check(woke instanceof ringlink.link.LinkClosedException, "the sleeper ended with " + woke);
            check(!a.isOpen(), "closed link reports open");

            LinkStats sb = b.counters().snapshot();
            System.out.println("counters A " + sa);
            System.out.println("counters B " + sb);
            check(sa.rxDrops() == 0 && sb.rxDrops() == 0, "receive drops");
            check(sa.txDrops() == 0 && sb.txDrops() == 0, "transmit drops");
            boolean gso = a.offloads().has(Offloads.TSO4);
            if (gso) {
                check(sa.superpackets() > 0 && sb.superpackets() > 0,
                        "no TSO superpackets passed with offloads " + a.offloads());
            } else {
                check(sa.superpackets() == 0 && sb.superpackets() == 0, "superpackets without offloads");
            }
        } finally {
            if (bridge != null) bridge.stop();
            if (ns != null) {
                ns.destroyForcibly();
                ns.waitFor(5, TimeUnit.SECONDS);
            }
        }
        step("close removes the TAPs we created");
        waitFor(() -> !GuestNet.exists("rlvn0"), 5_000, "rlvn0 removed after close");
        System.out.println("VHOSTNET-SELFTEST-OK " + config);
    }

    interface Cond {
        boolean get() throws Exception;
    }

    static void waitFor(Cond c, long millis, String what) throws Exception {
        long end = System.nanoTime() + millis * 1_000_000;
        while (!c.get()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting: " + what);
            Thread.sleep(20);
        }
    }

    /**
     * Forwards every packet between two links in both directions, sleeping when idle: on one
     * thread, or (twoThreads) one thread per direction, so each link is received on one thread
     * while the other thread transmits on it, as the Link contract allows.
     */
    static final class Bridge {
        private final Link a, b;
        private final Thread[] threads;
        private volatile boolean stop;
        private final AtomicReference<Throwable> error = new AtomicReference<>();

        Bridge(Link a, Link b, boolean twoThreads) {
            this.a = a;
            this.b = b;
            if (twoThreads) {
                threads = new Thread[] {
                        new Thread(() -> run(a, b), "bridge-ab"), new Thread(() -> run(b, a), "bridge-ba")};
            } else {
                threads = new Thread[] {new Thread(this::runBoth, "bridge")};
            }
            for (Thread t : threads) t.setDaemon(true);
        }

        private Bridge(VhostNetLink a, VhostNetLink b) {
            this.a = a;
            this.b = b;
            threads = new Thread[] {new Thread(() -> runZeroCopy(a, b), "bridge-zc-ab"),
                    new Thread(() -> runZeroCopy(b, a), "bridge-zc-ba")};
            for (Thread t : threads) t.setDaemon(true);
        }

        /** One thread per direction, each receiving into the destination's zero-copy batches (two, used in turn). */
        static Bridge zeroCopy(VhostNetLink a, VhostNetLink b) {
            return new Bridge(a, b);
        }

        private void runZeroCopy(Link from, VhostNetLink to) {
            try {
                PacketBatch[] bufs = {to.newTransmitBatch(64), to.newTransmitBatch(64)};
                int cur = 0, sent = 0;
                long rounds = 0;
                while (!stop) {
                    PacketBatch batch = bufs[cur];
                    if (sent == batch.count() && sent > 0) {
                        // Everything in this batch is the kernel's now: go on in the other one once the kernel is done
                        // with it.
                        to.awaitTransmitted(bufs[cur ^ 1], 10_000);
                        cur ^= 1;
                        batch = bufs[cur];
                        batch.clear();
                        sent = 0;
                        rounds++;
                    }
                    int got = batch.isFull() ? 0 : from.receive(batch);
                    if (sent < batch.count()) sent += to.transmit(batch, sent, batch.count());
                    if (got == 0 && sent == batch.count() && from.prepareToWait()) {
                        PollSet.pollOne(from.readyFd(), PollfdLayout.POLLIN, 50);
                        from.finishWait();
                    } else if (got == 0 && sent < batch.count()) {
                        Thread.onSpinWait(); // destination ring full: retry
                    }
                }
                if (rounds == 0) throw new AssertionError("no zero-copy batch went round from " + from.name() + " to "
                        + to.name());
            } catch (Throwable t) {
                error.compareAndSet(null, t);
            }
        }

        void start() {
            for (Thread t : threads) t.start();
        }

        void stop() throws InterruptedException {
            stop = true;
            for (Thread t : threads) t.join(5000);
        }

        void check() {
            Throwable t = error.get();
            if (t != null) throw new AssertionError("bridge failed: " + t, t);
        }

        private void runBoth() {
            try (PacketBatch ab = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
                 PacketBatch ba = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
                 PollSet poll = new PollSet(2)) {
                poll.add(a.readyFd(), PollfdLayout.POLLIN);
                poll.add(b.readyFd(), PollfdLayout.POLLIN);
                while (!stop) {
                    int n = forward(a, b, ab) + forward(b, a, ba);
                    if (n == 0 && ab.isEmpty() && ba.isEmpty()) {
                        boolean sleepA = a.prepareToWait();
                        boolean sleepB = b.prepareToWait();
                        if (sleepA && sleepB) poll.poll(50);
                        if (sleepA) a.finishWait();
                        if (sleepB) b.finishWait();
                    }
                }
            } catch (Throwable t) {
                error.compareAndSet(null, t);
            }
        }

        private void run(Link from, Link to) {
            try (PacketBatch pending = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
                while (!stop) {
                    int n = forward(from, to, pending);
                    if (n == 0 && pending.isEmpty() && from.prepareToWait()) {
                        PollSet.pollOne(from.readyFd(), PollfdLayout.POLLIN, 50);
                        from.finishWait();
                    } else if (n == 0 && !pending.isEmpty()) {
                        Thread.onSpinWait(); // destination full: retry
                    }
                }
            } catch (Throwable t) {
                error.compareAndSet(null, t);
            }
        }

        /** Receives into {@code pending} and transmits what it holds; keeps what the destination could not take. */
        private static int forward(Link from, Link to, PacketBatch pending) throws IOException {
            int got = pending.isFull() ? 0 : from.receive(pending);
            if (!pending.isEmpty()) {
                int sent = to.transmit(pending);
                pending.removeFirst(sent);
            }
            return got;
        }
    }
}
