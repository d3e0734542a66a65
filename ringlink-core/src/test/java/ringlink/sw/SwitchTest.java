package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.Checksum;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/** The switch engine over in-memory pair links: the test holds the far end of every port. */
@Timeout(60)
class SwitchTest {
    static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final long A = 0x02_00_00_00_00_0aL, B = 0x02_00_00_00_00_0bL, C = 0x02_00_00_00_00_0cL;
    static final long BCAST = 0xff_ff_ff_ff_ff_ffL;

    final List<PairLink[]> pairs = new ArrayList<>();
    final PacketBatch tx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    final PacketBatch rx = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
    Switch sw;

    @AfterEach
    void tearDown() {
        if (sw != null) sw.close();
        for (PairLink[] p : pairs) p[1].free();
        tx.close();
        rx.close();
    }

    @Test
    @Timeout(30)
    void theDefaultBatchIs32AndEveryReceiveBufferStartsOnACacheLine() throws IOException {
        PairLink[] p = PairLink.create("rlcl-swal", 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 1500, Offloads.NONE);
        pairs.add(p);
        sw = Switch.builder().port(p[0]).build();
        Poller poller = sw.unstartedPoller();
        try {
            PacketBatch b = poller.receiveBatch();
            assertEquals(Switch.DEFAULT_BATCH, b.capacity());
            assertEquals(32, Switch.DEFAULT_BATCH, "OVS-DPDK's burst: the loop benchmark compares like with like");
            for (int k = 0; k < b.capacity(); k++) {
                int i = b.add();
                assertEquals(0, (b.memory().address() + b.dataOffset(i)) % 64,
                        "packet " + i + " does not start on a line");
            }
        } finally {
            poller.free();
        }
    }

    /** A switch over {@code n} pair links (offloads per port); returns the far ends. */
    Link[] build(Switch.Builder b, Offloads... offloads) throws IOException {
        Link[] far = new Link[offloads.length];
        for (int i = 0; i < offloads.length; i++) {
            PairLink[] p =
                    PairLink.create("rlcl-sw" + i, 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 1500, offloads[i]);
            pairs.add(p);
            far[i] = p[1];
        }
        for (int i = 0; i < offloads.length; i++) b.port(pairs.get(i)[0]);
        sw = b.build();
        sw.start();
        return far;
    }

    Link[] build(int n) throws IOException {
        Offloads[] o = new Offloads[n];
        java.util.Arrays.fill(o, Offloads.ALL);
        return build(Switch.builder().threads(2), o);
    }

    /** Appends an Ethernet frame (optionally tagged) with {@code payload} bytes of IPv4/UDP to {@code b}. */
    static int frame(PacketBatch b, long dst, long src, int vid, int payload) {
        int i = b.add();
        MemorySegment m = b.memory();
        long off = b.dataOffset(i);
        putMac(m, off, dst);
        putMac(m, off + 6, src);
        int l2 = 14;
        if (vid >= 0) {
            m.set(BE16, off + 12, (short) 0x8100);
            m.set(BE16, off + 14, (short) vid);
            l2 = 18;
        }
        m.set(BE16, off + l2 - 2, (short) 0x0800);
        long ip = off + l2;
        int udpLen = 8 + payload;
        m.set(ValueLayout.JAVA_BYTE, ip, (byte) 0x45);
        m.set(BE16, ip + 2, (short) (20 + udpLen));
        m.set(ValueLayout.JAVA_BYTE, ip + 8, (byte) 64);
        m.set(ValueLayout.JAVA_BYTE, ip + 9, (byte) 17);
        m.set(BE32, ip + 12, 0x0a000001);
        m.set(BE32, ip + 16, 0x0a000002);
        m.set(BE16, ip + 10, (short) Checksum.checksum(m, ip, 20));
        long udp = ip + 20;
        m.set(BE16, udp, (short) 1234);
        m.set(BE16, udp + 2, (short) 5678);
        m.set(BE16, udp + 4, (short) udpLen);
        for (int k = 0; k < payload; k++) m.set(ValueLayout.JAVA_BYTE, udp + 8 + k, (byte) k);
        b.setLength(i, l2 + 20 + udpLen);
        m.set(BE16, udp + 6,
                (short) Checksum.finish(Checksum.sum(m, udp, udpLen, Checksum.pseudoHeaderV4(m, ip, 17, udpLen))));
        return i;
    }

    static void putMac(MemorySegment m, long off, long mac) {
        m.set(BE32, off, (int) (mac >>> 16));
        m.set(BE16, off + 4, (short) mac);
    }

