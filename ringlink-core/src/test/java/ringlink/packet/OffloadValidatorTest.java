package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import ringlink.packet.OffloadValidator.Reason;
import ringlink.packet.OffloadValidator.Source;

/** The one ingress check of peer offload metadata (tun, vhost-user both roles, vhost-net, shm). */
class OffloadValidatorTest {
    private static final int[] GSO_TYPES = {0, 1, 3, 4, 5, 6, 0x81, 0x84, 0x85, 0x80, 0x7f, 0xff};

    /** What the links' Offloads.ALL accepts (a superpacket of a known type with NEEDS_CSUM). */
    static boolean allAccept(PacketBatch b, int i) {
        int t = b.gsoType(i) & ~VirtioNetHdr.GSO_ECN;
        if (b.gsoType(i) == 0) return true;
        return (t == 1 || t == 4 || t == 5) && b.needsCsum(i);
    }

    /**
     * Any metadata on any packet, from any source: the validator never throws, and what it passes
     * is safe to forward: flags the source may send, a plain packet's checksum field inside it,
     * a superpacket that segments without error into a bounded number of segments.
     */
    @Property(tries = 3000)
    void whateverThePeerSaysWhatPassesIsSafe(@ForAll("specs") TestPackets.Spec spec, @ForAll Source source,
            @ForAll @IntRange(max = 255) int flags, @ForAll @IntRange(max = 11) int type,
            @ForAll @IntRange(max = 0xffff) int hdrLen, @ForAll("sizes") int gsoSize,
                    @ForAll @IntRange(max = 300) int csumStart,
            @ForAll @IntRange(max = 300) int csumOffset, @ForAll boolean wellFormedCsum, @ForAll boolean csum,
            @ForAll @IntRange(max = 70000) int cut) {
        try (PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch dst = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = GsoTest.superpacket(b, spec, Math.max(1, gsoSize));
            b.setLength(i, Math.min(b.length(i), Math.max(1, cut)));
            int cs = wellFormedCsum ? b.csumStart(i) : csumStart;
            int co = wellFormedCsum ? b.csumOffset(i) : csumOffset;
            b.setOffload(i, flags, GSO_TYPES[type], hdrLen, gsoSize, cs, co);
            OffloadValidator v = new OffloadValidator(spec.framing, source);
            Reason r = v.check(b, i, allAccept(b, i), csum);
            if (r != null) {
                assertEquals(1, v.count(r));
                assertEquals(1, v.rejected());
                assertNotNull(v.lastProblem());
                return;
            }
            int f = b.flags(i);
            switch (source) {
                case DRIVER -> assertEquals(0, f & ~VirtioNetHdr.F_NEEDS_CSUM, "driver flags left: " + f);
                case DEVICE -> assertEquals(0, f & ~(VirtioNetHdr.F_NEEDS_CSUM | VirtioNetHdr.F_DATA_VALID),
                        "device flags left: " + f);
                case KERNEL -> assertEquals(0, f & ~7, "kernel flags left: " + f);
            }
            if (!b.isGso(i)) {
                if ((flags | GSO_TYPES[type]) != 0) { // (with neither, VirtioNetHdr.decode has cleared the rest)
                    assertEquals(0, b.hdrLen(i));
                    assertEquals(0, b.gsoSize(i));
                }
                if (b.needsCsum(i)) {
                    assertTrue(csum, "NEEDS_CSUM kept although the link has no CSUM");
                    assertTrue(b.csumStart(i) + b.csumOffset(i) + 2 <= b.length(i));
                    Checksum.complete(b, i);
                }
                return;
            }
            assertTrue(b.needsCsum(i));
            assertTrue(b.gsoSize(i) >= OffloadValidator.MIN_GSO_SIZE);
            Gso gso = new Gso();
            int n = gso.validate(b, i, spec.framing);
            assertTrue(n <= 65535 / OffloadValidator.MIN_GSO_SIZE + 1, n + " segments");
            if ((b.gsoType(i) & ~VirtioNetHdr.GSO_ECN) == VirtioNetHdr.GSO_UDP_L4)
                    assertTrue(n <= OffloadValidator.MAX_UDP_SEGMENTS);
            int next = 0, total = 0;
            while (next < n) {
                dst.clear();
                next = gso.segment(b, i, spec.framing, dst, next);
                total += dst.count();
            }
            assertEquals(n, total);
        }
    }

