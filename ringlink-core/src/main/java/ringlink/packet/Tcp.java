package ringlink.packet;

import java.lang.foreign.MemorySegment;

/** TCP headers (RFC 9293, {@code struct tcphdr}). */
public final class Tcp {
    private Tcp() {}

    /** Header length without options. */
    public static final int HLEN = 20;
    public static final int MAX_HLEN = 60;

    public static final int OFF_SOURCE = 0;
    public static final int OFF_DEST = 2;
    public static final int OFF_SEQ = 4;
    public static final int OFF_ACK_SEQ = 8;
    /** Data offset (upper nibble) and reserved bits. */
    public static final int OFF_DOFF = 12;
    public static final int OFF_FLAGS = 13;
    public static final int OFF_WINDOW = 14;
    /** The checksum field: {@code csum_offset} for TCP. */
    public static final int OFF_CHECK = 16;
    public static final int OFF_URG_PTR = 18;

    public static final int TH_FIN = 0x01;
    public static final int TH_SYN = 0x02;
    public static final int TH_RST = 0x04;
    public static final int TH_PUSH = 0x08;
    public static final int TH_ACK = 0x10;
    public static final int TH_URG = 0x20;
    public static final int TH_ECE = 0x40;
    public static final int TH_CWR = 0x80;

    public static int sourcePort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SOURCE); }
    public static int destPort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_DEST); }
    public static int seq(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_SEQ); }
    public static int ackSeq(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_ACK_SEQ); }
    /** Header length in bytes (data offset × 4). */
    public static int headerLength(MemorySegment seg, long off) { return (Bytes.u8(seg, off + OFF_DOFF) >>> 4) << 2; }
    public static int flags(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_FLAGS); }
    public static int window(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_WINDOW); }
    public static int check(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CHECK); }
    public static int urgPtr(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_URG_PTR); }

    public static void setSourcePort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_SOURCE, v); }
    public static void setDestPort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_DEST, v); }
    public static void setSeq(MemorySegment seg, long off, int v) { Bytes.put32(seg, off + OFF_SEQ, v); }
    public static void setAckSeq(MemorySegment seg, long off, int v) { Bytes.put32(seg, off + OFF_ACK_SEQ, v); }
    public static void setHeaderLength(MemorySegment seg, long off, int bytes) { Bytes.put8(seg, off + OFF_DOFF, (bytes >>> 2) << 4); }
    public static void setFlags(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_FLAGS, v); }
    public static void setWindow(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_WINDOW, v); }
    public static void setCheck(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CHECK, v); }
    public static void setUrgPtr(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_URG_PTR, v); }

    /**
     * Checks the TCP header at {@code seg[off]} with {@code available} bytes of segment from
     * there and returns its length.
     *
     * @throws MalformedPacketException if the header is truncated or its data offset is below 5
     */
    public static int validate(MemorySegment seg, long off, int available) {
        MalformedPacketException.require(0, HLEN, available, "TCP header");
        int hl = headerLength(seg, off);
        if (hl < HLEN) throw new MalformedPacketException("TCP data offset " + (hl >>> 2) + " is below 5");
        MalformedPacketException.require(0, hl, available, "TCP header with options");
        return hl;
    }
}
