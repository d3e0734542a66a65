package ringlink.tun;

import static ringlink.sys.Endian.BE16;
import static ringlink.sys.Endian.LE16;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.link.Layer;
import ringlink.link.Offloads;
import ringlink.packet.Checksum;
import ringlink.packet.Framing;
import ringlink.packet.IpProtocol;
import ringlink.packet.Ipv4;
import ringlink.packet.Ipv6;
import ringlink.packet.MalformedPacketException;
import ringlink.packet.PacketBatch;
import ringlink.packet.PacketHeaders;
import ringlink.packet.Tcp;
import ringlink.packet.Udp;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.IovecLayout;

/**
 * GRO for TUN/TAP writes: finds runs of consecutive TCP segments (or UDP datagrams, with USO)
 * of one flow in a batch (what a peer without TSO sends) and describes each run as one superpacket for a single
 * {@code writev}:
 * virtio-net header, the first segment's headers patched for the total length (in a scratch),
 * then every segment's payload where it lies in the batch. The kernel segments it again only if
 * it has to forward it to a device without TSO; a local socket takes it whole.
 *
 * <p>A run follows the rules of the kernel's own TCP GRO: identical headers except the IP
 * length/ID/checksum and the TCP sequence number, sequence numbers contiguous, only ACK (and PSH,
 * which ends the run) set, every segment but the last exactly {@code gso_size} bytes of payload,
 * at most {@value #MAX_SEGS} segments and 64 KiB. Packets that already carry offload metadata are
 * never merged. UDP runs (USO agreed): same addresses and ports, every datagram but the last
 * exactly {@code gso_size} bytes; the receiving stack splits them back into the same datagrams
 * unless the socket asked for UDP GRO. One per queue (holds scratch), used by the transmitting thread.
 */
final class TxCoalescer {
    static final int MAX_SEGS = 64;
    static final int MAX_IOVS = 2 + MAX_SEGS;
    private static final int MAX_HDR = 18 + 60 + 60 + 64; // L2 + IPv4 with options | IPv6 + ext, TCP with options

    private final Framing framing;
    private final boolean trustChecksums;
    private final Offloads offloads;
    private final PacketHeaders first = new PacketHeaders();
    private final PacketHeaders next = new PacketHeaders();
    private final MemorySegment hdrScratch;
    private volatile boolean enabled = true;
    private volatile String disabledReason;

    // the run found by the last run() call
    private int runHdrLen, runL3, runL4, runL4HdrLen, runGsoSize, runPayload, runIpVersion;
    private boolean runPsh, runTcp;

    /**
     * @param trustChecksums whether plain packets' checksums may be taken as verified (the link's
     *     DATA_VALID policy): a coalesced superpacket is CHECKSUM_PARTIAL, which the receiving
     *     stack does not verify, so without that trust only packets marked DATA_VALID are merged
     */
    TxCoalescer(Layer layer, Offloads offloads, Arena arena, boolean trustChecksums) {
        this.trustChecksums = trustChecksums;
        this.framing = layer == Layer.L2 ? Framing.ETHERNET : Framing.IP;
        this.offloads = offloads;
        this.hdrScratch = arena.allocate(MAX_HDR, 8);
    }

    boolean enabled() { return enabled; }

    String disabledReason() { return disabledReason; }

    void disable(String why) {
        disabledReason = why;
        enabled = false;
    }

