package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * ICMP for IPv4 (RFC 792, {@code <linux/icmp.h>}). The checksum covers the ICMP message only (no
 * pseudo-header).
 */
public final class Icmp {
    private Icmp() {}

    public static final int HLEN = 8;
    public static final int OFF_TYPE = 0;
    public static final int OFF_CODE = 1;
    public static final int OFF_CHECKSUM = 2;
    /** Echo identifier. */
    public static final int OFF_ID = 4;
    /** Echo sequence number. */
    public static final int OFF_SEQUENCE = 6;

    public static final int ICMP_ECHOREPLY = 0;
    public static final int ICMP_DEST_UNREACH = 3;
    public static final int ICMP_REDIRECT = 5;
    public static final int ICMP_ECHO = 8;
    public static final int ICMP_TIME_EXCEEDED = 11;
    public static final int ICMP_PARAMETERPROB = 12;
    /** Code of ICMP_DEST_UNREACH: fragmentation needed and DF set. */
    public static final int ICMP_FRAG_NEEDED = 4;

    public static int type(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_TYPE); }
    public static int code(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_CODE); }
    public static int checksum(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CHECKSUM); }
    public static int echoId(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_ID); }
    public static int echoSequence(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SEQUENCE); }
    public static void setType(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_TYPE, v); }
    public static void setCode(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_CODE, v); }
    public static void setChecksum(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CHECKSUM, v); }
    public static void setEchoId(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_ID, v); }
    public static void setEchoSequence(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_SEQUENCE, v); }

    /** Recomputes and stores the checksum of the {@code len}-byte ICMP message at {@code off}. */
    public static void updateChecksum(MemorySegment seg, long off, int len) {
        setChecksum(seg, off, 0);
        setChecksum(seg, off, Checksum.checksum(seg, off, len));
    }
}
