package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code memif_msg_add_region_t} (packed, client to server, the region's file descriptor rides
 * along with SCM_RIGHTS): region index (regions are numbered 0, 1, ... in order) and size.
 */
public final class MemifMsgAddRegionLayout {
    private MemifMsgAddRegionLayout() {}

    /** The packed C struct (no padding; fields unaligned as {@code __rte_packed} makes them). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("index"),
            ValueLayout.JAVA_LONG_UNALIGNED.withName("size"));

    /** Offsets of the fields: {@code index} (u16) and {@code size} (u64, bytes). */
    public static final long OFF_INDEX = 0, OFF_SIZE = 2;
    /** sizeof(memif_msg_add_region_t). */
    public static final long SIZE = 10;
}
