package ringlink.packet;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/** Builds well-formed test packets with correct lengths and checksums (computed by {@link Slow}). */
final class TestPackets {
    private TestPackets() {}

    static final class Spec {
        Framing framing = Framing.IP;
        boolean vlan;
        int ipVersion = 4;
        /** IPv6 only: insert hop-by-hop and destination-options headers. */
        boolean ext6;
        int proto = 6;
        int srcPort = 40000, dstPort = 5201;
        int seq = 1000, ack = 777;
        int flags = Tcp.TH_ACK;
        int window = 512;
        byte[] tcpOptions = new byte[0];
        byte[] payload = new byte[0];
        int ipId = 100;
        boolean df = true;
        int tos = 0;
        int ttl = 64;
        int flowLabel = 0x12345;
        byte[] src4 = {10, 0, 0, 1}, dst4 = {10, 0, 0, 2};
        byte[] src6 = bytes("fd00000000000000000000000000000a"), dst6 = bytes("fd00000000000000000000000000000b");

        Spec copy() {
            Spec s = new Spec();
            s.framing = framing; s.vlan = vlan; s.ipVersion = ipVersion; s.ext6 = ext6; s.proto = proto;
            s.srcPort = srcPort; s.dstPort = dstPort; s.seq = seq; s.ack = ack; s.flags = flags; s.window = window;
            s.tcpOptions = tcpOptions; s.payload = payload; s.ipId = ipId; s.df = df; s.tos = tos; s.ttl = ttl;
            s.flowLabel = flowLabel; s.src4 = src4; s.dst4 = dst4; s.src6 = src6; s.dst6 = dst6;
            return s;
        }
    }

    static byte[] bytes(String hex) {
        hex = hex.replaceAll("\\s", "");
        byte[] b = new byte[hex.length() / 2];
        for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        return b;
    }

    /**
     * The packet's bytes. When {@code partial}, the L4 checksum field holds the pseudo-header sum only (NEEDS_CSUM
     * style).
     */
    static byte[] build(Spec s, boolean partial) {
        int l4h = s.proto == 6 ? 20 + s.tcpOptions.length : 8;
        int l4len = l4h + s.payload.length;
        int ext = s.ipVersion == 6 && s.ext6 ? 16 : 0;
        int iph = s.ipVersion == 4 ? 20 : 40 + ext;
        int l2 = s.framing == Framing.ETHERNET ? (s.vlan ? 18 : 14) : 0;
        ByteBuffer b = ByteBuffer.allocate(l2 + iph + l4len);
        if (l2 > 0) {
            b.put(bytes("020000000002")).put(bytes("020000000001"));
            if (s.vlan) b.putShort((short) 0x8100).putShort((short) 42);
            b.putShort((short) (s.ipVersion == 4 ? 0x0800 : 0x86dd));
        }
        int l3 = b.position();
        if (s.ipVersion == 4) {
            b.put((byte) 0x45).put((byte) s.tos).putShort((short) (iph + l4len)).putShort((short) s.ipId)
                    .putShort((short) (s.df ? 0x4000 : 0)).put((byte) s.ttl).put((byte) s.proto).putShort((short) 0)
                    .put(s.src4).put(s.dst4);
        } else {
            b.putInt(6 << 28 | s.tos << 20 | s.flowLabel).putShort((short) (ext + l4len))
                    .put((byte) (s.ext6 ? 0 : s.proto)).put((byte) s.ttl).put(s.src6).put(s.dst6);
            if (s.ext6) {
                // hop-by-hop with a PadN option, then destination options with a PadN option.
                b.put((byte) 60).put((byte) 0).put((byte) 1).put((byte) 4).putInt(0);
                b.put((byte) s.proto).put((byte) 0).put((byte) 1).put((byte) 4).putInt(0);
            }
        }
        int l4 = b.position();
        b.putShort((short) s.srcPort).putShort((short) s.dstPort);
        if (s.proto == 6) {
            b.putInt(s.seq).putInt(s.ack).put((byte) ((l4h / 4) << 4)).put((byte) s.flags).putShort((short) s.window)
                    .putShort((short) 0).putShort((short) 0).put(s.tcpOptions);
        } else {
            b.putShort((short) l4len).putShort((short) 0);
        }
        b.put(s.payload);
        byte[] p = b.array();
        if (s.ipVersion == 4) {
            int c = Slow.checksum(p, l3, 20);
            p[l3 + 10] = (byte) (c >> 8);
            p[l3 + 11] = (byte) c;
        }
        Slow.Parsed r = Slow.parse(p, l2 > 0);
        int ph = Slow.pseudo(p, r, l4len);
        int csumAt = l4 + (s.proto == 6 ? 16 : 6);
        int c = partial ? ph : ~Slow.sum(p, l4, l4len, ph) & 0xffff;
        if (!partial && s.proto == 17 && c == 0) c = 0xffff;
        p[csumAt] = (byte) (c >> 8);
        p[csumAt + 1] = (byte) c;
        return p;
    }

    /** Appends {@code bytes} as a new packet of {@code batch} and returns its index. */
    static int add(PacketBatch batch, byte[] bytes) {
        int i = batch.add();
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, batch.memory(), batch.dataOffset(i), bytes.length);
        batch.setLength(i, bytes.length);
        return i;
    }

    static byte[] get(PacketBatch batch, int i) {
        return batch.data(i).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    static int l4Offset(Spec s) {
        int l2 = s.framing == Framing.ETHERNET ? (s.vlan ? 18 : 14) : 0;
        return l2 + (s.ipVersion == 4 ? 20 : 40 + (s.ext6 ? 16 : 0));
    }

    static int headersLength(Spec s) {
        return l4Offset(s) + (s.proto == 6 ? 20 + s.tcpOptions.length : 8);
    }
}
