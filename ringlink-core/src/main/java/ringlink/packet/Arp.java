package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * ARP for IPv4 over Ethernet (RFC 826, {@code <linux/if_arp.h>}). Offsets assume
 * {@code ar_hln == 6} and {@code ar_pln == 4}, which {@link #isEthernetIpv4} checks.
 */
public final class Arp {
    private Arp() {}

    /** Length of an Ethernet/IPv4 ARP packet. */
    public static final int LEN_ETHER_IPV4 = 28;
    /** Hardware type of Ethernet ({@code ar_hrd}). */
    public static final int ARPHRD_ETHER = 1;
    /** Operation: who-has request. */
    public static final int ARPOP_REQUEST = 1;
    /** Operation: is-at reply. */
    public static final int ARPOP_REPLY = 2;

    /** Offset of the hardware type ({@code ar_hrd}, 16 bits). */
    public static final int OFF_HRD = 0;
    /** Offset of the protocol type ({@code ar_pro}, an EtherType, 16 bits). */
    public static final int OFF_PRO = 2;
    /** Offset of the hardware address length ({@code ar_hln}, 8 bits). */
    public static final int OFF_HLN = 4;
    /** Offset of the protocol address length ({@code ar_pln}, 8 bits). */
    public static final int OFF_PLN = 5;
    /** Offset of the operation ({@code ar_op}, 16 bits). */
    public static final int OFF_OP = 6;
    /** Offset of the sender hardware address (6 bytes). */
    public static final int OFF_SHA = 8;
    /** Offset of the sender IPv4 address (4 bytes). */
    public static final int OFF_SIP = 14;
    /** Offset of the target hardware address (6 bytes). */
    public static final int OFF_THA = 18;
    /** Offset of the target IPv4 address (4 bytes). */
    public static final int OFF_TIP = 24;

    /** True if the ARP packet at {@code off} (of {@code len} bytes) is Ethernet/IPv4 and complete. */
    public static boolean isEthernetIpv4(MemorySegment seg, long off, int len) {
        return len >= LEN_ETHER_IPV4
                && Bytes.u16(seg, off + OFF_HRD) == ARPHRD_ETHER
                && Bytes.u16(seg, off + OFF_PRO) == Ethernet.ETH_P_IP
                && Bytes.u8(seg, off + OFF_HLN) == Ethernet.ETH_ALEN
                && Bytes.u8(seg, off + OFF_PLN) == 4;
    }

    /** The operation ({@link #ARPOP_REQUEST} or {@link #ARPOP_REPLY}). */
    public static int operation(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_OP); }
    /** Sets the operation. */
    public static void setOperation(MemorySegment seg, long off, int op) { Bytes.put16(seg, off + OFF_OP, op); }
    /** The sender hardware address as the low 48 bits of a long. */
    public static long senderHardware(MemorySegment seg, long off) { return Ethernet.mac(seg, off + OFF_SHA); }
    /** The target hardware address as the low 48 bits of a long. */
    public static long targetHardware(MemorySegment seg, long off) { return Ethernet.mac(seg, off + OFF_THA); }
    /** Sets the sender hardware address from the low 48 bits of {@code mac}. */
    public static void setSenderHardware(MemorySegment seg, long off, long mac) {
            Ethernet.putMac(seg, off + OFF_SHA, mac); }
    /** Sets the target hardware address from the low 48 bits of {@code mac}. */
    public static void setTargetHardware(MemorySegment seg, long off, long mac) {
            Ethernet.putMac(seg, off + OFF_THA, mac); }
    /** The sender IPv4 address, in network order. */
    public static int senderIp(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_SIP); }
    /** The target IPv4 address, in network order. */
    public static int targetIp(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_TIP); }
    /** Sets the sender IPv4 address (network order). */
    public static void setSenderIp(MemorySegment seg, long off, int ip) { Bytes.put32(seg, off + OFF_SIP, ip); }
    /** Sets the target IPv4 address (network order). */
    public static void setTargetIp(MemorySegment seg, long off, int ip) { Bytes.put32(seg, off + OFF_TIP, ip); }
}
