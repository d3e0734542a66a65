package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import net.jqwik.api.*;
import net.jqwik.api.constraints.*;
import org.junit.jupiter.api.Test;

class GroTest {
    // Reused across tries: allocating (and zeroing) 16 MiB of superpacket buffers per try
    // would dominate the property's run time.
    static final PacketBatch SP = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
    static final PacketBatch SEGS = new PacketBatch(256, 2048);
    static final PacketBatch MERGED = new PacketBatch(256, PacketBatch.SUPERPACKET_BUFFER);
    static final PacketBatch AGAIN = new PacketBatch(256, 2048);

    @net.jqwik.api.lifecycle.AfterContainer
    static void free() {
        SP.close(); SEGS.close(); MERGED.close(); AGAIN.close();
    }

    static TestPackets.Spec tcp(int seq, int len) {
        TestPackets.Spec s = new TestPackets.Spec();
        s.seq = seq;
        s.payload = new byte[len];
        Arrays.fill(s.payload, (byte) seq);
        s.ipId = 100 + (seq - 1000) / 100;
        return s;
    }

    @Test
    void consecutiveSegmentsBecomeOneSuperpacket() {
        try (PacketBatch src = new PacketBatch(8, 2048);
                PacketBatch dst = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            TestPackets.Spec last = tcp(1200, 50);
            last.flags |= Tcp.TH_PUSH;
            TestPackets.add(src, TestPackets.build(tcp(1000, 100), false));
            TestPackets.add(src, TestPackets.build(tcp(1100, 100), false));
            TestPackets.add(src, TestPackets.build(last, false));
            assertEquals(1, new Gro(Framing.IP).coalesce(src, dst));
            MemorySegment m = dst.memory();
            long o = dst.dataOffset(0);
            assertEquals(40 + 250, dst.length(0));
            assertEquals(290, Ipv4.totalLength(m, o));
            assertTrue(Ipv4.checkValid(m, o));
            assertEquals(Tcp.TH_ACK | Tcp.TH_PUSH, Tcp.flags(m, o + 20));
            assertEquals(VirtioNetHdr.F_NEEDS_CSUM, dst.flags(0));
            assertEquals(VirtioNetHdr.GSO_TCPV4, dst.gsoType(0));
            assertEquals(40, dst.hdrLen(0));
            assertEquals(100, dst.gsoSize(0));
            assertEquals(20, dst.csumStart(0));
            assertEquals(16, dst.csumOffset(0));
            // The partial checksum completes to a valid checksum over the whole superpacket.
            byte[] sp = TestPackets.get(dst, 0);
            Checksum.complete(MemorySegment.ofArray(sp), 0, sp.length, 20, 16);
            assertTrue(Slow.checksumsValid(sp, false));
        }
    }

    @Test
    void flowsAreSeparatedAndNeverReordered() {
        try (PacketBatch src = new PacketBatch(16, 2048);
                PacketBatch dst = new PacketBatch(16, PacketBatch.SUPERPACKET_BUFFER)) {
            TestPackets.Spec other = tcp(5000, 100);
            other.srcPort = 40001;
            TestPackets.Spec other2 = tcp(5100, 100);
            other2.srcPort = 40001;
            other2.ipId = other.ipId + 1;
            TestPackets.add(src, TestPackets.build(tcp(1000, 100), false));    // A1
            TestPackets.add(src, TestPackets.build(other, false));             // B1
            TestPackets.add(src, TestPackets.build(tcp(1100, 100), false));    // A2 -> into A1
            TestPackets.add(src, TestPackets.build(other2, false));            // B2 -> into B1
            TestPackets.add(src, TestPackets.build(tcp(1300, 100), false));    // A gap: new superpacket
            TestPackets.add(src, TestPackets.build(tcp(1200, 100), false));    // A: not after 1300 -> alone
            assertEquals(4, new Gro(Framing.IP).coalesce(src, dst));
            MemorySegment m = dst.memory();
            int[] seqs = {1000, 5000, 1300, 1200};
            int[] lens = {240, 240, 140, 140};
            for (int k = 0; k < 4; k++) {
                assertEquals(seqs[k], Tcp.seq(m, dst.dataOffset(k) + 20));
                assertEquals(lens[k], dst.length(k));
            }
            assertTrue(dst.isGso(0));
            assertTrue(dst.isGso(1));
            assertFalse(dst.isGso(2));
            assertFalse(dst.isGso(3));
        }
    }

