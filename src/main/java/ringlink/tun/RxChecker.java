package ringlink.tun;

import ringlink.link.Layer;
import ringlink.link.Offloads;
import ringlink.packet.Checksum;
import ringlink.packet.Framing;
import ringlink.packet.Gso;
import ringlink.packet.MalformedPacketException;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * Checks what the kernel handed a TUN/TAP queue before it goes anywhere: the kernel is trusted
 * to be correct but not assumed to be (a forwarded superpacket's hdr_len is known to be wrong on
 * some kernels; a bug or a hostile local writer must not turn into an out-of-bounds segment
 * later). One per queue (holds parse scratch). Public for the other transports whose peer is the
 * kernel's virtio-net header producer (AF_PACKET with PACKET_VNET_HDR).
 */
public final class RxChecker {
    private final Gso gso = new Gso();
    private final Framing framing;

    public RxChecker(Layer layer) {
        this.framing = layer == Layer.L2 ? Framing.ETHERNET : Framing.IP;
    }

    /**
     * Validates packet {@code i} (correcting hdr_len in place) and completes its checksum when the
     * link did not negotiate CSUM. Returns null if it may be passed on, else why not.
     */
    public String check(PacketBatch b, int i, Offloads offloads) {
        try {
            int flags = b.flags(i);
            if ((flags & ~(VirtioNetHdr.F_NEEDS_CSUM | VirtioNetHdr.F_DATA_VALID | VirtioNetHdr.F_RSC_INFO)) != 0) {
                return "unknown virtio-net header flags 0x" + Integer.toHexString(flags);
            }
            if (b.isGso(i)) {
                if (!offloads.accepts(b, i)) {
                    return "superpacket of type " + VirtioNetHdr.gsoTypeName(b.gsoType(i)) + " that was not negotiated (" + offloads + ")";
                }
                if (!b.needsCsum(i)) return "superpacket " + VirtioNetHdr.gsoTypeName(b.gsoType(i)) + " without NEEDS_CSUM";
                gso.validate(b, i, framing);
                return null;
            }
            b.setGso(i, VirtioNetHdr.GSO_NONE, 0, 0); // hdr_len/gso_size mean nothing on a plain packet
            if (b.needsCsum(i)) {
                if (offloads.has(Offloads.CSUM)) {
                    gso.validate(b, i, framing); // checksum field inside the packet
                } else {
                    Checksum.complete(b, i);
                }
            }
            return null;
        } catch (MalformedPacketException e) {
            return e.getMessage();
        }
    }
}
