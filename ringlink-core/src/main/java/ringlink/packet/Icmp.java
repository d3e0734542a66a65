package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * ICMP for IPv4 (RFC 792, {@code <linux/icmp.h>}). The checksum covers the ICMP message only (no
 * pseudo-header).
 */
public final class Icmp {
    private Icmp() {}

    /** Length of the header (type, code, checksum and 4 bytes that depend on the type). */
    public static final int HLEN = 8;
    /** Offset of the type. */
    public static final int OFF_TYPE = 0;
    /** Offset of the code. */
    public static final int OFF_CODE = 1;
    /** Offset of the checksum. */
    public static final int OFF_CHECKSUM = 2;
    /** Echo identifier. */
    public static final int OFF_ID = 4;
    /** Echo sequence number. */
    public static final int OFF_SEQUENCE = 6;

    /** Type: echo reply. */
    public static final int ICMP_ECHOREPLY = 0;
    /** Type: destination unreachable. */
    public static final int ICMP_DEST_UNREACH = 3;
    /** Type: redirect. */
    public static final int ICMP_REDIRECT = 5;
    /** Type: echo request. */
    public static final int ICMP_ECHO = 8;
    /** Type: time exceeded. */
    public static final int ICMP_TIME_EXCEEDED = 11;
    /** Type: parameter problem. */
    public static final int ICMP_PARAMETERPROB = 12;
    /** Code of ICMP_DEST_UNREACH: fragmentation needed and DF set. */
    public static final int ICMP_FRAG_NEEDED = 4;

    /** The type. */
    public static int type(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_TYPE); }
    /** The code. */
    public static int code(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_CODE); }
    /** The checksum field. */
    public static int checksum(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CHECKSUM); }
    /** The echo identifier (meaningful in echo requests and replies only). */
    public static int echoId(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_ID); }
    /** The echo sequence number (meaningful in echo requests and replies only). */
    public static int echoSequence(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SEQUENCE); }
    /** Sets the type. */
    public static void setType(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_TYPE, v); }
    /** Sets the code. */
    public static void setCode(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_CODE, v); }
    /** Sets the checksum field. */
    public static void setChecksum(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CHECKSUM, v); }
    /** Sets the echo identifier. */
    public static void setEchoId(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_ID, v); }
    /** Sets the echo sequence number. */
    public static void setEchoSequence(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_SEQUENCE, v); }

    /** Recomputes and stores the checksum of the {@code len}-byte ICMP message at {@code off}. */
    public static void updateChecksum(MemorySegment seg, long off, int len) {
        setChecksum(seg, off, 0);
        setChecksum(seg, off, Checksum.checksum(seg, off, len));
    }
}