    @Test
    void unsuitablePacketsAreNotMerged() {
        TestPackets.Spec base = tcp(1000, 100);
        TestPackets.Spec syn = tcp(1100, 100);
        syn.flags |= Tcp.TH_SYN;
        TestPackets.Spec fin = tcp(1100, 100);
        fin.flags |= Tcp.TH_FIN;
        TestPackets.Spec ts = tcp(1100, 100);
        ts.tcpOptions = Generators.timestamps(1, 2);
        TestPackets.Spec win = tcp(1100, 100);
        win.window = 9;
        TestPackets.Spec ack = tcp(1100, 100);
        ack.ack = 1;
        TestPackets.Spec big = tcp(1100, 101);
        TestPackets.Spec ttl = tcp(1100, 100);
        ttl.ttl = 3;
        TestPackets.Spec id = tcp(1100, 100);
        id.df = false;
        TestPackets.Spec empty = tcp(1100, 0);
        for (TestPackets.Spec second : new TestPackets.Spec[] {syn, fin, ts, win, ack, big, ttl, id, empty}) {
            try (PacketBatch src = new PacketBatch(4, 2048);
                    PacketBatch dst = new PacketBatch(4, PacketBatch.SUPERPACKET_BUFFER)) {
                TestPackets.add(src, TestPackets.build(base, false));
                TestPackets.add(src, TestPackets.build(second, false));
                assertEquals(2, new Gro(Framing.IP).coalesce(src, dst));
                assertArrayEquals(TestPackets.get(src, 1), TestPackets.get(dst, 1));
            }
        }
        // A corrupted checksum must not be "repaired" by merging.
        try (PacketBatch src = new PacketBatch(4, 2048);
                PacketBatch dst = new PacketBatch(4, PacketBatch.SUPERPACKET_BUFFER)) {
            TestPackets.add(src, TestPackets.build(base, false));
            byte[] bad = TestPackets.build(tcp(1100, 100), false);
            bad[bad.length - 1] ^= 1;
            TestPackets.add(src, bad);
            assertEquals(2, new Gro(Framing.IP).coalesce(src, dst));
            // ... unless the sender vouches for it (DATA_VALID) or leaves it to us (NEEDS_CSUM).
            dst.clear();
            src.setFlags(1, VirtioNetHdr.F_DATA_VALID);
            assertEquals(1, new Gro(Framing.IP).coalesce(src, dst));
        }
    }

    @Test
    void udpDatagramsOfOneSizeBecomeUso() {
        try (PacketBatch src = new PacketBatch(8, 2048);
                PacketBatch dst = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            for (int k = 0; k < 4; k++) {
                TestPackets.Spec s = new TestPackets.Spec();
                s.framing = Framing.ETHERNET;
                s.vlan = true;
                s.ipVersion = 6;
                s.proto = 17;
                s.payload = new byte[k == 3 ? 10 : 500];
                TestPackets.add(src, TestPackets.build(s, false));
            }
            assertEquals(1, new Gro(Framing.ETHERNET, false, true, 8).coalesce(src, dst));
            assertEquals(VirtioNetHdr.GSO_UDP_L4, dst.gsoType(0));
            assertEquals(500, dst.gsoSize(0));
            assertEquals(18 + 40 + 8, dst.hdrLen(0));
            assertEquals(18 + 40, dst.csumStart(0));
            assertEquals(18 + 40 + 8 + 1510, dst.length(0));
            dst.clear();
            assertEquals(4, new Gro(Framing.ETHERNET, true, false, 8).coalesce(src, dst), "UDP disabled");
        }
    }

    @Test
    void destinationTooSmallIsRejectedBeforeAnythingIsWritten() {
        try (PacketBatch src = new PacketBatch(4, 4096); PacketBatch dst = new PacketBatch(4, 1024)) {
            TestPackets.add(src, TestPackets.build(tcp(1000, 100), false));
            TestPackets.add(src, TestPackets.build(tcp(1100, 2000), false));
            assertThrows(IllegalArgumentException.class, () -> new Gro(Framing.IP).coalesce(src, dst));
            assertEquals(0, dst.count());
        }
    }

    @Property(tries = 300)
    void coalesceAfterSegmentIsTheIdentity(@ForAll("superSpecs") TestPackets.Spec spec,
                                           @ForAll @IntRange(min = 200, max = 1500) int gsoSize,
                                           @ForAll boolean push) {
        spec.flags = Tcp.TH_ACK | (push ? Tcp.TH_PUSH : 0);
        PacketBatch sp = SP, segs = SEGS, merged = MERGED, again = AGAIN;
        sp.clear(); segs.clear(); merged.clear(); again.clear();
        {
            int i = GsoTest.superpacket(sp, spec, gsoSize);
            Gso gso = new Gso();
            int n = gso.segment(sp, i, spec.framing, segs);
            int out = new Gro(spec.framing).coalesce(segs, merged);
            boolean expectOne = n > 1 && !spec.ext6 && !(spec.proto == 17 && n > Gro.MAX_UDP_SEGMENTS);
            if (expectOne) {
                assertEquals(1, out);
                assertArrayEquals(TestPackets.get(sp, i), TestPackets.get(merged, 0));
                assertEquals(sp.flags(i), merged.flags(0));
                assertEquals(sp.gsoType(i), merged.gsoType(0));
                assertEquals(sp.hdrLen(i), merged.hdrLen(0));
                assertEquals(sp.gsoSize(i), merged.gsoSize(0));
                assertEquals(sp.csumStart(i), merged.csumStart(0));
                assertEquals(sp.csumOffset(i), merged.csumOffset(0));
            }
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            for (int k = 0; k < out; k++) all.writeBytes(GsoTest.payloadOf(TestPackets.get(merged, k), spec.framing));
            assertArrayEquals(spec.payload, all.toByteArray());
            // And segmenting the coalesced packets gives back exactly the segments.
            for (int k = 0; k < out; k++) gso.segment(merged, k, spec.framing, again);
            assertEquals(n, again.count());
            for (int k = 0; k < n; k++)
                    assertArrayEquals(TestPackets.get(segs, k), TestPackets.get(again, k), "segment " + k);
        }
    }

