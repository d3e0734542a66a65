package ringlink.xdp;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import ringlink.packet.PacketBatch;

/** Builds Ethernet/IPv4/UDP test frames in a {@link PacketBatch} (for tests and the benchmark). */
public final class UdpFrames {
    private UdpFrames() {}

    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** Parses dotted IPv4. */
    public static int ip(String s) {
        String[] p = s.split("\\.");
        return (Integer.parseInt(p[0]) << 24) | (Integer.parseInt(p[1]) << 16) | (Integer.parseInt(p[2]) << 8)
                | Integer.parseInt(p[3]);
    }

    /**
     * Appends a frame of {@code frameLen} bytes (at least 42) to {@code b}: UDP from
     * {@code srcIp:sport} to {@code dstIp:dport}, payload starting with {@code seq} (4 bytes), no
     * UDP checksum, a correct IP header checksum.
     */
    public static int append(PacketBatch b, byte[] srcMac, byte[] dstMac, int srcIp, int dstIp, int sport, int dport,
                             int frameLen, int seq) {
        int i = b.add();
        b.setLength(i, frameLen);
        MemorySegment m = b.memory();
        long o = b.dataOffset(i);
        MemorySegment.copy(dstMac, 0, m, ValueLayout.JAVA_BYTE, o, 6);
        MemorySegment.copy(srcMac, 0, m, ValueLayout.JAVA_BYTE, o + 6, 6);
        m.set(BE16, o + 12, (short) 0x0800);
        long ipo = o + 14;
        int ipLen = frameLen - 14;
        m.set(ValueLayout.JAVA_BYTE, ipo, (byte) 0x45);
        m.set(ValueLayout.JAVA_BYTE, ipo + 1, (byte) 0);
        m.set(BE16, ipo + 2, (short) ipLen);
        m.set(BE16, ipo + 4, (short) seq);
        m.set(BE16, ipo + 6, (short) 0x4000);
        m.set(ValueLayout.JAVA_BYTE, ipo + 8, (byte) 64);
        m.set(ValueLayout.JAVA_BYTE, ipo + 9, (byte) 17);
        m.set(BE16, ipo + 10, (short) 0);
        m.set(BE32, ipo + 12, srcIp);
        m.set(BE32, ipo + 16, dstIp);
        int sum = 0;
        for (int k = 0; k < 20; k += 2) sum += m.get(BE16, ipo + k) & 0xffff;
        while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
        m.set(BE16, ipo + 10, (short) ~sum);
        long udp = ipo + 20;
        m.set(BE16, udp, (short) sport);
        m.set(BE16, udp + 2, (short) dport);
        m.set(BE16, udp + 4, (short) (ipLen - 20));
        m.set(BE16, udp + 6, (short) 0);
        if (frameLen >= 46) m.set(BE32, udp + 8, seq);
        return i;
    }

    /** The UDP destination port of an IPv4/UDP frame, or -1. */
    public static int udpDstPort(PacketBatch b, int i) {
        MemorySegment m = b.memory();
        long o = b.dataOffset(i);
        if (b.length(i) < 42 || m.get(BE16, o + 12) != 0x0800 || m.get(ValueLayout.JAVA_BYTE, o + 23) != 17) return -1;
        return m.get(BE16, o + 36) & 0xffff;
    }

    /** Bytes of the UDP payload of frame {@code i} as a string (ASCII). */
    public static String udpPayload(PacketBatch b, int i) {
        int len = b.length(i) - 42;
        if (len <= 0) return "";
        byte[] x = new byte[len];
        MemorySegment.copy(b.memory(), ValueLayout.JAVA_BYTE, b.dataOffset(i) + 42, x, 0, len);
        return new String(x, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