    /**
     * How many packets from {@code i} (before {@code to}) form one coalescible run: 1 when packet
     * {@code i} cannot be merged with its successor.
     */
    int run(PacketBatch b, int i, int to) {
        if (i + 1 >= to || !plain(b, i, first)) return 1;
        boolean tcp = first.l4Protocol == IpProtocol.IPPROTO_TCP;
        if (!tcp && !offloads.has(Offloads.USO)) return 1;
        MemorySegment m = b.memory();
        long p0 = b.dataOffset(i);
        int v = first.ipVersion;
        if (tcp) {
            // PSH, SYN, FIN, RST, URG, ECE, CWR: leave alone
            if (Tcp.flags(m, p0 + first.l4Offset) != Tcp.TH_ACK) return 1;
            if (v == 4 ? !offloads.has(Offloads.TSO4) : !offloads.has(Offloads.TSO6)) return 1;
        }
        if (v == 6 && first.l4Offset != first.l3Offset + Ipv6.HLEN) return 1; // extension headers
        int hdrLen = first.headersLength();
        int gsoSize = first.payloadLength();
        if (gsoSize == 0 || hdrLen > MAX_HDR) return 1;
        int seq = tcp ? Tcp.seq(m, p0 + first.l4Offset) : 0;
        int id0 = v == 4 ? Ipv4.id(m, p0 + first.l3Offset) : 0;
        boolean df = v == 4 && (Ipv4.fragOff(m, p0 + first.l3Offset) & Ipv4.IP_DF) != 0;
        int total = gsoSize;
        int n = 1;
        boolean psh = false;
        int ipHeaderToL4 = first.l4Offset - first.l3Offset;
        while (i + n < to && n < MAX_SEGS) {
            int j = i + n;
            if (!plain(b, j, next) || next.l4Protocol != first.l4Protocol || next.ipVersion != v
                    || next.headersLength() != hdrLen || next.l3Offset != first.l3Offset
                    || next.l4Offset != first.l4Offset) break;
            long pj = b.dataOffset(j);
            int pay = next.payloadLength();
            if (pay == 0 || pay > gsoSize) break;
            if (ipHeaderToL4 + next.l4HeaderLength + total + pay > 0xffff) break;
            int fl = 0;
            if (tcp) {
                if (Tcp.seq(m, pj + first.l4Offset) != seq + total) break;
                fl = Tcp.flags(m, pj + first.l4Offset);
                if (fl != Tcp.TH_ACK && fl != (Tcp.TH_ACK | Tcp.TH_PUSH)) break;
            }
            if (!sameHeaders(m, p0, pj, v, tcp)) break;
            if (v == 4 && !df && Ipv4.id(m, pj + first.l3Offset) != ((id0 + n) & 0xffff)) break;
            total += pay;
            n++;
            if (fl == (Tcp.TH_ACK | Tcp.TH_PUSH)) { psh = true; break; }
            if (pay < gsoSize) break; // a short segment ends a run
        }
        if (n > 1) {
            runTcp = tcp;
            runHdrLen = hdrLen;
            runL3 = first.l3Offset;
            runL4 = first.l4Offset;
            runL4HdrLen = first.l4HeaderLength;
            runGsoSize = gsoSize;
            runPayload = total;
            runIpVersion = v;
            runPsh = psh;
        }
        return n;
    }

    /** The gso_type of the run last found by {@link #run}. */
    int runGsoType() {
        return !runTcp ? VirtioNetHdr.GSO_UDP_L4 : runIpVersion == 4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6;
    }

    private boolean plain(PacketBatch b, int i, PacketHeaders h) {
        int f = b.flags(i);
        if (f != VirtioNetHdr.F_DATA_VALID && (f != 0 || !trustChecksums)) return false;
        if (b.gsoType(i) != VirtioNetHdr.GSO_NONE) return false;
        try {
            if (!h.parse(b.memory(), b.dataOffset(i), b.length(i), framing)) return false;
        } catch (MalformedPacketException e) {
            return false; // written as it is; the kernel judges it
        }
        // trailing bytes past the IP length (Ethernet padding) would end up inside the payload
        if (h.fragment || h.ipEnd != b.length(i)) return false;
        if (h.l4Protocol == IpProtocol.IPPROTO_TCP) return true;
        // UDP: the length field must agree, and a zero (absent) IPv4 checksum is left alone
        return h.l4Protocol == IpProtocol.IPPROTO_UDP
                && Udp.length(b.memory(), b.dataOffset(i) + h.l4Offset) == h.ipEnd - h.l4Offset
                && Udp.check(b.memory(), b.dataOffset(i) + h.l4Offset) != 0;
    }

