package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code memif_msg_disconnect_t} (either way): an error code and a reason (96 bytes, NUL-padded). */
public final class MemifMsgDisconnectLayout {
    private MemifMsgDisconnectLayout() {}

    /** The packed C struct (no padding; fields unaligned as {@code __rte_packed} makes them). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT_UNALIGNED.withName("code"),
            MemoryLayout.sequenceLayout(96, ValueLayout.JAVA_BYTE).withName("string"));

    /** Offsets of the fields: {@code code} (u32) and {@code string} (the reason). */
    public static final long OFF_CODE = 0, OFF_STRING = 4;
    /** Bytes of the reason string (NUL-padded). */
    public static final int STRING_SIZE = 96;
    /** sizeof(memif_msg_disconnect_t). */
    public static final long SIZE = 100;
}
