package ringlink.packet;

import java.lang.foreign.MemorySegment;

/** UDP headers (RFC 768, {@code struct udphdr}). */
public final class Udp {
    private Udp() {}

    public static final int HLEN = 8;
    public static final int OFF_SOURCE = 0;
    public static final int OFF_DEST = 2;
    public static final int OFF_LEN = 4;
    /** The checksum field: {@code csum_offset} for UDP. */
    public static final int OFF_CHECK = 6;

    public static int sourcePort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SOURCE); }
    public static int destPort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_DEST); }
    /** Length of header and payload. */
    public static int length(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_LEN); }
    public static int check(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CHECK); }

    public static void setSourcePort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_SOURCE, v); }
    public static void setDestPort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_DEST, v); }
    public static void setLength(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_LEN, v); }
    public static void setCheck(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CHECK, v); }
}
