package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * ICMPv6 (RFC 4443, neighbour discovery RFC 4861; {@code <linux/icmpv6.h>}). Unlike ICMP, the
 * checksum includes the IPv6 pseudo-header.
 */
public final class Icmpv6 {
    private Icmpv6() {}

    public static final int HLEN = 8;
    public static final int OFF_TYPE = 0;
    public static final int OFF_CODE = 1;
    public static final int OFF_CKSUM = 2;
    public static final int OFF_ID = 4;
    public static final int OFF_SEQUENCE = 6;

    public static final int ICMPV6_DEST_UNREACH = 1;
    public static final int ICMPV6_PKT_TOOBIG = 2;
    public static final int ICMPV6_TIME_EXCEED = 3;
    public static final int ICMPV6_PARAMPROB = 4;
    public static final int ICMPV6_ECHO_REQUEST = 128;
    public static final int ICMPV6_ECHO_REPLY = 129;
    public static final int NDISC_ROUTER_SOLICITATION = 133;
    public static final int NDISC_ROUTER_ADVERTISEMENT = 134;
    public static final int NDISC_NEIGHBOUR_SOLICITATION = 135;
    public static final int NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
    public static final int NDISC_REDIRECT = 137;

    public static int type(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_TYPE); }
    public static int code(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_CODE); }
    public static int checksum(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_CKSUM); }
    public static int echoId(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_ID); }
    public static int echoSequence(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_SEQUENCE); }
    public static void setType(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_TYPE, v); }
    public static void setCode(MemorySegment seg, long off, int v) { Bytes.put8(seg, off + OFF_CODE, v); }
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
