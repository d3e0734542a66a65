package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code memif_msg_init_t} (packed, client to server): the version the client chose, the
 * interface id it wants, the mode ({@code mode:8}, one byte), an optional secret (24 bytes,
 * NUL-padded) and the client's name.
 */
public final class MemifMsgInitLayout {
    private MemifMsgInitLayout() {}

    /** The packed C struct (no padding; fields unaligned as {@code __rte_packed} makes them). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT_UNALIGNED.withName("version"),
            ValueLayout.JAVA_INT_UNALIGNED.withName("id"),
            ValueLayout.JAVA_BYTE.withName("mode"),
            MemoryLayout.sequenceLayout(24, ValueLayout.JAVA_BYTE).withName("secret"),
            MemoryLayout.sequenceLayout(32, ValueLayout.JAVA_BYTE).withName("name"));

    /**
     * Offsets of the fields: {@code version} (u16), {@code id} (u32), {@code mode} (u8), {@code secret} (24 bytes),
     * {@code name} (32 bytes).
     */
    public static final long OFF_VERSION = 0, OFF_ID = 2, OFF_MODE = 6, OFF_SECRET = 7, OFF_NAME = 31;
    /** Bytes of the secret field (NUL-padded). */
    public static final int SECRET_SIZE = 24;
    /** sizeof(memif_msg_init_t). */
    public static final long SIZE = 63;
}