    @Property(tries = 300)
    void wellFormedSuperpacketsPassWithTheirHeaderLengthCorrected(@ForAll("specs") TestPackets.Spec spec,
            @ForAll @IntRange(min = OffloadValidator.MIN_GSO_SIZE, max = 9000) int gsoSize, @ForAll Source source) {
        try (PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = GsoTest.superpacket(b, spec, gsoSize);
            int segments = (spec.payload.length + gsoSize - 1) / gsoSize;
            b.setGso(i, b.gsoType(i), b.length(i), gsoSize); // a forwarded packet's hdr_len covering everything
            Reason r = new OffloadValidator(spec.framing, source).check(b, i, true, true);
            if (spec.proto == 17 && segments > OffloadValidator.MAX_UDP_SEGMENTS) {
                assertEquals(Reason.GSO_SEGMENTS, r);
            } else {
                assertNull(r);
                assertEquals(TestPackets.headersLength(spec), b.hdrLen(i));
            }
        }
    }

    /** GSO amplification: a gso_size under the floor is refused before anything is parsed. */
    @Property(tries = 200)
    void aTinyGsoSizeIsRefused(@ForAll("specs") TestPackets.Spec spec,
            @ForAll @IntRange(max = OffloadValidator.MIN_GSO_SIZE - 1) int gsoSize) {
        try (PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = GsoTest.superpacket(b, spec, gsoSize);
            OffloadValidator v = new OffloadValidator(spec.framing, Source.DRIVER);
            assertEquals(Reason.GSO_SIZE, v.check(b, i, true, true));
            assertTrue(v.lastProblem().contains("gso_size " + gsoSize), v.lastProblem());
        }
    }

    @Test
    void aSixtyFourKilobyteSuperpacketWithGsoSizeOneIsNotSixtyFiveThousandSegments() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.framing = Framing.ETHERNET;
        s.payload = new byte[65000];
        try (PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = GsoTest.superpacket(b, s, 1);
            assertEquals(65000, new Gso().validate(b, i, Framing.ETHERNET), "what it would cost");
            OffloadValidator v = new OffloadValidator(Framing.ETHERNET, Source.DRIVER);
            assertEquals(Reason.GSO_SIZE, v.check(b, i, true, true));
            b.setGso(i, b.gsoType(i), b.hdrLen(i), 0);
            assertEquals(Reason.GSO_SIZE, v.check(b, i, true, true));
            assertEquals(2, v.count(Reason.GSO_SIZE));
            // UDP at the floor: 65000 / 48 segments is over Linux's UDP bound.
            s.proto = 17;
            b.clear();
            i = GsoTest.superpacket(b, s, OffloadValidator.MIN_GSO_SIZE);
            assertEquals(Reason.GSO_SEGMENTS, v.check(b, i, true, true));
        }
    }

    @Test
    void dataValidMeansSomethingOnlyFromADeviceOrTheKernel() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.framing = Framing.ETHERNET;
        s.payload = new byte[100];
        try (PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = TestPackets.add(b, TestPackets.build(s, false));
            for (Source src : Source.values()) {
                b.setOffload(i, VirtioNetHdr.F_DATA_VALID | VirtioNetHdr.F_RSC_INFO | 0x40, 0, 7, 9, 0, 0);
                OffloadValidator v = new OffloadValidator(Framing.ETHERNET, src);
                Reason r = v.check(b, i, true, true);
                switch (src) {
                    case KERNEL -> assertEquals(Reason.FLAGS, r, "the kernel sends no unknown flag");
                    case DRIVER -> {
                        assertNull(r);
                        assertEquals(0, b.flags(i), "a driver's DATA_VALID, RSC_INFO and unknown flags are cleared");
                        assertEquals(1, v.fixedUp());
                    }
                    case DEVICE -> {
                        assertNull(r);
                        assertEquals(VirtioNetHdr.F_DATA_VALID, b.flags(i));
                    }
                }
                if (r == null) assertEquals(0, b.hdrLen(i), "hdr_len means nothing on a plain packet");
            }
        }
    }

    @Test
    void aPartialChecksumIsFinishedWhereTheLinkHasNoCsumAndRefusedOutsideThePacket() {
        TestPackets.Spec s = new TestPackets.Spec();
        s.framing = Framing.ETHERNET;
        s.proto = 17;
        s.payload = new byte[100];
        try (PacketBatch b = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = GsoTest.superpacket(b, s, 1000);
            b.setGso(i, 0, 0, 0);
            OffloadValidator v = new OffloadValidator(Framing.ETHERNET, Source.DRIVER);
            assertNull(v.check(b, i, true, false));
            assertFalse(b.needsCsum(i), "finished in software");
            b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, 0, 0, 0, b.length(i) - 1, 0);
            assertEquals(Reason.CSUM, v.check(b, i, true, true));
        }
    }

    @Provide
    Arbitrary<TestPackets.Spec> specs() {
        return Generators.specs(Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(9000));
    }

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.oneOf(Arbitraries.integers().between(0, 64), Arbitraries.integers().between(0, 0xffff));
    }
}
