package ringlink.virtio.net;

import java.lang.foreign.MemorySegment;
import ringlink.virtio.GuestAllocator;

/**
 * A driver queue's fixed-size packet buffers in the caller's registered region, one per ring
 * entry, with a stack of the free ones: what {@link NetDriverRx} and {@link NetDriverTx} offer to
 * the device. Single-threaded, like the queue it serves.
 */
final class BufferPool {
    /** Bytes per buffer. */
    final int bufferSize;
    /** The buffers, back to back. */
    final MemorySegment memory;
    /** The device's address of buffer 0. */
    private final long gpa;
    private final int[] free;
    private int freeCount;

    BufferPool(GuestAllocator alloc, int count, int bufferSize) {
        this.bufferSize = bufferSize;
        // the guest-physical address from the allocator, the host segment from the region: no raw address
        this.gpa = alloc.allocate((long) count * bufferSize, 64);
        this.memory = alloc.region().segment().asSlice(gpa - alloc.region().guestAddress(), (long) count * bufferSize);
        this.free = new int[count];
        for (int i = 0; i < count; i++) free[i] = i;
        this.freeCount = count;
    }

    /** Whether a buffer is free. */
    boolean hasFree() { return freeCount > 0; }

    /** The buffer {@link #take()} would return next, still free; call only when {@link #hasFree()}. */
    int peek() { return free[freeCount - 1]; }

    /** Takes the buffer {@link #peek()} named. */
    void take() { freeCount--; }

    /** Gives buffer {@code b} back. */
    void give(int b) { free[freeCount++] = b; }

    /** Buffer {@code b}'s offset in {@link #memory}. */
    long offset(int b) { return (long) b * bufferSize; }

    /** The device's address of byte {@code off} of {@link #memory}. */
    long deviceAddress(long off) { return gpa + off; }
}
