package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * Checks and segments GSO superpackets (TSO for TCP over IPv4/IPv6, USO for UDP) in software:
 * what a transport does for a peer that cannot take a superpacket, and what the TUN link does
 * with what the kernel hands it.
 *
 * <p>Input is packet {@code i} of a {@link PacketBatch} with its virtio-net offload metadata
 * ({@code gsoType}, {@code gsoSize}, {@code hdrLen}, {@code csumStart}, {@code csumOffset},
 * {@code NEEDS_CSUM}). The packet is either Ethernet-framed (TAP, vhost, virtio; VLAN tags
 * allowed) or raw IP (TUN): the caller says which with a {@link Framing}, or lets
 * {@link #detectFraming} work it out from {@code csum_start}.
 *
 * <p>Output segments are appended to a destination batch, each a complete packet: headers copied
 * from the superpacket, then
 * <ul>
 *   <li>TCP: sequence number advanced by the payload before it; FIN and PSH only on the last
 *       segment, CWR only on the first; other flags, options and ACK as in the superpacket;</li>
 *   <li>UDP ({@code GSO_UDP_L4}): each segment a datagram with its own UDP length;</li>
 *   <li>IPv4: total length per segment, the ID incremented per segment (as the kernel does
 *       without {@code SKB_GSO_TCP_FIXEDID}), header checksum recomputed; IPv6: payload length;</li>
 *   <li>the transport checksum complete (the segment's offload metadata is cleared: it needs
 *       nothing more from the receiver): the headers' sums are taken once per call from the
 *       superpacket with the changing fields taken out, per segment only the payload is summed
 *       and the segment's fields added (RFC 1624 arithmetic; bit-identical to recomputing).</li>
 * </ul>
 * A packet that is not GSO is copied as one segment, its checksum completed if it was
 * {@code NEEDS_CSUM}, so callers can pass every packet through {@link #segment} unconditionally.
 *
 * <p>Every length the kernel or a peer supplied is checked first ({@link #validate}), so a lying
 * superpacket yields a {@link MalformedPacketException} before anything is written. The wrong
 * {@code hdr_len} Linux reports for forwarded packets (it may cover the whole first segment, not
 * just the headers) is corrected from the parsed headers rather than rejected.
 *
 * <p>An instance holds parse scratch, so segmenting allocates nothing; use one per thread.
 */
public final class Gso {
    private final PacketHeaders h = new PacketHeaders();
    private int segments;
    private int maxSegment;

    /** Headers of the packet last passed to {@link #validate} (valid until the next call). */
    public PacketHeaders headers() {
        return h;
    }

    /**
     * Works out whether packet {@code i} starts with an IP or an Ethernet header from where its
     * partial checksum starts: the framing under which the parsed transport header begins at
     * {@code csum_start}.
     *
     * @throws MalformedPacketException if the packet is not {@code NEEDS_CSUM} or neither framing
     *     agrees with its {@code csum_start}
     */
    public Framing detectFraming(PacketBatch batch, int i) {
        if (!batch.needsCsum(i)) {
            throw new MalformedPacketException("cannot detect framing of a packet without NEEDS_CSUM (gso_type "
                    + VirtioNetHdr.gsoTypeName(batch.gsoType(i)) + ")");
        }
        MemorySegment seg = batch.memory();
        long off = batch.dataOffset(i);
        int len = batch.length(i);
        int v = len > 0 ? Bytes.u8(seg, off) >>> 4 : 0;
        if (v == 4 || v == 6) {
            try {
                if (h.parse(seg, off, len, Framing.IP) && h.l4Offset == batch.csumStart(i)) return Framing.IP;
            } catch (MalformedPacketException notIp) {
                // Fall through: an Ethernet destination address can start with 0x4_ or 0x6_.
            }
        }
        if (h.parse(seg, off, len, Framing.ETHERNET) && h.l4Offset == batch.csumStart(i)) return Framing.ETHERNET;
        throw new MalformedPacketException("csum_start " + batch.csumStart(i)
                + " is where no transport header begins, with or without an Ethernet header");
    }

    /**
     * Checks packet {@code i}'s offload metadata against its headers and corrects
     * {@code hdr_len} in the batch to the real length of the headers ({@code csum_start} +
     * transport header). Afterwards {@link #headers()} describes the packet.
     *
     * <p>Checked for a GSO packet: the gso_type is TCPV4/TCPV6/UDP_L4 and matches the IP version
     * and protocol; not a fragment; {@code gso_size} non-zero; transport payload non-empty;
     * {@code hdr_len + gso_size} fits an IP packet; with {@code NEEDS_CSUM}, {@code csum_start}
     * is the transport header and {@code csum_offset} its checksum field. A superpacket whose
     * payload is not larger than {@code gso_size} is accepted as one segment, as the kernel does.
     * For a non-GSO {@code NEEDS_CSUM} packet: the checksum field lies inside the packet.
     *
     * @return the number of segments {@link #segment} will produce
     * @throws MalformedPacketException if anything is inconsistent
     */
    public int validate(PacketBatch batch, int i, Framing framing) {
        MemorySegment seg = batch.memory();
        long off = batch.dataOffset(i);
        int len = batch.length(i);
        int gsoType = batch.gsoType(i) & ~VirtioNetHdr.GSO_ECN;
        if (gsoType == VirtioNetHdr.GSO_NONE) {
            // Not parsed: a plain frame is forwarded whatever its L3 content; only the checksum
            // field we may have to write must be inside it.
            maxSegment = len;
            if (batch.needsCsum(i)) {
                int field = batch.csumStart(i) + batch.csumOffset(i);
                if (field + 2 > len) {
                    throw new MalformedPacketException("csum_start " + batch.csumStart(i) + " + csum_offset "
                            + batch.csumOffset(i) + " lies outside the packet of " + len + " bytes");
                }
            }
            return segments = 1;
        }
        String name = VirtioNetHdr.gsoTypeName(batch.gsoType(i));
        boolean ip = h.parse(seg, off, len, framing);
        if (!ip) throw new MalformedPacketException("GSO " + name + " on a non-IP frame (EtherType 0x"
                + Integer.toHexString(h.etherType) + ")");
        if (h.fragment) throw new MalformedPacketException("GSO " + name + " on an IP fragment");
        int proto;
        switch (gsoType) {
            case VirtioNetHdr.GSO_TCPV4 -> {
                if (h.ipVersion != 4)
                        throw new MalformedPacketException("GSO TCPV4 on an IPv" + h.ipVersion + " packet");
                proto = IpProtocol.IPPROTO_TCP;
            }
            case VirtioNetHdr.GSO_TCPV6 -> {
                if (h.ipVersion != 6)
                        throw new MalformedPacketException("GSO TCPV6 on an IPv" + h.ipVersion + " packet");
                proto = IpProtocol.IPPROTO_TCP;
            }
            case VirtioNetHdr.GSO_UDP_L4 -> proto = IpProtocol.IPPROTO_UDP;
            case VirtioNetHdr.GSO_UDP ->
                    throw new MalformedPacketException("GSO UDP (UFO, IP fragmentation) is not supported");
            default -> throw new MalformedPacketException("unknown gso_type " + name);
        }
        if (h.l4Protocol != proto) {
            throw new MalformedPacketException("GSO " + name + " on IP protocol " + h.l4Protocol);
        }
        int gsoSize = batch.gsoSize(i);
        if (gsoSize == 0) throw new MalformedPacketException("GSO " + name + " with gso_size 0");
        if (batch.needsCsum(i)) {
            int want = proto == IpProtocol.IPPROTO_TCP ? Tcp.OFF_CHECK : Udp.OFF_CHECK;
            if (batch.csumStart(i) != h.l4Offset || batch.csumOffset(i) != want) {
                throw new MalformedPacketException("GSO " + name + " with csum_start/offset " + batch.csumStart(i) + "/"
                        + batch.csumOffset(i) + " but the transport header is at " + h.l4Offset + " (checksum at +"
                                + want + ")");
            }
        }
        int hdrLen = h.headersLength();
        int payload = h.payloadLength();
        if (payload <= 0) throw new MalformedPacketException("GSO " + name + " superpacket without payload");
        if (hdrLen - h.l3Offset + Math.min(gsoSize, payload) > 0xffff) {
            throw new MalformedPacketException("GSO " + name + " segment of " + gsoSize + " + " + hdrLen
                    + " header bytes exceeds an IP packet");
        }
        // Only now, so a rejected packet keeps the metadata it came with (for the error report).
        if (batch.hdrLen(i) != hdrLen) batch.setGso(i, batch.gsoType(i), hdrLen, gsoSize);
        maxSegment = hdrLen + Math.min(gsoSize, payload);
        return segments = (payload + gsoSize - 1) / gsoSize;
    }

    /**
     * Segments packet {@code i} of {@code src} (see the class comment) and appends every segment
     * to {@code dst}.
     *
     * @return the number of segments appended
     * @throws MalformedPacketException if the packet's headers or metadata are inconsistent
     *     (nothing is appended then)
     * @throws IllegalArgumentException if {@code dst} has too few free slots or its buffers are
     *     too small (check with {@link #validate} first, or use the resumable overload)
     */
    public int segment(PacketBatch src, int i, Framing framing, PacketBatch dst) {
        int n = validate(src, i, framing);
        if (dst.capacity() - dst.count() < n) {
            throw new IllegalArgumentException(n + " segments do not fit the " + (dst.capacity() - dst.count())
                    + " free slots of the destination batch");
        }
        checkRoom(dst);
        return emit(src, i, dst, 0, n);
    }

    /** {@link #segment(PacketBatch, int, Framing, PacketBatch)} with the framing detected from {@code csum_start}. */
    public int segment(PacketBatch src, int i, PacketBatch dst) {
        Framing f = src.isGso(i) ? detectFraming(src, i) : Framing.IP; // plain packets are not parsed
        return segment(src, i, f, dst);
    }

    /**
     * Resumable segmentation for a destination that may fill up: appends segments
     * {@code from, from+1, …} of packet {@code i} until {@code dst} is full or the packet is done,
     * and returns the index of the next segment to produce; the packet is done when that equals
     * {@link #validate}'s count. Call again with the returned index after draining {@code dst}.
     *
     * @throws MalformedPacketException if the packet's headers or metadata are inconsistent
     */
    public int segment(PacketBatch src, int i, Framing framing, PacketBatch dst, int from) {
        int n = validate(src, i, framing);
        if (from < 0 || from > n) throw new IllegalArgumentException("segment " + from + " of " + n);
        int free = dst.capacity() - dst.count();
        checkRoom(dst);
        return from + emit(src, i, dst, from, Math.min(n - from, free));
    }

    private void checkRoom(PacketBatch dst) {
        if (maxSegment > dst.bufferSize() - dst.headroom()) {
            throw new IllegalArgumentException("segments of " + maxSegment
                    + " bytes do not fit the destination's buffers of "
                    + (dst.bufferSize() - dst.headroom()) + " bytes after headroom");
        }
    }

    /** The segment count of the packet last passed to {@link #validate} (or segmented): what validate returned. */
    public int segmentCount() {
        return segments;
    }

    /** Length of the longest segment of the packet last passed to {@link #validate}. */
    public int maxSegmentLength() {
        return maxSegment;
    }

    /** A 16-bit word's ones' complement: adding it to a sum takes the word out of it. */
    private static long not16(int w) {
        return ~w & 0xffff;
    }

    private int emit(PacketBatch src, int i, PacketBatch dst, int from, int count) {
        MemorySegment s = src.memory();
        long so = src.dataOffset(i);
        MemorySegment d = dst.memory();
        int gsoType = src.gsoType(i) & ~VirtioNetHdr.GSO_ECN;
        if (gsoType == VirtioNetHdr.GSO_NONE) {
            if (count == 0) return 0;
            int len = src.length(i);
            int j = dst.add();
            MemorySegment.copy(s, so, d, dst.dataOffset(j), len);
            dst.setLength(j, len);
            dst.copyOffload(src, i, j);
            Checksum.complete(dst, j);
            return 1;
        }
        int hdrLen = h.headersLength();
        int l3 = h.l3Offset, l4 = h.l4Offset;
        int payload = h.payloadLength();
        int mss = src.gsoSize(i);
        boolean tcp = h.l4Protocol == IpProtocol.IPPROTO_TCP;
        boolean v4 = h.ipVersion == 4;
        long sip = so + l3, sth = so + l4;
        // Every segment's headers are the superpacket's with a few fields changed, so their
        // checksums are the superpacket's header sums with those fields taken out (adding a
        // word's ones' complement subtracts it, RFC 1624) and the segment's values put in: the
        // headers are summed once per call, and per segment only the payload is.
        int seq0 = 0, word12 = 0, id0 = 0;
        long ipBase = 0;
        if (v4) {
            id0 = Ipv4.id(s, sip);
            ipBase = Checksum.sum(s, sip, h.l3HeaderLength, 0) + not16(Ipv4.totalLength(s, sip)) + not16(id0)
                    + not16(Ipv4.check(s, sip));
        }
        long l4Base = Checksum.pseudoHeader(s, sip, h.l4Protocol, 0) + Checksum.sum(s, sth, h.l4HeaderLength, 0);
        if (tcp) {
            seq0 = Tcp.seq(s, sth);
            word12 = Bytes.u16(s, sth + Tcp.OFF_DOFF);
            l4Base += not16(seq0 >>> 16) + not16(seq0) + not16(word12) + not16(Tcp.check(s, sth));
        } else {
            l4Base += not16(Udp.length(s, sth)) + not16(Udp.check(s, sth));
        }
        int n = segments;
        for (int k = from; k < from + count; k++) {
            int chunk = Math.min(mss, payload - k * mss);
            int segLen = hdrLen + chunk;
            int j = dst.add();
            long dof = dst.dataOffset(j);
            MemorySegment.copy(s, so, d, dof, hdrLen);
            MemorySegment.copy(s, so + hdrLen + (long) k * mss, d, dof + hdrLen, chunk);
            // The payload starts an even distance from the transport header (whose length is a
            // multiple of 4), so its sum adds to the header's as it is. Summed after the
            // (intrinsic) copy, from the lines the copy just wrote: a fused copy-and-sum loop in
            // Java measured slower (GsoAb: 0.87-0.96x the old code, this 1.06-1.14x).
            long payloadSum = Checksum.sum(d, dof + hdrLen, chunk, 0);
            long ip = dof + l3, th = dof + l4;
            if (v4) {
                int tot = segLen - l3, id = (id0 + k) & 0xffff;
                Ipv4.setTotalLength(d, ip, tot);
                Ipv4.setId(d, ip, id);
                Ipv4.setCheck(d, ip, Checksum.finish(ipBase + tot + id));
            } else {
                Ipv6.setPayloadLength(d, ip, segLen - l3 - Ipv6.HLEN);
            }
            int l4len = segLen - l4;
            long sum = l4Base + l4len + payloadSum;
            if (tcp) {
                int seq = seq0 + k * mss;
                int f = word12 & 0xff;
                if (k != n - 1) f &= ~(Tcp.TH_FIN | Tcp.TH_PUSH);
                if (k != 0) f &= ~Tcp.TH_CWR;
                int w = (word12 & 0xff00) | f;
                Tcp.setSeq(d, th, seq);
                Bytes.put16(d, th + Tcp.OFF_DOFF, w);
                Tcp.setCheck(d, th, Checksum.finish(sum + (seq >>> 16) + (seq & 0xffff) + w));
            } else {
                Udp.setLength(d, th, l4len);
                int c = Checksum.finish(sum + l4len);
                Udp.setCheck(d, th, c == 0 ? 0xffff : c);
            }
            dst.setLength(j, segLen);
        }
        return count;
    }
}
