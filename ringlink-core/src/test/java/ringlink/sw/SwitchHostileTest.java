package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;
import static ringlink.sw.SwitchTest.BCAST;
import static ringlink.sw.SwitchTest.BE16;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.LinkFailedException;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;
import ringlink.sys.Fd;

/**
 * The switch against hostile ports: MAC floods, VLAN hopping, spoofed addresses, ports whose
 * link throws anything (errors included), and ports whose link goes down and comes back.
 */
@Timeout(60)
class SwitchHostileTest {
    static final long A = 0x02_00_00_00_00_0aL, B = 0x02_00_00_00_00_0bL, C = 0x02_00_00_00_00_0cL;

    final List<PairLink[]> pairs = new ArrayList<>();
    final PacketBatch tx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    final PacketBatch rx = new PacketBatch(256, PacketBatch.SUPERPACKET_BUFFER);
    Switch sw;

    @AfterEach
    void tearDown() {
        if (sw != null) sw.close();
        for (PairLink[] p : pairs) p[1].free();
        tx.close();
        rx.close();
    }

    PairLink[] pair(String name) throws IOException {
        PairLink[] p = PairLink.create(name, 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 1500, Offloads.ALL);
        pairs.add(p);
        return p;
    }

    void send(Link from, long dst, long src) throws IOException {
        tx.clear();
        SwitchTest.frame(tx, dst, src, -1, 32);
        assertEquals(1, from.transmit(tx));
    }

    /** Receives {@code n} packets within 5 s, then checks nothing more arrives for a moment. */
    void expect(Link at, int n) throws IOException, InterruptedException {
        rx.clear();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (rx.count() < n && System.nanoTime() < deadline) {
            if (at.receive(rx) == 0) Thread.sleep(1);
        }
        assertEquals(n, rx.count(), at.name() + ": packets received");
        Thread.sleep(30);
        assertEquals(0, at.receive(rx), at.name() + ": unexpected extra packets");
    }

