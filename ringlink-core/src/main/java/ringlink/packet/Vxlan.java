package ringlink.packet;

import java.lang.foreign.MemorySegment;

/**
 * VXLAN headers (RFC 7348, Linux {@code struct vxlanhdr}): 8 bytes after the outer UDP header,
 * then the inner Ethernet frame.
 *
 * <pre>
 *  0                   1                   2                   3
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * </pre>
 */
public final class Vxlan {
    private Vxlan() {}

    /** Length of the header. */
    public static final int HLEN = 8;
    /** IANA's UDP port for VXLAN. */
    public static final int PORT = 4789;
    /** The flags word with only the I flag ("VNI valid"): the only one a plain VXLAN receiver accepts. */
    public static final int FLAGS_I = 0x0800_0000;
    /** Offset of the flags word. */
    public static final int OFF_FLAGS = 0;
    /** Offset of the 24-bit VNI (followed by a reserved byte). */
    public static final int OFF_VNI = 4;
    /** Largest VNI (24 bits). */
    public static final int VNI_MAX = 0xff_ffff;

    /** The first 32-bit word: flags (top byte) and 24 reserved bits. */
    public static int flags(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_FLAGS); }
    /** The VNI (24 bits). */
    public static int vni(MemorySegment seg, long off) { return Bytes.i32(seg, off + OFF_VNI) >>> 8; }
    /** The reserved byte after the VNI. */
    public static int reserved2(MemorySegment seg, long off) { return Bytes.u8(seg, off + OFF_VNI + 3); }

    /** Writes a header with the I flag and {@code vni}, reserved fields zero. */
    public static void write(MemorySegment seg, long off, int vni) {
        Bytes.put32(seg, off + OFF_FLAGS, FLAGS_I);
        Bytes.put32(seg, off + OFF_VNI, vni << 8);
    }

    /**
     * Checks the header like the Linux receiver without extensions does: exactly the I flag, all
     * reserved bits zero.
     */
    public static boolean validFlags(MemorySegment seg, long off) {
        return flags(seg, off) == FLAGS_I && reserved2(seg, off) == 0;
    }
}
