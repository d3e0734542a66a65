package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;
import static ringlink.vhostuser.VhostUserHostileTest.U32;
import static ringlink.vhostuser.VhostUserHostileTest.U64;
import static ringlink.vhostuser.VhostUserHostileTest.twoSplitRings;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sw.Switch;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.virtio.SplitRing;
import ringlink.testing.LinkTraffic;

/**
 * A vhost-user back-end as a switch port, against hostile and returning front-ends: the port a
 * guest broke comes back when the next front-end connects, and a guest's superpacket with a
 * tiny gso_size is dropped at ingress instead of being segmented 60 000 times on the poller.
 */
@Timeout(60)
class VhostUserSwitchHostileTest {
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final long GUEST = 0x52_54_00_00_00_01L, HOST = 0x02_00_00_00_00_02L;

    @TempDir
    Path tmp;
    PairLink[] pair;
    Switch sw;
    VhostUserBackend be;

    @AfterEach
    void tearDown() {
        if (sw != null) sw.close();
        else if (be != null) be.close();
        if (pair != null) pair[1].free();
    }

    static void putMac(MemorySegment m, long off, long mac) {
        m.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), off, (int) (mac >>> 16));
        m.set(BE16, off + 4, (short) mac);
    }

    /** One 60-byte frame dst ← src. */
    static void frame(PacketBatch b, long dst, long src) {
        int i = b.add();
        MemorySegment m = b.memory();
        long o = b.dataOffset(i);
        m.asSlice(o, 60).fill((byte) 0);
        putMac(m, o, dst);
        putMac(m, o + 6, src);
        m.set(BE16, o + 12, (short) 0x88b5); // local experimental EtherType
        b.setLength(i, 60);
    }

    static void send(Link l, long dst, long src) throws Exception {
        try (PacketBatch b = new PacketBatch(1, 2048)) {
            frame(b, dst, src);
            long end = System.nanoTime() + 5_000_000_000L;
            while (l.transmit(b) == 0 && System.nanoTime() < end) Thread.sleep(1);
        }
    }

    static int receive(Link l, int want, long millis) throws Exception {
        try (PacketBatch b = new PacketBatch(256, PacketBatch.SUPERPACKET_BUFFER)) {
            int got = 0;
            long end = System.nanoTime() + millis * 1_000_000L;
            while (got < want && System.nanoTime() < end) {
                b.clear();
                int n = l.receive(b);
                got += n;
                if (n == 0) Thread.sleep(1);
            }
            return got;
        }
    }

    static void waitFor(BooleanSupplier c, String what) throws InterruptedException {
        long end = System.nanoTime() + 15_000_000_000L;
        while (!c.getAsBoolean() && System.nanoTime() < end) Thread.sleep(10);
        assertTrue(c.getAsBoolean(), what);
    }

    void startSwitch(BackendConfig bc, Offloads pairOffloads) throws Exception {
        be = VhostUserBackend.listen(tmp.resolve("rlvsh.sock"), bc);
        pair = PairLink.create("rlvsh-pair", 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 1500, pairOffloads);
        sw = Switch.builder().threads(1).port(be.link(0)).port(pair[0]).log(m -> { }).build();
        sw.start();
    }

    /** A front-end breaks its TX ring (a descriptor far outside its memory) and stays connected. */
    static void breakTheRing(Path sock) throws Exception {
        int qs = 16;
        try (Connection c = Connection.connect(sock); Fd mem = MemFd.create("rlvsh-mem", 1 << 20);
             Mapping map =
                     Mapping.map(mem, 1 << 20, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "test");
             EventFd k0 = EventFd.create(); EventFd k1 = EventFd.create()) {
            long base = map.address();
            twoSplitRings(c, mem, base, qs, k0, k1);
            MemorySegment m = map.segment();
            long txDesc = 16384, txAvail = 16384 + 4096;
            m.set(U64, txDesc + SplitRing.DESC_ADDR, 0x7fff_0000_0000L);
            m.set(U32, txDesc + SplitRing.DESC_LEN, 100);
            m.set(ValueLayout.JAVA_SHORT_UNALIGNED, txAvail + SplitRing.AVAIL_RING, (short) 0);
            m.set(ValueLayout.JAVA_SHORT_UNALIGNED, txAvail + SplitRing.AVAIL_IDX, (short) 1);
            k1.signal();
            // The back-end hangs up on us once the switch's poller has met the broken ring.
            long end = System.nanoTime() + 15_000_000_000L;
            while (System.nanoTime() < end) {
                try {
                    c.receive().closeFds();
                } catch (VhostUserException e) {
                    return;
                }
            }
            fail("the back-end did not close the hostile connection");
        }
    }

    /** A rebooting or misbehaving VM does not leave the switch for good: its next front-end brings the port back. */
    @Test
    void thePortAGuestBrokeComesBackWhenTheFrontEndReconnects() throws Exception {
        startSwitch(BackendConfig.defaults(), Offloads.NONE);
        Path sock = tmp.resolve("rlvsh.sock");
        try (VhostUserFrontend fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults())) {
            assertTrue(be.awaitReady(1, 5000));
            send(fe.link(0), -1L >>> 16, GUEST);
            assertEquals(1, receive(pair[1], 1, 5000));
        }
        breakTheRing(sock);
        waitFor(() -> !sw.isUp(0), "the broken port went down");
        String why = sw.downReason(0);
        assertTrue(why.contains("vring 1") && why.contains("waiting"), why);
        assertTrue(sw.isUp(1));
        Thread.sleep(300);
        assertFalse(sw.isUp(0), "no front-end yet");
        try (VhostUserFrontend fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults())) {
            assertTrue(be.awaitReady(1, 5000), () -> "rings not restarted: " + be.lastError());
            waitFor(() -> sw.isUp(0), "the port came back with the new front-end");
            assertNull(sw.downReason(0));
            send(fe.link(0), -1L >>> 16, GUEST);
            assertEquals(1, receive(pair[1], 1, 5000));
            send(pair[1], GUEST, HOST);
            assertEquals(1, receive(fe.link(0), 1, 5000), "unicast to the guest on the returned port");
        }
        // The back-end closed for good: the port stays down.
        be.close();
        assertFalse(be.link(0).waitingForPeer(), "closed for good, not waiting");
        waitFor(() -> !sw.isUp(0), "the closed port went down");
        Thread.sleep(300);
        assertFalse(sw.isUp(0), "and stays down");
        assertFalse(sw.downReason(0).contains("waiting"), sw.downReason(0));
    }

    /** Makes packet i an Ethernet/IPv4/TCP superpacket of its length. */
    static void tcp4(PacketBatch b, int i, int gsoSize) {
        MemorySegment m = b.memory();
        long o = b.dataOffset(i);
        int len = b.length(i);
        putMac(m, o, HOST);
        putMac(m, o + 6, GUEST);
        m.set(BE16, o + 12, (short) 0x0800);
        m.set(ValueLayout.JAVA_BYTE, o + 14, (byte) 0x45);
        m.set(BE16, o + 16, (short) (len - 14));
        m.set(BE16, o + 20, (short) 0x4000);
        m.set(ValueLayout.JAVA_BYTE, o + 22, (byte) 64);
        m.set(ValueLayout.JAVA_BYTE, o + 23, (byte) 6);
        m.set(ValueLayout.JAVA_BYTE, o + 34 + 12, (byte) 0x50);
        b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 54, gsoSize, 34, 16);
    }

    /** GSO amplification: gso_size 1 on a 60 KB superpacket is dropped at the guest's ingress and counted. */
    @Test
    void aGuestSuperpacketWithATinyGsoSizeIsDroppedNotSegmented() throws Exception {
        startSwitch(BackendConfig.defaults(), Offloads.NONE);
        try (VhostUserFrontend fe = VhostUserFrontend.connect(tmp.resolve("rlvsh.sock"),
                FrontendConfig.defaults().withOffloads(Offloads.ALL));
             PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER)) {
            assertTrue(be.awaitReady(1, 5000));
            send(pair[1], -1L >>> 16, HOST); // HOST learned on the pair port
            Thread.sleep(100);
            int i = b.add();
            b.setLength(i, 60_000);
            tcp4(b, i, 1);
            assertEquals(1, fe.link(0).transmit(b));
            waitFor(() -> be.link(0).counters().invalidCount(OffloadValidator.Reason.GSO_SIZE) == 1,
                    "dropped at ingress, counted");
            assertEquals(0, receive(pair[1], 1, 300), "nothing segmented for the port without TSO");
            assertEquals(0, sw.stats().ports().get(1).segmented());
            // A sane superpacket still goes through, segmented for the port without TSO.
            b.clear();
            i = b.add();
            b.setLength(i, 60_000);
            tcp4(b, i, 1448);
            assertEquals(1, fe.link(0).transmit(b));
            assertEquals((60_000 - 54 + 1447) / 1448, receive(pair[1], 42, 5000));
            assertTrue(sw.isUp(0) && sw.isUp(1));
        }
    }

    /**
     * The same with a third-party front-end: after a hostile front-end broke the port, DPDK's
     * virtio-user (testpmd) connects and the port comes back; testpmd is then restarted (a plain
     * reconnect) and its traffic is forwarded again, every packet accounted for.
     */
    @Test
    @Timeout(180)
    void testpmdBringsABrokenPortBackAndReconnectsThroughTheSwitch() throws Exception {
        VhostUserDpdkTest.requireTestpmd();
        startSwitch(BackendConfig.defaults(), Offloads.NONE);
        Path sock = tmp.resolve("rlvsh.sock");
        breakTheRing(sock);
        waitFor(() -> !sw.isUp(0), "the broken port went down");
        try (LinkTraffic.Counter rx = new LinkTraffic.Counter(pair[1])) {
            long expected = 0;
            for (int round = 0; round < 2; round++) {
                int r = round;
                try (Testpmd pmd =
                        Testpmd.start("rlvsh-pmd" + round, "net_virtio_user0,path=" + sock + ",queues=1,mrg_rxbuf=1",
                        60_000, "--forward-mode=txonly", "--txpkts=64")) {
                    assertTrue(be.awaitReady(1, 20_000),
                            () -> "round " + r + ": rings not started: " + be.lastError() + "\n" + pmd.log());
                    waitFor(() -> sw.isUp(0), "round " + round + ": the port is up with testpmd");
                    pmd.command("start", 20_000);
                    Thread.sleep(500);
                    pmd.command("stop", 20_000);
                    long sent = pmd.txPackets();
                    assertTrue(sent > 0, pmd.log());
                    expected += sent;
                    long want = expected;
                    // Every packet testpmd sent reached the pair port or was counted as a drop there.
                    waitFor(() -> rx.packets.get() + dropsAt(1) >= want,
                            "round " + round + ": forwarded " + rx.packets.get()
                            + " + dropped " + dropsAt(1) + " of " + want);
                    assertEquals(expected, rx.awaitQuiet(200, 2000) + dropsAt(1), "round " + round);
                    assertTrue(rx.packets.get() > 0);
                }
            }
        }
        assertTrue(sw.isUp(0) && sw.isUp(1));
    }

    long dropsAt(int port) {
        return sw.stats().ports().get(port).forwarded().txDrops();
    }
}