    private boolean sameHeaders(MemorySegment m, long a, long b, int v, boolean tcp) {
        int l3 = first.l3Offset, l4 = first.l4Offset;
        if (!same(m, a, b, 0, l3)) return false; // Ethernet/VLAN
        if (v == 4) {
            if (!same(m, a, b, l3, 2) || !same(m, a, b, l3 + Ipv4.OFF_FRAG_OFF, 4)
                    || !same(m, a, b, l3 + Ipv4.OFF_SADDR, l4 - l3 - Ipv4.OFF_SADDR)) return false;
        } else {
            if (!same(m, a, b, l3, 4) || !same(m, a, b, l3 + Ipv6.OFF_NEXTHDR, Ipv6.HLEN - Ipv6.OFF_NEXTHDR))
                    return false;
        }
        if (!tcp) return same(m, a, b, l4, 4); // ports; length and checksum differ
        int tl = first.l4HeaderLength;
        return same(m, a, b, l4, 4) && same(m, a, b, l4 + Tcp.OFF_ACK_SEQ, 5)
                && same(m, a, b, l4 + Tcp.OFF_WINDOW, 2) && same(m, a, b, l4 + Tcp.OFF_URG_PTR, tl - Tcp.OFF_URG_PTR);
    }

    private static boolean same(MemorySegment m, long a, long b, int from, int len) {
        int k = 0;
        for (; k + 8 <= len; k += 8) {
            if (m.get(ValueLayout.JAVA_LONG_UNALIGNED, a + from + k)
                    != m.get(ValueLayout.JAVA_LONG_UNALIGNED, b + from + k)) return false;
        }
        for (; k < len; k++) {
            if (m.get(ValueLayout.JAVA_BYTE, a + from + k) != m.get(ValueLayout.JAVA_BYTE, b + from + k)) return false;
        }
        return true;
    }

    /**
     * Fills {@code iov} for the run of {@code n} packets from {@code i} last found by {@link #run}
     * (virtio-net header into {@code vhdr}) and returns the iovec count.
     */
    int build(PacketBatch b, int i, int n, MemorySegment vhdr, int hdrSize, MemorySegment iov) {
        MemorySegment m = b.memory();
        long p0 = b.dataOffset(i);
        MemorySegment.copy(m, p0, hdrScratch, 0, runHdrLen);
        int l4len = runL4HdrLen + runPayload;
        if (runIpVersion == 4) {
            Ipv4.setTotalLength(hdrScratch, runL3, runL4 - runL3 + l4len);
            Ipv4.updateCheck(hdrScratch, runL3);
        } else {
            Ipv6.setPayloadLength(hdrScratch, runL3, runL4 - runL3 - Ipv6.HLEN + l4len);
        }
        int proto = runTcp ? IpProtocol.IPPROTO_TCP : IpProtocol.IPPROTO_UDP;
        int checkOff = runTcp ? Tcp.OFF_CHECK : Udp.OFF_CHECK;
        if (runTcp) {
            if (runPsh) Tcp.setFlags(hdrScratch, runL4, Tcp.TH_ACK | Tcp.TH_PUSH);
        } else {
            // the superpacket's UDP length covers everything; the kernel rewrites it per segment
            hdrScratch.set(BE16, runL4 + Udp.OFF_LEN, (short) l4len);
        }
        // CHECKSUM_PARTIAL convention: the field holds the folded pseudo-header sum for the whole
        // superpacket; the kernel adjusts it per segment when it segments.
        hdrScratch.set(BE16, runL4 + checkOff, (short) 0);
        hdrScratch.set(BE16, runL4 + checkOff,
                (short) Checksum.fold(Checksum.pseudoHeader(hdrScratch, runL3, proto, l4len)));
        vhdr.fill((byte) 0);
        vhdr.set(ValueLayout.JAVA_BYTE, VirtioNetHdr.OFF_FLAGS, (byte) VirtioNetHdr.F_NEEDS_CSUM);
        vhdr.set(ValueLayout.JAVA_BYTE, VirtioNetHdr.OFF_GSO_TYPE, (byte) runGsoType());
        Bytes16.le(vhdr, VirtioNetHdr.OFF_HDR_LEN, runHdrLen);
        Bytes16.le(vhdr, VirtioNetHdr.OFF_GSO_SIZE, runGsoSize);
        Bytes16.le(vhdr, VirtioNetHdr.OFF_CSUM_START, runL4);
        Bytes16.le(vhdr, VirtioNetHdr.OFF_CSUM_OFFSET, checkOff);
        IovecLayout.set(iov, 0, vhdr, 0, hdrSize);
        IovecLayout.set(iov, 1, hdrScratch, 0, runHdrLen);
        for (int k = 0; k < n; k++) {
            IovecLayout.set(iov, 2 + k, m, b.dataOffset(i + k) + runHdrLen, b.length(i + k) - runHdrLen);
        }
        return 2 + n;
    }


