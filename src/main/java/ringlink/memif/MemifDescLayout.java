package ringlink.memif;

/**
 * {@code memif_desc_t} (16 bytes): one buffer of a packet. A packet longer than one buffer is a
 * chain of descriptors, each but the last flagged {@code MEMIF_DESC_FLAG_NEXT}.
 */
public final class MemifDescLayout {
    private MemifDescLayout() {}

    public static final long OFF_FLAGS = 0, OFF_REGION = 2, OFF_LENGTH = 4, OFF_OFFSET = 8, OFF_METADATA = 12;
    public static final long SIZE = 16;
    public static final int MEMIF_DESC_FLAG_NEXT = 1;
}
