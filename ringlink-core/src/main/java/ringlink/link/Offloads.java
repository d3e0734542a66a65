package ringlink.link;

import java.util.StringJoiner;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;

/**
 * The offloads a link negotiated, as a bit set: which packets its {@code transmit} accepts
 * as they are and which its {@code receive} may produce. A packet whose metadata needs an
 * offload the destination lacks must be fixed in software first (checksum finished, superpacket
 * segmented): {@link #accepts} is that test.
 *
 * @param bits the offload bits ({@link #CSUM}, {@link #TSO4}, {@link #TSO6}, {@link #USO}, {@link #TSO_ECN})
 */
public record Offloads(int bits) {
    /** Packets may carry a partial checksum (NEEDS_CSUM with csum_start/csum_offset). */
    public static final int CSUM = 1;
    /** TCP over IPv4 superpackets (GSO_TCPV4). */
    public static final int TSO4 = 2;
    /** TCP over IPv6 superpackets (GSO_TCPV6). */
    public static final int TSO6 = 4;
    /** UDP segmentation superpackets (GSO_UDP_L4). */
    public static final int USO = 8;
    /** TCP superpackets with ECN (GSO_ECN). */
    public static final int TSO_ECN = 16;

    /** No offloads: plain packets with complete checksums only. */
    public static final Offloads NONE = new Offloads(0);
    /** Every offload this class names. */
    public static final Offloads ALL = new Offloads(CSUM | TSO4 | TSO6 | USO | TSO_ECN);

    /** The offloads whose bits are set in {@code bits} (the constants above). */
    public static Offloads of(int bits) { return bits == 0 ? NONE : new Offloads(bits); }

    /** True when every bit of {@code bit} is set. */
    public boolean has(int bit) { return (bits & bit) == bit; }

    /** The offloads both this and {@code o} have. */
    public Offloads and(Offloads o) { return of(bits & o.bits); }

    /** These offloads plus {@code bit}. */
    public Offloads with(int bit) { return of(bits | bit); }

    /** These offloads minus {@code bit}. */
    public Offloads without(int bit) { return of(bits & ~bit); }

    /** True if a packet with packet {@code i}'s metadata may be handed to a link with these offloads. */
    public boolean accepts(PacketBatch b, int i) {
        int gso = b.gsoType(i);
        if (gso != VirtioNetHdr.GSO_NONE) {
            if ((gso & VirtioNetHdr.GSO_ECN) != 0 && (bits & TSO_ECN) == 0) return false;
            int need = switch (gso & ~VirtioNetHdr.GSO_ECN) {
                case VirtioNetHdr.GSO_TCPV4 -> TSO4 | CSUM;
                case VirtioNetHdr.GSO_TCPV6 -> TSO6 | CSUM;
                case VirtioNetHdr.GSO_UDP_L4 -> USO | CSUM;
                default -> Integer.MIN_VALUE; // UFO and unknown types: never passed through
            };
            return need != Integer.MIN_VALUE && (bits & need) == need;
        }
        return !b.needsCsum(i) || (bits & CSUM) != 0;
    }

    /**
     * Parses a comma-separated list ({@code "csum,tso,uso"}; {@code tso} = tso4+tso6,
     * {@code all}, {@code none}).
     */
    public static Offloads parse(String s) {
        int b = 0;
        if (s == null || s.isBlank()) return NONE;
        for (String t : s.split(",")) {
            switch (t.trim().toLowerCase(java.util.Locale.ROOT)) {
                case "csum" -> b |= CSUM;
                case "tso4" -> b |= TSO4 | CSUM;
                case "tso6" -> b |= TSO6 | CSUM;
                case "tso" -> b |= TSO4 | TSO6 | CSUM;
                case "uso" -> b |= USO | CSUM;
                case "ecn" -> b |= TSO_ECN;
                case "all" -> b |= ALL.bits;
                case "none", "" -> { }
                default -> throw new IllegalArgumentException("unknown offload '" + t.trim()
                        + "' (known: csum, tso4, tso6, tso, uso, ecn, all, none)");
            }
        }
        return of(b);
    }

    @Override
    public String toString() {
        if (bits == 0) return "none";
        StringJoiner j = new StringJoiner(",");
        if (has(CSUM)) j.add("csum");
        if (has(TSO4)) j.add("tso4");
        if (has(TSO6)) j.add("tso6");
        if (has(USO)) j.add("uso");
        if (has(TSO_ECN)) j.add("ecn");
        return j.toString();
    }
}
