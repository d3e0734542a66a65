package ringlink.shm;

import java.lang.invoke.VarHandle;
import ringlink.sys.Endian;

/**
 * A TX packet descriptor (gVisor {@code queue/tx.go}): the payload of one slot of a TX queue's
 * packet pipe, written by the client, read by the server. All fields little-endian.
 *
 * <pre>
 * packet header (16 bytes)            buffer descriptor (12 bytes, repeated, unaligned)
 *  0  u64 id        echoed in the       0  u64 offset  in the queue's data region
 *                   completion          8  u32 size
 *  8  u32 size      total packet bytes
 * 12  u32 reserved  0
 * </pre>
 *
 * The completion the server sends back on the queue's completion pipe is a slot of exactly
 * {@link #SIZEOF_COMPLETION} bytes holding the u64 id.
 */
public final class TxPacketLayout {
    private TxPacketLayout() {}

    /** Packet header: offset of {@code id} (u64, echoed in the completion). */
    public static final int PACKET_ID = 0;
    /** Packet header: offset of {@code size} (u32, total packet bytes). */
    public static final int PACKET_SIZE = 8;
    /** Packet header: offset of the reserved u32 (0). */
    public static final int PACKET_RESERVED = 12;
    /** Size of the packet header, which the buffer descriptors follow. */
    public static final int SIZEOF_PACKET_HEADER = 16;

    /** Buffer descriptor: offset of {@code offset} (u64, in the queue's data region). */
    public static final int BUFFER_OFFSET = 0;
    /** Buffer descriptor: offset of {@code size} (u32, bytes in this buffer). */
    public static final int BUFFER_SIZE = 8;
    /** Size of a buffer descriptor (unaligned, repeated after the header). */
    public static final int SIZEOF_BUFFER_DESCRIPTOR = 12;

    /** Completion: offset of the packet's {@code id} (u64). */
    public static final int COMPLETION_ID = 0;
    /** Size of a completion slot. */
    public static final int SIZEOF_COMPLETION = 8;

    static final VarHandle U64 = Endian.LE64.varHandle();
    static final VarHandle U32 = Endian.LE32.varHandle();

    /** Descriptor length for a packet spread over {@code buffers} buffers. */
    public static int descriptorSize(int buffers) {
        return SIZEOF_PACKET_HEADER + buffers * SIZEOF_BUFFER_DESCRIPTOR;
    }

    /** Offset of buffer descriptor {@code i} within the descriptor. */
    public static int bufferDescriptor(int i) {
        return SIZEOF_PACKET_HEADER + i * SIZEOF_BUFFER_DESCRIPTOR;
    }
}
