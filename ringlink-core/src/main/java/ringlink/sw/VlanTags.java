package ringlink.sw;

import static ringlink.packet.Ethernet.ETH_HLEN;
import static ringlink.packet.Ethernet.ETH_P_8021Q;
import static ringlink.packet.Ethernet.VLAN_HLEN;

import java.lang.foreign.MemorySegment;
import ringlink.packet.Ethernet;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * 802.1Q on a VLAN-aware switch: the VLAN an arriving frame belongs to (its tag removed in
 * place, VLAN hopping refused), and the tag pushed into the headroom per egress port. Static and
 * allocation-free: the pollers call it per packet.
 */
final class VlanTags {
    private VlanTags() {}

    /**
     * The VLAN a frame arriving on {@code in} belongs to, or -1 to drop it. A tag is removed in
     * place, so frames are untagged inside the switch and tagged again per egress port.
     *
     * <p>VLAN hopping is refused: a frame that lands in a VLAN whose frames leave some port
     * untagged (an access port's, a trunk's native VLAN) must not carry another tag behind the
     * one removed (a priority tag or the native VID in front of a victim VLAN's tag), and an
     * 802.1ad S-tag or QinQ tag is never taken there: a port beyond would read the inner tag.
     */
    static int ingressVlan(PacketBatch rx, PortVlan in, int i, MemorySegment m, long off, int len) {
        int type = Ethernet.etherType(m, off);
        int untagged = in.untaggedVid();
        if (type != ETH_P_8021Q) return Ethernet.isAnyTagTpid(type) ? -1 : untagged;
        if (len < ETH_HLEN + VLAN_HLEN) return -1;
        int vid = Ethernet.vlanTci(m, off) & Ethernet.VLAN_VID_MASK;
        if (vid == 0) vid = untagged; // priority tag: the frame is untagged for VLAN purposes
        else if (!in.isTrunk() || !in.member(vid)) return -1; // access ports take no tagged frames
        if (vid < 0) return -1;
        if (vid == untagged && len >= ETH_HLEN + VLAN_HLEN + 2
                && Ethernet.isAnyTagTpid(Ethernet.etherType(m, off + VLAN_HLEN))) {
            return -1; // double tag
        }
        untag(rx, i);
        return vid;
    }

    /** Inserts an 802.1Q tag after the MAC addresses, in the headroom; false if there is none. */
    static boolean tag(PacketBatch b, int k, int vid) {
        if (b.dataStart(k) < VLAN_HLEN) return false;
        MemorySegment m = b.memory();
        long off = b.push(k, VLAN_HLEN);
        MemorySegment.copy(m, off + VLAN_HLEN, m, off, 2 * Ethernet.ETH_ALEN);
        Ethernet.setEtherType(m, off, ETH_P_8021Q);
        Ethernet.setVlanTci(m, off, vid);
        shiftOffload(b, k, VLAN_HLEN);
        return true;
    }

    /** Removes the 802.1Q tag at offset 12. */
    static void untag(PacketBatch b, int k) {
        MemorySegment m = b.memory();
        long off = b.dataOffset(k);
        MemorySegment.copy(m, off, m, off + VLAN_HLEN, 2 * Ethernet.ETH_ALEN);
        b.push(k, -VLAN_HLEN);
        shiftOffload(b, k, -VLAN_HLEN);
    }

    // csum_start and hdr_len count from the frame's first byte, so they move with the tag.
    private static void shiftOffload(PacketBatch b, int k, int by) {
        if ((b.flags(k) & VirtioNetHdr.F_NEEDS_CSUM) != 0) b.setCsum(k, b.csumStart(k) + by, b.csumOffset(k));
        if (b.gsoType(k) != VirtioNetHdr.GSO_NONE) b.setGso(k, b.gsoType(k), b.hdrLen(k) + by, b.gsoSize(k));
    }
}