    static long mac(PacketBatch b, int i, int at) {
        MemorySegment m = b.memory();
        long off = b.dataOffset(i) + at;
        return ((m.get(BE32, off) & 0xffffffffL) << 16) | (m.get(BE16, off + 4) & 0xffff);
    }

    void send(Link from, long dst, long src) throws IOException {
        send(from, dst, src, -1);
    }

    void send(Link from, long dst, long src, int vid) throws IOException {
        tx.clear();
        frame(tx, dst, src, vid, 32);
        assertEquals(1, from.transmit(tx));
    }

    /** Receives exactly {@code n} packets within 5 s, then checks nothing more arrives for a moment. */
    PacketBatch expect(Link at, int n) throws IOException, InterruptedException {
        rx.clear();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (rx.count() < n && System.nanoTime() < deadline) {
            if (at.receive(rx) == 0) Thread.sleep(1);
        }
        assertEquals(n, rx.count(), at.name() + ": packets received");
        Thread.sleep(30);
        int more = at.receive(rx);
        assertEquals(0, more, at.name() + ": unexpected extra packets");
        return rx;
    }

    void expectNothing(Link at) throws IOException, InterruptedException {
        expect(at, 0);
    }

    @Test
    void unknownAndBroadcastFloodThenLearnedUnicastGoesToOnePort() throws Exception {
        Link[] p = build(3);
        send(p[0], B, A); // B unknown: flooded
        assertEquals(A, mac(expect(p[1], 1), 0, 6));
        expect(p[2], 1);
        expectNothing(p[0]);
        send(p[1], A, B); // A learned on port 0
        assertEquals(B, mac(expect(p[0], 1), 0, 6));
        expectNothing(p[2]);
        send(p[0], B, A); // B learned on port 1 now
        expect(p[1], 1);
        expectNothing(p[2]);
        send(p[2], BCAST, C); // broadcast always floods
        expect(p[0], 1);
        expect(p[1], 1);
        assertEquals(0, sw.lookup(A, 0));
        assertEquals(1, sw.lookup(B, 0));
        assertEquals(2, sw.lookup(C, 0));
        var s = sw.stats();
        assertEquals(3, s.macs());
        assertEquals(2, s.ports().get(0).forwarded().txPackets(), "to port 0: B's reply and C's broadcast");
    }

    @Test
    void aStationMovingToTheIngressPortInsideOneBatchIsHonoured() throws Exception {
        // forward() remembers the last source learned and destination looked up within a batch;
        // learning a new source must drop the remembered destination, or the second frame (to C,
        // now learned on the ingress port) would still go to C's old port.
        Link[] p = build(3);
        send(p[2], BCAST, C);
        expect(p[0], 1);
        expect(p[1], 1);
        tx.clear();
        frame(tx, C, A, -1, 32); // to C on port 2
        frame(tx, C, C, -1, 32); // C now on port 0: to its own port, filtered
        assertEquals(2, p[0].transmit(tx));
        expect(p[2], 1);
        expectNothing(p[1]);
        assertEquals(0, sw.lookup(C, 0));
    }