    /**
     * The streaming form (begin/add/end, packets in a plain buffer: the tunnel's UDP_GRO staging
     * path) gives exactly what coalesce gives from a batch: same packets, bytes and metadata.
     */
    @Test
    void streamingAddMatchesCoalesce() {
        try (PacketBatch src = new PacketBatch(16, 2048);
                PacketBatch dst = new PacketBatch(16, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch dst2 = new PacketBatch(16, PacketBatch.SUPERPACKET_BUFFER)) {
            TestPackets.Spec other = tcp(5000, 100);
            other.srcPort = 40001;
            TestPackets.Spec other2 = tcp(5100, 100);
            other2.srcPort = 40001;
            other2.ipId = other.ipId + 1;
            TestPackets.Spec last = tcp(1400, 40);
            last.flags |= Tcp.TH_PUSH;
            last.ipId = 104;
            byte[] bad = TestPackets.build(tcp(1300, 100), false);
            bad[bad.length - 1] ^= 1; // a corrupted checksum ends the superpacket, is not merged
            TestPackets.add(src, TestPackets.build(tcp(1000, 100), false));
            TestPackets.add(src, TestPackets.build(other, false));
            TestPackets.add(src, TestPackets.build(tcp(1100, 100), false));
            TestPackets.add(src, new byte[] {0x45, 0, 0, 3});                  // garbage: passed through
            TestPackets.add(src, TestPackets.build(other2, false));
            TestPackets.add(src, TestPackets.build(tcp(1200, 100), false));
            TestPackets.add(src, bad);
            TestPackets.add(src, TestPackets.build(last, false));
            int n = new Gro(Framing.IP).coalesce(src, dst);
            // the packets at odd offsets of one plain buffer, as datagrams lie in a staging buffer
            MemorySegment plain = MemorySegment.ofArray(new byte[16384]);
            long[] at = new long[src.count()];
            long o = 3;
            for (int i = 0; i < src.count(); i++) {
                MemorySegment.copy(src.memory(), src.dataOffset(i), plain, o, src.length(i));
                at[i] = o;
                o += src.length(i) + 5;
            }
            Gro g = new Gro(Framing.IP);
            g.begin();
            for (int i = 0; i < src.count(); i++) g.add(plain, at[i], src.length(i), dst2);
            g.end(dst2);
            assertEquals(5, n, "A1+A2+A3, B1+B2, garbage, bad, last");
            assertEquals(n, dst2.count());
            for (int k = 0; k < n; k++) {
                assertArrayEquals(TestPackets.get(dst, k), TestPackets.get(dst2, k), "packet " + k);
                assertEquals(dst.flags(k), dst2.flags(k));
                assertEquals(dst.gsoType(k), dst2.gsoType(k));
                assertEquals(dst.hdrLen(k), dst2.hdrLen(k));
                assertEquals(dst.gsoSize(k), dst2.gsoSize(k));
                assertEquals(dst.csumStart(k), dst2.csumStart(k));
                assertEquals(dst.csumOffset(k), dst2.csumOffset(k));
            }
            // too big for the destination's buffers, or no free slot: refused
            try (PacketBatch small = new PacketBatch(1, 256)) {
                g.begin();
                assertThrows(IllegalArgumentException.class, () -> g.add(plain, at[0], 300, small));
                g.add(plain, at[3], 4, small);
                assertThrows(IllegalStateException.class, () -> g.add(plain, at[3], 4, small));
                g.end(small);
            }
        }
    }

    @Property(tries = 300)
    void garbageIsPassedThroughWhenStreamed(@ForAll @Size(max = 20) java.util.List<@Size(max = 200) byte[]> packets,
                                                      @ForAll Framing framing) {
        try (PacketBatch dst = new PacketBatch(20, PacketBatch.SUPERPACKET_BUFFER)) {
            Gro g = new Gro(framing);
            g.begin();
            for (byte[] p : packets) g.add(MemorySegment.ofArray(p), 0, p.length, dst);
            g.end(dst);
            assertTrue(dst.count() <= packets.size());
        }
    }

    @Property(tries = 300)
    void garbageIsPassedThroughUntouched(@ForAll @Size(max = 20) java.util.List<@Size(max = 200) byte[]> packets,
                                         @ForAll Framing framing) {
        try (PacketBatch src = new PacketBatch(20, 2048);
                PacketBatch dst = new PacketBatch(20, PacketBatch.SUPERPACKET_BUFFER)) {
            for (byte[] p : packets) TestPackets.add(src, p);
            int n = new Gro(framing).coalesce(src, dst);
            assertTrue(n <= packets.size());
        }
    }

    @Provide
    Arbitrary<TestPackets.Spec> superSpecs() {
        return Generators.specs(Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(30000));
    }
}
