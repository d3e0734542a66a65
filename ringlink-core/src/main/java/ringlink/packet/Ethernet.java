package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * Ethernet II frames ({@code <linux/if_ether.h>}) with 802.1Q / 802.1ad VLAN tags
 * ({@code <linux/if_vlan.h>}). Static accessors take the segment and the frame's offset in it.
 */
public final class Ethernet {
    private Ethernet() {}

    /** Octets in one Ethernet address. */
    public static final int ETH_ALEN = 6;
    /** Total octets in the header (no VLAN tag). */
    public static final int ETH_HLEN = 14;
    /** Octets in one VLAN tag (TPID + TCI). */
    public static final int VLAN_HLEN = 4;
    /** Minimum frame length without FCS (frames shorter are padded on the wire). */
    public static final int ETH_ZLEN = 60;

    /** EtherType of IPv4. */
    public static final int ETH_P_IP = 0x0800;
    /** EtherType of ARP. */
    public static final int ETH_P_ARP = 0x0806;
    /** EtherType of IPv6. */
    public static final int ETH_P_IPV6 = 0x86DD;
    /** 802.1Q VLAN tag. */
    public static final int ETH_P_8021Q = 0x8100;
    /** 802.1ad service VLAN tag (QinQ outer). */
    public static final int ETH_P_8021AD = 0x88A8;
    /**
     * The pre-standard QinQ TPID ({@code ETH_P_QINQ1}, "deprecated QinQ VLAN" in if_ether.h):
     * not parsed as a tag, but never to be taken as an untagged frame's EtherType either.
     */
    public static final int ETH_P_QINQ1 = 0x9100;
    /** Values below this are 802.3 lengths, not EtherTypes. */
    public static final int ETH_P_802_3_MIN = 0x0600;

    /** Offset of the destination address. */
    public static final int OFF_DEST = 0;
    /** Offset of the source address. */
    public static final int OFF_SOURCE = 6;
    /** Offset of the EtherType (or of the first tag's TPID). */
    public static final int OFF_PROTO = 12;
    /** Offset of the TCI within a VLAN tag (after the TPID). */
    public static final int VLAN_OFF_TCI = 2;
    /** The VLAN id bits of a TCI. */
    public static final int VLAN_VID_MASK = 0x0fff;
    /** Shift of the 3-bit priority (PCP) in a TCI. */
    public static final int VLAN_PRIO_SHIFT = 13;

    /** The outer EtherType (or TPID if tagged). */
    public static int etherType(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_PROTO); }
    /** Sets the outer EtherType (or TPID). */
    public static void setEtherType(MemorySegment seg, long off, int type) { Bytes.put16(seg, off + OFF_PROTO, type); }

    /** The destination address as the low 48 bits of a long. */
    public static long destination(MemorySegment seg, long off) { return mac(seg, off + OFF_DEST); }
    /** The source address as the low 48 bits of a long. */
    public static long source(MemorySegment seg, long off) { return mac(seg, off + OFF_SOURCE); }
    /** Sets the destination address from the low 48 bits of {@code mac}. */
    public static void setDestination(MemorySegment seg, long off, long mac) { putMac(seg, off + OFF_DEST, mac); }
    /** Sets the source address from the low 48 bits of {@code mac}. */
    public static void setSource(MemorySegment seg, long off, long mac) { putMac(seg, off + OFF_SOURCE, mac); }

    /** True for a group (multicast or broadcast) destination. */
    public static boolean isMulticast(MemorySegment seg, long off) { return (Bytes.u8(seg, off + OFF_DEST) & 1) != 0; }

    /** True if {@code type} is a VLAN TPID. */
    public static boolean isVlanTpid(int type) { return type == ETH_P_8021Q || type == ETH_P_8021AD; }

    /**
     * True if {@code type} is the TPID of any VLAN tag: 802.1Q, 802.1ad or the pre-standard
     * QinQ 0x9100 (a switch refuses all three where a port takes untagged frames).
     */
    public static boolean isAnyTagTpid(int type) { return isVlanTpid(type) || type == ETH_P_QINQ1; }

    /** Writes the TCI of the outermost VLAN tag (the frame must be tagged). */
    public static void setVlanTci(MemorySegment seg, long off, int tci) {
            Bytes.put16(seg, off + ETH_HLEN - 2 + VLAN_OFF_TCI, tci); }

    /** The TCI of the outermost VLAN tag (the frame must be tagged). */
    public static int vlanTci(MemorySegment seg, long off) { return Bytes.u16(seg, off + ETH_HLEN - 2 + VLAN_OFF_TCI); }

    /** The VLAN id of the outermost tag, or -1 if the frame carries no tag. */
    public static int vlanId(MemorySegment seg, long off, int len) {
        MalformedPacketException.require(0, ETH_HLEN, len, "Ethernet header");
        if (!isVlanTpid(etherType(seg, off))) return -1;
        MalformedPacketException.require(ETH_HLEN, 2, len, "VLAN tag");
        return vlanTci(seg, off) & VLAN_VID_MASK;
    }

    /**
     * Offset (from the frame start) of the network header, after up to two VLAN tags.
     *
     * @throws MalformedPacketException if the frame is too short for its header and tags
     */
    public static int l3Offset(MemorySegment seg, long off, int len) {
        MalformedPacketException.require(0, ETH_HLEN, len, "Ethernet header");
        int p = ETH_HLEN;
        int type = etherType(seg, off);
        for (int tags = 0; isVlanTpid(type); tags++) {
            if (tags == 2) throw new MalformedPacketException("more than two VLAN tags");
            MalformedPacketException.require(p, VLAN_HLEN, len, "VLAN tag");
            type = Bytes.u16(seg, off + p + 2);
            p += VLAN_HLEN;
        }
        return p;
    }

    /** The EtherType of the payload, after up to two VLAN tags. */
    public static int l3EtherType(MemorySegment seg, long off, int len) {
        return Bytes.u16(seg, off + l3Offset(seg, off, len) - 2);
    }

    static long mac(MemorySegment seg, long off) {
        return ((long) Bytes.u16(seg, off) << 32) | Bytes.u32(seg, off + 2);
    }

    static void putMac(MemorySegment seg, long off, long mac) {
        Bytes.put16(seg, off, (int) (mac >>> 32));
        Bytes.put32(seg, off + 2, (int) mac);
    }

    /** Parses {@code 02:00:00:00:00:0a} (or with {@code -}) into the low 48 bits of a long. */
    public static long parseMac(String s) {
        String[] parts = s.trim().split("[:-]");
        if (parts.length != 6) throw new IllegalArgumentException("'" + s
                + "' is not a MAC address (six hex bytes, e.g. 02:00:00:00:00:0a)");
        long mac = 0;
        for (String p : parts) {
            if (p.isEmpty() || p.length() > 2) throw new IllegalArgumentException("'" + s
                    + "' is not a MAC address (six hex bytes, e.g. 02:00:00:00:00:0a)");
            try {
                mac = (mac << 8) | Integer.parseInt(p, 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + s
                        + "' is not a MAC address (six hex bytes, e.g. 02:00:00:00:00:0a)");
            }
        }
        return mac;
    }

    /** Formats the low 48 bits of {@code mac} as {@code 02:00:00:00:00:0a}. */
    public static String formatMac(long mac) {
        StringBuilder b = new StringBuilder(17);
        for (int k = 5; k >= 0; k--) {
            int v = (int) (mac >>> (8 * k)) & 0xff;
            b.append(Character.forDigit(v >>> 4, 16)).append(Character.forDigit(v & 15, 16));
            if (k > 0) b.append(':');
        }
        return b.toString();
    }
}
