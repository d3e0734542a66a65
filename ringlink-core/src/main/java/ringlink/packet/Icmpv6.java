package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * ICMPv6 (RFC 4443, neighbour discovery RFC 4861; {@code <linux/icmpv6.h>}). Unlike ICMP, the
 * checksum includes the IPv6 pseudo-header.
 */
public final class Icmpv6 {
    private Icmpv6() {}

    /** Length of the header (type, code, checksum and 4 bytes that depend on the type). */
    public static final int HLEN = 8;
    /** Offset of the type. */
    public static final int OFF_TYPE = 0;
    /** Offset of the code. */
    public static final int OFF_CODE = 1;
    /** Offset of the checksum. */
    public static final int OFF_CKSUM = 2;
    /** Offset of the echo identifier. */
    public static final int OFF_ID = 4;
    /** Offset of the echo sequence number. */
    public static final int OFF_SEQUENCE = 6;

    /** Type: destination unreachable. */
    public static final int ICMPV6_DEST_UNREACH = 1;
    /** Type: packet too big. */
    public static final int ICMPV6_PKT_TOOBIG = 2;
    /** Type: time exceeded. */
    public static final int ICMPV6_TIME_EXCEED = 3;
    /** Type: parameter problem. */
    public static final int ICMPV6_PARAMPROB = 4;
    /** Type: echo request. */
    public static final int ICMPV6_ECHO_REQUEST = 128;
    /** Type: echo reply. */
    public static final int ICMPV6_ECHO_REPLY = 129;
    /** Type: NDP router solicitation. */
    public static final int NDISC_ROUTER_SOLICITATION = 133;
    /** Type: NDP router advertisement. */
    public static final int NDISC_ROUTER_ADVERTISEMENT = 134;
    /** Type: NDP neighbour solicitation. */
    public static final int NDISC_NEIGHBOUR_SOLICITATION = 135;
    /** Type: NDP neighbour advertisement. */
    public static final int NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
    /** Type: NDP redirect. */
    public static final int NDISC_REDIRECT = 137;

    /** The type. */
    public static int type(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_TYPE); }
    /** The code. */
    public static int code(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_CODE); }
    /** The checksum field. */
    public static int checksum(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CKSUM); }
    /** The echo identifier (meaningful in echo requests and replies only). */
    public static int echoId(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_ID); }
    /** The echo sequence number (meaningful in echo requests and replies only). */
    public static int echoSequence(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SEQUENCE); }
    /** Sets the type. */
    public static void setType(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_TYPE, v); }
    /** Sets the code. */
    public static void setCode(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_CODE, v); }
    /** Sets the checksum field. */
    public static void setChecksum(MemorySegment seg, long off, int v) { Bytes.put16(seg, off + OFF_CKSUM, v); }

    /**
     * Recomputes and stores the checksum of the {@code len}-byte ICMPv6 message at {@code off}
     * carried in the IPv6 packet whose header is at {@code ip}.
     */
    public static void updateChecksum(MemorySegment seg, long ip, long off, int len) {
        setChecksum(seg, off, 0);
        long ph = Checksum.pseudoHeaderV6(seg, ip, IpProtocol.IPPROTO_ICMPV6, len);
        setChecksum(seg, off, Checksum.finish(Checksum.sum(seg, off, len, ph)));
    }
}
