package ringlink.virtio;

import java.lang.foreign.MemorySegment;

/**
 * A bump allocator over one {@link GuestMemory.Region}: how a driver (vhost-net, tests,
 * benchmarks) places rings, indirect tables and buffers in memory it has registered, so it can
 * tell the device their guest addresses. Nothing is ever freed individually; drop the region.
 * Not thread-safe (setup-time use).
 */
public final class GuestAllocator {
    private final GuestMemory.Region region;
    private long next;

    /** Allocates from {@code region}, starting at its first byte. */
    public GuestAllocator(GuestMemory.Region region) {
        this.region = region;
    }

    /**
     * Reserves {@code size} bytes aligned to {@code align} (a power of two) and returns their
     * guest address. The bytes are zeroed.
     *
     * @throws IllegalStateException if the region is full
     */
    public long allocate(long size, long align) {
        if (size < 0 || Long.bitCount(align) != 1)
                throw new IllegalArgumentException("size " + size + ", align " + align);
        long base = region.guestAddress();
        long at = ((base + next + align - 1) & -align) - base;
        if (at + size > region.size() || at + size < 0) {
            throw new IllegalStateException("guest region of " + region.size() + " bytes is full (need " + size
                    + " more at offset " + at + ")");
        }
        next = at + size;
        region.segment().asSlice(at, size).fill((byte) 0);
        return base + at;
    }

    /** {@link #allocate} and return the bytes as a segment. */
    public MemorySegment allocateSegment(long size, long align) {
        long gpa = allocate(size, align);
        return region.segment().asSlice(gpa - region.guestAddress(), size);
    }

    /** Bytes still free (ignoring alignment). */
    public long remaining() { return region.size() - next; }

    /** The region the allocator carves from. */
    public GuestMemory.Region region() { return region; }
}
