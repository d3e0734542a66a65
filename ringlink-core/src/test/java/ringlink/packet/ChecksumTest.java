package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import net.jqwik.api.*;
import net.jqwik.api.constraints.*;
import org.junit.jupiter.api.Test;

class ChecksumTest {

    private static MemorySegment seg(byte[] b) {
        return MemorySegment.ofArray(b);
    }

    @Test
    void rfc1071Example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (folded); checksum is its complement.
        byte[] b = TestPackets.bytes("0001f203f4f5f6f7");
        assertEquals(0xddf2, Checksum.fold(Checksum.sum(seg(b), 0, b.length)));
        assertEquals(0x220d, Checksum.checksum(seg(b), 0, b.length));
    }

    @Test
    void ipv4HeaderKnownAnswer() {
        // A commonly cited real header (192.168.0.1 -> 192.168.0.199, UDP) whose checksum is b861.
        byte[] h = TestPackets.bytes("450000730000400040110000c0a80001c0a800c7");
        assertEquals(0xb861, Checksum.checksum(seg(h), 0, h.length));
        h[10] = (byte) 0xb8;
        h[11] = 0x61;
        assertTrue(Ipv4.checkValid(seg(h), 0));
        assertEquals(0xb861, Ipv4.computeCheck(seg(h), 0));
    }

    // Captured with tshark on lo (kernel 6.18): `ping -c1 127.0.0.1`, a TCP SYN to a closed port
    // and a UDP datagram. The kernel computes ICMP checksums in software but leaves TCP and UDP on
    // lo CHECKSUM_PARTIAL, so those two carry only the pseudo-header sum: real NEEDS_CSUM vectors.
    static final String ICMP_ECHO = "4500005496ee40004001a5b87f0000017f000001"
            + "0800c4f00e5500016f56026b00000000e5240f0000000000"
            + "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637";
    static final String TCP_SYN_PARTIAL = "4500003c4e1b40004006ee9e7f0000017f000001"
            + "c0880009d56a651700000000a002ffd7fe300000020 4ffd704020 80a9e9d08580000000001030 30a";
    static final String UDP_PARTIAL = "4500001fd03d400040116c8e7f0000017f000001c3ac0009000bfe1e68690a";

    @Test
    void capturedIcmpEchoRequest() {
        byte[] pkt = TestPackets.bytes(ICMP_ECHO);
        MemorySegment s = seg(pkt);
        assertTrue(Ipv4.checkValid(s, 0));
        assertEquals(0xa5b8, Ipv4.computeCheck(s, 0));
        assertTrue(Checksum.verify(s, 20, pkt.length - 20, 0));
        Icmp.setChecksum(s, 20, 0x1234);
        Icmp.updateChecksum(s, 20, pkt.length - 20);
        assertEquals(0xc4f0, Icmp.checksum(s, 20));
        assertEquals(Icmp.ICMP_ECHO, Icmp.type(s, 20));
        assertEquals(0x0e55, Icmp.echoId(s, 20));
    }

    @Test
    void capturedPartialTcpAndUdpAreCompleted() {
        byte[] syn = TestPackets.bytes(TCP_SYN_PARTIAL);
        byte[] udp = TestPackets.bytes(UDP_PARTIAL);
        assertEquals(0xfe30,
                Checksum.fold(Checksum.pseudoHeaderV4(seg(syn), 0, IpProtocol.IPPROTO_TCP, syn.length - 20)));
        assertEquals(0xfe1e,
                Checksum.fold(Checksum.pseudoHeaderV4(seg(udp), 0, IpProtocol.IPPROTO_UDP, udp.length - 20)));
        Checksum.complete(seg(syn), 0, syn.length, 20, Tcp.OFF_CHECK);
        Checksum.complete(seg(udp), 0, udp.length, 20, Udp.OFF_CHECK);
        assertEquals(0xadf5, Tcp.check(seg(syn), 20));
        assertEquals(0xcbb6, Udp.check(seg(udp), 20));
        assertTrue(Slow.checksumsValid(syn, false));
        assertTrue(Slow.checksumsValid(udp, false));
    }

    @Property(tries = 300)
    void sumMatchesByteByByte(@ForAll @Size(max = 3000) byte[] data, @ForAll @IntRange(max = 7) int shift) {
        // Every length and every alignment of the start: the wide loop and the tails must agree.
        byte[] buf = new byte[data.length + shift];
        System.arraycopy(data, 0, buf, shift, data.length);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(buf.length + 1);
            MemorySegment.copy(seg(buf), 0, s, 0, buf.length);
            assertEquals(Slow.sum(buf, shift, data.length, 0), Checksum.fold(Checksum.sum(s, shift, data.length)));
            assertEquals(Slow.checksum(buf, shift, data.length), Checksum.checksum(s, shift, data.length));
        }
    }

    @Property(tries = 500)
    void incrementalUpdateMatchesRecompute(@ForAll @Size(min = 8, max = 200) byte[] data,
                                           @ForAll @IntRange(max = 1000) int pos, @ForAll int newValue) {
        int at = (pos % (data.length / 2 - 1)) * 2;
        byte[] b = data.clone();
        int before = Slow.checksum(b, 0, b.length);
        int old16 = Slow.u16(b, at);
        int new16 = newValue & 0xffff;
        b[at] = (byte) (new16 >> 8);
        b[at + 1] = (byte) new16;
        int after = Slow.checksum(b, 0, b.length);
        int updated = Checksum.update16(before, old16, new16);
        // 0x0000 and 0xffff are the two ones'-complement zeros; RFC 1624 may yield either.
        assertEquals(after % 0xffff, updated % 0xffff);

        if (at + 4 <= b.length) {
            int old32 = (int) Slow.u32(b, at);
            byte[] c = b.clone();
            c[at] = (byte) (newValue >>> 24); c[at + 1] = (byte) (newValue >>> 16);
            c[at + 2] = (byte) (newValue >>> 8); c[at + 3] = (byte) newValue;
            assertEquals(Slow.checksum(c, 0, c.length) % 0xffff, Checksum.update32(after, old32, newValue) % 0xffff);
        }
    }

    @Property(tries = 200)
    void completeFinishesPartialChecksum(@ForAll("specs") TestPackets.Spec spec) {
        byte[] full = TestPackets.build(spec, false);
        byte[] partial = TestPackets.build(spec, true);
        try (PacketBatch b = new PacketBatch(1, 2048)) {
            int i = TestPackets.add(b, partial);
            b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, 0, 0, 0, TestPackets.l4Offset(spec), spec.proto == 6 ? 16 : 6);
            Checksum.complete(b, i);
            assertFalse(b.needsCsum(i));
            assertArrayEquals(full, TestPackets.get(b, i));
        }
    }

    @Test
    void completeRejectsFieldOutsidePacket() {
        try (PacketBatch b = new PacketBatch(1, 2048)) {
            int i = TestPackets.add(b, new byte[40]);
            b.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, 0, 0, 0, 30, 16);
            assertThrows(MalformedPacketException.class, () -> Checksum.complete(b, i));
            b.setCsum(i, 60000, 0);
            assertThrows(MalformedPacketException.class, () -> Checksum.complete(b, i));
        }
    }

    @Test
    void pseudoHeaderSumsMatchReference() {
        for (int v : new int[] {4, 6}) {
            TestPackets.Spec s = new TestPackets.Spec();
            s.ipVersion = v;
            s.payload = new byte[333];
            byte[] p = TestPackets.build(s, false);
            Slow.Parsed r = Slow.parse(p, false);
            int l4len = r.ipEnd - r.l4;
            assertEquals(Slow.pseudo(p, r, l4len), Checksum.fold(Checksum.pseudoHeader(seg(p), 0, 6, l4len)));
        }
    }

    @Provide
    Arbitrary<TestPackets.Spec> specs() {
        return Generators.specs();
    }
}
