package ringlink.packet;

import java.lang.foreign.MemorySegment;

/** IPv4 headers (RFC 791, {@code struct iphdr}). Addresses are {@code int}s in network order. */
public final class Ipv4 {
    private Ipv4() {}

    /** Length of a header without options. */
    public static final int HLEN = 20;
    /** Length of a header with the most options (IHL 15). */
    public static final int MAX_HLEN = 60;
    /** The version nibble of an IPv4 header. */
    public static final int VERSION = 4;

    /** Offset of the byte holding the version (high nibble) and IHL (low nibble). */
    public static final int OFF_VERSION_IHL = 0;
    /** Offset of the type of service (DSCP and ECN). */
    public static final int OFF_TOS = 1;
    /** Offset of the total length (header and payload, 16 bits). */
    public static final int OFF_TOT_LEN = 2;
    /** Offset of the identification (16 bits). */
    public static final int OFF_ID = 4;
    /** Offset of the flags and fragment offset ({@code frag_off}, 16 bits). */
    public static final int OFF_FRAG_OFF = 6;
    /** Offset of the time to live. */
    public static final int OFF_TTL = 8;
    /** Offset of the protocol (an {@link IpProtocol} number). */
    public static final int OFF_PROTOCOL = 9;
    /** Offset of the header checksum. */
    public static final int OFF_CHECK = 10;
    /** Offset of the source address. */
    public static final int OFF_SADDR = 12;
    /** Offset of the destination address. */
    public static final int OFF_DADDR = 16;

    /** "Congestion" flag (reserved, must be zero) in frag_off. */
    public static final int IP_CE = 0x8000;
    /** Don't fragment. */
    public static final int IP_DF = 0x4000;
    /** More fragments. */
    public static final int IP_MF = 0x2000;
    /** Fragment offset in 8-byte units. */
    public static final int IP_OFFSET = 0x1fff;

    /** ECN codepoints in the low two bits of TOS (RFC 3168). */
    public static final int INET_ECN_MASK = 3;
    /** ECN codepoint "congestion experienced". */
    public static final int INET_ECN_CE = 3;

    /** The version (high nibble of the first byte; 4 for IPv4). */
    public static int version(MemorySegment seg, long off) { return Bytes.u8(seg, off) >>> 4; }
    /** Internet header length in 32-bit words. */
    public static int ihl(MemorySegment seg, long off) { return Bytes.u8(seg, off) & 0x0f; }
    /** Header length in bytes. */
    public static int headerLength(MemorySegment seg, long off) { return (Bytes.u8(seg, off) & 0x0f) << 2; }
    /** The type of service byte (DSCP and ECN). */
    public static int tos(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_TOS); }
    /** The total length in bytes (header and payload). */
    public static int totalLength(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_TOT_LEN); }
    /** The identification. */
    public static int id(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_ID); }
    /** Flags and fragment offset ({@code frag_off}). */
    public static int fragOff(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_FRAG_OFF); }
    /** The time to live. */
    public static int ttl(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_TTL); }
    /** The protocol (an {@link IpProtocol} number). */
    public static int protocol(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_PROTOCOL); }
    /** The header checksum field. */
    public static int check(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CHECK); }
    /** The source address, in network order. */
    public static int saddr(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_SADDR); }
    /** The destination address, in network order. */
    public static int daddr(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_DADDR); }

    /** True if this is a fragment (MF set or a non-zero offset). */
    public static boolean isFragment(MemorySegment seg, long off) {
            return (fragOff(seg, off) & (IP_MF | IP_OFFSET)) != 0; }

    /** Sets version 4 and the IHL from {@code headerLength} in bytes (a multiple of 4, at most {@link #MAX_HLEN}). */
    public static void setVersionIhl(MemorySegment seg, long off, int headerLength) {
            Bytes.put8(seg, off, 0x40 | (headerLength >>> 2)); }
    /** Sets the type of service byte. */
    public static void setTos(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_TOS, v); }
    /** Sets the total length in bytes. */
    public static void setTotalLength(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_TOT_LEN, v); }
    /** Sets the identification. */
    public static void setId(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_ID, v); }
    /** Sets the flags and fragment offset ({@code frag_off}). */
    public static void setFragOff(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_FRAG_OFF, v); }
    /** Sets the time to live. */
    public static void setTtl(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_TTL, v); }
    /** Sets the protocol. */
    public static void setProtocol(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_PROTOCOL, v); }
    /** Sets the header checksum field. */
    public static void setCheck(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CHECK, v); }
    /** Sets the source address (network order). */
    public static void setSaddr(MemorySegment seg, long off, int v) { Bytes.put32(seg, off + OFF_SADDR, v); }
    /** Sets the destination address (network order). */
    public static void setDaddr(MemorySegment seg, long off, int v) { Bytes.put32(seg, off + OFF_DADDR, v); }

    /** The header checksum this header should carry (computed with the field taken as zero). */
    public static int computeCheck(MemorySegment seg, long off) {
        int hl = headerLength(seg, off);
        long s = Checksum.sum(seg, off, hl, 0) - check(seg, off);
        return Checksum.finish(s);
    }

    /** Recomputes and stores the header checksum. */
    public static void updateCheck(MemorySegment seg, long off) {
        setCheck(seg, off, 0);
        setCheck(seg, off, Checksum.checksum(seg, off, headerLength(seg, off)));
    }

    /** True if the header checksum is correct. */
    public static boolean checkValid(MemorySegment seg, long off) {
        return Checksum.verify(seg, off, headerLength(seg, off), 0);
    }

    /**
     * Checks the header at {@code seg[off]} with {@code available} bytes from there to the end of
     * the packet: version 4, IHL ≥ 5, header and {@code tot_len} within the bytes present.
     * Returns the header length.
     *
     * @throws MalformedPacketException otherwise
     */
    public static int validate(MemorySegment seg, long off, int available) {
        MalformedPacketException.require(0, HLEN, available, "IPv4 header");
        int v = version(seg, off);
        if (v != VERSION) throw new MalformedPacketException("IPv4 header has version " + v);
        int hl = headerLength(seg, off);
        if (hl < HLEN) throw new MalformedPacketException("IPv4 IHL " + (hl >>> 2) + " is below 5");
        MalformedPacketException.require(0, hl, available, "IPv4 header with options");
        int tot = totalLength(seg, off);
        if (tot < hl || tot > available) {
            throw new MalformedPacketException("IPv4 total length " + tot + " outside [" + hl + ", " + available + "]");
        }
        return hl;
    }
}
