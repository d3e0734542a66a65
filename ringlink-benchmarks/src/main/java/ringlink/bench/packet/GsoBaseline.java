package ringlink.bench.packet;

import java.lang.foreign.MemorySegment;
import ringlink.packet.Checksum;
import ringlink.packet.Framing;
import ringlink.packet.Gso;
import ringlink.packet.IpProtocol;
import ringlink.packet.Ipv4;
import ringlink.packet.Ipv6;
import ringlink.packet.PacketBatch;
import ringlink.packet.PacketHeaders;
import ringlink.packet.Tcp;
import ringlink.packet.Udp;
import ringlink.packet.VirtioNetHdr;

/**
 * {@link Gso}'s segmentation as it was before issue #22 (kept only as the in-run baseline of
 * {@link GsoBench}): per segment the IPv4 header checksum and the pseudo-header are recomputed
 * from the segment's headers and the transport checksum is summed over header and payload.
 * TCP/UDP superpackets only; validation is {@link Gso#validate}'s.
 */
final class GsoBaseline {
    private final Gso gso = new Gso();

    /** Appends every segment of packet {@code i} of {@code src} to {@code dst}; returns their number. */
    int segment(PacketBatch src, int i, Framing framing, PacketBatch dst) {
        int n = gso.validate(src, i, framing);
        PacketHeaders h = gso.headers();
        MemorySegment s = src.memory();
        long so = src.dataOffset(i);
        MemorySegment d = dst.memory();
        if ((src.gsoType(i) & ~VirtioNetHdr.GSO_ECN) == VirtioNetHdr.GSO_NONE)
                throw new IllegalArgumentException("not GSO");
        int hdrLen = h.headersLength();
        int l3 = h.l3Offset, l4 = h.l4Offset;
        int payload = h.payloadLength();
        int mss = src.gsoSize(i);
        boolean tcp = h.l4Protocol == IpProtocol.IPPROTO_TCP;
        boolean v4 = h.ipVersion == 4;
        int seq0 = tcp ? Tcp.seq(s, so + l4) : 0;
        int flags0 = tcp ? Tcp.flags(s, so + l4) : 0;
        int id0 = v4 ? Ipv4.id(s, so + l3) : 0;
        for (int k = 0; k < n; k++) {
            int chunk = Math.min(mss, payload - k * mss);
            int segLen = hdrLen + chunk;
            int j = dst.add();
            long dof = dst.dataOffset(j);
            MemorySegment.copy(s, so, d, dof, hdrLen);
            MemorySegment.copy(s, so + hdrLen + (long) k * mss, d, dof + hdrLen, chunk);
            long ip = dof + l3, th = dof + l4;
            if (v4) {
                Ipv4.setTotalLength(d, ip, segLen - l3);
                Ipv4.setId(d, ip, (id0 + k) & 0xffff);
                Ipv4.updateCheck(d, ip);
            } else {
                Ipv6.setPayloadLength(d, ip, segLen - l3 - Ipv6.HLEN);
            }
            int l4len = segLen - l4;
            long ph = Checksum.pseudoHeader(d, ip, h.l4Protocol, l4len);
            if (tcp) {
                Tcp.setSeq(d, th, seq0 + k * mss);
                int f = flags0;
                if (k != n - 1) f &= ~(Tcp.TH_FIN | Tcp.TH_PUSH);
                if (k != 0) f &= ~Tcp.TH_CWR;
                Tcp.setFlags(d, th, f);
                Tcp.setCheck(d, th, 0);
                Tcp.setCheck(d, th, Checksum.finish(Checksum.sum(d, th, l4len, ph)));
            } else {
                Udp.setLength(d, th, l4len);
                Udp.setCheck(d, th, 0);
                int c = Checksum.finish(Checksum.sum(d, th, l4len, ph));
                Udp.setCheck(d, th, c == 0 ? 0xffff : c);
            }
            dst.setLength(j, segLen);
        }
        return n;
    }
}
