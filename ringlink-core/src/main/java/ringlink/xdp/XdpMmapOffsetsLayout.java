package ringlink.xdp;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * {@code struct xdp_mmap_offsets} (linux/if_xdp.h), read with getsockopt(XDP_MMAP_OFFSETS), and
 * the page offsets at which each ring is mmapped from the socket.
 */
public final class XdpMmapOffsetsLayout {
    private XdpMmapOffsetsLayout() {}

    /** The C struct: one {@link XdpRingOffsetLayout} per ring. */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            XdpRingOffsetLayout.LAYOUT.withName("rx"),
            XdpRingOffsetLayout.LAYOUT.withName("tx"),
            XdpRingOffsetLayout.LAYOUT.withName("fr"),
            XdpRingOffsetLayout.LAYOUT.withName("cr"));
    /** sizeof(struct xdp_mmap_offsets). */
    public static final long SIZE = LAYOUT.byteSize();
    /** Offsets of the RX, TX, fill and completion rings' {@code xdp_ring_offset}. */
    public static final long OFF_RX = 0, OFF_TX = 32, OFF_FR = 64, OFF_CR = 96;

    /** The mmap(2) offsets that select a ring on the socket: RX, TX, fill and completion. */
    public static final long XDP_PGOFF_RX_RING = 0, XDP_PGOFF_TX_RING = 0x80000000L,
            XDP_UMEM_PGOFF_FILL_RING = 0x100000000L, XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000L;

    /** SOL_XDP socket options. */
    public static final int XDP_MMAP_OFFSETS = 1, XDP_RX_RING = 2, XDP_TX_RING = 3, XDP_UMEM_REG = 4,
            XDP_UMEM_FILL_RING = 5, XDP_UMEM_COMPLETION_RING = 6, XDP_STATISTICS = 7, XDP_OPTIONS = 8;
}
