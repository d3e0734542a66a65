package ringlink.shm;

import java.lang.invoke.VarHandle;
import ringlink.sys.Endian;

/**
 * RX queue descriptors (gVisor {@code queue/rx.go}), all little-endian.
 *
 * <p>The client posts empty buffers to the server, one per slot of the queue's fill pipe:
 * <pre>
 * posted buffer (32 bytes)
 *  0  u64 offset             in the queue's data region
 *  8  u32 size
 * 12  u32 remainingInGroup   0
 * 16  u64 userData           echoed back
 * 24  u64 id                 echoed back
 * </pre>
 * The server returns filled buffers as one completion slot per packet:
 * <pre>
 * consumed packet header (8 bytes)   consumed buffer (28 bytes, repeated, unaligned)
 *  0  u32 size      packet bytes        0  u64 offset
 *  4  u32 reserved  0                   8  u32 size       bytes used in this buffer
 *                                      12  u64 userData
 *                                      20  u64 id
 * </pre>
 */
public final class RxPacketLayout {
    private RxPacketLayout() {}

    /** Posted buffer: offset of {@code offset} (u64, in the queue's data region). */
    public static final int POSTED_OFFSET = 0;
    /** Posted buffer: offset of {@code size} (u32, the buffer's bytes). */
    public static final int POSTED_SIZE = 8;
    /** Posted buffer: offset of {@code remainingInGroup} (u32, written as 0). */
    public static final int POSTED_REMAINING_IN_GROUP = 12;
    /** Posted buffer: offset of {@code userData} (u64, echoed back). */
    public static final int POSTED_USER_DATA = 16;
    /** Posted buffer: offset of {@code id} (u64, echoed back). */
    public static final int POSTED_ID = 24;
    /** Size of a posted buffer descriptor. */
    public static final int SIZEOF_POSTED_BUFFER = 32;

    /** Consumed packet header: offset of {@code size} (u32, the packet's bytes). */
    public static final int CONSUMED_PACKET_SIZE = 0;
    /** Consumed packet header: offset of the reserved u32 (0). */
    public static final int CONSUMED_PACKET_RESERVED = 4;
    /** Size of the consumed packet header, which the buffer descriptors follow. */
    public static final int SIZEOF_CONSUMED_PACKET_HEADER = 8;

    /** Consumed buffer: offset of {@code offset} (u64, in the queue's data region). */
    public static final int CONSUMED_OFFSET = 0;
    /** Consumed buffer: offset of {@code size} (u32, bytes used in this buffer). */
    public static final int CONSUMED_SIZE = 8;
    /** Consumed buffer: offset of {@code userData} (u64, as posted). */
    public static final int CONSUMED_USER_DATA = 12;
    /** Consumed buffer: offset of {@code id} (u64, as posted). */
    public static final int CONSUMED_ID = 20;
    /** Size of a consumed buffer descriptor (unaligned, repeated after the header). */
    public static final int SIZEOF_CONSUMED_BUFFER = 28;

    static final VarHandle U64 = Endian.LE64.varHandle();
    static final VarHandle U32 = Endian.LE32.varHandle();

    /** Completion length for a packet spread over {@code buffers} buffers. */
    public static int completionSize(int buffers) {
        return SIZEOF_CONSUMED_PACKET_HEADER + buffers * SIZEOF_CONSUMED_BUFFER;
    }

    /** Offset of consumed buffer {@code i} within a completion. */
    public static int consumedBuffer(int i) {
        return SIZEOF_CONSUMED_PACKET_HEADER + i * SIZEOF_CONSUMED_BUFFER;
    }
}