    /**
     * Asks the kernel whether it takes coalesced writes at all (some kernels refused GSO writes
     * on TUN with EINVAL): writes a tiny two-segment superpacket that the stack will discard
     * after accepting it (IPv4 with a wrong header checksum; IPv6 to ::1, which no device but
     * loopback may deliver). EINVAL switches coalescing off; any other outcome leaves it on, and
     * a later refusal still switches it off (see TunLink.transmit). Only for TUN: a TAP may sit
     * in a bridge that would flood the probe frame.
     */
    void probe(TunLink link, int hdrSize) throws java.io.IOException {
        if (framing != Framing.IP || !(offloads.has(Offloads.TSO4) || offloads.has(Offloads.TSO6))) return;
        boolean v4 = offloads.has(Offloads.TSO4);
        int ipLen = v4 ? Ipv4.HLEN : Ipv6.HLEN;
        int len = ipLen + Tcp.HLEN + 16;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pkt = a.allocate(len, 8);
            MemorySegment vh = a.allocate(16, 8);
            if (v4) {
                Ipv4.setVersionIhl(pkt, 0, Ipv4.HLEN);
                Ipv4.setTotalLength(pkt, 0, len);
                Ipv4.setTtl(pkt, 0, 1);
                Ipv4.setProtocol(pkt, 0, IpProtocol.IPPROTO_TCP);
                Ipv4.setSaddr(pkt, 0, 0x7f000001);
                Ipv4.setDaddr(pkt, 0, 0x7f000001);
                Ipv4.updateCheck(pkt, 0);
                Ipv4.setCheck(pkt, 0, Ipv4.check(pkt, 0) ^ 0x5555); // deliberately wrong: dropped by ip_rcv
            } else {
                Ipv6.setFirstWord(pkt, 0, 6 << 28);
                Ipv6.setPayloadLength(pkt, 0, len - Ipv6.HLEN);
                Ipv6.setNextHeader(pkt, 0, IpProtocol.IPPROTO_TCP);
                Ipv6.setHopLimit(pkt, 0, 1);
                pkt.set(ValueLayout.JAVA_BYTE, Ipv6.OFF_SADDR + 15, (byte) 1);
                pkt.set(ValueLayout.JAVA_BYTE, Ipv6.OFF_DADDR + 15, (byte) 1);
            }
            Tcp.setHeaderLength(pkt, ipLen, Tcp.HLEN);
            Tcp.setFlags(pkt, ipLen, Tcp.TH_ACK);
            vh.set(ValueLayout.JAVA_BYTE, VirtioNetHdr.OFF_FLAGS, (byte) VirtioNetHdr.F_NEEDS_CSUM);
            vh.set(ValueLayout.JAVA_BYTE, VirtioNetHdr.OFF_GSO_TYPE,
                    (byte) (v4 ? VirtioNetHdr.GSO_TCPV4 : VirtioNetHdr.GSO_TCPV6));
            Bytes16.le(vh, VirtioNetHdr.OFF_HDR_LEN, ipLen + Tcp.HLEN);
            Bytes16.le(vh, VirtioNetHdr.OFF_GSO_SIZE, 8);
            Bytes16.le(vh, VirtioNetHdr.OFF_CSUM_START, ipLen);
            Bytes16.le(vh, VirtioNetHdr.OFF_CSUM_OFFSET, Tcp.OFF_CHECK);
            long r = link.writeRaw(vh, pkt, len);
            if (r == -ringlink.sys.Errno.EINVAL) disable("kernel refused the GRO probe write at open (EINVAL)");
        }
    }

    /** Little-endian 16-bit stores for the virtio-net header. */
    static final class Bytes16 {

        static void le(MemorySegment s, long off, int v) { s.set(LE16, off, (short) v); }
    }
}
