package ringlink.sw;

import static ringlink.sys.Endian.BE16;
import static ringlink.sys.Endian.BE32;
import static ringlink.sys.Endian.BE64;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.packet.PacketBatch;

/**
 * The flow hash that picks a multi-queue port's transmit queue, like the kernel's
 * {@code skb_get_hash} for XPS-less devices and OVS's {@code tx-steering=hash}: the IP addresses,
 * protocol and (for TCP, UDP and SCTP, unfragmented) the ports; the MAC addresses and EtherType
 * for anything else (ARP, non-IP). Every packet of a flow gets the same value, so a flow keeps
 * one queue and its order. One 802.1Q tag is skipped (frames are tagged for trunk ports before
 * they leave). Reads only within the frame; no allocation.
 */
final class FlowHash {

    private FlowHash() {}

    /** The hash of packet {@code k} of {@code b}. */
    static int of(PacketBatch b, int k) {
        return of(b.memory(), b.dataOffset(k), b.length(k));
    }

    /** The hash of the Ethernet frame of {@code len} bytes at {@code off}. */
    static int of(MemorySegment m, long off, int len) {
        if (len < 14) return 0;
        int l3 = 14;
        int type = m.get(BE16, off + 12) & 0xffff;
        if (type == 0x8100 && len >= 18) {
            type = m.get(BE16, off + 16) & 0xffff;
            l3 = 18;
        }
        long h;
        if (type == 0x0800 && len >= l3 + 20) {
            long ip = off + l3;
            int ihl = (m.get(ValueLayout.JAVA_BYTE, ip) & 0x0f) * 4;
            int proto = m.get(ValueLayout.JAVA_BYTE, ip + 9) & 0xff;
            h = m.get(BE64, ip + 12) * 31 + proto;           // source and destination address
            boolean fragment = (m.get(BE16, ip + 6) & 0x3fff) != 0; // MF or an offset: no ports here
            if (!fragment && ihl >= 20 && hasPorts(proto) && len >= l3 + ihl + 4) h = h * 31 + m.get(BE32, ip + ihl);
        } else if (type == 0x86dd && len >= l3 + 40) {
            long ip = off + l3;
            int next = m.get(ValueLayout.JAVA_BYTE, ip + 6) & 0xff;
            h = m.get(BE64, ip + 8) ^ Long.rotateLeft(m.get(BE64, ip + 16), 17)
                    ^ Long.rotateLeft(m.get(BE64, ip + 24), 31) ^ Long.rotateLeft(m.get(BE64, ip + 32), 47);
            h = h * 31 + next;
            if (hasPorts(next) && len >= l3 + 44) h = h * 31 + m.get(BE32, ip + 40);
        } else {
            h = (m.get(BE64, off) * 31 + (m.get(BE32, off + 8) & 0xffff_ffffL)) * 31 + type;
        }
        return mix(h);
    }

    private static boolean hasPorts(int proto) {
        return proto == 6 || proto == 17 || proto == 132;
    }

    /** Spreads every input bit over the result (the murmur3 finaliser), so the modulo is even. */
    private static int mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (int) h;
    }
}
