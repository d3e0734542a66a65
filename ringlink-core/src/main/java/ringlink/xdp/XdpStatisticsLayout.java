package ringlink.xdp;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code struct xdp_statistics} (linux/if_xdp.h): getsockopt(XDP_STATISTICS). */
public final class XdpStatisticsLayout {
    private XdpStatisticsLayout() {}

    /** The C struct (six u64 counters). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("rx_dropped"),
            ValueLayout.JAVA_LONG.withName("rx_invalid_descs"),
            ValueLayout.JAVA_LONG.withName("tx_invalid_descs"),
            ValueLayout.JAVA_LONG.withName("rx_ring_full"),
            ValueLayout.JAVA_LONG.withName("rx_fill_ring_empty_descs"),
            ValueLayout.JAVA_LONG.withName("tx_ring_empty_descs"));
    /** sizeof(struct xdp_statistics). */
    public static final long SIZE = LAYOUT.byteSize();
    /**
     * Offsets of {@code rx_dropped}, {@code rx_invalid_descs}, {@code tx_invalid_descs}, {@code rx_ring_full},
     * {@code rx_fill_ring_empty_descs} and {@code tx_ring_empty_descs}.
     */
    public static final long OFF_RX_DROPPED = 0, OFF_RX_INVALID_DESCS = 8, OFF_TX_INVALID_DESCS = 16,
            OFF_RX_RING_FULL = 24, OFF_RX_FILL_RING_EMPTY_DESCS = 32, OFF_TX_RING_EMPTY_DESCS = 40;
}
