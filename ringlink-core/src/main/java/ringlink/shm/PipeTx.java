package ringlink.shm;

import static ringlink.shm.PipeLayout.*;

import java.lang.foreign.MemorySegment;

/**
 * The producer end of a pipe: reserves slots ({@link #push}), fills them, and publishes a whole
 * batch with one release store ({@link #flush}). Space comes back when the consumer writes a free
 * header over what it consumed; {@link #push} reclaims it lazily.
 *
 * <p>Publication order: the first slot of a batch gets its header last (the "tail header"), so
 * the consumer sees the batch all at once; later slots' headers are plain stores made before that
 * release. The slot after the batch is marked free first so the consumer stops there.
 */
final class PipeTx {
    private final MemorySegment ring;
    private final long length;
    private final long maxPayload;
    private final String name;
    private long head; // first position not yet known to be free again
    private long tail; // first position not yet published
    private long next; // first position not yet reserved
    private long tailHeader;

    /**
     * Takes the producer role on {@code pipe} and marks the ring empty (the producer owns
     * initialisation: a free header at the start).
     */
    PipeTx(MemorySegment pipe, String name) {
        this.length = ringLength(pipe.byteSize());
        if (length < MIN_PIPE_SIZE)
                throw new IllegalArgumentException(name + ": pipe of " + pipe.byteSize() + " bytes is too small");
        this.ring = pipe.asSlice(0, length);
        this.name = name;
        this.maxPayload = length - 2L * SIZEOF_SLOT_HEADER;
        this.tail = INITIAL_POSITION;
        this.next = tail;
        this.head = tail + JUMP;
        HEADER.setRelease(ring, 0L, SLOT_FREE);
    }

    /** How many slots of {@code payload} bytes fit in the empty ring. */
    long capacity(long payload) {
        return (length - SIZEOF_SLOT_HEADER) / slotSize(payload);
    }

    /**
     * Reserves a slot of {@code payload} bytes and returns the offset of its payload in
     * {@link #ring()}, or −1 if the ring is full right now.
     */
    long push(long payload) throws CorruptQueueException {
        if (payload > maxPayload) return -1;
        while (true) {
            boolean ahead = next != tail;
            long newNext = next + slotSize(payload);
            long wrap = (next & REVOLUTION_MASK) | length;
            if (newNext - wrap >= 0) {
                // Would cross the end: fill the rest of the ring with a wrapping slot and retry at 0.
                newNext = (newNext & REVOLUTION_MASK) + JUMP;
                if (!reclaim(newNext)) return -1;
                long wrapPayload = payloadSize(newNext - next);
                long old = next;
                next = newNext;
                if (ahead) {
                    HEADER.set(ring, old & OFFSET_MASK, wrapPayload);
                } else {
                    tailHeader = wrapPayload;
                    flush();
                }
                continue;
            }
            if (!reclaim(newNext)) return -1;
            if (ahead) {
                HEADER.set(ring, next & OFFSET_MASK, payload);
            } else {
                tailHeader = payload;
            }
            long at = (next & OFFSET_MASK) + SIZEOF_SLOT_HEADER;
            next = newNext;
            return at;
        }
    }

    /** Takes back space the consumer freed until {@code newNext} fits; false if it has not yet. */
    private boolean reclaim(long newNext) throws CorruptQueueException {
        while (newNext - head > 0) {
            // Everything we published is consumed and reclaimed: what lies at head now is our own
            // end-of-batch marker, not something the consumer freed.
            if (head - tail >= JUMP) return false;
            long h = (long) HEADER.getAcquire(ring, head & OFFSET_MASK);
            if ((h & SLOT_FREE) == 0) return false;
            long newHead = head + slotSize(h & SLOT_SIZE_MASK);
            if ((h & SLOT_RESERVED_MASK) != 0 || newHead - tail > JUMP || (newHead & OFFSET_MASK) >= length) {
                throw new CorruptQueueException(name + ": the consumer freed a slot at offset " + (head & OFFSET_MASK)
                        + " with header 0x" + Long.toHexString(h)
                                + ", which runs past the ring end or the published data ("
                        + length + "-byte ring)");
            }
            head = newHead;
        }
        return true;
    }

    /** Publishes every slot reserved since the last flush. */
    void flush() {
        if (next == tail) return;
        if (next != head) HEADER.set(ring, next & OFFSET_MASK, SLOT_FREE);
        HEADER.setRelease(ring, tail & OFFSET_MASK, tailHeader);
        tail = next;
    }

    /** Forgets slots reserved since the last flush. */
    void abort() {
        next = tail;
    }

    /** True if slots were reserved and not yet flushed. */
    boolean pending() {
        return next != tail;
    }

    MemorySegment ring() { return ring; }

    long length() { return length; }
}
