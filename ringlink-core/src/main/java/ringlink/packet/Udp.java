package ringlink.packet;

import java.lang.foreign.MemorySegment;

/** UDP headers (RFC 768, {@code struct udphdr}). */
public final class Udp {
    private Udp() {}

    /** Length of the header. */
    public static final int HLEN = 8;
    /** Offset of the source port. */
    public static final int OFF_SOURCE = 0;
    /** Offset of the destination port. */
    public static final int OFF_DEST = 2;
    /** Offset of the length (header and payload). */
    public static final int OFF_LEN = 4;
    /** The checksum field: {@code csum_offset} for UDP. */
    public static final int OFF_CHECK = 6;

    /** The source port. */
    public static int sourcePort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SOURCE); }
    /** The destination port. */
    public static int destPort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_DEST); }
    /** Length of header and payload. */
    public static int length(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_LEN); }
    /** The checksum field (0 in IPv4 means "none"). */
    public static int check(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CHECK); }

    /** Sets the source port. */
    public static void setSourcePort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_SOURCE, v); }
    /** Sets the destination port. */
    public static void setDestPort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_DEST, v); }
    /** Sets the length (header and payload). */
    public static void setLength(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_LEN, v); }
    /** Sets the checksum field. */
    public static void setCheck(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CHECK, v); }
}
