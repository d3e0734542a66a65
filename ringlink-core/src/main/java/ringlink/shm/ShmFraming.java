package ringlink.shm;

import static ringlink.sys.Endian.BE16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.link.Layer;
import ringlink.link.LinkCounters;
import ringlink.link.Offloads;
import ringlink.packet.Ethernet;
import ringlink.packet.Framing;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * The framing of an {@link ShmLink}'s packets on the wire, [virtio-net header][Ethernet
 * header][IP packet] with the outer two optional: what receive strips and checks and what
 * transmit adds. Apart from the link, whose class is its queues and lifecycle.
 */
final class ShmFraming {
    private static final int ETH_HLEN = 14;
    private static final int VNET_HLEN = VirtioNetHdr.SIZE;

    private final ShmLink.Options options;
    private final LinkCounters counters;
    private final long[] drops;
    /** The peer's offload metadata (receiving thread). */
    private final OffloadValidator rxCheck;
    private final MemorySegment ethHeader = java.lang.foreign.Arena.ofAuto().allocate(ETH_HLEN);

    ShmFraming(ShmLink.Options options, LinkCounters counters, long[] drops) {
        this.options = options;
        this.counters = counters;
        this.drops = drops;
        this.rxCheck =
                new OffloadValidator(options.layer() == Layer.L2 || options.ethernet() ? Framing.ETHERNET : Framing.IP,
                OffloadValidator.Source.DRIVER);
        MemorySegment.copy(options.peerMac(), 0, ethHeader, ValueLayout.JAVA_BYTE, 0, 6);
        MemorySegment.copy(options.mac(), 0, ethHeader, ValueLayout.JAVA_BYTE, 6, 6);
    }

    /**
     * Receiving thread: strips what the wire added to packets {@code [from, count)} (virtio-net
     * header, decoded and checked; Ethernet header of an L3 link), drops what cannot be a packet
     * (counted in {@code drops[0]}), compacts the batch; returns how many packets stay.
     */
    int postReceive(PacketBatch batch, int from) {
        boolean csumValid = options.checksumOffload();
        boolean vnet = options.vnetHdr();
        boolean l3 = options.layer() == Layer.L3;
        if (!vnet && !l3) {
            if (csumValid) for (int i = from; i < batch.count(); i++) batch.setFlags(i, VirtioNetHdr.F_DATA_VALID);
            return batch.count() - from;
        }
        int w = from;
        MemorySegment m = batch.memory();
        for (int i = from; i < batch.count(); i++) {
            boolean keep = true;
            if (vnet) {
                keep = batch.length(i) >= VNET_HLEN;
                if (keep) {
                    VirtioNetHdr.decode(m, batch.dataOffset(i), batch, i);
                    batch.push(i, -VNET_HLEN);
                    // Metadata from the peer, checked like every peer's (flags a sender may not
                    // set cleared, superpackets bounded and matched against their headers);
                    // any type a link may carry is taken (no UFO, no unknown types).
                    OffloadValidator.Reason why = rxCheck.check(batch, i, Offloads.ALL.accepts(batch, i), true);
                    if (why != null) {
                        counters.invalid(why);
                        counters.error();
                        keep = false;
                    }
                }
            }
            if (keep && l3) {
                if (options.ethernet()) {
                    keep = batch.length(i) > ETH_HLEN;
                    if (keep) {
                        int type = Short.toUnsignedInt(m.get(BE16, batch.dataOffset(i) + Ethernet.OFF_PROTO));
                        keep = type == 0x0800 || type == 0x86dd;
                        if (keep) batch.push(i, -ETH_HLEN);
                    }
                } else {
                    int v = batch.length(i) > 0 ? (m.get(ValueLayout.JAVA_BYTE, batch.dataOffset(i)) >> 4) & 0xf : 0;
                    keep = v == 4 || v == 6;
                }
            }
            if (!keep) {
                drops[0]++;
                continue;
            }
            if (csumValid) batch.setFlags(i, batch.flags(i) | VirtioNetHdr.F_DATA_VALID);
            if (batch.isGso(i)) counters.superpacket(1);
            if (w != i) batch.copyPacket(i, w);
            w++;
        }
        batch.setCount(w);
        return w - from;
    }

    /** Transmitting thread: an Ethernet header (our MAC, the peer's, IPv4/IPv6) before each IP packet. */
    void pushEthernet(PacketBatch batch, int from, int to) {
        MemorySegment m = batch.memory();
        for (int i = from; i < to; i++) {
            int v = batch.length(i) > 0 ? (m.get(ValueLayout.JAVA_BYTE, batch.dataOffset(i)) >> 4) & 0xf : 0;
            long at = batch.push(i, ETH_HLEN);
            MemorySegment.copy(ethHeader, 0, m, at, 12);
            m.set(ValueLayout.JAVA_BYTE, at + 12, (byte) (v == 6 ? 0x86 : 0x08));
            m.set(ValueLayout.JAVA_BYTE, at + 13, (byte) (v == 6 ? 0xdd : 0x00));
        }
    }
}
