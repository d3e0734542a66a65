package ringlink.shm;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import ringlink.sys.Endian;

/**
 * The byte layout of a sharedmem pipe (gVisor {@code pkg/tcpip/link/sharedmem/pipe}): a ring of
 * variable-size slots, each an 8-byte little-endian header followed by the payload, padded to a
 * multiple of 8.
 *
 * <pre>
 * slot header (u64 LE):  bit 63      slotFree (the slot's bytes belong to the producer)
 *                        bits 0..31  payload size in bytes
 *                        bits 32..62 zero
 * </pre>
 *
 * Positions are 64-bit: the low 32 bits are the byte offset in the ring, the high 32 bits a
 * revolution counter, so "one whole ring ahead" ({@link #JUMP}) is distinguishable from "same
 * place". Both ends start at revolution {@code 0xfffffffe} (the counter wraps soon, which
 * exercises the unsigned arithmetic early). A slot that would cross the end of the ring is
 * preceded by a wrapping slot whose size runs exactly to the ring's end.
 */
public final class PipeLayout {
    private PipeLayout() {}

    /** Size of a slot header. */
    public static final int SIZEOF_SLOT_HEADER = 8;
    /** One revolution of the ring in position space. */
    public static final long JUMP = 1L << 32;
    /** The byte offset part of a position. */
    public static final long OFFSET_MASK = 0xffff_ffffL;
    /** The revolution part of a position. */
    public static final long REVOLUTION_MASK = ~OFFSET_MASK;
    /** Header bit: the slot is free (owned by the producer). */
    public static final long SLOT_FREE = 1L << 63;
    /** Header bits holding the payload size. */
    public static final long SLOT_SIZE_MASK = 0xffff_ffffL;
    /** Header bits that are always zero in a valid header. */
    public static final long SLOT_RESERVED_MASK = ~(SLOT_FREE | SLOT_SIZE_MASK);
    /** Position both ends start at. */
    public static final long INITIAL_POSITION = 0xffff_fffeL * JUMP;
    /** The smallest pipe that can carry anything useful. */
    public static final int MIN_PIPE_SIZE = 64;

    /** The 8-byte header, accessed atomically (acquire/release) where the protocol publishes. */
    static final VarHandle HEADER = Endian.ALIGNED_LE64.varHandle();

    /** Bytes a slot with {@code payload} bytes takes in the ring (header + payload, rounded to 8). */
    public static long slotSize(long payload) {
        return (SIZEOF_SLOT_HEADER + payload + SIZEOF_SLOT_HEADER - 1) & ~(long) (SIZEOF_SLOT_HEADER - 1);
    }

    /** The payload size of a slot spanning {@code bytes} (header included). */
    public static long payloadSize(long bytes) {
        return bytes - SIZEOF_SLOT_HEADER;
    }

    /** The usable ring length of a pipe mapping of {@code bytes} bytes (rounded down to 8). */
    public static long ringLength(long bytes) {
        return bytes & ~(long) (SIZEOF_SLOT_HEADER - 1);
    }

    /** Marks a freshly created pipe as empty: a free slot header at offset 0. */
    public static void initEmpty(MemorySegment pipe) {
        HEADER.setRelease(pipe, 0L, SLOT_FREE);
    }
}
