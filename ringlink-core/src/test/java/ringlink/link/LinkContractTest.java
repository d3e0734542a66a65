package ringlink.link;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import ringlink.memif.MemifLink;
import ringlink.packet.PacketBatch;
import ringlink.testing.CloseWake;
import ringlink.testing.Env;
import ringlink.udp.UdpLink;
import ringlink.vhostuser.BackendConfig;
import ringlink.vhostuser.Connection;
import ringlink.vhostuser.FrontendConfig;
import ringlink.vhostuser.VhostUserBackend;
import ringlink.vhostuser.VhostUserFrontend;

/**
 * The {@link Link} contract, run on every link type that can be made two-ended in one process
 * (issue #16, section 2): a transmitted batch arrives intact and counted, back-pressure is a short
 * count (never a block), {@link Link#close()} wakes a thread asleep in
 * {@link Link#awaitReadable} or in epoll on {@link Link#readyFd()} on both ends, a closed
 * link throws {@link LinkClosedException}, and close() while another thread is inside a receive
 * waits for it to leave before releasing the link's memory ({@link LinkState}).
 *
 * <p>Each case opens a fresh pair of ends (a, b). Kernel-backed kinds need root and create
 * objects named {@code rlct*} (removed when the case ends); without root they skip, and fail
 * under CI=true ({@link Env#require}). Not here: vhost-net (the host has no /dev/vhost-net; its
 * data path runs in a guest: {@code VhostNetGuestTest}).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LinkContractTest {
    /** Bound on every wake-up the contract promises (generous: the machine is shared). */
    static final long WAKE_SECONDS = 5;
    /** Our frames' EtherType (IEEE local experimental), so kernel links' own traffic is ignored. */
    static final int ETHERTYPE = 0x88b5;
    static final String VETH_A = "rlctva", VETH_B = "rlctvb", TAP = "rlcttap";

    @TempDir Path tmp;

    /**
     * Two connected ends and what else to release; {@code ring}: transmit back-pressures (a ring, not a kernel queue
     * that drops).
     */
    record Ends(Link a, Link b, boolean ring, boolean exclusive, AutoCloseable extra) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            a.close();
            b.close();
            if (extra != null) extra.close();
        }
    }

    interface Factory {
        Ends open(Path dir) throws Exception;
    }

    record Kind(String name, Factory factory) {
        @Override public String toString() { return name; }
    }

    static Stream<Kind> kinds() {
        return Stream.of(
                new Kind("pair", d -> {
                    PairLink[] p = PairLink.create("rlct-pair", 64, 2048, Layer.L2, 1500, Offloads.NONE);
                    return new Ends(p[0], p[1], true, true, p[0]::free);
                }),
                new Kind("vhost-user split", d -> vhostUser(false)),
                new Kind("vhost-user packed", d -> vhostUser(true)),
                new Kind("shm", LinkContractTest::shm),
                new Kind("memif", LinkContractTest::memif),
                new Kind("udp", d -> udp()),
                new Kind("vxlan", d -> tunnel("vxlan")),
                new Kind("geneve", d -> tunnel("geneve")),
                new Kind("tap<->packet", d -> tapAndPacket()),
                new Kind("packet<->packet (veth)", d -> overVeth("packet:" + VETH_A)),
                new Kind("xdp<->packet (veth)", d -> overVeth("xdp:" + VETH_A + "?frames=1024&mode=copy&attach=skb")));
    }

    // ---- the kinds ----

    /** Our back-end (a) and our front-end (b) over a socketpair. */
    static Ends vhostUser(boolean packed) throws Exception {
        Connection[] p = Connection.pair();
        VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
        VhostUserFrontend fe;
        try {
            fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults().withPacked(packed));
        } catch (IOException | RuntimeException e) {
            be.close();
            throw e;
        }
        Ends ends = new Ends(be.link(0), fe.link(0), true, true, () -> {
            fe.close();
            be.close();
        });
        if (!be.awaitReady(1, 5000)) {
            ends.close();
            fail("vhost-user rings not started: " + be.lastError());
        }
        return ends;
    }

    /** Our shm server (a, listening on a path in dir) and our client (b). */
    static Ends shm(Path dir) throws Exception {
        Path sock = dir.resolve("rlct-shm.sock");
        CompletableFuture<Link> server = CompletableFuture.supplyAsync(() -> {
            try {
                return Links.open("shm:" + sock + "?role=server&timeout=10000");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!Files.exists(sock) && !server.isDone() && System.nanoTime() < end) Thread.sleep(2);
        Link client = Links.open("shm:" + sock + "?role=client&timeout=10000");
        Link srv;
        try {
            srv = server.get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            client.close();
            throw e;
        }
        return new Ends(srv, client, true, true, null);
    }

    /** Our memif server (a) and client (b) on a socket path in dir. */
    static Ends memif(Path dir) throws Exception {
        String sock = dir.resolve("rlct-memif.sock").toString();
        Link srv = Links.open("memif:" + sock + "?role=server&ring-size=256");
        Link cli;
        try {
            cli = Links.open("memif:" + sock + "?role=client&ring-size=256");
        } catch (IOException | RuntimeException e) {
            srv.close();
            throw e;
        }
        Ends ends = new Ends(srv, cli, true, true, null);
        if (!((MemifLink) cli).owner().awaitConnected(10, TimeUnit.SECONDS)
                || !((MemifLink) srv).owner().awaitConnected(10, TimeUnit.SECONDS)) {
            ends.close();
            fail("memif not connected: " + ((MemifLink) cli).owner().lastError() + " / "
                    + ((MemifLink) srv).owner().lastError());
        }
        return ends;
    }

    /** Two UDP sockets on loopback, each the other's remote. */
    static Ends udp() throws Exception {
        UdpLink a = (UdpLink) Links.open("udp:127.0.0.1:0?accept=any");
        int pa = a.localAddress().getPort();
        UdpLink b;
        try {
            b = (UdpLink) Links.open("udp:127.0.0.1:0?remote=127.0.0.1:" + pa);
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        int pb = b.localAddress().getPort();
        a.close();
        // Re-bound on its port with b as its remote (the port is ours again at once: no other
        // socket took it in between, or this throws and the case fails loudly).
        try {
            a = (UdpLink) Links.open("udp:127.0.0.1:" + pa + "?remote=127.0.0.1:" + pb);
        } catch (IOException | RuntimeException e) {
            b.close();
            throw e;
        }
        // UDP drops in the kernel instead of pushing back: no back-pressure contract.
        return new Ends(a, b, false, true, null);
    }

    /**
     * Two tunnel links of {@code scheme} on loopback, each the other's remote (learning off: every frame floods to it).
     */
    static Ends tunnel(String scheme) throws Exception {
        int pa = freeUdpPort(), pb = freeUdpPort();
        Link a = Links.open(scheme + ":127.0.0.1?remote=127.0.0.1&vni=42&port=" + pa + "&dstport=" + pb);
        Link b;
        try {
            b = Links.open(scheme + ":127.0.0.1?remote=127.0.0.1&vni=42&port=" + pb + "&dstport=" + pa);
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        // UDP underneath: the kernel drops instead of pushing back.
        return new Ends(a, b, false, true, null);
    }

    static int freeUdpPort() throws IOException {
        try (java.net.DatagramSocket s = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A TAP queue (a) and an AF_PACKET socket (b) on the same TAP device. */
    static Ends tapAndPacket() throws Exception {
        Env.requireTun();
        Env.requireNetns();
        Link tap = Links.open("tap:" + TAP);
        Link pkt;
        try {
            quiet(TAP);
            pkt = Links.open("packet:" + TAP);
        } catch (IOException | RuntimeException | Error e) {
            tap.close();
            throw e;
        }
        // The kernel may add its own frames (filtered out by EtherType) and drops instead of
        // pushing back on a TAP: no back-pressure contract.
        return new Ends(tap, pkt, false, false, null);
    }

    /** {@code aSpec} on one end of a veth pair (VETH_A), an AF_PACKET socket on the other. */
    static Ends overVeth(String aSpec) throws Exception {
        Env.requireNetns();
        Env.runQuiet(10, "ip", "link", "del", VETH_A);
        Env.run(10, "ip", "link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B);
        AutoCloseable del = () -> Env.runQuiet(10, "ip", "link", "del", VETH_A);
        try {
            quiet(VETH_A);
            quiet(VETH_B);
            Env.run(10, "ip", "link", "set", VETH_A, "up");
            Env.run(10, "ip", "link", "set", VETH_B, "up");
            Link a = Links.open(aSpec);
            Link b;
            try {
                b = Links.open("packet:" + VETH_B);
            } catch (IOException | RuntimeException e) {
                a.close();
                throw e;
            }
            return new Ends(a, b, false, false, del);
        } catch (Exception | Error e) {
            del.close();
            throw e;
        }
    }

    /** No IPv6 autoconfiguration traffic of the kernel's own on our test device. */
    private static void quiet(String dev) {
        Env.runQuiet(10, "sysctl", "-qw", "net.ipv6.conf." + dev + ".disable_ipv6=1");
    }

    // ---- the contract ----

    /** A batch from either end arrives at the other: every packet, the same bytes, counted on both sides. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void transmittedBatchArrivesIntactAndCounted(Kind kind) throws Exception {
        try (Ends e = kind.factory().open(tmp)) {
            transfer(e, e.a(), e.b(), 48);
            transfer(e, e.b(), e.a(), 48);
        }
    }

    static void transfer(Ends e, Link from, Link to, int n) throws Exception {
        LinkStats f0 = from.counters().snapshot(), t0 = to.counters().snapshot();
        long bytes = 0;
        try (PacketBatch out = new PacketBatch(n, 2048)) {
            for (int s = 0; s < n; s++) bytes += frame(out, s);
            int sent = 0;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAKE_SECONDS);
            while (sent < n && System.nanoTime() < end) {
                sent += from.transmit(out, sent, n);
                if (sent < n) from.awaitWritable(Duration.ofMillis(10));
            }
            assertEquals(n, sent, from.name() + ": took fewer than a small batch");
        }
        Map<Integer, byte[]> got = receiveOurs(to, n, WAKE_SECONDS);
        assertEquals(n, got.size(), () -> to.name() + ": received " + got.keySet() + " of " + n);
        for (int s = 0; s < n; s++) {
            assertArrayEquals(expected(s), got.get(s), to.name() + ": packet " + s + " differs");
        }
        LinkStats f = from.counters().snapshot().minus(f0), t = to.counters().snapshot().minus(t0);
        assertEquals(n, f.txPackets(), from.name() + " tx packets");
        assertEquals(bytes, f.txBytes(), from.name() + " tx bytes");
        assertEquals(0, f.txDrops(), from.name() + " tx drops");
        if (e.exclusive()) {
            assertEquals(n, t.rxPackets(), to.name() + " rx packets");
            assertEquals(bytes, t.rxBytes(), to.name() + " rx bytes");
        } else {
            // The kernel's own frames (if any) cross too, and are counted.
            assertTrue(t.rxPackets() >= n && t.rxBytes() >= bytes, () -> to.name() + " rx " + t);
        }
        assertEquals(0, t.rxDrops(), to.name() + " rx drops");
    }

    /** Back-pressure: a ring that is full takes fewer than offered and returns at once; what it took all arrives. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void backPressureIsAShortCountNotABlock(Kind kind) throws Exception {
        try (Ends e = kind.factory().open(tmp)) {
            if (!e.ring()) {
                // Kernel queues (TAP, AF_PACKET, UDP) drop instead: only "never blocks" applies.
                assertTimeoutPreemptively(Duration.ofSeconds(20), () -> flood(e.a(), 200));
                return;
            }
            fillAndDrain(e.a(), e.b());
            fillAndDrain(e.b(), e.a());
        }
    }

    static void fillAndDrain(Link from, Link to) throws Exception {
        LinkStats f0 = from.counters().snapshot();
        long taken = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> flood(from, -1));
        assertEquals(0, from.counters().snapshot().minus(f0).txDrops(),
                from.name() + ": dropped instead of pushing back");
        // The receiver drains everything that was taken, and then the sender has room again.
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long n = drainCount(to);
        while (n < taken && System.nanoTime() < end) {
            to.awaitReadable(Duration.ofMillis(50));
            n += drainCount(to);
        }
        assertEquals(taken, n, to.name() + ": not everything the full sender took arrived");
        try (PacketBatch one = new PacketBatch(1, 2048)) {
            frame(one, 0);
            int t = 0;
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAKE_SECONDS);
            while (t == 0 && System.nanoTime() < until) {
                t = from.transmit(one);
                if (t == 0) from.awaitWritable(Duration.ofMillis(10));
            }
            assertEquals(1, t, from.name() + ": no room again after the receiver drained");
        }
        long last = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAKE_SECONDS);
        long one = drainCount(to);
        while (one == 0 && System.nanoTime() < last) {
            to.awaitReadable(Duration.ofMillis(50));
            one += drainCount(to);
        }
        assertEquals(1, one, to.name() + ": the packet sent after the drain");
    }

    /**
     * Transmits 64-packet batches until one is taken short (limit &lt; 0) or {@code limit}
     * batches were sent; returns how many packets were taken.
     */
    static long flood(Link from, int limit) throws IOException {
        try (PacketBatch out = new PacketBatch(64, 2048)) {
            for (int s = 0; s < 64; s++) frame(out, s);
            long taken = 0;
            for (int round = 0; limit < 0 || round < limit; round++) {
                int t = from.transmit(out);
                assertTrue(t >= 0 && t <= 64, "count in range");
                taken += t;
                if (t < 64 && limit < 0) return taken;
                assertTrue(round < 1_000_000, from.name() + ": never pushed back");
            }
            return taken;
        }
    }

    /** close() wakes a thread asleep in awaitReadable(30 s) within a few seconds, on each end. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void closeWakesAThreadAsleepInAwaitReadableOnBothEnds(Kind kind) throws Exception {
        try (Ends e = kind.factory().open(tmp)) {
            Sleeper sa = new Sleeper(e.a()), sb = new Sleeper(e.b());
            try {
                assertTrue(sa.asleep.await(WAKE_SECONDS, TimeUnit.SECONDS)
                        && sb.asleep.await(WAKE_SECONDS, TimeUnit.SECONDS));
                Thread.sleep(50); // into poll(2) by now, most of the time
                e.a().close();
                assertTrue(sa.done.await(WAKE_SECONDS, TimeUnit.SECONDS),
                        e.a().name() + ": close() did not wake its sleeper");
                e.b().close();
                assertTrue(sb.done.await(WAKE_SECONDS, TimeUnit.SECONDS),
                        e.b().name() + ": close() did not wake its sleeper");
            } finally {
                e.a().close();
                e.b().close();
                sa.thread.join(WAKE_SECONDS * 1000);
                sb.thread.join(WAKE_SECONDS * 1000);
            }
            sa.check();
            sb.check();
        }
    }

    /** The same with a thread asleep in an epoll set of its own on readyFd (how a loop over many links sleeps). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void closeWakesAnEpollSleeperOnBothEnds(Kind kind) throws Exception {
        try (Ends e = kind.factory().open(tmp)) {
            CloseWake.assertCloseWakesEpollSleeper(e.a());
        }
        try (Ends e = kind.factory().open(tmp)) {
            CloseWake.assertCloseWakesEpollSleeper(e.b());
        }
    }

    /**
     * After close(): isOpen false, receive and transmit throw LinkClosedException, waiting returns, close is
     * idempotent.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void useAfterCloseThrowsLinkClosedException(Kind kind) throws Exception {
        try (Ends e = kind.factory().open(tmp); PacketBatch b = new PacketBatch(4, 2048);
             PacketBatch rx = new PacketBatch(4, PacketBatch.SUPERPACKET_BUFFER)) {
            e.a().close();
            e.b().close();
            e.a().close();
            frame(b, 0);
            for (Link l : List.of(e.a(), e.b())) {
                assertFalse(l.isOpen(), l.name());
                assertThrows(LinkClosedException.class, () -> l.receive(rx), l.name() + " receive");
                assertThrows(LinkClosedException.class, () -> l.transmit(b), l.name() + " transmit");
                assertTimeoutPreemptively(Duration.ofSeconds(WAKE_SECONDS), () -> {
                    try {
                        assertTrue(l.awaitReadable(Duration.ofSeconds(30)),
                                l.name() + ": awaitReadable on a closed link");
                    } catch (LinkClosedException ok) {
                        // also allowed: the next receive would throw it anyway
                    }
                });
            }
        }
    }

    /**
     * close() while another thread is inside receive: close waits until that call has left
     * before it releases anything (deterministic: this thread holds the link's receive "in
     * flight" through its {@link LinkState}, as a receive does between entry and exit); then a
     * thread receiving flat out while the link closes sees only {@link LinkClosedException}
     * (never a fault, an {@link IllegalStateException} from unmapped memory, or a JVM crash).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void closeWaitsForAReceiveInFlight(Kind kind) throws Exception {
        for (int end = 0; end < 2; end++) {
            // a fresh pair for each end: closing one may close the other (a peer that hangs up)
            try (Ends e = kind.factory().open(tmp)) {
                closeWaitsForReceive(end == 0 ? e.a() : e.b());
            }
        }
        try (Ends e = kind.factory().open(tmp)) {
            for (Link l : List.of(e.a(), e.b())) receiveWhileClosing(l);
        }
    }

    /** With this thread "inside receive" on {@code l}: close() on another thread waits for it. */
    static void closeWaitsForReceive(Link l) throws Exception {
                LinkState st = stateOf(l);
        if (st == null) {
            // PairLink: its memory goes in free(), after both ends stopped (by construction).
            assertInstanceOf(PairLink.class, l, l.name() + ": every other link keeps a LinkState");
            return;
        }
        st.enterReceive(); // this thread is now "inside receive"
        Thread closer = Thread.ofPlatform().name("rlct-closer").start(l::close);
        try {
            closer.join(300);
            assertTrue(closer.isAlive(), l.name() + ": close() returned while a receive was in flight");
            assertFalse(l.isOpen(), l.name() + ": closing, so no longer open");
        } finally {
            st.exitReceive();
        }
        closer.join(TimeUnit.SECONDS.toMillis(WAKE_SECONDS));
        assertFalse(closer.isAlive(), l.name() + ": close() did not finish after the receive left");
    }

    /** A thread receives in a loop; close() from this one; the receiver must end with LinkClosedException only. */
    static void receiveWhileClosing(Link l) throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Throwable> end = new CompletableFuture<>();
        Thread rx = Thread.ofPlatform().name("rlct-rx").start(() -> {
            try (PacketBatch in =
                    new PacketBatch(64, Math.max(2048, l.maxReceiveSize()) + PacketBatch.DEFAULT_HEADROOM)) {
                started.countDown();
                while (true) {
                    in.clear();
                    l.receive(in);
                }
            } catch (Throwable t) {
                end.complete(t);
            }
        });
        assertTrue(started.await(WAKE_SECONDS, TimeUnit.SECONDS));
        Thread.sleep(20);
        l.close();
        Throwable t = end.get(WAKE_SECONDS, TimeUnit.SECONDS);
        rx.join(TimeUnit.SECONDS.toMillis(WAKE_SECONDS));
        if (!(t instanceof LinkClosedException)) {
            throw new AssertionError(l.name() + ": a receive racing close() ended with " + t, t);
        }
    }

    /** The link's {@link LinkState} (a private field of every link but PairLink), or null. */
    static LinkState stateOf(Link l) throws IllegalAccessException {
        for (Class<?> c = l.getClass(); c != null; c = c.getSuperclass()) {
            for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                if (f.getType() == LinkState.class) {
                    f.setAccessible(true);
                    return (LinkState) f.get(l);
                }
            }
        }
        return null;
    }

    // ---- helpers ----

    /** A thread asleep in awaitReadable(30 s) until its link closes. */
    static final class Sleeper {
        final Link link;
        final CountDownLatch asleep = new CountDownLatch(1), done = new CountDownLatch(1);
        final Thread thread;
        volatile Throwable error;

        Sleeper(Link link) {
            this.link = link;
            this.thread = Thread.ofPlatform().name("rlct-sleeper").start(this::run);
        }

        private void run() {
            try {
                asleep.countDown();
                // A wake-up without packets (a peer leaving, a spurious one) sleeps again while
                // the link is open; only close() ends the loop.
                while (link.isOpen()) {
                    if (!link.awaitReadable(Duration.ofSeconds(30))) {
                        error = new AssertionError(link.name() + ": slept 30 s through");
                        return;
                    }
                }
            } catch (LinkClosedException | LinkFailedException expected) {
                // closed (or the peer's leaving failed it): awake either way
            } catch (Throwable t) {
                error = t;
            } finally {
                done.countDown();
            }
        }

        void check() {
            if (error != null) throw new AssertionError(link.name() + ": the sleeper failed", error);
        }
    }

    /** Our test frame {@code seq}: broadcast, our EtherType, seq, a pattern; sizes vary 60..1459. */
    static byte[] expected(int seq) {
        int size = 60 + (seq * 337) % 1400;
        byte[] f = new byte[size];
        for (int k = 0; k < 6; k++) f[k] = (byte) 0xff;
        f[6] = 0x02;
        f[11] = 0x01;
        f[12] = (byte) (ETHERTYPE >> 8);
        f[13] = (byte) ETHERTYPE;
        f[14] = (byte) (seq >> 8);
        f[15] = (byte) seq;
        for (int k = 16; k < size; k++) f[k] = (byte) (k * 7 + seq);
        return f;
    }

    static int frame(PacketBatch b, int seq) {
        byte[] f = expected(seq);
        int i = b.add();
        MemorySegment.copy(f, 0, b.memory(), ValueLayout.JAVA_BYTE, b.dataOffset(i), f.length);
        b.setLength(i, f.length);
        return f.length;
    }

    /**
     * Receives until {@code n} of our frames arrived (n &lt; 0: until nothing more comes within
     * the bound), by sequence number; other frames are ignored.
     */
    static Map<Integer, byte[]> receiveOurs(Link to, int n, long seconds) throws IOException {
        Map<Integer, byte[]> got = new HashMap<>();
        List<Integer> dup = new ArrayList<>();
        try (PacketBatch in = new PacketBatch(64, Math.max(2048, to.maxReceiveSize()) + PacketBatch.DEFAULT_HEADROOM)) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while ((n < 0 || got.size() < n) && System.nanoTime() < end) {
                in.clear();
                int r = to.receive(in);
                if (r == 0) {
                    if (!to.awaitReadable(Duration.ofMillis(50)) && n < 0) break;
                    continue;
                }
                for (int i = 0; i < in.count(); i++) {
                    byte[] p = new byte[in.length(i)];
                    MemorySegment.copy(in.memory(), ValueLayout.JAVA_BYTE, in.dataOffset(i), p, 0, p.length);
                    if (p.length < 16 || (p[12] & 0xff) != ETHERTYPE >> 8 || (p[13] & 0xff) != (ETHERTYPE & 0xff))
                            continue;
                    int seq = (p[14] & 0xff) << 8 | p[15] & 0xff;
                    if (got.put(seq, p) != null && n >= 0) dup.add(seq);
                }
            }
        }
        assertTrue(dup.isEmpty(), () -> to.name() + ": duplicates " + dup);
        return got;
    }

    /** Receives whatever is ready now; returns how many packets. */
    static long drainCount(Link to) throws IOException {
        long n = 0;
        try (PacketBatch in = new PacketBatch(64, Math.max(2048, to.maxReceiveSize()) + PacketBatch.DEFAULT_HEADROOM)) {
            while (true) {
                in.clear();
                int r = to.receive(in);
                if (r == 0) return n;
                n += r;
            }
        }
    }
}