    /**
     * Drains until nothing arrived for 100 ms (at most 10 s): after a flood the switch may still
     * be forwarding the sender's ring when the machine is loaded, and a fixed pause let the tail
     * of the flood reach the next {@link #expect}.
     */
    void drain(Link... links) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L, quietSince = System.nanoTime();
        while (System.nanoTime() - quietSince < 100_000_000L && System.nanoTime() < deadline) {
            Thread.sleep(10);
            for (Link l : links) {
                rx.clear();
                while (l.receive(rx) > 0) {
                    rx.clear();
                    quietSince = System.nanoTime();
                }
            }
        }
    }

    static void waitFor(Supplier<Boolean> c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!c.get() && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(c.get(), what);
    }

    /** Sends {@code n} frames with distinct spoofed sources from {@code from}, to unknown unicast. */
    void flood(Link from, int n, long base, Link... drainAt) throws IOException, InterruptedException {
        int sent = 0;
        while (sent < n) {
            tx.clear();
            int k = Math.min(32, n - sent);
            for (int j = 0; j < k; j++) SwitchTest.frame(tx, 0x02_ee_00_00_00_01L, base + sent + j, -1, 8);
            int done = 0;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (done < k && System.nanoTime() < deadline) {
                int t = from.transmit(tx, done, k);
                done += t;
                if (t == 0) {
                    Thread.sleep(1);
                    for (Link l : drainAt) {
                        rx.clear();
                        while (l.receive(rx) > 0) rx.clear();
                    }
                }
            }
            sent += k;
        }
    }

    /** A port flooding 8192 spoofed sources holds at most its limit; a new station elsewhere is learned. */
    @Test
    void aMacFloodCannotKeepANewStationFromBeingLearned() throws Exception {
        PairLink[] p0 = pair("rlsh-f0"), p1 = pair("rlsh-f1"), p2 = pair("rlsh-f2");
        sw = Switch.builder().threads(1).macLimit(256).port(p0[0]).port(p1[0]).port(p2[0]).build();
        sw.start();
        flood(p0[1], 8192, 0x02_aa_00_00_00_00L, p1[1], p2[1]);
        waitFor(() -> sw.stats().ports().get(0).unlearned() > 0, "the flooder hit its limit");
        drain(p1[1], p2[1]);
        PortStats s0 = sw.stats().ports().get(0);
        assertTrue(s0.macs() <= 256, "flooder holds " + s0.macs());
        assertEquals(256, s0.macs(), "the flooder's first 256 are learned");
        // A new station on port 1 is learned and reachable at once.
        send(p1[1], BCAST, B);
        expect(p2[1], 1);
        waitFor(() -> sw.lookup(B, 0) == 1, "B learned on port 1");
        send(p2[1], B, C);
        expect(p1[1], 1);
        assertEquals(0, sw.stats().ports().get(1).unlearned());
    }

    /**
     * Without a per-port limit, a table full of the flooder's fresh entries still learns a new
     * station: the entry of the port holding the most slots is replaced.
     */
    @Test
    void aFullTableReplacesTheFloodersEntriesForANewStation() throws Exception {
        PairLink[] p0 = pair("rlsh-e0"), p1 = pair("rlsh-e1"), p2 = pair("rlsh-e2");
        sw = Switch.builder().threads(1).macCapacity(64).macLimit(1 << 20).port(p0[0]).port(p1[0]).port(p2[0]).build();
        sw.start();
        flood(p0[1], 2048, 0x02_bb_00_00_00_00L, p1[1], p2[1]);
        drain(p1[1], p2[1]);
        waitFor(() -> sw.stats().ports().get(0).macs() == 64, "the flooder filled the table");
        for (int k = 0; k < 8; k++) {
            long station = 0x02_cc_00_00_00_00L + k;
            send(p1[1], BCAST, station);
            long s = station;
            waitFor(() -> sw.lookup(s, 0) == 1, "new station " + k + " learned in a full table");
        }
        drain(p0[1], p2[1]);
    }

    @Test
    void macTableLimitsCountsAndReplacement() {
        MacTable t = new MacTable(1024, 10_000, 4);
        for (int i = 0; i < 100; i++) assertEquals(i < 50 ? MacTable.LEARNED : MacTable.LIMITED,
                t.learn(MacTable.key(0x0200_0000_0000L + i, 0), 0, 0, 50));
        assertEquals(50, t.held(0));
        // A known address of a port at its limit is refreshed, and can move to another port.
        assertEquals(MacTable.LEARNED, t.learn(MacTable.key(0x0200_0000_0000L, 0), 0, 5000, 50));
        assertEquals(MacTable.LEARNED, t.learn(MacTable.key(0x0200_0000_0001L, 0), 1, 5000, 50));
        assertEquals(49, t.held(0));
        assertEquals(1, t.held(1));
        assertEquals(1, t.lookup(MacTable.key(0x0200_0000_0001L, 0), 5000));
        // Once its addresses age out (sweep), the port learns again.
        assertEquals(MacTable.LEARNED, t.learn(MacTable.key(0x0300_0000_0000L, 0), 0, 5000, 50));
        assertEquals(MacTable.LIMITED, t.learn(MacTable.key(0x0300_0000_0001L, 0), 0, 5000, 50));
        assertEquals(MacTable.LEARNED, t.learn(MacTable.key(0x0300_0000_0001L, 0), 0, 12_000, 50), "after ageing");
        assertEquals(3, t.held(0), "expired slots released");
        t.forgetPort(0);
        assertEquals(0, t.held(0));
        // Counts stay exact through many moves.
        MacTable u = new MacTable(64, 10_000, 3);
        java.util.Random r = new java.util.Random(7);
        for (int n = 0; n < 20_000; n++)
                u.learn(MacTable.key(0x0200_0000_0000L + r.nextInt(200), 0), r.nextInt(3), n / 10, 1 << 20);
        int total = 0;
        for (int port = 0; port < 3; port++) {
            assertEquals(u.size(port, 1999), u.held(port), "port " + port);
            total += u.held(port);
        }
        assertEquals(u.size(1999), total);
    }

    /** Inserts a tag (tpid, tci) after the addresses of packet i, shifting the rest. */
    static void pushTag(PacketBatch b, int i, int tpid, int tci) {
        MemorySegment m = b.memory();
        long off = b.dataOffset(i);
        int len = b.length(i);
        MemorySegment.copy(m, off + 12, m, off + 16, len - 12);
        m.set(BE16, off + 12, (short) tpid);
        m.set(BE16, off + 14, (short) tci);
        b.setLength(i, len + 4);
    }

    void sendTagged(Link from, long dst, long src, int... tags) throws IOException {
        tx.clear();
        int i = SwitchTest.frame(tx, dst, src, -1, 32);
        // tags are given outermost first: push innermost first
        for (int k = tags.length - 2; k >= 0; k -= 2) pushTag(tx, i, tags[k], tags[k + 1]);
        assertEquals(1, from.transmit(tx));
    }

    @Test
    void vlanHoppingWithDoubleTagsAndQinQIsDropped() throws Exception {
        PairLink[] a10 = pair("rlsh-v0"), a20 = pair("rlsh-v1"), trunk = pair("rlsh-v2"), a20b = pair("rlsh-v3");
        sw = Switch.builder().threads(1).vlanAware(true)
                .port(a10[0], PortVlan.access(10)).port(a20[0], PortVlan.access(20))
                .port(trunk[0], PortVlan.trunk(10, 20)).port(a20b[0], PortVlan.access(20)).build();
        sw.start();
        Link[] others = {a20[1], trunk[1], a20b[1]};
        // Priority tag (VID 0) with an 802.1Q tag for VLAN 20 inside, on an access port of VLAN 10.
        sendTagged(a10[1], BCAST, A, 0x8100, 0, 0x8100, 20);
        // An 802.1ad S-tag for VLAN 20 (and one with a C-tag inside).
        sendTagged(a10[1], BCAST, A, 0x88a8, 20);
        sendTagged(a10[1], BCAST, A, 0x88a8, 20, 0x8100, 20);
        sendTagged(a10[1], BCAST, A, 0x9100, 20);
        // An access port takes no 802.1Q tag of another VLAN either (as before).
        sendTagged(a10[1], BCAST, A, 0x8100, 20);
        // The trunk's native VLAN is 10: its tag with VLAN 20 inside would leave access ports of 10 tagged 20.
        sendTagged(trunk[1], BCAST, B, 0x8100, 10, 0x8100, 20);
        sendTagged(trunk[1], BCAST, B, 0x8100, 0, 0x8100, 20);
        sendTagged(trunk[1], BCAST, B, 0x88a8, 20);
        for (Link l : others) expectNothing(l);
        expectNothing(a10[1]);
        assertEquals(5, sw.stats().ports().get(0).drops().get(DropReason.VLAN));
        assertEquals(3, sw.stats().ports().get(2).drops().get(DropReason.VLAN));
        // What stays legal: a plain priority tag on an access port, a tagged frame of a trunk VLAN.
        sendTagged(a10[1], BCAST, A, 0x8100, 0);
        expect(trunk[1], 1); // untagged out of the trunk (VLAN 10 is native)
        expectNothing(a20[1]);
        sendTagged(trunk[1], BCAST, B, 0x8100, 20);
        expect(a20[1], 1);
        expect(a20b[1], 1);
        expectNothing(a10[1]);
    }

    void expectNothing(Link at) throws IOException, InterruptedException {
        expect(at, 0);
    }

    @Test
    void portSecurityDropsOtherSourcesAndKeepsItsAddressesToItsPort() throws Exception {
        PairLink[] p0 = pair("rlsh-s0"), p1 = pair("rlsh-s1"), p2 = pair("rlsh-s2");
        sw = Switch.builder().threads(1).port(p0[0]).port(p1[0]).port(p2[0]).portSecurity(0, A, 0x02_00_00_00_00_1aL)
                .build();
        sw.start();
        send(p0[1], BCAST, C); // not allowed on port 0
        send(p0[1], BCAST, 0x02_00_00_00_00_1aL); // allowed
        expect(p1[1], 1);
        expect(p2[1], 1);
        send(p0[1], BCAST, A);
        expect(p2[1], 1);
        expect(p1[1], 1);
        assertEquals(0, sw.lookup(A, 0));
        // Port 1 claims A: dropped, and A stays on port 0.
        send(p1[1], BCAST, A);
        send(p1[1], C, A);
        expectNothing(p0[1]);
        expectNothing(p2[1]);
        assertEquals(0, sw.lookup(A, 0));
        send(p2[1], A, B);
        expect(p0[1], 1);
        expectNothing(p1[1]);
        assertEquals(1, sw.stats().ports().get(0).drops().get(DropReason.PORT_SECURITY));
        assertEquals(2, sw.stats().ports().get(1).drops().get(DropReason.PORT_SECURITY));
        assertThrows(IllegalArgumentException.class,
                () -> Switch.builder().port(pair("rlsh-s3")[0]).portSecurity(0, BCAST).build());
    }

    /** A link that behaves like its delegate until told to throw something, or to be down for a while. */
    static final class FaultyLink implements Link {
        final Link d;
        volatile Supplier<Throwable> onReceive, onTransmit, onPrepare;
        volatile boolean waiting, closedForGood;

        FaultyLink(Link d) {
            this.d = d;
        }

        @Override public String name() { return "faulty:" + d.name(); }
        @Override public Layer layer() { return d.layer(); }
        @Override public int mtu() { return d.mtu(); }
        @Override public Offloads offloads() { return d.offloads(); }
        @Override public int maxReceiveSize() { return d.maxReceiveSize(); }
        @Override public Fd readyFd() { return d.readyFd(); }
        @Override public LinkCounters counters() { return d.counters(); }
        @Override public boolean isOpen() { return !closedForGood && d.isOpen(); }
        @Override public boolean waitingForPeer() { return waiting && isOpen(); }
        @Override
        public boolean prepareToWait() throws IOException {
            Supplier<Throwable> f = onPrepare;
            if (f != null) throwIt(f.get());
            return d.prepareToWait();
        }
        @Override public void finishWait() throws IOException { d.finishWait(); }
        @Override public void close() { d.close(); }

        @Override
        public int receive(PacketBatch batch) throws IOException {
            Supplier<Throwable> f = onReceive;
            if (f != null) throwIt(f.get());
            if (waiting) return 0;
            return d.receive(batch);
        }

        @Override
        public int transmit(PacketBatch batch, int from, int to) throws IOException {
            Supplier<Throwable> f = onTransmit;
            if (f != null) throwIt(f.get());
            return d.transmit(batch, from, to);
        }

        private static void throwIt(Throwable t) throws IOException {
            if (t instanceof IOException e) throw e;
            if (t instanceof RuntimeException e) throw e;
            throw (Error) t;
        }
    }

    /** Serves one port that throws {@code what} on receive or on transmit; the poller and the other ports go on. */
    void oneThrowingPort(Supplier<Throwable> what, boolean onReceive, String expectInReason) throws Exception {
        PairLink[] p0 = pair("rlsh-t0"), p1 = pair("rlsh-t1"), p2 = pair("rlsh-t2");
        FaultyLink bad = new FaultyLink(p2[0]);
        sw = Switch.builder().threads(1).port(p0[0]).port(p1[0]).port(bad).log(m -> { }).build();
        sw.start();
        send(p0[1], BCAST, A);
        expect(p1[1], 1);
        expect(p2[1], 1);
        send(p2[1], BCAST, C); // C is learned on the bad port
        expect(p0[1], 1);
        drain(p1[1]);
        if (onReceive) {
            bad.onReceive = what;
            send(p2[1], BCAST, C);
        } else {
            bad.onTransmit = what;
            send(p0[1], BCAST, A);
        }
        waitFor(() -> !sw.isUp(2), "the throwing port went down");
        String reason = sw.downReason(2);
        assertNotNull(reason);
        assertTrue(reason.contains(expectInReason), reason);
        assertEquals(reason, sw.stats().ports().get(2).downReason());
        waitFor(() -> sw.lookup(C, 0) == -1, "its addresses are forgotten"); // just after it is marked down
        drain(p0[1], p1[1]);
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getName().equals("ringlink-switch-0") && t.isAlive()),
                "the poller thread lives");
        for (int k = 0; k < 3; k++) {
            send(p0[1], B, A);
            send(p1[1], A, B);
            expect(p1[1], 1);
            expect(p0[1], 1);
        }
        assertTrue(sw.isUp(0) && sw.isUp(1));
    }

    @Test
    void anOutOfMemoryErrorStopsOnlyItsPort() throws Exception {
        oneThrowingPort(() -> new OutOfMemoryError("Java heap space"), true, "OutOfMemoryError: Java heap space");
    }

    @Test
    void anInternalErrorFromAFaultInMappedMemoryStopsOnlyItsPort() throws Exception {
        oneThrowingPort(() -> new InternalError("a fault occurred in an unsafe memory access operation"), true,
                "InternalError");
    }

    @Test
    void aStackOverflowErrorStopsOnlyItsPort() throws Exception {
        oneThrowingPort(StackOverflowError::new, true, "StackOverflowError");
    }

    @Test
    void anErrorOnTransmitStopsTheDestinationPortNotTheSender() throws Exception {
        oneThrowingPort(() -> new InternalError("a fault occurred in an unsafe memory access operation"), false,
                "InternalError");
    }

    /**
     * An idle poller arming its ports' notifications: a port that throws there stops alone, and the poller still sleeps
     * and wakes.
     */
    @Test
    void anErrorWhileArmingNotificationsStopsOnlyItsPort() throws Exception {
        PairLink[] p0 = pair("rlsh-w0"), p1 = pair("rlsh-w1"), p2 = pair("rlsh-w2");
        FaultyLink bad = new FaultyLink(p2[0]);
        sw = Switch.builder().threads(1).port(p0[0]).port(p1[0]).port(bad).log(m -> { }).build();
        sw.start();
        bad.onPrepare = () -> new OutOfMemoryError("Java heap space");
        waitFor(() -> !sw.isUp(2), "the port went down when the idle poller armed it");
        assertTrue(sw.downReason(2).contains("OutOfMemoryError"), sw.downReason(2));
        Thread.sleep(300); // idle: the poller sleeps in epoll now
        send(p0[1], B, A);
        expect(p1[1], 1);
        assertTrue(sw.isUp(0) && sw.isUp(1));
    }

    @Test
    void aRuntimeExceptionWithoutMessageStopsOnlyItsPort() throws Exception {
        oneThrowingPort(IllegalStateException::new, true, "IllegalStateException");
    }

    /** A link that failed but waits for its peer comes back; one closed for good stays down. */
    @Test
    void aPortWhoseLinkRecoversComesBackUpAndAClosedOneStaysDown() throws Exception {
        PairLink[] p0 = pair("rlsh-r0"), p1 = pair("rlsh-r1"), p2 = pair("rlsh-r2");
        FaultyLink l1 = new FaultyLink(p1[0]), l2 = new FaultyLink(p2[0]);
        List<String> log = new java.util.concurrent.CopyOnWriteArrayList<>();
        sw = Switch.builder().threads(1).port(p0[0]).port(l1).port(l2).log(log::add).build();
        sw.start();
        // Port 1's peer breaks the protocol; the link now waits for the next peer.
        l1.waiting = true;
        l1.onReceive = () -> new LinkFailedException("peer broke the ring");
        waitFor(() -> !sw.isUp(1), "port 1 down");
        assertTrue(sw.downReason(1).contains("peer broke the ring") && sw.downReason(1).contains("waiting"),
                sw.downReason(1));
        // Port 2 fails for good.
        l2.onReceive = () -> new LinkFailedException("gone");
        waitFor(() -> !sw.isUp(2), "port 2 down");
        assertFalse(sw.downReason(2).contains("waiting"), sw.downReason(2));
        Thread.sleep(300);
        assertFalse(sw.isUp(1), "still waiting");
        // The next peer arrives.
        l1.onReceive = null;
        l1.waiting = false;
        waitFor(() -> sw.isUp(1), "port 1 back up");
        assertNull(sw.downReason(1));
        waitFor(() -> log.stream().anyMatch(m -> m.contains("up again")), "logged: " + log); // logged just after
        send(p1[1], BCAST, B);
        expect(p0[1], 1);
        send(p0[1], B, A);
        expect(p1[1], 1);
        Thread.sleep(300);
        assertFalse(sw.isUp(2), "a port whose link did not say it may come back stays down");
        // A waiting link that is then closed stays down for good.
        l1.waiting = true;
        l1.onReceive = () -> new LinkFailedException("again");
        waitFor(() -> !sw.isUp(1), "port 1 down again");
        l1.closedForGood = true;
        l1.waiting = false;
        Thread.sleep(400);
        assertFalse(sw.isUp(1), "closed for good stays down");
    }
}
