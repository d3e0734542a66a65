package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * A TSO superpacket produced by Linux 6.18 and captured with tshark on {@code lo} (MTU 1500, in a
 * scratch netns): a 5000-byte {@code send()} over a TCP connection with MSS 1448 (timestamps on).
 * Its payload is {@code (i * 7) & 0xff}. The checksum field holds the kernel's partial sum
 * (pseudo-header over the whole TCP length), which is exactly what Gro must produce, so
 * segmenting it and coalescing the segments must give back the kernel's bytes.
 */
class KernelVectorTest {
    static final String HEADERS = "450013bc04a44000400624967f0000017f000001"
            + "d5881e6156efd3101f13b1538018003f11b100000101080a14be408d4537b64c";
    static final int PAYLOAD = 5000;

    static byte[] superpacket() {
        byte[] h = TestPackets.bytes(HEADERS);
        byte[] p = new byte[h.length + PAYLOAD];
        System.arraycopy(h, 0, p, 0, h.length);
        for (int i = 0; i < PAYLOAD; i++) p[h.length + i] = (byte) (i * 7);
        return p;
    }

    @Test
    void kernelSuperpacketRoundTrips() {
        byte[] kernel = superpacket();
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch segs = new PacketBatch(8, 2048);
             PacketBatch merged = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = TestPackets.add(src, kernel);
            MemorySegment m = src.memory();
            long o = src.dataOffset(i);
            assertTrue(Ipv4.checkValid(m, o));
            assertEquals(Tcp.check(m, o + 20),
                    Checksum.fold(Checksum.pseudoHeaderV4(m, o, IpProtocol.IPPROTO_TCP, kernel.length - 20)),
                    "the kernel's partial checksum convention");
            // hdr_len as the forward path may report it (headers + first segment); corrected.
            src.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_TCPV4, 52 + 1448, 1448, 20, 16);
            Gso gso = new Gso();
            assertEquals(4, gso.segment(src, i, Framing.IP, segs));
            assertEquals(52, src.hdrLen(i));
            for (int k = 0; k < 4; k++) {
                byte[] p = TestPackets.get(segs, k);
                assertTrue(Slow.checksumsValid(p, false), "segment " + k);
                assertEquals(k == 3 ? Tcp.TH_ACK | Tcp.TH_PUSH : Tcp.TH_ACK, Tcp.flags(MemorySegment.ofArray(p), 20));
            }
            assertEquals(1, new Gro(Framing.IP).coalesce(segs, merged));
            assertArrayEquals(kernel, TestPackets.get(merged, 0));
            assertEquals(VirtioNetHdr.GSO_TCPV4, merged.gsoType(0));
            assertEquals(1448, merged.gsoSize(0));
            assertEquals(52, merged.hdrLen(0));
        }
    }

    /**
     * A USO superpacket from the same kernel: {@code sendto()} of 3500 bytes on a UDP socket with
     * {@code UDP_SEGMENT} 1000, payload {@code (i * 3) & 0xff}. UDP length is the whole datagram
     * and the checksum field the partial pseudo-header sum; DF is clear, so the IDs must increment.
     */
    static final String UDP_HEADERS = "45000dc8171800004011580b7f0000017f000001cde41e620db40bc8";

    @Test
    void kernelUsoSuperpacketRoundTrips() {
        byte[] h = TestPackets.bytes(UDP_HEADERS);
        byte[] kernel = new byte[h.length + 3500];
        System.arraycopy(h, 0, kernel, 0, h.length);
        for (int i = 0; i < 3500; i++) kernel[h.length + i] = (byte) (i * 3);
        try (PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch segs = new PacketBatch(8, 2048);
             PacketBatch merged = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            int i = TestPackets.add(src, kernel);
            src.setOffload(i, VirtioNetHdr.F_NEEDS_CSUM, VirtioNetHdr.GSO_UDP_L4, 28, 1000, 20, 6);
            Gso gso = new Gso();
            assertEquals(4, gso.segment(src, i, Framing.IP, segs));
            for (int k = 0; k < 4; k++) {
                byte[] p = TestPackets.get(segs, k);
                assertTrue(Slow.checksumsValid(p, false), "segment " + k);
                assertEquals(0x1718 + k, Ipv4.id(MemorySegment.ofArray(p), 0));
            }
            assertEquals(1, new Gro(Framing.IP).coalesce(segs, merged));
            assertArrayEquals(kernel, TestPackets.get(merged, 0));
            assertEquals(VirtioNetHdr.GSO_UDP_L4, merged.gsoType(0));
            assertEquals(1000, merged.gsoSize(0));
        }
    }
}
