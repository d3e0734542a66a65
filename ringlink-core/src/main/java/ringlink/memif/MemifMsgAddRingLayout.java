package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code memif_msg_add_ring_t} (packed, client to server, the ring's interrupt eventfd rides
 * along with SCM_RIGHTS): direction flag, ring index, the region and offset where the
 * {@code memif_ring_t} lies, log2 of its size and the private header size (always 0).
 */
public final class MemifMsgAddRingLayout {
    private MemifMsgAddRingLayout() {}

    /** The packed C struct (no padding; fields unaligned as {@code __rte_packed} makes them). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("flags"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("index"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("region"),
            ValueLayout.JAVA_INT_UNALIGNED.withName("offset"),
            ValueLayout.JAVA_BYTE.withName("log2_ring_size"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("private_hdr_size"));

    /**
     * Offsets of the fields: {@code flags} (u16), {@code index} (u16), {@code region} (u16), {@code offset} (u32),
     * {@code log2_ring_size} (u8), {@code private_hdr_size} (u16).
     */
    public static final long OFF_FLAGS = 0, OFF_INDEX = 2, OFF_REGION = 4, OFF_OFFSET = 6,
            OFF_LOG2_RING_SIZE = 10, OFF_PRIVATE_HDR_SIZE = 11;
    /** sizeof(memif_msg_add_ring_t). */
    public static final long SIZE = 13;
    /** The ring carries packets from client (slave) to server (master). */
    public static final int MEMIF_MSG_ADD_RING_FLAG_S2M = 1;
}
