package ringlink.xdp;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code struct xdp_umem_reg} (linux/if_xdp.h): the XDP_UMEM_REG socket option. */
public final class XdpUmemRegLayout {
    private XdpUmemRegLayout() {}

    /** The C struct (32 bytes, with tail padding). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("addr"),
            ValueLayout.JAVA_LONG.withName("len"),
            ValueLayout.JAVA_INT.withName("chunk_size"),
            ValueLayout.JAVA_INT.withName("headroom"),
            ValueLayout.JAVA_INT.withName("flags"),
            MemoryLayout.paddingLayout(4));
    /** sizeof(struct xdp_umem_reg). */
    public static final long SIZE = LAYOUT.byteSize();
    /** Offsets of {@code addr}, {@code len}, {@code chunk_size}, {@code headroom} and {@code flags}. */
    public static final long OFF_ADDR = 0, OFF_LEN = 8, OFF_CHUNK_SIZE = 16, OFF_HEADROOM = 20, OFF_FLAGS = 24;

    /** flags. */
    public static final int XDP_UMEM_UNALIGNED_CHUNK_FLAG = 1;
}
