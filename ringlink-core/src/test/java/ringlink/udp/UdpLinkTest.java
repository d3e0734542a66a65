package ringlink.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.sw.Switch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/**
 * The udp link against a plain-socket peer written in Python (src/test/python/udppeer.py), on
 * loopback, IPv4 and IPv6: our UDP_SEGMENT runs arrive as the right datagrams at a plain socket
 * and as runs of the right segment size at a UDP_GRO socket; the peer's UDP_SEGMENT runs reach
 * our UDP_GRO receive as runs and are split back; every datagram's bytes are checked.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UdpLinkTest {
    /** Sizes of the datagrams we send: equal-size runs, a shorter tail, singles. */
    static final int[] SIZES = sizes();

    static int[] sizes() {
        int[] s = new int[40 + 1 + 10 + 1 + 20 + 1 + 3];
        int i = 0;
        for (int k = 0; k < 40; k++) s[i++] = 1400;
        s[i++] = 700;           // ends the 1400 run (shorter tail)
        for (int k = 0; k < 10; k++) s[i++] = 100;
        s[i++] = 1400;          // longer than the run before: a new message
        for (int k = 0; k < 20; k++) s[i++] = 1000;
        s[i++] = 6;
        s[i++] = 1472;
        s[i++] = 9000;          // bigger than a 1500 MTU, fine on loopback
        s[i++] = 64;
        return s;
    }

    static String lo(boolean v6) { return v6 ? "::1" : "127.0.0.1"; }
    static String hostPort(boolean v6, int port) { return v6 ? "[::1]:" + port : "127.0.0.1:" + port; }

    static void sendAll(Link l, PacketBatch b) throws Exception {
        int sent = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (sent < b.count()) {
            sent += l.transmit(b, sent, b.count());
            if (System.nanoTime() > deadline)
                    throw new AssertionError("transmit stuck at " + sent + " of " + b.count());
        }
    }

    static PacketBatch pattern(int[] sizes, int peerOf) {
        PacketBatch b = new PacketBatch(sizes.length, 9216);
        for (int k = 0; k < sizes.length; k++) {
            int i = b.add();
            UdpPeer.fill(b, i, k, sizes[k]);
            b.setPeer(i, peerOf);
        }
        return b;
    }

    @ParameterizedTest(name = "ipv6={0}")
    @ValueSource(booleans = {false, true})
    void ourGsoRunsReachAPlainSocketAsEveryDatagram(boolean v6) throws Exception {
        try (UdpPeer sink = UdpPeer.sink(lo(v6), SIZES.length, false);
             Link l = Links.open("udp:" + hostPort(v6, 0) + "?remote=" + hostPort(v6, sink.port) + "&mtu=9000");
             PacketBatch b = pattern(SIZES, 0)) {
            sendAll(l, b);
            assertTrue(sink.result().startsWith("ok " + SIZES.length), "the peer checked every datagram");
            UdpChannel ch = ((UdpLink) l).channel();
            assertTrue(ch.txGsoMessages() >= 3, "runs left as UDP_SEGMENT messages: " + ch.txGsoMessages());
            assertEquals(SIZES.length, ch.txDatagrams());
            assertEquals(SIZES.length, l.counters().snapshot().txPackets());
        }
    }

    @ParameterizedTest(name = "ipv6={0}")
    @ValueSource(booleans = {false, true})
    void ourGsoRunsReachAGroSocketAsRunsOfTheirSegmentSize(boolean v6) throws Exception {
        try (UdpPeer sink = UdpPeer.sink(lo(v6), SIZES.length, true);
             Link l = Links.open("udp:" + hostPort(v6, 0) + "?remote=" + hostPort(v6, sink.port) + "&mtu=9000");
             PacketBatch b = pattern(SIZES, 0)) {
            sendAll(l, b);
            String r = sink.result();
            assertTrue(r.startsWith("ok " + SIZES.length), r);
            // loopback hands a UDP_SEGMENT skb whole to a UDP_GRO socket: the runs arrive as runs
            assertTrue(r.contains("sizes=") && r.contains("1400") && r.contains("1000") && r.contains("100"), r);
        }
    }

    @ParameterizedTest(name = "ipv6={0}")
    @ValueSource(booleans = {false, true})
    void peerGsoRunsAreSplitBackFromGro(boolean v6) throws Exception {
        String spec = "1400x40,700,100x10,1200x5,64,1000x2,1472";
        int total = 40 + 1 + 10 + 5 + 1 + 2 + 1;
        try (UdpLink l = (UdpLink) Links.open("udp:" + hostPort(v6, 0) + "?accept=any&mtu=1500");
             PacketBatch b = new PacketBatch(16, 2048)) { // small batch: runs carry over between calls
            assertTrue(l.channel().groEnabled(), "UDP_GRO on");
            try (UdpPeer src = UdpPeer.source(lo(v6), l.localAddress().getPort(), spec)) {
                assertEquals("sent " + total, src.result());
                BitSet seen = new BitSet();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (seen.cardinality() < total && System.nanoTime() < deadline) {
                    b.clear();
                    if (l.receive(b) == 0) {
                        PollSet.pollOne(l.readyFd(), PollfdLayout.POLLIN, 100);
                        continue;
                    }
                    for (int i = 0; i < b.count(); i++) {
                        int k = UdpPeer.check(b, i);
                        assertTrue(!seen.get(k), "datagram " + k + " twice");
                        seen.set(k);
                        InetSocketAddress from = l.peers().address(b.peer(i));
                        assertEquals(src.port, from.getPort(), "source of datagram " + k);
                    }
                }
                assertEquals(total, seen.cardinality(), "every datagram arrived");
                assertTrue(l.channel().rxGroMessages() >= 3, "GRO runs received: " + l.channel().rxGroMessages());
                assertEquals(1, l.peers().size(), "one source learned");
            }
        }
    }

    @ParameterizedTest(name = "ipv6={0}")
    @ValueSource(booleans = {false, true})
    void perPacketDestination(boolean v6) throws Exception {
        int[] sizes = new int[60];
        for (int k = 0; k < sizes.length; k++) sizes[k] = 200 + (k / 10) * 100;
        try (UdpPeer a = UdpPeer.sink(lo(v6), 30, false); UdpPeer c = UdpPeer.sink(lo(v6), 30, true);
             Link l = Links.open("udp:" + hostPort(v6, 0) + "?remote=" + hostPort(v6, a.port) + ","
                     + hostPort(v6, c.port));
             PacketBatch b = pattern(sizes, 0)) {
            for (int i = 0; i < b.count(); i++) b.setPeer(i, (i / 5) % 2); // runs of 5 alternate
            sendAll(l, b);
            assertTrue(a.result().startsWith("ok 30"));
            assertTrue(c.result().startsWith("ok 30"));
        }
    }

    @ParameterizedTest(name = "ipv6={0}")
    @ValueSource(booleans = {false, true})
    void twoLinksBackToBack(boolean v6) throws Exception {
        try (UdpLink rx = (UdpLink) Links.open("udp:" + hostPort(v6, 0) + "?accept=any&rcvbuf=4194304");
             UdpLink tx = (UdpLink) Links.open("udp:" + hostPort(v6, 0) + "?remote="
                     + hostPort(v6, rx.localAddress().getPort()));
             PacketBatch out = new PacketBatch(256, 2048);
             PacketBatch in = new PacketBatch(64, 2048)) {
            for (int k = 0; k < 256; k++) UdpPeer.fill(out, out.add(), k, k < 200 ? 1200 : 300 + k);
            sendAll(tx, out);
            BitSet seen = new BitSet();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (seen.cardinality() < 256 && System.nanoTime() < deadline) {
                in.clear();
                if (rx.receive(in) == 0) {
                    if (rx.prepareToWait()) {
                        PollSet.pollOne(rx.readyFd(), PollfdLayout.POLLIN, 100);
                        rx.finishWait();
                    }
                    continue;
                }
                for (int i = 0; i < in.count(); i++) seen.set(UdpPeer.check(in, i));
            }
            assertEquals(256, seen.cardinality());
            assertTrue(tx.channel().txGsoMessages() > 0);
            assertTrue(rx.channel().rxGroMessages() > 0, "loopback keeps our GSO runs whole for a GRO socket");
            assertEquals(256, rx.counters().snapshot().rxPackets());
        }
    }

    /**
     * The channel's in-place receive (the tunnel's path): every datagram of our GSO runs reaches
     * a sink exactly once and in order, across refusals in the middle of a UDP_GRO run (a sink
     * of 7 slots: the rest of the run waits for the next call); datagrams over maxLen are
     * dropped and counted as truncated.
     */
    @ParameterizedTest(name = "ipv6={0}")
    @ValueSource(booleans = {false, true})
    void sinkTakesGroRunsInPlaceAndResumesAfterARefusal(boolean v6) throws Exception {
        try (UdpLink rx = (UdpLink) Links.open("udp:" + hostPort(v6, 0) + "?accept=any&rcvbuf=4194304");
             UdpLink tx = (UdpLink) Links.open("udp:" + hostPort(v6, 0) + "?remote="
                     + hostPort(v6, rx.localAddress().getPort()));
             PacketBatch out = new PacketBatch(266, 2048);
             PacketBatch in = new PacketBatch(7, 2048)) {
            UdpChannel ch = rx.channel();
            try (UdpLink plain = (UdpLink) Links.open("udp:" + hostPort(v6, 0) + "?gro=false")) {
                assertThrows(IllegalStateException.class,
                        () -> plain.channel().receive((m, o, l, p) -> true, true, 1, 100),
                        "a channel without UDP_GRO has no staging buffers to hand out");
            }
            for (int k = 0; k < 256; k++) UdpPeer.fill(out, out.add(), k, k < 200 ? 1200 : 300 + k);
            for (int k = 0; k < 10; k++) UdpPeer.fill(out, out.add(), 256 + k, 1600); // over maxLen
            sendAll(tx, out);
            UdpChannel.Sink sink = (m, off, len, peer) -> {
                if (in.isFull()) return false;
                int i = in.add();
                java.lang.foreign.MemorySegment.copy(m, off, in.memory(), in.dataOffset(i), len);
                in.setLength(i, len);
                in.setPeer(i, peer);
                return true;
            };
            int next = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((next < 256 || ch.rxTruncated() < 10) && System.nanoTime() < deadline) {
                in.clear();
                int n = ch.receive(sink, true, 64, 1500);
                assertEquals(in.count(), n);
                if (n == 0) {
                    PollSet.pollOne(rx.readyFd(), PollfdLayout.POLLIN, 100);
                    continue;
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(next++, UdpPeer.check(in, i), "each datagram once, in order");
                    assertEquals(0, in.peer(i));
                }
            }
            assertEquals(256, next);
            assertEquals(10, ch.rxTruncated());
            assertEquals(256, ch.rxDatagrams());
            assertTrue(ch.rxGroMessages() > 0, "loopback keeps our GSO runs whole for a GRO socket");
        }
    }

    @Test
    void datagramsFromUnknownSourcesAreDroppedWhenOnlyRemotesAreAccepted() throws Exception {
        try (UdpLink l = (UdpLink) Links.open("udp:127.0.0.1:0?remote=127.0.0.1:9");
             PacketBatch b = new PacketBatch(64, 2048)) {
            try (UdpPeer src = UdpPeer.source("127.0.0.1", l.localAddress().getPort(), "100x5,200")) {
                assertEquals("sent 6", src.result());
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (l.counters().snapshot().rxDrops() < 6 && System.nanoTime() < deadline) {
                assertEquals(0, l.receive(b));
                PollSet.pollOne(l.readyFd(), PollfdLayout.POLLIN, 50);
            }
            assertEquals(6, l.channel().rxUnknown());
            assertEquals(1, l.peers().size(), "nothing learned");
        }
    }

    @Test
    void aSwitchRefusesADatagramLink() throws Exception {
        try (Link l = Links.open("udp:127.0.0.1:0")) {
            assertEquals(Layer.DATAGRAM, l.layer());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Switch.builder().port(l));
            assertTrue(e.getMessage().contains("DATAGRAM"), e.getMessage());
        }
    }

    @Test
    void specErrors() {
        assertThrows(IllegalArgumentException.class, () -> Links.open("udp:127.0.0.1"));
        assertThrows(IllegalArgumentException.class, () -> Links.open("udp:127.0.0.1:0?remote=[::1]:5"));
        assertThrows(IllegalArgumentException.class, () -> Links.open("udp:127.0.0.1:0?bogus=1"));
        assertThrows(IllegalArgumentException.class, () -> Links.open("udp:127.0.0.1:0?accept=some"));
        assertEquals(new InetSocketAddress("fd00::1", 4789), UdpAddress.parse("[fd00::1]:4789", -1, "x"));
        assertEquals(new InetSocketAddress("fd00::1", 7), UdpAddress.parse("fd00::1", 7, "x"));
        assertEquals(List.of(new InetSocketAddress("10.0.0.2", 4789), new InetSocketAddress("10.0.0.3", 1)),
                UdpAddress.parseList("10.0.0.2,10.0.0.3:1", 4789, "x"));
    }

    @Test
    void reusePortOpensSeveralQueuesOnOnePort() throws Exception {
        try (UdpLink a = (UdpLink) Links.open("udp:127.0.0.1:0?reuseport=true&rcvbuf=1048576&sndbuf=1048576")) {
            int port = a.localAddress().getPort();
            try (Link b = Links.open("udp:127.0.0.1:" + port + "?reuseport=true")) {
                assertTrue(b.isOpen());
            }
            assertThrows(java.io.IOException.class, () -> Links.open("udp:127.0.0.1:" + port));
        }
    }

    @Test
    void closeWakesASleeper() throws Exception {
        ringlink.testing.CloseWake.assertCloseWakesEpollSleeper(Links.open("udp:127.0.0.1:0"));
    }
}
