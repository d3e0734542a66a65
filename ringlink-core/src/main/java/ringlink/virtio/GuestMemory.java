package ringlink.virtio;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The memory a virtqueue and its buffers live in: a fixed set of non-overlapping regions, each
 * mapping a range of guest-physical addresses (what descriptors carry) to a {@link MemorySegment}.
 *
 * <p>Every translation checks the whole range {@code [address, address + length)} against one
 * region; a range outside every region, crossing a region boundary, or with a negative/overflowing
 * length throws {@link GuestMemoryException}. The segments themselves are bounded, so even a bug
 * here could not read outside a mapping.
 *
 * <p>Where the memory comes from is up to the transport:
 * <ul>
 * <li>a vhost-user backend builds regions from the frontend's {@code SET_MEM_TABLE}: each memfd is
 *     mapped and {@link Region#ofMapping} slices it at the message's {@code mmap_offset}; the
 *     frontend's {@code userspace_addr} is kept so ring addresses given in the frontend's address
 *     space ({@code SET_VRING_ADDR}) can be translated with {@link #userToGuest};</li>
 * <li>a driver (vhost-net, tests, benchmarks) allocates its own segments, registers them with
 *     {@link Region#of} (by default guest address = user address = the segment's native address,
 *     which is what the kernel's vhost memory table wants) and carves rings and buffers out of
 *     them with a {@link GuestAllocator}.</li>
 * </ul>
 *
 * <p>Immutable after construction and safe to share between threads. A new memory table means a
 * new {@code GuestMemory} (and new queues).
 */
public final class GuestMemory {

    /**
     * One region.
     *
     * @param guestAddress guest-physical address of the first byte
     * @param userAddress  the address of the first byte in the address space of whoever set up
     *                     the queues (vhost-user frontend's {@code userspace_addr}; for memory we
     *                     allocate, the segment's native address)
     * @param segment      the bytes; its size is the region's size
     */
    public record Region(long guestAddress, long userAddress, MemorySegment segment) {
        /**
         * Checks that the segment is non-null and not empty, and that the region does not wrap the 64-bit address
         * space.
         */
        public Region {
            if (segment == null) throw new IllegalArgumentException("segment is null");
            if (segment.byteSize() == 0) throw new IllegalArgumentException("empty region");
            if (Long.compareUnsigned(guestAddress + segment.byteSize() - 1, guestAddress) < 0) {
                throw new IllegalArgumentException("region at 0x" + Long.toHexString(guestAddress)
                        + " wraps the address space");
            }
        }

        /** A region at guest address {@code guestAddress}; user address = the segment's native address. */
        public static Region of(long guestAddress, MemorySegment segment) {
            return new Region(guestAddress, segment.address(), segment);
        }

        /** An identity-mapped region: guest address = user address = the segment's native address. */
        public static Region identity(MemorySegment segment) {
            return new Region(segment.address(), segment.address(), segment);
        }

        /**
         * A region from a vhost-user style memory-table entry: {@code mapping} is the whole
         * mapping of the region's file descriptor, and the guest memory starts {@code mmapOffset}
         * bytes into it and is {@code size} bytes long.
         *
         * @throws IllegalArgumentException if {@code [mmapOffset, mmapOffset+size)} is not inside the mapping
         */
        public static Region ofMapping(long guestAddress, long size, long userAddress, MemorySegment mapping,
                long mmapOffset) {
            if (size <= 0 || mmapOffset < 0 || mmapOffset > mapping.byteSize()
                    || size > mapping.byteSize() - mmapOffset) {
                throw new IllegalArgumentException("region of " + size + " bytes at mmap offset " + mmapOffset
                        + " does not fit a mapping of " + mapping.byteSize() + " bytes");
            }
            return new Region(guestAddress, userAddress, mapping.asSlice(mmapOffset, size));
        }

        /** The region's size in bytes. */
        public long size() { return segment.byteSize(); }
    }

    private final Region[] regions;
    private final long[] gStart;
    private final long[] size;
    private final MemorySegment[] seg;

    private GuestMemory(Region[] regions) {
        this.regions = regions;
        int n = regions.length;
        gStart = new long[n];
        size = new long[n];
        seg = new MemorySegment[n];
        for (int i = 0; i < n; i++) {
            gStart[i] = regions[i].guestAddress();
            size[i] = regions[i].size();
            seg[i] = regions[i].segment();
        }
    }

    /**
     * Guest memory of the given regions.
     *
     * @throws IllegalArgumentException if there are none or two overlap (in guest or user addresses)
     */
    public static GuestMemory of(Region... regions) {
        return of(List.of(regions));
    }

    /** Guest memory of the given regions (see {@link #of(Region...)}). */
    public static GuestMemory of(List<Region> regions) {
        if (regions.isEmpty()) throw new IllegalArgumentException("guest memory needs at least one region");
        Region[] r = regions.toArray(new Region[0]);
        checkDisjoint(r, Region::guestAddress, "guest");
        checkDisjoint(r, Region::userAddress, "user");
        Arrays.sort(r, Comparator.comparing(Region::guestAddress, Long::compareUnsigned));
        return new GuestMemory(r);
    }

    private static void checkDisjoint(Region[] r, java.util.function.ToLongFunction<Region> start, String what) {
        Region[] s = r.clone();
        Arrays.sort(s, (a, b) -> Long.compareUnsigned(start.applyAsLong(a), start.applyAsLong(b)));
        for (int i = 1; i < s.length; i++) {
            long prevEnd = start.applyAsLong(s[i - 1]) + s[i - 1].size();
            if (Long.compareUnsigned(start.applyAsLong(s[i]), prevEnd) < 0) {
                throw new IllegalArgumentException("regions overlap in " + what + " addresses at 0x"
                        + Long.toHexString(start.applyAsLong(s[i])));
            }
        }
    }

    /** The regions, sorted by guest address. */
    public List<Region> regions() { return List.of(regions); }

    /** The number of regions. */
    public int regionCount() { return regions.length; }

    /** Region {@code r} (as numbered by {@link #find}). */
    public Region region(int r) { return regions[r]; }

    /** The segment of region {@code r}. */
    public MemorySegment segment(int r) { return seg[r]; }

    /** Offset of guest address {@code gpa} inside region {@code r} (no check: use after {@link #find}). */
    public long offsetIn(int r, long gpa) { return gpa - gStart[r]; }

    /**
     * The region holding all of {@code [gpa, gpa + len)}. Does not allocate.
     *
     * @return the region number, for {@link #segment} and {@link #offsetIn}
     * @throws GuestMemoryException if no single region holds the range
     */
    public int find(long gpa, long len) {
        if (len < 0) throw new GuestMemoryException("negative length", gpa, len);
        int r = lookup(gpa, len);
        if (r >= 0) return r;
        if (r == OUTSIDE) throw new GuestMemoryException("address outside guest memory", gpa, len);
        int i = -r - 2;
        throw new GuestMemoryException("range crosses the end of region [0x" + Long.toHexString(gStart[i])
                + ", +0x" + Long.toHexString(size[i]) + ")", gpa, len);
    }

    /** True if {@code [gpa, gpa+len)} lies inside one region. */
    public boolean contains(long gpa, long len) {
        return len >= 0 && lookup(gpa, len) >= 0;
    }

    private static final int OUTSIDE = -1;

    /**
     * The region holding {@code [gpa, gpa+len)} ({@code len >= 0}); {@link #OUTSIDE} if no region
     * holds {@code gpa}; {@code -(i + 2)} if region {@code i} holds it but the range crosses its end.
     * No exception, so {@link #contains} is cheap.
     */
    private int lookup(long gpa, long len) {
        // Few regions (a VM has 1-8): a linear scan beats anything cleverer.
        for (int i = 0; i < gStart.length; i++) {
            long off = gpa - gStart[i];
            if (Long.compareUnsigned(off, size[i]) < 0 || (len == 0 && off == size[i])) {
                return len > size[i] - off ? -(i + 2) : i;
            }
        }
        return OUTSIDE;
    }

    /**
     * A bounded view of {@code [gpa, gpa + len)} (allocates a segment object: fine for setup and
     * slow paths; hot paths use {@link #find}/{@link #segment}/{@link #offsetIn}).
     */
    public MemorySegment slice(long gpa, long len) {
        int r = find(gpa, len);
        return seg[r].asSlice(gpa - gStart[r], len);
    }

    /**
     * Translates an address in the queue owner's address space (vhost-user
     * {@code SET_VRING_ADDR}) to a guest-physical address; the range must lie in one region.
     */
    public long userToGuest(long userAddr, long len) {
        if (len < 0) throw new GuestMemoryException("negative length", userAddr, len);
        for (Region r : regions) {
            long off = userAddr - r.userAddress();
            if (Long.compareUnsigned(off, r.size()) < 0) {
                if (len > r.size() - off)
                        throw new GuestMemoryException("user range crosses a region end", userAddr, len);
                return r.guestAddress() + off;
            }
        }
        throw new GuestMemoryException("user address outside guest memory", userAddr, len);
    }

    /** The user address of guest address {@code gpa} (what the kernel's vhost ring-address calls want). */
    public long guestToUser(long gpa, long len) {
        int r = find(gpa, len);
        return regions[r].userAddress() + (gpa - gStart[r]);
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (Region r : regions) {
            parts.add("[0x" + Long.toHexString(r.guestAddress()) + ", +0x" + Long.toHexString(r.size()) + ")");
        }
        return "GuestMemory" + parts;
    }
}
