package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * Coalesces consecutive TCP segments and UDP datagrams of the same flow into GSO superpackets
 * (software GRO), so a transport that accepts superpackets (TUN/TAP with offloads, vhost-net,
 * a virtio guest with GUEST_TSO) gets one write per flow burst instead of one per packet.
 *
 * <p>{@link #coalesce} copies every packet of a source batch to a destination batch; a packet
 * that continues a flow appended earlier in the same call has its payload appended to that
 * packet instead. A packet merged into is finalised the way the kernel expects from a
 * virtio-net header on write: IP lengths (and IPv4 header checksum) for the whole superpacket,
 * {@code NEEDS_CSUM} with {@code csum_start} at the transport header, {@code csum_offset} at its
 * checksum field which holds the pseudo-header sum over the whole transport length (the
 * {@code CHECKSUM_PARTIAL} convention), {@code gso_type} TCPV4/TCPV6/UDP_L4, {@code hdr_len} the
 * header length and {@code gso_size} the payload of the first packet. Packets that were not
 * merged with anything are copied unchanged, metadata included.
 *
 * <p>Merging follows the rules of Linux's {@code tcp_gro_receive}/{@code udp_gro_receive}
 * (conservatively):
 * <ul>
 *   <li>same Ethernet header (with VLAN tags), same IP version, addresses, protocol and ports;
 *       same TOS/traffic class, TTL/hop limit, DF bit and flow label; no IPv4 options, no IPv6
 *       extension headers, no fragments, no bytes after the IP datagram;</li>
 *   <li>TCP: only ACK, PSH and ECE flags (no SYN, FIN, RST, URG, CWR), same ACK number,
 *       window, header length and option bytes (so also the same timestamps), sequence number
 *       exactly continuing the superpacket, payload not above the first packet's; a packet
 *       with PSH or a shorter payload is the last one of its superpacket; IPv4 IDs incrementing
 *       (or fixed, with DF);</li>
 *   <li>UDP: datagrams of the first one's size, the last possibly shorter, at most
 *       {@link #MAX_UDP_SEGMENTS}; a zero (absent) IPv4 checksum is not mixed with a present one;</li>
 *   <li>the transport checksum was verified (or the packet is {@code NEEDS_CSUM} or
 *       {@code DATA_VALID}): merging must not turn a corrupted packet into a valid one;</li>
 *   <li>the superpacket stays within 65535 bytes of IP packet and fits the destination buffer.</li>
 * </ul>
 * A packet of a flow that cannot be merged ends that flow's superpacket, so packets of a flow
 * are never reordered; packets of different flows may be (as with the kernel's GRO).
 *
 * <p>Packets that do not parse are passed through untouched: coalescing is an optimisation and
 * never drops anything. An instance holds fixed-size flow state and allocates nothing per
 * packet; use one per thread.
 */
public final class Gro {
    /**
     * Most UDP datagrams in one superpacket (Linux's {@code UDP_MAX_SEGMENTS} allows 128; 64 keeps below every kernel's
     * GRO cap).
     */
    public static final int MAX_UDP_SEGMENTS = 64;
    /** Default number of flows tracked per {@link #coalesce} call. */
    public static final int DEFAULT_MAX_FLOWS = 256;

    private static final int NONE = 0, FLOW_ONLY = 1, MERGEABLE = 2;
    private static final int TCP_OK_FLAGS = Tcp.TH_ACK | Tcp.TH_PUSH | Tcp.TH_ECE;

    private final Framing framing;
    private final boolean tcp, udp;
    private final PacketHeaders h = new PacketHeaders();
    private final int[] pkt, hash, nextSeq, mss, segs, firstId, l3, l4, thl, proto;
    private final boolean[] open;
    private int used;

    /**
     * @param framing what the packets start with
     * @param tcp coalesce TCP (the destination must accept TSO for the IP versions seen)
     * @param udp coalesce UDP (the destination must accept USO, e.g. TUN with {@code TUN_F_USO4|6})
     * @param maxFlows flow superpackets tracked per call; further flows pass through uncoalesced
     */
    public Gro(Framing framing, boolean tcp, boolean udp, int maxFlows) {
        if (maxFlows <= 0) throw new IllegalArgumentException("maxFlows must be positive");
        this.framing = java.util.Objects.requireNonNull(framing);
        this.tcp = tcp;
        this.udp = udp;
        pkt = new int[maxFlows];
        hash = new int[maxFlows];
        nextSeq = new int[maxFlows];
        mss = new int[maxFlows];
        segs = new int[maxFlows];
        firstId = new int[maxFlows];
        l3 = new int[maxFlows];
        l4 = new int[maxFlows];
        thl = new int[maxFlows];
        proto = new int[maxFlows];
        open = new boolean[maxFlows];
    }

    /** TCP and UDP coalescing with {@link #DEFAULT_MAX_FLOWS}. */
    public Gro(Framing framing) {
        this(framing, true, true, DEFAULT_MAX_FLOWS);
    }

    /**
     * Appends the packets of {@code src} to {@code dst}, coalescing flows (see the class
     * comment). {@code src} is not modified.
     *
     * @return the number of packets appended to {@code dst}
     * @throws IllegalArgumentException if {@code dst} has fewer free slots than {@code src} has
     *     packets, or a packet does not fit {@code dst}'s buffers
     */
    public int coalesce(PacketBatch src, PacketBatch dst) {
        if (dst.capacity() - dst.count() < src.count()) {
            throw new IllegalArgumentException("destination has " + (dst.capacity() - dst.count())
                    + " free slots for " + src.count() + " packets");
        }
        if (src == dst) throw new IllegalArgumentException("source and destination must differ");
        // Checked up front: failing halfway would leave merged packets without their final
        // lengths and metadata.
        int room = dst.bufferSize() - dst.headroom();
        for (int i = 0; i < src.count(); i++) {
            if (src.length(i) > room) {
                throw new IllegalArgumentException("packet " + i + " of " + src.length(i)
                        + " bytes does not fit the destination's buffers of " + room + " bytes after headroom");
            }
        }
        int before = dst.count();
        used = 0;
        MemorySegment s = src.memory();
        for (int i = 0; i < src.count(); i++) {
            long so = src.dataOffset(i);
            int kind = classify(s, so, src.length(i), src.isGso(i), src.needsCsum(i), src.csumStart(i),
                    src.csumOffset(i), src.flags(i));
            int f = -1, hs = 0;
            if (kind != NONE) {
                hs = flowHash(s, so);
                f = find(hs, s, so, dst);
            }
            if (kind == MERGEABLE && f >= 0 && tryMerge(f, s, so, dst)) continue;
            if (f >= 0) open[f] = false; // the flow's superpacket ends before this packet
            int j = dst.append(src, i);
            if (kind == MERGEABLE && used < pkt.length && !endsFlow(s, so)) start(j, hs, s, so);
        }
        end(dst);
        return dst.count() - before;
    }

    /**
     * Starts a streaming run: packets given to {@link #add} until {@link #end} are coalesced
     * into one destination batch as {@link #coalesce} would coalesce them from a source batch,
     * without a source batch. For a receive path whose packets lie in a buffer of its own (the
     * UDP link's {@code UDP_GRO} staging buffers): one copy, straight into the destination,
     * instead of one into a batch and one more by {@link #coalesce}. Between {@code begin} and
     * {@code end} the destination's packets appended so far must not be changed (but their
     * {@code peer} ids).
     */
    public void begin() { used = 0; }

    /**
     * Coalesces one packet without offload metadata (a frame as received from a wire: checksums
     * verified here) at {@code s[off, off + len)} into {@code dst}: its payload is appended to
     * an open superpacket of its flow, or it is copied into a new slot. {@code s} must not be
     * {@code dst}'s memory.
     *
     * @return the slot of {@code dst} the packet went to (a new one, or the superpacket it was merged into)
     * @throws IllegalArgumentException if the packet does not fit {@code dst}'s buffers after headroom
     * @throws IllegalStateException if it would need a new slot and {@code dst} is full
     */
    public int add(MemorySegment s, long off, int len, PacketBatch dst) {
        if (len > dst.bufferSize() - dst.headroom()) {
            throw new IllegalArgumentException("packet of " + len + " bytes does not fit the destination's buffers of "
                    + (dst.bufferSize() - dst.headroom()) + " bytes after headroom");
        }
        int kind = classify(s, off, len, false, false, 0, 0, 0);
        int f = -1, hs = 0;
        if (kind != NONE) {
            hs = flowHash(s, off);
            f = find(hs, s, off, dst);
        }
        if (kind == MERGEABLE && f >= 0 && tryMerge(f, s, off, dst)) return pkt[f];
        if (f >= 0) open[f] = false; // the flow's superpacket ends before this packet
        int j = dst.add();
        MemorySegment.copy(s, off, dst.memory(), dst.dataOffset(j), len);
        dst.setLength(j, len);
        if (kind == MERGEABLE && used < pkt.length && !endsFlow(s, off)) start(j, hs, s, off);
        return j;
    }

    /** Ends a run of {@link #add} calls (or a {@link #coalesce}): finalises every superpacket made in {@code dst}. */
    public void end(PacketBatch dst) {
        for (int f = 0; f < used; f++) {
            if (segs[f] > 1) finish(f, dst);
        }
        used = 0;
    }

    private int classify(MemorySegment s, long so, int len, boolean isGso, boolean needsCsum, int csumStart,
                         int csumOffset, int flags) {
        try {
            if (!h.parse(s, so, len, framing)) return NONE;
        } catch (MalformedPacketException e) {
            return NONE;
        }
        if (h.fragment || h.l4HeaderLength == 0) return NONE;
        boolean isTcp = h.l4Protocol == IpProtocol.IPPROTO_TCP;
        if (!(isTcp ? tcp : udp)) return FLOW_ONLY;
        if (isGso || h.ipEnd != len || h.payloadLength() == 0) return FLOW_ONLY;
        if (h.ipVersion == 4 ? h.l3HeaderLength != Ipv4.HLEN : h.l4Offset != h.l3Offset + Ipv6.HLEN) return FLOW_ONLY;
        long ip = so + h.l3Offset, th = so + h.l4Offset;
        if (h.ipVersion == 4 && !Ipv4.checkValid(s, ip)) return FLOW_ONLY;
        if (isTcp) {
            int fl = Tcp.flags(s, th);
            if ((fl & ~TCP_OK_FLAGS) != 0 || (fl & Tcp.TH_ACK) == 0) return FLOW_ONLY;
        }
        if (needsCsum) {
            int want = isTcp ? Tcp.OFF_CHECK : Udp.OFF_CHECK;
            if (csumStart != h.l4Offset || csumOffset != want) return FLOW_ONLY;
        } else if ((flags & VirtioNetHdr.F_DATA_VALID) == 0) {
            int l4len = h.ipEnd - h.l4Offset;
            boolean noUdpCsum = !isTcp && h.ipVersion == 4 && Udp.check(s, th) == 0;
            if (!noUdpCsum && !Checksum.verify(s, th, l4len, Checksum.pseudoHeader(s, ip, h.l4Protocol, l4len))) {
                return FLOW_ONLY;
            }
        }
        return MERGEABLE;
    }

    // A flow hash over addresses, protocol and ports only prefilters; find() compares the bytes.
    private int flowHash(MemorySegment s, long so) {
        long ip = so + h.l3Offset;
        int x = h.l4Protocol * 0x9E3779B1 ^ Bytes.i32(s, so + h.l4Offset);
        if (h.ipVersion == 4) {
            x = x * 31 + Bytes.i32(s, ip + Ipv4.OFF_SADDR);
            x = x * 31 + Bytes.i32(s, ip + Ipv4.OFF_DADDR);
        } else {
            for (int k = 0; k < 32; k += 4) x = x * 31 + Bytes.i32(s, ip + Ipv6.OFF_SADDR + k);
        }
        return x ^ (x >>> 16);
    }

    private int find(int hs, MemorySegment s, long so, PacketBatch dst) {
        MemorySegment d = dst.memory();
        for (int f = used - 1; f >= 0; f--) {
            if (!open[f] || hash[f] != hs || l3[f] != h.l3Offset || proto[f] != h.l4Protocol) continue;
            long dof = dst.dataOffset(pkt[f]);
            if ((Bytes.u8(d, dof + l3[f]) >>> 4) != h.ipVersion) continue;
            int a = h.ipVersion == 4 ? Ipv4.OFF_SADDR : Ipv6.OFF_SADDR;
            int n = h.ipVersion == 4 ? 8 : 32;
            if (!same(s, so + h.l3Offset + a, d, dof + l3[f] + a, n)) continue;
            if (!same(s, so + h.l4Offset, d, dof + l4[f], 4)) continue;
            return f;
        }
        return -1;
    }

    private static boolean same(MemorySegment a, long ao, MemorySegment b, long bo, int n) {
        return MemorySegment.mismatch(a, ao, ao + n, b, bo, bo + n) == -1;
    }

    private boolean endsFlow(MemorySegment s, long so) {
        if (h.l4Protocol != IpProtocol.IPPROTO_TCP) return false;
        return (Tcp.flags(s, so + h.l4Offset) & Tcp.TH_PUSH) != 0;
    }

    private void start(int j, int hs, MemorySegment s, long so) {
        int f = used++;
        pkt[f] = j;
        hash[f] = hs;
        open[f] = true;
        l3[f] = h.l3Offset;
        l4[f] = h.l4Offset;
        thl[f] = h.l4HeaderLength;
        proto[f] = h.l4Protocol;
        mss[f] = h.payloadLength();
        segs[f] = 1;
        firstId[f] = h.ipVersion == 4 ? Ipv4.id(s, so + h.l3Offset) : 0;
        nextSeq[f] = h.l4Protocol == IpProtocol.IPPROTO_TCP ? Tcp.seq(s, so + h.l4Offset) + mss[f] : 0;
    }

    private boolean tryMerge(int f, MemorySegment s, long so, PacketBatch dst) {
        MemorySegment d = dst.memory();
        int j = pkt[f];
        long dof = dst.dataOffset(j);
        int payload = h.payloadLength();
        if (h.l4Offset != l4[f] || h.l4HeaderLength != thl[f] || payload > mss[f]) return false;
        int dlen = dst.length(j);
        int newLen = dlen + payload;
        if (newLen - l3[f] > 0xffff || newLen > dst.bufferSize() - dst.dataStart(j)) return false;
        if (!same(s, so, d, dof, l3[f])) return false; // Ethernet header and VLAN tags
        long sip = so + l3[f], dip = dof + l3[f];
        if (h.ipVersion == 4) {
            if (Ipv4.tos(s, sip) != Ipv4.tos(d, dip) || Ipv4.ttl(s, sip) != Ipv4.ttl(d, dip)) return false;
            int df = Ipv4.fragOff(s, sip) & Ipv4.IP_DF;
            if (df != (Ipv4.fragOff(d, dip) & Ipv4.IP_DF)) return false;
            int id = Ipv4.id(s, sip);
            if (id != ((firstId[f] + segs[f]) & 0xffff) && !(df != 0 && id == firstId[f])) return false;
        } else {
            if (Ipv6.firstWord(s, sip) != Ipv6.firstWord(d, dip) || Ipv6.hopLimit(s, sip) != Ipv6.hopLimit(d, dip))
                    return false;
        }
        long sth = so + l4[f], dth = dof + l4[f];
        boolean last;
        if (proto[f] == IpProtocol.IPPROTO_TCP) {
            if (Tcp.seq(s, sth) != nextSeq[f]) return false;
            if (Tcp.ackSeq(s, sth) != Tcp.ackSeq(d, dth) || Tcp.window(s, sth) != Tcp.window(d, dth)) return false;
            int sf = Tcp.flags(s, sth);
            if ((sf & ~Tcp.TH_PUSH) != (Tcp.flags(d, dth) & ~Tcp.TH_PUSH)) return false;
            if (!same(s, sth + Tcp.HLEN, d, dth + Tcp.HLEN, thl[f] - Tcp.HLEN)) return false; // options
            if ((sf & Tcp.TH_PUSH) != 0) Tcp.setFlags(d, dth, Tcp.flags(d, dth) | Tcp.TH_PUSH);
            nextSeq[f] += payload;
            last = (sf & Tcp.TH_PUSH) != 0 || payload < mss[f];
        } else {
            if (segs[f] >= MAX_UDP_SEGMENTS) return false;
            if (h.ipVersion == 4 && (Udp.check(s, sth) == 0) != (Udp.check(d, dth) == 0)) return false;
            last = payload < mss[f];
        }
        MemorySegment.copy(s, so + h.headersLength(), d, dof + dlen, payload);
        dst.setLength(j, newLen);
        segs[f]++;
        if (last) open[f] = false;
        return true;
    }

    private void finish(int f, PacketBatch dst) {
        MemorySegment d = dst.memory();
        int j = pkt[f];
        long dof = dst.dataOffset(j);
        int len = dst.length(j);
        long ip = dof + l3[f], th = dof + l4[f];
        boolean v4 = (Bytes.u8(d, ip) >>> 4) == 4;
        if (v4) {
            Ipv4.setTotalLength(d, ip, len - l3[f]);
            Ipv4.updateCheck(d, ip);
        } else {
            Ipv6.setPayloadLength(d, ip, len - l3[f] - Ipv6.HLEN);
        }
        int l4len = len - l4[f];
        int partial = Checksum.fold(Checksum.pseudoHeader(d, ip, proto[f], l4len));
        int gsoType;
        int csumOffset;
        if (proto[f] == IpProtocol.IPPROTO_TCP) {
            Tcp.setCheck(d, th, partial);
            gsoType = v4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6;
            csumOffset = Tcp.OFF_CHECK;
        } else {
            Udp.setLength(d, th, l4len);
            Udp.setCheck(d, th, partial);
            gsoType = VirtioNetHdr.GSO_UDP_L4;
            csumOffset = Udp.OFF_CHECK;
        }
        dst.setOffload(j, VirtioNetHdr.F_NEEDS_CSUM, gsoType, l4[f] + thl[f], mss[f], l4[f], csumOffset);
    }
}
