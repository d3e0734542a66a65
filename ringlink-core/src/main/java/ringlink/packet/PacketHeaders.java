package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * Where the headers of one IP packet are: a mutable, reusable parse result, so that parsing a
 * packet allocates nothing (keep one instance per thread or per queue and call {@link #parse} for
 * each packet). All offsets are relative to the packet's first byte.
 *
 * <p>{@link #parse} checks every length it relies on against the packet and the IP header, so
 * after it returns {@code true} the fields can be used to index the packet without further bound
 * checks: {@code l3Offset + l3HeaderLength ≤ l4Offset ≤ ipEnd ≤ length}, and for TCP/UDP
 * {@code l4Offset + l4HeaderLength ≤ ipEnd}.
 */
public final class PacketHeaders {
    /** Offset of the IP header. */
    public int l3Offset;
    /** 4 or 6. */
    public int ipVersion;
    /** The IPv4 header length with options, or 40 for IPv6 (extension headers not included). */
    public int l3HeaderLength;
    /** Offset of the upper-layer header (after IPv4 options / IPv6 extension headers). */
    public int l4Offset;
    /**
     * The upper-layer protocol ({@link IpProtocol}); {@link IpProtocol#IPPROTO_FRAGMENT} for a
     * non-first fragment, which has no upper-layer header.
     */
    public int l4Protocol;
    /** TCP header length with options, 8 for UDP, 0 for anything else and for fragments. */
    public int l4HeaderLength;
    /** Offset just past the IP datagram per its length field (Ethernet padding lies beyond). */
    public int ipEnd;
    /** True if the packet is an IP fragment (first or later). */
    public boolean fragment;
    /** For Ethernet framing, the EtherType after VLAN tags; 0 for IP framing. */
    public int etherType;

    /**
     * Parses the packet of {@code len} bytes at {@code seg[off]}.
     *
     * @return {@code false} if it is not an IP packet (e.g. an ARP frame); the fields other than
     *     {@link #etherType} are then meaningless
     * @throws MalformedPacketException if it is IP but a header or length is inconsistent
     */
    public boolean parse(MemorySegment seg, long off, int len, Framing framing) {
        int l3;
        if (framing == Framing.ETHERNET) {
            l3 = Ethernet.l3Offset(seg, off, len);
            etherType = Bytes.u16(seg, off + l3 - 2);
            if (etherType != Ethernet.ETH_P_IP && etherType != Ethernet.ETH_P_IPV6) return false;
            MalformedPacketException.require(l3, 1, len, "IP header");
            int v = Bytes.u8(seg, off + l3) >>> 4;
            if (v != (etherType == Ethernet.ETH_P_IP ? 4 : 6)) {
                throw new MalformedPacketException("EtherType 0x" + Integer.toHexString(etherType)
                        + " carries IP version " + v);
            }
        } else {
            l3 = 0;
            etherType = 0;
            MalformedPacketException.require(0, 1, len, "IP header");
        }
        l3Offset = l3;
        int avail = len - l3;
        long base = off + l3;
        int v = Bytes.u8(seg, base) >>> 4;
        if (v == 4) {
            int hl = Ipv4.validate(seg, base, avail);
            ipVersion = 4;
            l3HeaderLength = hl;
            ipEnd = l3 + Ipv4.totalLength(seg, base);
            l4Offset = l3 + hl;
            int frag = Ipv4.fragOff(seg, base);
            fragment = (frag & (Ipv4.IP_MF | Ipv4.IP_OFFSET)) != 0;
            l4Protocol = (frag & Ipv4.IP_OFFSET) != 0 ? IpProtocol.IPPROTO_FRAGMENT : Ipv4.protocol(seg, base);
        } else if (v == 6) {
            Ipv6.validate(seg, base, avail);
            ipVersion = 6;
            l3HeaderLength = Ipv6.HLEN;
            int end = Ipv6.HLEN + Ipv6.payloadLength(seg, base);
            ipEnd = l3 + end;
            long found = Ipv6.findL4(seg, base, end);
            l4Offset = l3 + Ipv6.l4Offset(found);
            l4Protocol = Ipv6.l4Protocol(found);
            fragment = l4Protocol == IpProtocol.IPPROTO_FRAGMENT || hasFragmentHeader(seg, base, l4Offset - l3);
        } else {
            throw new MalformedPacketException("IP version " + v + " (expected 4 or 6)");
        }
        int l4avail = ipEnd - l4Offset;
        if (fragment) {
            // A fragment's transport header (if any) is incomplete information: nothing here
            // segments or coalesces fragments, so it is not examined.
            l4HeaderLength = 0;
        } else if (l4Protocol == IpProtocol.IPPROTO_TCP) {
            l4HeaderLength = Tcp.validate(seg, off + l4Offset, l4avail);
        } else if (l4Protocol == IpProtocol.IPPROTO_UDP) {
            MalformedPacketException.require(0, Udp.HLEN, l4avail, "UDP header");
            l4HeaderLength = Udp.HLEN;
        } else {
            l4HeaderLength = 0;
        }
        return true;
    }

    /** Total bytes of headers in front of the transport payload ({@code l4Offset + l4HeaderLength}). */
    public int headersLength() {
        return l4Offset + l4HeaderLength;
    }

    /** Transport payload bytes (after the TCP/UDP header, up to the end of the IP datagram). */
    public int payloadLength() {
        return ipEnd - l4Offset - l4HeaderLength;
    }

    // A first fragment walks through its fragment header to the L4 header; only a rescan tells
    // that there was one.
    private static boolean hasFragmentHeader(MemorySegment seg, long ip, int l4) {
        int nh = Ipv6.nextHeader(seg, ip);
        int p = Ipv6.HLEN;
        while (p < l4 && Ipv6.isExtensionHeader(nh)) {
            if (nh == IpProtocol.IPPROTO_FRAGMENT) return true;
            int next = Bytes.u8(seg, ip + p);
            p += nh == IpProtocol.IPPROTO_AH ? (Bytes.u8(seg, ip + p + 1) + 2) << 2
                    : (Bytes.u8(seg, ip + p + 1) + 1) << 3;
            nh = next;
        }
        return false;
    }
}
