package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * IPv6 headers (RFC 8200, {@code struct ipv6hdr}) and the walk over extension headers to the
 * upper-layer header.
 */
public final class Ipv6 {
    private Ipv6() {}

    /** Length of the fixed header. */
    public static final int HLEN = 40;
    /** The version nibble of an IPv6 header. */
    public static final int VERSION = 6;
    /** Offset of the first 32-bit word: version, traffic class and flow label. */
    public static final int OFF_VERSION_TC_FLOW = 0;
    /** Offset of the payload length (16 bits; extension headers included). */
    public static final int OFF_PAYLOAD_LEN = 4;
    /** Offset of the next header (an {@link IpProtocol} number). */
    public static final int OFF_NEXTHDR = 6;
    /** Offset of the hop limit. */
    public static final int OFF_HOP_LIMIT = 7;
    /** Offset of the source address (16 bytes). */
    public static final int OFF_SADDR = 8;
    /** Offset of the destination address (16 bytes). */
    public static final int OFF_DADDR = 24;
    /** Length of an address. */
    public static final int ADDR_LEN = 16;

    /** Fragment header length. */
    public static final int FRAG_HLEN = 8;
    /** In the fragment header's offset word: the offset in 8-byte units (upper 13 bits). */
    public static final int IP6_OFFSET = 0xfff8;
    /** In the fragment header's offset word: more fragments. */
    public static final int IP6_MF = 0x0001;

    /** Most extension headers the walk follows before giving up (a hostile chain is bounded). */
    public static final int MAX_EXT_HEADERS = 16;

    /** The version (high nibble of the first byte; 6 for IPv6). */
    public static int version(MemorySegment seg, long off) { return Bytes.u8(seg, off) >>> 4; }
    /** Traffic class (DSCP and ECN). */
    public static int trafficClass(MemorySegment seg, long off) { return (Bytes.i32(seg, off) >>> 20) & 0xff; }
    /** The flow label (20 bits). */
    public static int flowLabel(MemorySegment seg, long off) { return Bytes.i32(seg, off) & 0xfffff; }
    /** The first 32-bit word: version, traffic class and flow label. */
    public static int firstWord(MemorySegment seg, long off) { return Bytes.i32(seg, off); }
    /** The payload length in bytes (everything after the fixed header). */
    public static int payloadLength(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_PAYLOAD_LEN); }
    /** The next header (an {@link IpProtocol} number). */
    public static int nextHeader(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_NEXTHDR); }
    /** The hop limit. */
    public static int hopLimit(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_HOP_LIMIT); }

    /** Sets the payload length in bytes. */
    public static void setPayloadLength(MemorySegment seg, long off, int v) {
            Bytes.put16(seg, off + OFF_PAYLOAD_LEN, v); }
    /** Sets the next header. */
    public static void setNextHeader(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_NEXTHDR, v); }
    /** Sets the hop limit. */
    public static void setHopLimit(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_HOP_LIMIT, v); }
    /** Sets the first 32-bit word (version, traffic class and flow label). */
    public static void setFirstWord(MemorySegment seg, long off, int v) { Bytes.put32(seg, off, v); }

    /**
     * Checks the header at {@code seg[off]} with {@code available} bytes from there to the end of
     * the packet: version 6 and the payload within the bytes present. Jumbograms (payload length
     * 0 with a hop-by-hop jumbo option) are rejected: no transport here produces them.
     *
     * @throws MalformedPacketException otherwise
     */
    public static void validate(MemorySegment seg, long off, int available) {
        MalformedPacketException.require(0, HLEN, available, "IPv6 header");
        int v = version(seg, off);
        if (v != VERSION) throw new MalformedPacketException("IPv6 header has version " + v);
        int pl = payloadLength(seg, off);
        if (HLEN + pl > available) {
            throw new MalformedPacketException("IPv6 payload length " + pl + " exceeds the " + (available - HLEN)
                    + " bytes present");
        }
        if (pl == 0 && nextHeader(seg, off) == IpProtocol.IPPROTO_HOPOPTS) {
            throw new MalformedPacketException("IPv6 jumbogram (payload length 0) not supported");
        }
    }

    /** True if {@code nexthdr} is an extension header this walk steps over. */
    public static boolean isExtensionHeader(int nexthdr) {
        return nexthdr == IpProtocol.IPPROTO_HOPOPTS || nexthdr == IpProtocol.IPPROTO_ROUTING
                || nexthdr == IpProtocol.IPPROTO_FRAGMENT || nexthdr == IpProtocol.IPPROTO_DSTOPTS
                || nexthdr == IpProtocol.IPPROTO_AH;
    }

    /**
     * Walks the extension headers (hop-by-hop, routing, fragment, destination options, AH) of the
     * IPv6 packet at {@code seg[off]} whose datagram ends {@code end} bytes after {@code off},
     * and returns where the upper-layer header is, packed as {@code (protocol << 32) | offset}
     * with the offset relative to {@code off} (use {@link #l4Protocol} and {@link #l4Offset}).
     * Packing keeps the walk allocation-free.
     *
     * <p>For a non-first fragment there is no upper-layer header: the result's protocol is
     * {@link IpProtocol#IPPROTO_FRAGMENT} and its offset that of the fragment header. ESP and
     * "no next header" end the walk with that protocol.
     *
     * @throws MalformedPacketException if a header runs past {@code end} or the chain is longer
     *     than {@link #MAX_EXT_HEADERS}
     */
    public static long findL4(MemorySegment seg, long off, int end) {
        int nh = nextHeader(seg, off);
        int p = HLEN;
        for (int n = 0; isExtensionHeader(nh); n++) {
            if (n == MAX_EXT_HEADERS)
                    throw new MalformedPacketException("IPv6 extension header chain longer than " + MAX_EXT_HEADERS);
            if (nh == IpProtocol.IPPROTO_HOPOPTS && n != 0) {
                throw new MalformedPacketException("IPv6 hop-by-hop options not directly after the header");
            }
            MalformedPacketException.require(p, 8, end, "IPv6 extension header");
            int next = Bytes.u8(seg, off + p);
            int len;
            if (nh == IpProtocol.IPPROTO_FRAGMENT) {
                if ((Bytes.u16(seg, off + p + 2) & IP6_OFFSET) != 0) {
                    return ((long) IpProtocol.IPPROTO_FRAGMENT << 32) | p;
                }
                len = FRAG_HLEN;
            } else if (nh == IpProtocol.IPPROTO_AH) {
                len = (Bytes.u8(seg, off + p + 1) + 2) << 2;
            } else {
                len = (Bytes.u8(seg, off + p + 1) + 1) << 3;
            }
            MalformedPacketException.require(p, len, end, "IPv6 extension header");
            p += len;
            nh = next;
        }
        return ((long) nh << 32) | p;
    }

    /** The protocol part of a {@link #findL4} result. */
    public static int l4Protocol(long found) { return (int) (found >>> 32); }

    /** The offset part of a {@link #findL4} result. */
    public static int l4Offset(long found) { return (int) found; }
}