    @Test
    void pinnedPollingThreadsForwardAndACpuTheKernelRefusesFailsTheStart() throws Exception {
        Link[] p = build(Switch.builder().threads(2).cpus(0), Offloads.ALL, Offloads.ALL);
        send(p[0], BCAST, A);
        expect(p[1], 1);
        sw.close();
        sw = null;

        PairLink[] a = PairLink.create("rlcl-pin0"), b = PairLink.create("rlcl-pin1");
        pairs.add(a);
        pairs.add(b);
        Switch bad = Switch.builder().threads(1).cpus(1023).port(a[0]).port(b[0]).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::start);
        assertTrue(e.getMessage().contains("CPU 1023"), e.getMessage());
        assertFalse(a[0].isOpen(), "a switch that failed to start closed its ports");
        bad.close();
        assertThrows(IllegalArgumentException.class, () -> Switch.builder().cpus(-1));
    }

    @Test
    void framesToTheirOwnPortAreFilteredAndAStationThatMovesIsRelearned() throws Exception {
        Link[] p = build(3);
        send(p[0], BCAST, A);
        expect(p[1], 1);
        expect(p[2], 1);
        send(p[1], BCAST, B);
        expect(p[0], 1);
        expect(p[2], 1);
        send(p[0], A, B); // B's frame arrives where A lives (B moved to port 0): to A's own port, filtered
        expectNothing(p[0]);
        expectNothing(p[1]);
        expectNothing(p[2]);
        assertEquals(0, sw.lookup(B, 0), "B moved to port 0");
        send(p[2], B, C);
        expect(p[0], 1);
        expectNothing(p[1]);
    }

    @Test
    void addressesAgeOut() throws Exception {
        AtomicLong now = new AtomicLong(1_000_000_000L);
        Link[] p = build(Switch.builder().clock(now::get).ageing(Duration.ofSeconds(10)), Offloads.ALL, Offloads.ALL,
                Offloads.ALL);
        send(p[1], BCAST, B);
        expect(p[0], 1);
        expect(p[2], 1);
        send(p[0], B, A);
        expect(p[1], 1);
        expectNothing(p[2]);
        now.addAndGet(11_000_000_000L); // B not seen for 11 s
        assertEquals(-1, sw.lookup(B, 0));
        send(p[0], B, A);
        expect(p[1], 1);
        expect(p[2], 1); // flooded again
    }

    @Test
    void manyAddressesAreLearnedAndAgedInTheTable() {
        MacTable t = new MacTable(1024, 1000);
        int learned = 0;
        for (int i = 0; i < 400; i++) if (t.learn(MacTable.key(0x020000000000L + i, 0), i % 7, 0)) learned++;
        assertTrue(learned >= 390, "learned " + learned);
        int found = 0;
        for (int i = 0; i < 400; i++) if (t.lookup(MacTable.key(0x020000000000L + i, 0), 500) == i % 7) found++;
        assertEquals(learned, found);
        assertEquals(-1, t.lookup(MacTable.key(0x020000000000L, 1), 500), "other VLAN");
        for (int i = 0; i < 400; i++) assertEquals(-1, t.lookup(MacTable.key(0x020000000000L + i, 0), 1000));
        // expired slots are reused
        for (int i = 0; i < 400; i++) t.learn(MacTable.key(0x030000000000L + i, 0), 1, 2000);
        assertTrue(t.size(2000) >= 390);
        t.forgetPort(1);
        assertEquals(-1, t.lookup(MacTable.key(0x030000000000L, 0), 2000));
    }

    @Test
    void vlansSeparateAccessPortsAndTrunksCarryTags() throws Exception {
        PairLink[][] p = new PairLink[4][];
        for (int i = 0; i < 4; i++) pairs.add(p[i] = PairLink.create("rlcl-vl" + i));
        sw = Switch.builder().vlanAware(true).threads(1)
                .port(p[0][0], PortVlan.access(10))
                .port(p[1][0], PortVlan.access(20))
                .port(p[2][0], PortVlan.trunk(-1, 10, 20))
                .port(p[3][0], PortVlan.trunk(20, 10))
                .build();
        sw.start();
        Link a10 = p[0][1], a20 = p[1][1], trunk = p[2][1], nat20 = p[3][1];
        send(a10, BCAST, A);
        PacketBatch got = expect(trunk, 1);
        assertEquals(0x8100, got.memory().get(BE16, got.dataOffset(0) + 12) & 0xffff, "tagged on the trunk");
        assertEquals(10, got.memory().get(BE16, got.dataOffset(0) + 14) & 0xfff);
        assertEquals(14 + 20 + 40 + 4, got.length(0));
        got = expect(nat20, 1);
        assertEquals(10, got.memory().get(BE16, got.dataOffset(0) + 14) & 0xfff,
                "10 is tagged on a trunk with native 20");
        expectNothing(a20);

        send(trunk, BCAST, B, 20); // tagged 20 on the trunk: untagged out of the access port and the native trunk
        got = expect(a20, 1);
        assertEquals(0x0800, got.memory().get(BE16, got.dataOffset(0) + 12) & 0xffff, "untagged on the access port");
        assertEquals(14 + 20 + 40, got.length(0));
        got = expect(nat20, 1);
        assertEquals(0x0800, got.memory().get(BE16, got.dataOffset(0) + 12) & 0xffff, "native VLAN leaves untagged");
        expectNothing(a10);

        send(nat20, B, C); // untagged on the native trunk = VLAN 20, B learned on the trunk in 20
        got = expect(trunk, 1);
        assertEquals(20, got.memory().get(BE16, got.dataOffset(0) + 14) & 0xfff);
        expectNothing(a20);

        send(a10, BCAST, A, 20); // tagged frame on an access port: dropped
        send(trunk, BCAST, B, 30); // VLAN the trunk does not carry: dropped
        expectNothing(trunk);
        expectNothing(nat20);
        expectNothing(a20);
        assertEquals(1L, sw.stats().ports().get(0).drops().get(DropReason.VLAN));
        assertEquals(1L, sw.stats().ports().get(2).drops().get(DropReason.VLAN));
        assertEquals(2, sw.lookup(B, 20));
        assertEquals(-1, sw.lookup(B, 10));
    }

    @Test
    void partialChecksumIsFinishedOnlyForPortsWithoutTheOffload() throws Exception {
        Link[] p = build(Switch.builder().threads(1), Offloads.ALL, Offloads.ALL, Offloads.NONE);
        tx.clear();
        int i = frame(tx, BCAST, A, -1, 100);
        MemorySegment m = tx.memory();
        long udp = tx.dataOffset(i) + 34;
        int good = m.get(BE16, udp + 6) & 0xffff;
        // NEEDS_CSUM as a TAP would hand it over: the field holds the pseudo-header sum only.
        m.set(BE16, udp + 6, (short) Checksum.fold(Checksum.pseudoHeaderV4(m, tx.dataOffset(i) + 14, 17, 108)));
        tx.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, 0, 0, 0, 34, 6);
        assertEquals(1, p[0].transmit(tx));
        PacketBatch got = expect(p[1], 1);
        assertTrue(got.needsCsum(0), "a port with CSUM gets the partial checksum untouched");
        got = expect(p[2], 1);
        assertFalse(got.needsCsum(0), "a port without CSUM gets a finished checksum");
        assertEquals(good, got.memory().get(BE16, got.dataOffset(0) + 34 + 6) & 0xffff);
        assertEquals(1, sw.stats().ports().get(2).checksummed());
        assertEquals(0, sw.stats().ports().get(1).checksummed());
    }

    @Test
    void superpacketsPassWholeWhereAcceptedAndAreFixedOrDroppedElsewhere() throws Exception {
        Link[] p = build(Switch.builder().threads(1), Offloads.ALL, Offloads.ALL, Offloads.of(Offloads.CSUM));
        tx.clear();
        int i = frame(tx, BCAST, A, -1, 8000);
        MemorySegment m = tx.memory();
        m.set(BE16, tx.dataOffset(i) + 34 + 6,
                (short) Checksum.fold(Checksum.pseudoHeaderV4(m, tx.dataOffset(i) + 14, 17, 8008)));
        tx.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_UDP_L4, 42, 1400, 34, 6);
        assertEquals(1, p[0].transmit(tx));
        PacketBatch got = expect(p[1], 1);
        assertEquals(VirtioNetHdr.GSO_UDP_L4, got.gsoType(0), "one superpacket to a port with USO");
        assertEquals(14 + 20 + 8 + 8000, got.length(0));
        assertEquals(1, sw.superpacketsIn(0), "one superpacket taken from port 0");
        assertEquals(1, sw.superpacketsOut(1), "handed whole to the port with USO");
        assertEquals(0, sw.superpacketsOut(2), "segmented for the port without it, not handed whole");
        assertEquals(0, sw.superpacketsIn(1));
        got = expect(p[2], segmenterAvailable() ? 6 : 0);
        if (segmenterAvailable()) {
            int payload = 0;
            for (int k = 0; k < 6; k++) {
                assertFalse(got.isGso(k));
                assertFalse(got.needsCsum(k));
                MemorySegment gm = got.memory();
                long ip = got.dataOffset(k) + 14;
                int udpLen = got.length(k) - 34;
                payload += udpLen - 8;
                assertTrue(Checksum.verify(gm, ip + 20, udpLen, Checksum.pseudoHeaderV4(gm, ip, 17, udpLen)),
                        "segment " + k + " checksum");
            }
            assertEquals(8000, payload);
            assertEquals(1, sw.stats().ports().get(2).segmented());
        } else {
            assertEquals(1L, sw.stats().ports().get(2).drops().get(DropReason.OFFLOAD));
        }
    }

    static boolean segmenterAvailable() {
        return SoftwareOffload.segmenter() != Segmenter.NONE;
    }

    @Test
    void aPortWhosePeerLeavesGoesDownAndTheOthersGoOn() throws Exception {
        Link[] p = build(3);
        p[2].close();
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (sw.isUp(2) && System.nanoTime() < deadline) {
            send(p[0], BCAST, A); // forwarding to it notices too
            Thread.sleep(10);
        }
        assertFalse(sw.isUp(2));
        Thread.sleep(100); // let the last broadcasts through before draining them
        rx.clear();
        while (p[1].receive(rx) > 0) rx.clear();
        send(p[0], B, A);
        expect(p[1], 1);
        // The dead port's descriptor must not keep the pollers awake: they sleep again.
        var mx = java.lang.management.ManagementFactory.getThreadMXBean();
        var pollers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("ringlink-switch-")).toList();
        Thread.sleep(100);
        long cpu0 = pollers.stream().mapToLong(t -> mx.getThreadCpuTime(t.threadId())).sum();
        Thread.sleep(500);
        long cpu = pollers.stream().mapToLong(t -> mx.getThreadCpuTime(t.threadId())).sum() - cpu0;
        assertTrue(cpu < 100_000_000L, "idle pollers used " + cpu / 1_000_000 + " ms of CPU in 500 ms");
    }

    @Test
    void closeStopsTheThreadsAndClosesEveryPort() throws Exception {
        Link[] p = build(4);
        send(p[0], BCAST, A);
        expect(p[3], 1);
        sw.close();
        for (int i = 0; i < 4; i++) {
            assertFalse(sw.port(i).isOpen());
            Link far = p[i];
            rx.clear();
            assertThrows(LinkClosedException.class, () -> { while (true) { rx.clear(); far.receive(rx); } });
        }
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            assertFalse(t.getName().startsWith("ringlink-switch-") && t.isAlive(), t.getName() + " still running");
        }
        sw.close(); // idempotent
    }

    @Test
    void portUpDownAndDropsAreJfrEvents(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("sw.jfr");
        try (jdk.jfr.Recording rec = new jdk.jfr.Recording()) {
            rec.enable("ringlink.PortUp");
            rec.enable("ringlink.PortDown");
            rec.enable("ringlink.Drop");
            rec.start();
            Link[] p = build(Switch.builder().threads(1), Offloads.ALL, Offloads.ALL);
            tx.clear();
            tx.add(); // a 0-byte frame: malformed, dropped
            assertEquals(1, p[0].transmit(tx));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (sw.stats().ports().get(0).drops().isEmpty() && System.nanoTime() < deadline) Thread.sleep(5);
            sw.close();
            rec.stop();
            rec.dump(file);
        }
        var events = jdk.jfr.consumer.RecordingFile.readAllEvents(file);
        assertEquals(2, events.stream().filter(e -> e.getEventType().getName().equals("ringlink.PortUp")).count());
        assertEquals(2, events.stream().filter(e -> e.getEventType().getName().equals("ringlink.PortDown")
                && e.getString("reason").equals("switch closed")).count());
        var drop = events.stream().filter(e -> e.getEventType().getName().equals("ringlink.Drop")).findFirst()
                .orElseThrow();
        assertEquals("MALFORMED", drop.getString("reason"));
        assertEquals(1, drop.getLong("packets"));
        assertEquals("rlcl-sw0[0]", drop.getString("port"));
    }

    @Test
    void aMirrorPortSeesWhatArrivesOnTheMirroredPorts() throws Exception {
        PairLink[] m = PairLink.create("rlcl-mirror");
        Link[] p = build(Switch.builder().threads(1).mirror(m[0], 0), Offloads.ALL, Offloads.ALL);
        pairs.add(m); // after build(): build() makes ports of the pairs listed so far
        send(p[0], BCAST, A);
        expect(p[1], 1);
        assertEquals(A, mac(expect(m[1], 1), 0, 6));
        send(p[1], A, B); // port 1 is not mirrored
        expect(p[0], 1);
        expectNothing(m[1]);
        sw.close();
        assertFalse(m[0].isOpen(), "the switch owns the mirror link");
    }

    /** Garbage frames with lying offload metadata: dropped and counted, no port down, no thread dead. */
    @Test
    void hostileFramesAndMetadataNeverStopTheSwitch() throws Exception {
        PairLink[][] p = new PairLink[4][];
        Offloads[] o = {Offloads.ALL, Offloads.NONE, Offloads.of(Offloads.CSUM), Offloads.ALL};
        for (int i = 0; i < 4; i++) pairs.add(p[i] =
                PairLink.create("rlcl-h" + i, 256, PacketBatch.SUPERPACKET_BUFFER, Layer.L2, 1500, o[i]));
        sw = Switch.builder().threads(2).vlanAware(true)
                .port(p[0][0], PortVlan.trunk(1, 10, 20)).port(p[1][0], PortVlan.access(10))
                .port(p[2][0], PortVlan.trunk(-1, 10)).port(p[3][0], PortVlan.access(1)).build();
        sw.start();
        java.util.Random r = new java.util.Random(42);
        int[] gso = {0, 1, 4, 5, 0x81, 0x84, 0x85}; // what a link with every offload may produce; the sizes lie
        for (int round = 0; round < 60; round++) {
            tx.clear();
            for (int k = 0; k < 32; k++) {
                int i = tx.add();
                int len = r.nextInt(10) == 0 ? r.nextInt(14) : r.nextInt(9000);
                MemorySegment m = tx.memory();
                long off = tx.dataOffset(i);
                for (int j = 0; j < len; j++) m.set(ValueLayout.JAVA_BYTE, off + j, (byte) r.nextInt());
                if (len >= 14) {
                    // Mostly plausible headers so the frames get past the first checks.
                    putMac(m, off, r.nextBoolean() ? BCAST : A + r.nextInt(3));
                    putMac(m, off + 6, B + r.nextInt(3));
                    if (r.nextBoolean()) m.set(BE16, off + 12, (short) (r.nextBoolean() ? 0x0800 : 0x8100));
                    if (len >= 18 && r.nextBoolean())
                            m.set(BE16, off + 14, (short) (r.nextBoolean() ? 10 : r.nextInt(4096)));
                }
                tx.setLength(i, len);
                // A link produces only the metadata its offloads allow; within that, the values lie.
                if (o[round % 4] == Offloads.ALL) {
                    tx.setOffload(i, r.nextInt(4), gso[r.nextInt(gso.length)], r.nextInt(200), r.nextInt(3000),
                            r.nextInt(200), r.nextInt(40));
                } else if (o[round % 4].has(Offloads.CSUM) && r.nextBoolean()) {
                    tx.setOffload(i, 1, 0, 0, 0, r.nextInt(200), r.nextInt(40));
                }
            }
            int sent = 0;
            Link from = p[round % 4][1];
            while (sent < 32) {
                int n = from.transmit(tx, sent, 32);
                sent += n;
                if (n == 0) drainAll(p);
            }
            drainAll(p);
        }
        Thread.sleep(200);
        drainAll(p);
        for (int i = 0; i < 4; i++) assertTrue(sw.isUp(i), "port " + i + " went down");
        assertTrue(Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("ringlink-switch-"))
                .count() == 2);
        var s = sw.stats();
        long drops = s.ports().stream().mapToLong(PortStats::totalDrops).sum();
        assertTrue(drops > 0, "hostile frames are counted as drops");
        send(p[3][1], BCAST, C); // a good frame still goes through (VLAN 1: ports 0 native and 3)
        expect(p[0][1], 1);
    }

    private void drainAll(PairLink[][] p) throws IOException {
        for (PairLink[] x : p) {
            rx.clear();
            while (x[1].receive(rx) > 0) rx.clear();
        }
    }

    @Test
    void rejectsL3Links() throws Exception {
        PairLink[] p = PairLink.create("rlcl-l3", 4, 2048, Layer.L3, 1500, Offloads.NONE);
        try {
            var e = assertThrows(IllegalArgumentException.class, () -> Switch.builder().port(p[0]));
            assertTrue(e.getMessage().contains("tap:"), e.getMessage());
        } finally {
            p[0].free();
        }
    }

    @Test
    void forwardingAllocatesNothingPerPacket() throws Exception {
        Link[] p = build(Switch.builder().threads(1), Offloads.ALL, Offloads.ALL);
        send(p[1], BCAST, B);
        expect(p[0], 1);
        Thread poller = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("ringlink-switch-0")).findFirst().orElseThrow();
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        tx.clear();
        for (int k = 0; k < 32; k++) frame(tx, B, A, -1, 64);
        PacketBatch sink = new PacketBatch(256, 2048);
        try {
            // warm up (JIT), then measure
            long before = 0;
            int rounds = 3000;
            for (int r = 0; r < 2 * rounds; r++) {
                if (r == rounds) before = mx.getThreadAllocatedBytes(poller.threadId());
                int sent = 0;
                while (sent < 32) sent += p[0].transmit(tx, sent, 32);
                sink.clear();
                int got = 0;
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (got < 32 && System.nanoTime() < deadline) {
                    sink.clear();
                    got += p[1].receive(sink);
                }
            }
            long per = (mx.getThreadAllocatedBytes(poller.threadId()) - before) / (rounds * 32L);
            assertTrue(per < 8, "poller allocated " + per + " bytes per packet");
        } finally {
            sink.close();
        }
    }
}
