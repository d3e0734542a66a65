package ringlink.xdp;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code struct xdp_ring_offset} (linux/if_xdp.h): where a ring's fields sit in its mapping. */
public final class XdpRingOffsetLayout {
    private XdpRingOffsetLayout() {}

    /** The C struct (four u64). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("producer"),
            ValueLayout.JAVA_LONG.withName("consumer"),
            ValueLayout.JAVA_LONG.withName("desc"),
            ValueLayout.JAVA_LONG.withName("flags"));
    /** sizeof(struct xdp_ring_offset). */
    public static final long SIZE = LAYOUT.byteSize();
    /**
     * Offsets of {@code producer}, {@code consumer}, {@code desc} and {@code flags} (each the offset of that field in
     * the ring's mapping).
     */
    public static final long OFF_PRODUCER = 0, OFF_CONSUMER = 8, OFF_DESC = 16, OFF_FLAGS = 24;

    /** The ring's flags word: the kernel wants a wake-up (sendto for TX, poll/recvfrom for fill). */
    public static final int XDP_RING_NEED_WAKEUP = 1;
}
