package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import net.jqwik.api.*;
import net.jqwik.api.constraints.*;
import org.junit.jupiter.api.Test;

class GsoTest {

    static int gsoType(TestPackets.Spec s) {
        return s.proto == 17 ? VirtioNetHdr.GSO_UDP_L4 : s.ipVersion == 4 ? VirtioNetHdr.GSO_TCPV4
                : VirtioNetHdr.GSO_TCPV6;
    }

    /** Adds {@code spec} as a NEEDS_CSUM superpacket with the metadata the kernel would give it. */
    static int superpacket(PacketBatch b, TestPackets.Spec spec, int gsoSize) {
        int i = TestPackets.add(b, TestPackets.build(spec, true));
        b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, gsoType(spec), TestPackets.headersLength(spec), gsoSize,
                TestPackets.l4Offset(spec), spec.proto == 6 ? Tcp.OFF_CHECK : Udp.OFF_CHECK);
        return i;
    }

    static byte[] payloadOf(byte[] pkt, Framing f) {
        Slow.Parsed r = Slow.parse(pkt, f == Framing.ETHERNET);
        return Arrays.copyOfRange(pkt, r.payloadOff(), r.ipEnd);
    }

    @Test
    void tcpv4SegmentsHaveSequenceFlagsIdsAndChecksums() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.framing = Framing.ETHERNET;
        s.flags = Tcp.TH_ACK | Tcp.TH_PUSH | Tcp.TH_FIN | Tcp.TH_CWR;
        s.seq = 0xfffffc00; // wraps during the superpacket
        s.ipId = 0xffff;    // so does the IP ID
        s.tcpOptions = Generators.timestamps(7, 9);
        s.payload = new byte[2500];
        new java.util.Random(1).nextBytes(s.payload);
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch dst = new PacketBatch(8, 2048)) {
            int i = superpacket(src, s, 1000);
            Gso gso = new Gso();
            assertEquals(3, gso.segment(src, i, Framing.ETHERNET, dst));
            assertEquals(3, dst.count());
            int[] lens = {1000, 1000, 500};
            int[] flags = {Tcp.TH_ACK | Tcp.TH_CWR, Tcp.TH_ACK, Tcp.TH_ACK | Tcp.TH_PUSH | Tcp.TH_FIN};
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int k = 0; k < 3; k++) {
                byte[] p = TestPackets.get(dst, k);
                var m = java.lang.foreign.MemorySegment.ofArray(p);
                assertEquals(14 + 20 + 32 + lens[k], p.length);
                assertEquals(20 + 32 + lens[k], Ipv4.totalLength(m, 14));
                assertEquals((0xffff + k) & 0xffff, Ipv4.id(m, 14));
                assertEquals(0xfffffc00 + 1000 * k, Tcp.seq(m, 34));
                assertEquals(flags[k], Tcp.flags(m, 34), "flags of segment " + k);
                assertTrue(Slow.checksumsValid(p, true), "checksums of segment " + k);
                assertEquals(0, dst.flags(k));
                assertFalse(dst.isGso(k));
                all.writeBytes(payloadOf(p, Framing.ETHERNET));
            }
            assertArrayEquals(s.payload, all.toByteArray());
        }
    }

    @Test
    void wrongKernelHdrLenIsCorrected() {
        // On the FORWARD path Linux may report hdr_len as the whole linear part of the first
        // segment (headers plus payload); the real header length comes from the TCP header.
        TestPackets.Spec s = new TestPackets.Spec();
        s.ipVersion = 6;
        s.payload = new byte[4000];
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch dst = new PacketBatch(8, 2048)) {
            int i = superpacket(src, s, 1400);
            src.setGso(i, VirtioNetHdr.GSO_TCPV6, 40 + 20 + 1400, 1400);
            Gso gso = new Gso();
            assertEquals(3, gso.validate(src, i, Framing.IP));
            assertEquals(60, src.hdrLen(i));
            src.setGso(i, VirtioNetHdr.GSO_TCPV6, 7, 1400); // too short is corrected as well
            assertEquals(3, gso.segment(src, i, Framing.IP, dst));
            assertEquals(60, src.hdrLen(i));
            for (int k = 0; k < 3; k++) assertTrue(Slow.checksumsValid(TestPackets.get(dst, k), false));
        }
    }

    @Test
    void framingIsDetectedFromCsumStart() {
        Gso gso = new Gso();
        for (Framing f : Framing.values()) {
            for (int v : new int[] {4, 6}) {
                TestPackets.Spec s = new TestPackets.Spec();
                s.framing = f;
                s.ipVersion = v;
                s.payload = new byte[3000];
                try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                        PacketBatch dst = new PacketBatch(8, 2048)) {
                    int i = superpacket(src, s, 1448);
                    assertEquals(f, gso.detectFraming(src, i));
                    assertEquals(3, gso.segment(src, i, dst));
                }
            }
        }
    }

    @Test
    void udpL4SegmentsAreDatagrams() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.proto = 17;
        s.payload = new byte[3001];
        new java.util.Random(2).nextBytes(s.payload);
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch dst = new PacketBatch(8, 2048)) {
            int i = superpacket(src, s, 1000);
            assertEquals(4, new Gso().segment(src, i, Framing.IP, dst));
            for (int k = 0; k < 4; k++) {
                byte[] p = TestPackets.get(dst, k);
                int chunk = k < 3 ? 1000 : 1;
                assertEquals(8 + chunk, Udp.length(java.lang.foreign.MemorySegment.ofArray(p), 20));
                assertTrue(Slow.checksumsValid(p, false));
                assertArrayEquals(Arrays.copyOfRange(s.payload, 1000 * k, 1000 * k + chunk), payloadOf(p, Framing.IP));
            }
        }
    }

    @Test
    void resumableSegmentationFillsSmallBatches() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.payload = new byte[10_000];
        new java.util.Random(3).nextBytes(s.payload);
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch dst = new PacketBatch(3, 2048)) {
            int i = superpacket(src, s, 1000);
            Gso gso = new Gso();
            assertThrows(IllegalArgumentException.class, () -> gso.segment(src, i, Framing.IP, dst));
            assertEquals(0, dst.count());
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            int next = 0, rounds = 0;
            while (next < 10) {
                dst.clear();
                next = gso.segment(src, i, Framing.IP, dst, next);
                for (int k = 0; k < dst.count(); k++) all.writeBytes(payloadOf(TestPackets.get(dst, k), Framing.IP));
                rounds++;
            }
            assertEquals(4, rounds);
            assertArrayEquals(s.payload, all.toByteArray());
        }
    }

    @Test
    void plainPacketsPassAndNeedsCsumIsCompleted() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.proto = 17;
        s.payload = new byte[100];
        try (PacketBatch src = new PacketBatch(2, 2048); PacketBatch dst = new PacketBatch(2, 2048)) {
            int i = TestPackets.add(src, TestPackets.build(s, true));
            src.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, 0, 0, 0, 20, 6);
            int a = TestPackets.add(src, new byte[] {1, 2, 3}); // not even IP: passed as is
            Gso gso = new Gso();
            assertEquals(1, gso.segment(src, i, dst));
            assertEquals(1, gso.segment(src, a, dst));
            assertArrayEquals(TestPackets.build(s, false), TestPackets.get(dst, 0));
            assertFalse(dst.needsCsum(0));
            assertArrayEquals(new byte[] {1, 2, 3}, TestPackets.get(dst, 1));
        }
    }

    @Test
    void inconsistentMetadataIsRejected() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.payload = new byte[3000];
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
                PacketBatch dst = new PacketBatch(8, 2048)) {
            int i = superpacket(src, s, 1000);
            Gso gso = new Gso();
            src.setGso(i, VirtioNetHdr.GSO_TCPV4, 40, 0);
            assertThrows(MalformedPacketException.class, () -> gso.segment(src, i, Framing.IP, dst));
            src.setGso(i, VirtioNetHdr.GSO_TCPV6, 40, 1000);
            assertThrows(MalformedPacketException.class, () -> gso.segment(src, i, Framing.IP, dst));
            src.setGso(i, VirtioNetHdr.GSO_UDP_L4, 40, 1000);
            assertThrows(MalformedPacketException.class, () -> gso.segment(src, i, Framing.IP, dst));
            src.setGso(i, VirtioNetHdr.GSO_UDP, 40, 1000);
            assertThrows(MalformedPacketException.class, () -> gso.segment(src, i, Framing.IP, dst));
            src.setGso(i, VirtioNetHdr.GSO_TCPV4, 40, 1000);
            src.setCsum(i, 20, 6);
            assertThrows(MalformedPacketException.class, () -> gso.segment(src, i, Framing.IP, dst));
            src.setCsum(i, 20, 16);
            src.setLength(i, 1000); // IP total length now lies
            var e = assertThrows(MalformedPacketException.class, () -> gso.segment(src, i, Framing.IP, dst));
            assertTrue(e.getMessage().contains("total length"), e.getMessage());
            assertEquals(0, dst.count());
        }
    }

    @Property(tries = 300)
    void segmentsAreValidAndCarryThePayload(@ForAll("superSpecs") TestPackets.Spec spec,
                                            @ForAll @IntRange(min = 64, max = 2000) int gsoSize) {
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch dst = new PacketBatch(512, 4096)) {
            int i = superpacket(src, spec, gsoSize);
            Gso gso = new Gso();
            int n = gso.segment(src, i, spec.framing, dst);
            assertEquals(Math.max(1, (spec.payload.length + gsoSize - 1) / gsoSize), n);
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            byte[] first = TestPackets.get(src, i);
            Slow.Parsed r0 = Slow.parse(first, spec.framing == Framing.ETHERNET);
            for (int k = 0; k < n; k++) {
                byte[] p = TestPackets.get(dst, k);
                assertTrue(Slow.checksumsValid(p, spec.framing == Framing.ETHERNET), "segment " + k);
                Slow.Parsed r = Slow.parse(p, spec.framing == Framing.ETHERNET);
                assertEquals(p.length, r.ipEnd);
                if (spec.proto == 6) {
                    assertEquals((int) (Slow.u32(first, r0.l4 + 4) + (long) k * gsoSize), (int) Slow.u32(p, r.l4 + 4));
                } else {
                    assertEquals(p.length - r.l4, Slow.u16(p, r.l4 + 4));
                }
                all.writeBytes(payloadOf(p, spec.framing));
            }
            assertArrayEquals(spec.payload, all.toByteArray());
        }
    }

    @Property(tries = 1000)
    void lyingSuperpacketsAreRejectedWithTheTypedException(@ForAll("smallSpecs") TestPackets.Spec spec,
            @ForAll @IntRange(min = 0, max = 3000) int gsoSize, @ForAll @IntRange(max = 70000) int cut,
            @ForAll @IntRange(max = 120) int at, @ForAll byte value, @ForAll @IntRange(max = 200) int hdrLen,
            @ForAll @IntRange(max = 200) int csumStart, @ForAll @IntRange(max = 20) int csumOffset,
            @ForAll @IntRange(max = 7) int gsoType, @ForAll boolean needsCsum) {
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch dst = new PacketBatch(64, 4096)) {
            int i = superpacket(src, spec, gsoSize);
            if (at < src.length(i))
                    src.memory().set(java.lang.foreign.ValueLayout.JAVA_BYTE, src.dataOffset(i) + at, value);
            src.setLength(i, Math.min(cut, src.length(i)));
            if (hdrLen % 3 == 0) src.setGso(i, gsoType, hdrLen, gsoSize);
            if (csumStart % 4 == 0) src.setCsum(i, csumStart, csumOffset);
            if (!needsCsum) src.setFlags(i, 0);
            Gso gso = new Gso();
            try {
                int n = gso.validate(src, i, spec.framing);
                for (int next = 0; next < n; ) {
                    dst.clear();
                    next = gso.segment(src, i, spec.framing, dst, next);
                    if (src.isGso(i)) {
                        for (int k = 0; k < dst.count(); k++) {
                            assertTrue(Slow.checksumsValid(TestPackets.get(dst, k), spec.framing == Framing.ETHERNET));
                        }
                    }
                }
            } catch (MalformedPacketException expected) {
                assertNotNull(expected.getMessage());
            }
        }
    }

    @Provide
    Arbitrary<TestPackets.Spec> smallSpecs() {
        return Generators.specs(Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(3000));
    }

    @Provide
    Arbitrary<TestPackets.Spec> superSpecs() {
        return Generators.specs(Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(20000));
    }
}
