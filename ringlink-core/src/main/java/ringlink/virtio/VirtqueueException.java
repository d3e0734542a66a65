package ringlink.virtio;

/**
 * A virtqueue saw something the other side must never write (or was used after such an error).
 * The queue that raised it is in a failed state: every further call on it throws a
 * {@code VirtqueueException} with reason {@link Reason#QUEUE_FAILED} whose cause is the first
 * error. Other queues are unaffected.
 */
public final class VirtqueueException extends VirtioException {
    /** What went wrong. */
    public enum Reason {
        /** A descriptor index (head, next, ring entry) is not below the queue size. */
        INDEX_OUT_OF_RANGE,
        /**
         * A chain has more descriptors than the queue size or than
         * {@link VirtqueueDevice#MAX_CHAIN_ELEMENTS}: a descriptor loop, a lie, or a peer making
         * us walk and keep more than any driver needs.
         */
        CHAIN_TOO_LONG,
        /**
         * A receive chain without a device-writable byte: it can hold nothing, and a device
         * gathering buffers for a packet (MRG_RXBUF) would keep taking such chains. QEMU's
         * virtio-net fails the device for it ("receive queue contains no in buffers"), Linux
         * vhost-net refuses it ("unexpected descriptor format for RX").
         */
        NO_WRITABLE_BUFFER,
        /** An indirect descriptor inside an indirect table, or INDIRECT together with NEXT. */
        NESTED_INDIRECT,
        /** An indirect table whose length is 0, not a multiple of 16, or too long; or INDIRECT not negotiated. */
        BAD_INDIRECT,
        /** A buffer or ring address outside guest memory or crossing a region boundary. */
        BAD_ADDRESS,
        /** Buffer lengths that add up past 2^32-1. */
        LENGTH_OVERFLOW,
        /** A device-readable descriptor after a device-writable one. */
        BAD_ORDER,
        /** The available index moved by more than the queue size. */
        AVAIL_IDX_JUMP,
        /** The used index moved by more than the chains in flight. */
        USED_IDX_JUMP,
        /** A used id that the driver never offered (or already collected). */
        UNKNOWN_USED_ID,
        /** A used length larger than the device-writable part of the chain. */
        USED_LEN_TOO_LONG,
        /** Packed ring: flags/wrap counters that contradict the ring state. */
        WRAP_COUNTER,
        /** A packed-ring buffer id that is not below the queue size, or is already in use. */
        BAD_BUFFER_ID,
        /** Ring setup the other side asked for is impossible: queue size, alignment, ring outside memory. */
        BAD_RING_SETUP,
        /**
         * An access to mapped shared memory faulted (SIGBUS, which HotSpot raises as an
         * {@code InternalError} in the accessing thread): the peer shrank a file we mapped, e.g.
         * with {@code ftruncate}, after we checked its size. See {@link #memoryFault}.
         */
        MEMORY_FAULT,
        /** The queue failed earlier; see the cause. */
        QUEUE_FAILED
    }

    /** What went wrong. */
    private final Reason reason;

    /** An error of kind {@code reason}; the message starts with the reason's name. */
    public VirtqueueException(Reason reason, String message) {
        super(reason + ": " + message);
        this.reason = reason;
    }

    /** An error of kind {@code reason}, caused by {@code cause}; the message starts with the reason's name. */
    public VirtqueueException(Reason reason, String message, Throwable cause) {
        super(reason + ": " + message, cause);
        this.reason = reason;
    }

    /** What went wrong. */
    public Reason reason() { return reason; }

    /**
     * True if {@code t} is HotSpot's report of a fault in a memory access through
     * {@code MemorySegment}/{@code Unsafe} (a SIGBUS on a mapped file that shrank): "a fault
     * occurred in an unsafe memory access operation" (JDK 25: interpreted, C1, C2 and bulk copies
     * alike, checked by {@code MemoryFaultTest}).
     */
    public static boolean isMemoryFault(Throwable t) {
        return ringlink.sys.Mapping.isFault(t);
    }

    /**
     * The typed failure for a memory fault while serving {@code what}; any other
     * {@code InternalError} (a JVM bug, not the peer's doing) is rethrown as it is.
     */
    public static VirtqueueException memoryFault(InternalError e, String what) {
        if (!isMemoryFault(e)) throw e;
        return new VirtqueueException(Reason.MEMORY_FAULT,
                what + ": shared memory faulted (SIGBUS): the peer shrank a mapped file"
                + " (ftruncate) after it was checked", e);
    }
}
