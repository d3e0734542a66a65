package ringlink.shm;

import ringlink.link.LinkFailedException;

/**
 * The peer wrote something into shared memory that the sharedmem protocol does not allow (a slot
 * size past the ring's end, a position that jumps, a descriptor pointing outside the data
 * region, an id never handed out). The link that read it is stopped; nothing else is affected.
 */
public final class CorruptQueueException extends LinkFailedException {
    private static final long serialVersionUID = 1L;

    /** A protocol violation described by {@code message}, naming the link and what was wrong. */
    public CorruptQueueException(String message) {
        super(message);
    }
}
