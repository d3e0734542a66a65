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
    public static final int ARPHRD_ETHER = 1;
    public static final int ARPOP_REQUEST = 1;
    public static final int ARPOP_REPLY = 2;

    public static final int OFF_HRD = 0;
    public static final int OFF_PRO = 2;
    public static final int OFF_HLN = 4;
    public static final int OFF_PLN = 5;
    public static final int OFF_OP = 6;
    public static final int OFF_SHA = 8;
    public static final int OFF_SIP = 14;
    public static final int OFF_THA = 18;
    public static final int OFF_TIP = 24;

    /** True if the ARP packet at {@code off} (of {@code len} bytes) is Ethernet/IPv4 and complete. */
    public static boolean isEthernetIpv4(MemorySegment seg, long off, int len) {
        return len >= LEN_ETHER_IPV4
                && Bytes.u16(seg, off + OFF_HRD) == ARPHRD_ETHER
                && Bytes.u16(seg, off + OFF_PRO) == Ethernet.ETH_P_IP
                && Bytes.u8(seg, off + OFF_HLN) == Ethernet.ETH_ALEN
                && Bytes.u8(seg, off + OFF_PLN) == 4;
    }

    public static int operation(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_OP); }
    public static void setOperation(MemorySegment seg, long off, int op) { Bytes.put16(seg, off + OFF_OP, op); }
    public static long senderHardware(MemorySegment seg, long off) { return Ethernet.mac(seg, off + OFF_SHA); }
    public static long targetHardware(MemorySegment seg, long off) { return Ethernet.mac(seg, off + OFF_THA); }
    public static void setSenderHardware(MemorySegment seg, long off, long mac) { Ethernet.putMac(seg, off + OFF_SHA, mac); }
    public static void setTargetHardware(MemorySegment seg, long off, long mac) { Ethernet.putMac(seg, off + OFF_THA, mac); }
    public static int senderIp(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_SIP); }
    public static int targetIp(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_TIP); }
    public static void setSenderIp(MemorySegment seg, long off, int ip) { Bytes.put32(seg, off + OFF_SIP, ip); }
    public static void setTargetIp(MemorySegment seg, long off, int ip) { Bytes.put32(seg, off + OFF_TIP, ip); }
}
