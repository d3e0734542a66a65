package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code memif_msg_hello_t} (packed, server to client, the first message): the server's name,
 * the protocol versions it speaks and its limits. Offsets are within the message body
 * ({@link MemifMsgLayout#OFF_BODY}). The {@code max_*_ring} fields are the highest ring index,
 * not a count.
 */
public final class MemifMsgHelloLayout {
    private MemifMsgHelloLayout() {}

    /** The packed C struct (no padding; fields unaligned as {@code __rte_packed} makes them). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(32, ValueLayout.JAVA_BYTE).withName("name"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("min_version"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("max_version"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("max_region"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("max_m2s_ring"),
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("max_s2m_ring"),
            ValueLayout.JAVA_BYTE.withName("max_log2_ring_size"));

    /**
     * Offsets of the fields: {@code name} (32 bytes), {@code min_version}, {@code max_version}, {@code max_region},
     * {@code max_m2s_ring}, {@code max_s2m_ring} (u16 each), {@code max_log2_ring_size} (u8).
     */
    public static final long OFF_NAME = 0, OFF_MIN_VERSION = 32, OFF_MAX_VERSION = 34, OFF_MAX_REGION = 36,
            OFF_MAX_M2S_RING = 38, OFF_MAX_S2M_RING = 40, OFF_MAX_LOG2_RING_SIZE = 42;
    /** sizeof(memif_msg_hello_t). */
    public static final long SIZE = 43;
}
