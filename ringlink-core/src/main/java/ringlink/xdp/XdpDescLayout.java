package ringlink.xdp;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code struct xdp_desc} (linux/if_xdp.h): one RX or TX ring entry. */
public final class XdpDescLayout {
    private XdpDescLayout() {}

    /** The C struct (16 bytes). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("addr"),
            ValueLayout.JAVA_INT.withName("len"),
            ValueLayout.JAVA_INT.withName("options"));
    /** sizeof(struct xdp_desc). */
    public static final long SIZE = LAYOUT.byteSize();
    /** Offsets of {@code addr} (u64, in the UMEM), {@code len} (u32) and {@code options} (u32). */
    public static final long OFF_ADDR = 0, OFF_LEN = 8, OFF_OPTIONS = 12;

    /** In unaligned-chunk mode the top 16 bits of addr carry an offset into the chunk. */
    public static final int XSK_UNALIGNED_BUF_OFFSET_SHIFT = 48;
    /** In unaligned-chunk mode: the bits of addr holding the chunk's base address. */
    public static final long XSK_UNALIGNED_BUF_ADDR_MASK = (1L << XSK_UNALIGNED_BUF_OFFSET_SHIFT) - 1;
}
