package ringlink.packet;

import java.lang.foreign.MemorySegment;

/** TCP headers (RFC 9293, {@code struct tcphdr}). */
public final class Tcp {
    private Tcp() {}

    /** Header length without options. */
    public static final int HLEN = 20;
    /** Length of a header with the most options (data offset 15). */
    public static final int MAX_HLEN = 60;

    /** Offset of the source port. */
    public static final int OFF_SOURCE = 0;
    /** Offset of the destination port. */
    public static final int OFF_DEST = 2;
    /** Offset of the sequence number. */
    public static final int OFF_SEQ = 4;
    /** Offset of the acknowledgment number. */
    public static final int OFF_ACK_SEQ = 8;
    /** Data offset (upper nibble) and reserved bits. */
    public static final int OFF_DOFF = 12;
    /** Offset of the flags byte ({@code TH_*}). */
    public static final int OFF_FLAGS = 13;
    /** Offset of the window. */
    public static final int OFF_WINDOW = 14;
    /** The checksum field: {@code csum_offset} for TCP. */
    public static final int OFF_CHECK = 16;
    /** Offset of the urgent pointer. */
    public static final int OFF_URG_PTR = 18;

    /** FIN: no more data from the sender. */
    public static final int TH_FIN = 0x01;
    /** SYN: synchronize sequence numbers. */
    public static final int TH_SYN = 0x02;
    /** RST: reset the connection. */
    public static final int TH_RST = 0x04;
    /** PSH: push. */
    public static final int TH_PUSH = 0x08;
    /** ACK: the acknowledgment number is valid. */
    public static final int TH_ACK = 0x10;
    /** URG: the urgent pointer is valid. */
    public static final int TH_URG = 0x20;
    /** ECE: ECN echo. */
    public static final int TH_ECE = 0x40;
    /** CWR: congestion window reduced. */
    public static final int TH_CWR = 0x80;

    /** The source port. */
    public static int sourcePort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SOURCE); }
    /** The destination port. */
    public static int destPort(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_DEST); }
    /** The sequence number (32 bits; compare modulo 2^32). */
    public static int seq(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_SEQ); }
    /** The acknowledgment number (32 bits). */
    public static int ackSeq(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_ACK_SEQ); }
    /** Header length in bytes (data offset × 4). */
    public static int headerLength(MemorySegment seg, long off) { return (Bytes.u8(seg, off + OFF_DOFF) >>> 4) << 2; }
    /** The flags byte ({@code TH_*}). */
    public static int flags(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_FLAGS); }
    /** The window (unscaled). */
    public static int window(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_WINDOW); }
    /** The checksum field. */
    public static int check(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CHECK); }
    /** The urgent pointer. */
    public static int urgPtr(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_URG_PTR); }

    /** Sets the source port. */
    public static void setSourcePort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_SOURCE, v); }
    /** Sets the destination port. */
    public static void setDestPort(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_DEST, v); }
    /** Sets the sequence number. */
    public static void setSeq(MemorySegment seg, long off, int v) { Bytes.put32(seg, off + OFF_SEQ, v); }
    /** Sets the acknowledgment number. */
    public static void setAckSeq(MemorySegment seg, long off, int v) { Bytes.put32(seg, off + OFF_ACK_SEQ, v); }
    /**
     * Sets the data offset from {@code bytes} (a multiple of 4, at most {@link #MAX_HLEN}); clears the reserved bits.
     */
    public static void setHeaderLength(MemorySegment seg, long off, int bytes) {
            Bytes.put8(seg, off + OFF_DOFF, (bytes >>> 2) << 4); }
    /** Sets the flags byte. */
    public static void setFlags(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_FLAGS, v); }
    /** Sets the window. */
    public static void setWindow(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_WINDOW, v); }
    /** Sets the checksum field. */
    public static void setCheck(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CHECK, v); }
    /** Sets the urgent pointer. */
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
