package ringlink.shm;

import static ringlink.shm.PipeLayout.*;

import java.lang.foreign.MemorySegment;

/**
 * The consumer end of a pipe: {@link #pull} returns the next published slot, {@link #flush}
 * hands everything pulled so far back to the producer with one release store (a single free
 * header covering the consumed run).
 *
 * <p>The peer writes the headers, so every header is validated before use: a size that would
 * leave the ring, cross the unconsumed region or not end exactly at the ring start when it
 * wraps is a {@link CorruptQueueException}.
 */
final class PipeRx {
    private final MemorySegment ring;
    private final long length;
    private final String name;
    private long tail; // first position not yet handed back
    private long head; // first position not yet pulled
    private int size;  // payload size of the slot last pulled

    PipeRx(MemorySegment pipe, String name) {
        this.length = ringLength(pipe.byteSize());
        if (length < MIN_PIPE_SIZE)
                throw new IllegalArgumentException(name + ": pipe of " + pipe.byteSize() + " bytes is too small");
        this.ring = pipe.asSlice(0, length);
        this.name = name;
        this.tail = INITIAL_POSITION;
        this.head = tail;
    }

    /**
     * Pulls the next slot: returns its payload's offset in {@link #ring()} (its size is
     * {@link #size()}), or −1 if nothing is published.
     */
    long pull() throws CorruptQueueException {
        boolean wrapped = false;
        while (true) {
            if (head == tail + JUMP) return -1; // the whole ring is pulled and not yet flushed
            long h = (long) HEADER.getAcquire(ring, head & OFFSET_MASK);
            if ((h & SLOT_FREE) != 0) return -1;
            if ((h & SLOT_RESERVED_MASK) != 0)
                    throw corrupt("slot header 0x" + Long.toHexString(h) + " has reserved bits set");
            long payload = h & SLOT_SIZE_MASK;
            long newHead = head + slotSize(payload);
            if (newHead - (tail + JUMP) > 0) {
                throw corrupt("slot of " + payload + " bytes overruns data not yet consumed");
            }
            long wrap = (head & REVOLUTION_MASK) | length;
            if (newHead - wrap >= 0) {
                // A wrapping slot carries no data; it must end exactly at the start of the ring.
                if ((newHead & OFFSET_MASK) != 0) {
                    throw corrupt("wrapping slot of " + payload + " bytes does not end at the ring start");
                }
                // A producer wraps only for a slot that fits the ring, so a wrap never follows a
                // wrap; refusing it also keeps a peer that rewrites headers from spinning us here.
                if (wrapped) throw corrupt("a wrapping slot follows a wrapping slot");
                wrapped = true;
                // Hand back what was pulled before the wrap and the wrap slot itself now: one
                // free header cannot span the end of the ring.
                if (tail != head) {
                    HEADER.setRelease(ring, tail & OFFSET_MASK, SLOT_FREE | payloadSize(head - tail));
                }
                HEADER.setRelease(ring, head & OFFSET_MASK, SLOT_FREE | payloadSize(newHead - head));
                tail = newHead;
                head = newHead;
                continue;
            }
            long at = (head & OFFSET_MASK) + SIZEOF_SLOT_HEADER;
            size = (int) payload;
            head = newHead;
            return at;
        }
    }

    private CorruptQueueException corrupt(String what) {
        return new CorruptQueueException(name + ": " + what + " (at offset " + (head & OFFSET_MASK) + " of a "
                + length + "-byte ring)");
    }

    /** Payload size of the slot last pulled. */
    int size() { return size; }

    /** True if a published slot is waiting (a cheap check for the sleep protocol). */
    boolean ready() {
        if (head == tail + JUMP) return false;
        return ((long) HEADER.getAcquire(ring, head & OFFSET_MASK) & SLOT_FREE) == 0;
    }

    /** Hands every pulled slot back to the producer. */
    void flush() {
        if (head == tail) return;
        HEADER.setRelease(ring, tail & OFFSET_MASK, SLOT_FREE | payloadSize(head - tail));
        tail = head;
    }

    /** Un-pulls every slot since the last flush (valid only if no wrap was crossed since: callers flush per item). */
    void abort() {
        head = tail;
    }

    MemorySegment ring() { return ring; }
}
