package ringlink.xdp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import ringlink.link.Link;
import ringlink.link.LinkSpec;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.testing.Env;

/**
 * AF_XDP links against the real kernel: veth pairs whose far ends live in network namespaces
 * (rlxd-a, rlxd-b, rlxd-c), traffic from the kernel stack, ping and iperf3.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class XdpLinkTest {
    static final String NS = "rlxd-a", NS_B = "rlxd-b", NS_C = "rlxd-c";
    static final String HOST = "rlxd0", PEER = "rlxd1";
    static final String HOST_IP = "10.77.0.1", PEER_IP = "10.77.0.2";
    static boolean ready;

    @BeforeAll
    static void setUp() {
        if (!Env.isRoot() || Env.which("ip") == null) return; // each test that needs it says so via Env
        cleanUp();
        Netns.veth(NS, HOST, PEER, HOST_IP, PEER_IP, 1);
        ready = true;
    }

    @AfterAll
    static void cleanUp() {
        Netns.removeVeth(HOST);
        Netns.removeVeth("rlxd2");
        Netns.removeVeth("rlxd4");
        Netns.removeNs(NS, NS_B, NS_C);
    }

    static void requireFixture() {
        Env.requireNetns();
        Env.require(Env.which("ethtool") != null, "program `ethtool` (Debian package ethtool)");
        Env.require(ready, "the veth/netns fixture (rlxd0 <-> rlxd-a/rlxd1)");
    }

    static XdpConfig base() {
        return XdpConfig.of(HOST).withFrames(1024, 2048);
    }

    /** Receives into {@code b} until {@code want} frames to UDP port {@code port} arrived or the time is up. */
    static int receivePort(Link l, PacketBatch b, int port, int want, long millis,
            StringBuilder firstPayload) throws IOException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        int got = 0;
        while (got < want && System.nanoTime() < deadline) {
            b.clear();
            int n = l.receive(b);
            for (int i = 0; i < n; i++) {
                if (UdpFrames.udpDstPort(b, i) == port) {
                    if (got == 0 && firstPayload != null) firstPayload.append(UdpFrames.udpPayload(b, i));
                    got++;
                }
            }
            if (n == 0 && l.prepareToWait()) {
                PollSet.pollOne(l.readyFd(), PollfdLayout.POLLIN, 50);
                l.finishWait();
            }
        }
        return got;
    }

    static void sendUdpFromNs(String ns, String dstIp, int port, int count) {
        Netns.in(ns, "bash -c 'for i in $(seq 1 " + count + "); do printf \"rlxd-%d\" $i > /dev/udp/" + dstIp + "/"
                + port + "; done'");
    }

    @Test
    void badConfigurationFailsBeforeAnythingIsCreated() throws Exception {
        var e1 = assertThrows(IllegalArgumentException.class,
                () -> XdpLink.open(XdpConfig.of("lo").withFrames(1024, 3000)));
        assertTrue(e1.getMessage().contains("3000") && e1.getMessage().contains("unaligned"), e1.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> XdpLink.open(XdpConfig.of("lo").withRing(1000)));
        assertTrue(e2.getMessage().contains("1000") && e2.getMessage().contains("power of two"), e2.getMessage());
        var e3 = assertThrows(XdpException.class, () -> XdpLink.open(XdpConfig.of("rlxdnope")));
        assertTrue(e3.getMessage().contains("rlxdnope") && e3.getMessage().contains("no network interface"),
                e3.getMessage());
        var e4 = assertThrows(IllegalArgumentException.class, () -> Links.open("xdp:lo?frames=64&ring=64"));
        assertTrue(e4.getMessage().contains("2 x ring"), e4.getMessage());
        var e5 = assertThrows(IllegalArgumentException.class, () -> Links.open("xdp:lo?mode=fast"));
        assertTrue(e5.getMessage().contains("copy, zerocopy or auto"), e5.getMessage());
        // Each of these is thrown by validate(), which runs before the UMEM is mapped or a program loaded.
        for (Exception e : new Exception[] {e1, e2, e3, e4}) {
            assertTrue(java.util.Arrays.stream(e.getStackTrace()).anyMatch(f -> f.getMethodName().equals("validate")),
                    "not from validate(): " + e);
        }
        requireFixture();
        var e6 = assertThrows(IllegalArgumentException.class, () -> XdpLink.open(base().withQueue(7)));
        assertTrue(e6.getMessage().contains("queue 7 does not exist"), e6.getMessage());
        assertEquals("", Netns.xdpOf(HOST), "nothing may stay attached after a refused configuration");
    }

    @Test
    void nativeAttachOnADeviceWithoutNativeXdpSaysWhatToDo() throws Exception {
        requireFixture();
        var e = assertThrows(XdpException.class, () -> XdpLink.open(XdpConfig.of("lo").withFrames(256, 2048)
                .withAttach(XdpProgram.Attach.DRV)));
        assertTrue(e.getMessage().contains("attach=skb"), e.getMessage());
        assertEquals("", Netns.xdpOf("lo"));
    }

    @Test
    void theProgramPassesFramesOfQueuesWithoutASocket() throws Exception {
        requireFixture();
        int ifindex = ringlink.sys.Net.ifNameToIndex(HOST);
        try (XdpProgram p = XdpProgram.attach(ifindex, HOST, XdpProgram.Attach.SKB, 1)) {
            assertTrue(Netns.xdpOf(HOST).contains("xdpgeneric"), Netns.xdpOf(HOST));
            Netns.in(NS, "ip neigh flush dev " + PEER);
            // ARP and ICMP go through our program and, with no socket in the XSKMAP, on to the stack.
            Netns.in(NS, "ping -c 2 -i 0.2 -W 2 " + HOST_IP);
        }
        assertEquals("", Netns.xdpOf(HOST), "closing the BPF link detaches the program");
    }

    @ParameterizedTest
    @EnumSource(XdpProgram.Attach.class)
    void receivesTrafficFromTheKernelStack(XdpProgram.Attach attach) throws Exception {
        requireFixture();
        Netns.in(NS,
                "ip neigh replace " + HOST_IP + " lladdr " + Netns.mac(null, HOST) + " dev " + PEER + " nud permanent");
        try (Link l = Links.open(new LinkSpec("xdp", HOST, java.util.Map.of("attach", attach.name().toLowerCase(),
                "frames", "1024", "ring", "512")));
             PacketBatch b = new PacketBatch(64, 2048)) {
            assertInstanceOf(XdpLink.class, l);
            assertTrue(Netns.xdpOf(HOST).contains(attach == XdpProgram.Attach.SKB ? "xdpgeneric" : "xdp"),
                    Netns.xdpOf(HOST));
            sendUdpFromNs(NS, HOST_IP, 9999, 300);
            StringBuilder first = new StringBuilder();
            int got = receivePort(l, b, 9999, 300, 10_000, first);
            assertEquals(300, got, "frames received " + l.counters().snapshot() + " " + ((XdpLink) l).statistics());
            assertEquals("rlxd-1", first.toString());
            assertFalse(((XdpLink) l).zeroCopy());
        } finally {
            Netns.in(NS, "ip neigh del " + HOST_IP + " dev " + PEER + " || true");
        }
        assertEquals("", Netns.xdpOf(HOST));
        Netns.in(NS, "ping -c 1 -W 2 " + HOST_IP); // the stack has the interface back
    }

    @Test
    void zeroCopyOnVethFallsBackToCopyAndSaysSo() throws Exception {
        requireFixture();
        try (XdpLink l = XdpLink.open(base().withAttach(XdpProgram.Attach.DRV).withMode(XskSocket.Mode.ZEROCOPY))) {
            assertFalse(l.zeroCopy());
            assertNotNull(l.modeNote());
            assertTrue(l.modeNote().contains("fell back to copy"), l.modeNote());
        }
        try (XdpLink l = XdpLink.open(base().withMode(XskSocket.Mode.AUTO))) {
            assertFalse(l.zeroCopy());
            assertTrue(l.modeNote().contains("copy"), l.modeNote());
        }
    }

    @Test
    void rebindingTheQueueRightAfterCloseWorks() throws Exception {
        requireFixture();
        long before = XdpLink.EBUSY_RETRIES.get();
        for (int i = 0; i < 5; i++) {
            try (XdpLink l = XdpLink.open(base())) {
                assertTrue(l.isOpen());
            }
        }
        System.out.println("[xdp rebind] EBUSY retries over 5 close/reopen cycles: "
                + (XdpLink.EBUSY_RETRIES.get() - before));
    }

    @Test
    void closeWakesAThreadWaitingOnReadyFd() throws Exception {
        requireFixture();
        XdpLink l = XdpLink.open(base());
        AtomicReference<Long> woke = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                if (l.prepareToWait()) PollSet.pollOne(l.readyFd(), PollfdLayout.POLLIN, 10_000);
                woke.set(System.nanoTime());
            } catch (IOException e) {
                woke.set(System.nanoTime());
            }
        });
        Thread.sleep(200);
        long closedAt = System.nanoTime();
        l.close();
        t.join(5_000);
        assertNotNull(woke.get(), "waiter still asleep after close");
        assertTrue(woke.get() - closedAt < 2_000_000_000L);
        assertThrows(ringlink.link.LinkClosedException.class, () -> l.receive(new PacketBatch(1, 2048)));
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void transmitsAMillionFramesAndEveryFrameIsDeliveredOrCountedAsDropped() throws Exception {
        requireFixture();
        byte[] src = Netns.macBytes(Netns.mac(null, HOST)), dst = Netns.macBytes(Netns.mac(NS, PEER));
        int total = 1_000_000;
        long rx0 = Netns.stat(NS, PEER, "rx_packets");
        long dropped0 = Netns.stat(null, HOST, "tx_dropped");
        try (XdpLink l = XdpLink.open(base()); PacketBatch b = new PacketBatch(64, 2048)) {
            for (int k = 0; k < 64; k++) {
                UdpFrames.append(b, src, dst, UdpFrames.ip(HOST_IP), UdpFrames.ip(PEER_IP), 4000, 9, 64, k);
            }
            long sent = 0;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (sent < total && System.nanoTime() < deadline) {
                int want = (int) Math.min(64, total - sent);
                int n = l.transmit(b, 0, want);
                sent += n;
                if (n == 0) Thread.onSpinWait();
            }
            assertEquals(total, sent, "frames taken before the deadline");
            assertTrue(l.drainTx(5_000), "completions outstanding: " + (l.txFrames() - l.txFramesFree()));
            assertEquals(l.txFrames(), l.txFramesFree(), "every TX frame is back in the pool");
            assertEquals(total, l.counters().snapshot().txPackets());
            assertEquals(0, l.statistics().txInvalidDescs());
        }
        long rx = Netns.stat(NS, PEER, "rx_packets") - rx0;
        long dropped = Netns.stat(null, HOST, "tx_dropped") - dropped0;
        // Every frame the kernel took from the ring reached the peer or was counted as dropped by veth.
        // veth drops when the peer CPU's backlog (net.core.netdev_max_backlog) is full, which happens
        // whenever the receiving softirq falls behind a flat-out sender, as on a loaded 2-core CI
        // machine (CI saw 26 % dropped once); the drop is the kernel's policy, not a lost frame, so
        // the test checks the accounting, and only a loose floor on delivery.
        System.out.println("[xdp tx 1e6] peer rx_packets delta " + rx + ", host tx_dropped delta " + dropped);
        assertTrue(rx + dropped >= total, "frames unaccounted for: peer received " + rx + ", host dropped " + dropped
                + ", sent " + total);
        assertTrue(rx >= total / 10,
                "peer received only " + rx + " of " + total + " (host tx_dropped " + dropped + ")");
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void l2ForwardBetweenTwoXsksCarriesPingAndIperf3() throws Exception {
        requireFixture();
        Env.requireProgram("iperf3", "iperf3");
        Netns.veth(NS_B, "rlxd2", "rlxd3", null, "10.78.0.1", 1);
        Netns.veth(NS_C, "rlxd4", "rlxd5", null, "10.78.0.2", 1);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (XdpLink a = XdpLink.open(XdpConfig.of("rlxd2").withFrames(4096, 2048));
             XdpLink c = XdpLink.open(XdpConfig.of("rlxd4").withFrames(4096, 2048))) {
            Thread fwd = Thread.ofPlatform().name("rlxd-forward").start(() -> {
                try (PacketBatch ab = new PacketBatch(64, 2048); PacketBatch cb = new PacketBatch(64, 2048);
                     PollSet ps = new PollSet(2)) {
                    ps.add(a.readyFd(), PollfdLayout.POLLIN);
                    ps.add(c.readyFd(), PollfdLayout.POLLIN);
                    while (!stop.get()) {
                        int moved = forward(a, c, ab) + forward(c, a, cb);
                        if (moved == 0 && a.prepareToWait() && c.prepareToWait()) {
                            ps.poll(20);
                            a.finishWait();
                            c.finishWait();
                        }
                    }
                } catch (Throwable t) {
                    if (!stop.get()) failure.set(t);
                }
            });
            try {
                System.out.println("[fwd] ping"); Netns.in(NS_B, "timeout 10 ping -c 3 -i 0.2 -W 2 10.78.0.2");
                System.out.println("[fwd] iperf3");
                Netns.in(NS_C, "iperf3 -s -1 -D -B 10.78.0.2 -I /tmp/rlxd-iperf3.pid >/dev/null 2>&1 </dev/null");
                Thread.sleep(300);
                String out = Netns.in(NS_B, "timeout 20 iperf3 -c 10.78.0.2 -t 2 -f m --connect-timeout 3000");
                assertTrue(out.contains("receiver"), out);
                System.out.println("[xdp l2 forward] iperf3:\n"
                        + out.lines().filter(s -> s.contains("sender") || s.contains("receiver"))
                        .reduce("", (x, y) -> x + y + "\n"));
            } finally {
                stop.set(true);
                fwd.join(5_000);
            }
            if (failure.get() != null) throw new AssertionError("forwarder failed", failure.get());
            assertTrue(a.counters().snapshot().rxPackets() > 100);
        } finally {
            Netns.shQuiet(
                    "test -f /tmp/rlxd-iperf3.pid && kill $(cat /tmp/rlxd-iperf3.pid); rm -f /tmp/rlxd-iperf3.pid");
            Netns.removeVeth("rlxd2");
            Netns.removeVeth("rlxd4");
        }
    }

    @Test
    void unalignedChunksCarryOddFrameSizes() throws Exception {
        requireFixture();
        Netns.in(NS,
                "ip neigh replace " + HOST_IP + " lladdr " + Netns.mac(null, HOST) + " dev " + PEER + " nud permanent");
        byte[] src = Netns.macBytes(Netns.mac(null, HOST)), dst = Netns.macBytes(Netns.mac(NS, PEER));
        try (XdpLink l = XdpLink.open(base().withFrames(512, 3000).withUnaligned(true));
                PacketBatch b = new PacketBatch(64, 4096)) {
            assertEquals(3000 - Umem.XDP_PACKET_HEADROOM, l.maxReceiveSize());
            sendUdpFromNs(NS, HOST_IP, 9996, 50);
            assertEquals(50, receivePort(l, b, 9996, 50, 10_000, null));
            long rx0 = Netns.stat(NS, PEER, "rx_packets");
            long dropped0 = Netns.stat(null, HOST, "tx_dropped");
            b.clear();
            for (int k = 0; k < 64; k++)
                    UdpFrames.append(b, src, dst, UdpFrames.ip(HOST_IP), UdpFrames.ip(PEER_IP), 4000, 9, 1400, k);
            int sent = 0;
            for (int round = 0; round < 20; round++) sent += l.transmit(b, 0, 64);
            assertTrue(l.drainTx(5_000));
            assertEquals(0, l.statistics().txInvalidDescs(), "no frame crossed a page boundary");
            // Delivered or counted as dropped by veth (its peer backlog overflows under load).
            long rx = Netns.stat(NS, PEER, "rx_packets") - rx0,
                    dropped = Netns.stat(null, HOST, "tx_dropped") - dropped0;
            assertTrue(rx + dropped >= sent, "sent " + sent + ", peer received " + rx + ", host dropped " + dropped);
            assertTrue(rx > 0, "nothing reached the peer");
        } finally {
            Netns.in(NS, "ip neigh del " + HOST_IP + " dev " + PEER + " || true");
        }
    }

    @Test
    void aCorruptRingStopsTheLinkNotTheJvm() throws Exception {
        requireFixture();
        try (XdpLink l = XdpLink.open(base()); PacketBatch b = new PacketBatch(64, 2048)) {
            XskRing rx = l.socket().rx;
            var intAt = java.lang.foreign.ValueLayout.JAVA_INT;
            int cons = rx.mem.get(intAt, rx.consumerOff);
            // A descriptor pointing far outside the UMEM: dropped and counted, never read.
            rx.setDesc(cons, 1L << 40, 1000);
            rx.mem.set(intAt, rx.producerOff, cons + 1);
            assertEquals(0, l.receive(b));
            assertEquals(1, l.counters().snapshot().errors());
            // A producer index claiming more entries than the ring has: the link stops with a typed error.
            rx.mem.set(intAt, rx.producerOff, cons + 1 + 100_000);
            assertThrows(ringlink.link.LinkFailedException.class, () -> l.receive(b));
            assertFalse(l.isOpen());
            // The link stays stopped, even once the ring looks sane again.
            rx.mem.set(intAt, rx.producerOff, cons + 1);
            var again = assertThrows(ringlink.link.LinkFailedException.class, () -> l.transmit(b));
            assertTrue(again.getMessage().contains("stopped earlier"), again.getMessage());
        }
    }

    /** Moves one batch from {@code from} to {@code to}; frames the TX ring cannot take right now are dropped. */
    static int forward(Link from, Link to, PacketBatch b) throws IOException {
        b.clear();
        int n = from.receive(b);
        if (n == 0) return 0;
        int sent = 0;
        for (int tries = 0; sent < n && tries < 1000; tries++) sent += to.transmit(b, sent, n);
        return n;
    }
}
