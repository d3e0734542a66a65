package ringlink.tun;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import ringlink.packet.Checksum;

/** Builds small, correct IPv4/IPv6 TCP and UDP packets for tests (checksums complete). */
final class Pkt {
    private Pkt() {}

    static byte[] tcp4(int seq, int flags, int id, byte[] payload) {
        int len = 20 + 20 + payload.length;
        ByteBuffer b = ByteBuffer.allocate(len);
        b.put((byte) 0x45).put((byte) 0).putShort((short) len).putShort((short) id).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 6).putShort((short) 0)
                .put(new byte[] {10, 0, 0, 1}).put(new byte[] {10, 0, 0, 2});
        b.putShort((short) 40000).putShort((short) 5201).putInt(seq).putInt(777)
                .put((byte) 0x50).put((byte) flags).putShort((short) 512).putShort((short) 0).putShort((short) 0);
        b.put(payload);
        byte[] p = b.array();
        fixChecksums(p, 4, 20, 6);
        return p;
    }

    static byte[] udp6(byte[] payload) {
        int l4 = 8 + payload.length;
        ByteBuffer b = ByteBuffer.allocate(40 + l4);
        b.putInt(0x60000000).putShort((short) l4).put((byte) 17).put((byte) 64);
        byte[] s = new byte[16], d = new byte[16];
        s[0] = (byte) 0xfd; s[15] = 1; d[0] = (byte) 0xfd; d[15] = 2;
        b.put(s).put(d).putShort((short) 1234).putShort((short) 5678).putShort((short) l4).putShort((short) 0)
                .put(payload);
        byte[] p = b.array();
        fixChecksums(p, 6, 40, 17);
        return p;
    }

    /** Recomputes the IPv4 header checksum and the full transport checksum. */
    static void fixChecksums(byte[] p, int v, int l4, int proto) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(p.length);
            MemorySegment.copy(p, 0, m, ValueLayout.JAVA_BYTE, 0, p.length);
            if (v == 4) {
                m.set(ValueLayout.JAVA_SHORT_UNALIGNED, 10, (short) 0);
                int c = Checksum.checksum(m, 0, 20);
                p[10] = (byte) (c >> 8);
                p[11] = (byte) c;
            }
            int off = proto == 6 ? 16 : 6;
            p[l4 + off] = 0;
            p[l4 + off + 1] = 0;
            m.set(ValueLayout.JAVA_SHORT_UNALIGNED, l4 + off, (short) 0);
            long sum = Checksum.pseudoHeader(m, 0, proto, p.length - l4) + Checksum.sum(m, l4, p.length - l4);
            int c = Checksum.finish(sum);
            if (c == 0 && proto == 17) c = 0xffff;
            p[l4 + off] = (byte) (c >> 8);
            p[l4 + off + 1] = (byte) c;
        }
    }

    /** A 10-byte virtio-net header. */
    static byte[] vhdr(int flags, int gsoType, int hdrLen, int gsoSize, int csumStart, int csumOffset) {
        ByteBuffer b = ByteBuffer.allocate(10).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put((byte) flags).put((byte) gsoType).putShort((short) hdrLen).putShort((short) gsoSize)
                .putShort((short) csumStart).putShort((short) csumOffset);
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] x : parts) n += x.length;
        byte[] r = new byte[n];
        int o = 0;
        for (byte[] x : parts) {
            System.arraycopy(x, 0, r, o, x.length);
            o += x.length;
        }
        return r;
    }
}
