package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code memif_desc_t} (16 bytes): one buffer of a packet. A packet longer than one buffer is a
 * chain of descriptors, each but the last flagged {@code MEMIF_DESC_FLAG_NEXT}.
 */
public final class MemifDescLayout {
    private MemifDescLayout() {}

    /** The packed C struct (no padding; fields unaligned as {@code __rte_packed} makes them). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("flags"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("region"),
            ValueLayout.JAVA_INT_UNALIGNED.withName("length"),
            ValueLayout.JAVA_INT_UNALIGNED.withName("offset"),
            ValueLayout.JAVA_INT_UNALIGNED.withName("metadata"));

    /**
     * Offsets of the fields: {@code flags} (u16), {@code region} (u16), {@code length} (u32), {@code offset} (u32, in
     * the region), {@code metadata} (u32).
     */
    public static final long OFF_FLAGS = 0, OFF_REGION = 2, OFF_LENGTH = 4, OFF_OFFSET = 8, OFF_METADATA = 12;
    /** sizeof(memif_desc_t). */
    public static final long SIZE = 16;
    /** Flag: the packet continues in the next descriptor. */
    public static final int MEMIF_DESC_FLAG_NEXT = 1;
}
