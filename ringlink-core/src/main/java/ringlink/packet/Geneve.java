package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * Geneve headers (RFC 8926, Linux {@code struct genevehdr}): 8 bytes, then {@code Opt Len} × 4
 * bytes of options, then the payload (an Ethernet frame when the protocol type is
 * {@link #PROTO_TEB}).
 *
 * <pre>
 * |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 * |        Virtual Network Identifier (VNI)       |    Reserved   |
 * |                    Variable-Length Options                    |
 * </pre>
 * Each option: {@code Option Class} (16 bits), {@code Type} (8 bits, the high bit is the
 * critical bit), 3 reserved bits and a 5-bit length in 4-byte words (not counting the 4-byte
 * option header).
 */
public final class Geneve {
    private Geneve() {}

    /** Length of the fixed header, without options. */
    public static final int HLEN = 8;
    /** IANA's UDP port for Geneve. */
    public static final int PORT = 6081;
    /** Protocol type of an Ethernet payload (Transparent Ethernet Bridging). */
    public static final int PROTO_TEB = 0x6558;
    /** The only version defined (0). */
    public static final int VERSION = 0;
    /** Largest options length in bytes (6-bit field × 4). */
    public static final int MAX_OPT_BYTES = 63 * 4;
    /** Offset of the byte holding the version (top 2 bits) and the options length (low 6 bits, in 4-byte words). */
    public static final int OFF_VER_OPTLEN = 0;
    /** Offset of the flags byte ({@link #FLAG_OAM}, {@link #FLAG_CRITICAL}). */
    public static final int OFF_FLAGS = 1;
    /** Offset of the protocol type (an EtherType, 16 bits). */
    public static final int OFF_PROTO = 2;
    /** Offset of the 24-bit VNI (followed by a reserved byte). */
    public static final int OFF_VNI = 4;
    /** O flag: an OAM (control) packet, not data. */
    public static final int FLAG_OAM = 0x80;
    /** C flag: critical options are present. */
    public static final int FLAG_CRITICAL = 0x40;
    /** Critical bit of an option's type byte. */
    public static final int OPT_TYPE_CRITICAL = 0x80;
    /** Length of an option's header (class, type, length), without its data. */
    public static final int OPT_HLEN = 4;

    /** The version (top 2 bits of the first byte). */
    public static int version(MemorySegment seg, long off) { return Bytes.u8(seg, off) >>> 6; }
    /** Options length in bytes. */
    public static int optionsLength(MemorySegment seg, long off) { return (Bytes.u8(seg, off) & 0x3f) * 4; }
    /** Header length with options. */
    public static int headerLength(MemorySegment seg, long off) { return HLEN + optionsLength(seg, off); }
    /** True if the O (OAM) flag is set. */
    public static boolean oam(MemorySegment seg, long off) { return (Bytes.u8(seg, off + OFF_FLAGS) & FLAG_OAM) != 0; }
    /** True if the C (critical options present) flag is set. */
    public static boolean critical(MemorySegment seg, long off) {
            return (Bytes.u8(seg, off + OFF_FLAGS) & FLAG_CRITICAL) != 0; }
    /** The protocol type of the payload (an EtherType; {@link #PROTO_TEB} for Ethernet). */
    public static int protocol(MemorySegment seg, long off) { return Bytes.u16(seg, off + OFF_PROTO); }
    /** The VNI (24 bits). */
    public static int vni(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_VNI) >>> 8; }

    /** Option at {@code opt}: its class. */
    public static int optionClass(MemorySegment seg, long opt) { return Bytes.u16(seg, opt); }
    /** Option at {@code opt}: its type (with the critical bit). */
    public static int optionType(MemorySegment seg, long opt) { return Bytes.u8(seg, opt + 2); }
    /** Option at {@code opt}: its data length in bytes. */
    public static int optionDataLength(MemorySegment seg, long opt) { return (Bytes.u8(seg, opt + 3) & 0x1f) * 4; }

    /** Writes an option-less header for an Ethernet payload with {@code vni}. */
    public static void write(MemorySegment seg, long off, int vni) {
        Bytes.put16(seg, off, 0); // version 0, no options, no flags
        Bytes.put16(seg, off + OFF_PROTO, PROTO_TEB);
        Bytes.put32(seg, off + OFF_VNI, vni << 8);
    }

    /**
     * Walks the options of the header at {@code off} ({@code len} bytes available) and returns
     * true if one of them has the critical bit set (a receiver that understands no option must
     * drop the packet, RFC 8926 section 3.5.1). Options overrunning the options length count as
     * malformed: {@link MalformedPacketException}.
     */
    public static boolean hasCriticalOption(MemorySegment seg, long off, int len) {
        int optLen = optionsLength(seg, off);
        MalformedPacketException.require(0, HLEN + optLen, len, "Geneve options");
        long p = off + HLEN, end = off + HLEN + optLen;
        boolean critical = false;
        while (p < end) {
            if (end - p < OPT_HLEN) throw new MalformedPacketException("Geneve option header overruns the options");
            int dl = optionDataLength(seg, p);
            if (p + OPT_HLEN + dl > end) throw new MalformedPacketException("Geneve option overruns the options");
            if ((optionType(seg, p) & OPT_TYPE_CRITICAL) != 0) critical = true;
            p += OPT_HLEN + dl;
        }
        return critical;
    }
}
