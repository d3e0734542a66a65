package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code memif_ring_t}: a ring header in a shared region, each field group on its own 64-byte
 * cache line (x86-64's RTE_CACHE_LINE_SIZE), followed by {@code 1 << log2_ring_size}
 * {@link MemifDescLayout descriptors}. {@code head} and {@code tail} are free-running 16-bit
 * counters: the producer of the ring advances {@code head}, the consumer {@code tail}, except on
 * the M2S (server to client) ring, where the client posts empty buffers by advancing
 * {@code head} and the server hands them back filled by advancing {@code tail}.
 */
public final class MemifRingLayout {
    private MemifRingLayout() {}

    /** The ring header: three 64-byte cache lines (cookie, flags, head | tail | descriptors). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("cookie"),
            ValueLayout.JAVA_SHORT.withName("flags"),
            ValueLayout.JAVA_SHORT.withName("head"),
            MemoryLayout.paddingLayout(56),
            ValueLayout.JAVA_SHORT.withName("tail"),
            MemoryLayout.paddingLayout(62));

    /**
     * Offsets of the fields: {@code cookie} (u32), {@code flags} (u16), {@code head} (u16), {@code tail} (u16, on the
     * second cache line), then the descriptors (on the third).
     */
    public static final long OFF_COOKIE = 0, OFF_FLAGS = 4, OFF_HEAD = 6, OFF_TAIL = 64, OFF_DESC = 128;
    /** sizeof(memif_ring_t) without descriptors. */
    public static final long SIZE = 128;
    /** Set by the ring's receiver: "I poll, do not signal my eventfd". */
    public static final int MEMIF_RING_FLAG_MASK_INT = 1;

    /** Bytes of a ring of {@code 1 << log2} descriptors. */
    public static long ringBytes(int log2) {
        return SIZE + MemifDescLayout.SIZE * (1L << log2);
    }
}
