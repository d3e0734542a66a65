package ringlink.memif;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code memif_msg_connect_t} (client to server, last of the set-up): the client's interface name. */
public final class MemifMsgConnectLayout {
    private MemifMsgConnectLayout() {}

    /** The packed C struct (no padding; fields unaligned as {@code __rte_packed} makes them). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(32, ValueLayout.JAVA_BYTE).withName("if_name"));

    /** Offset of {@code if_name} (32 bytes, NUL-padded). */
    public static final long OFF_IF_NAME = 0;
    /** sizeof(memif_msg_connect_t). */
    public static final long SIZE = 32;
}
