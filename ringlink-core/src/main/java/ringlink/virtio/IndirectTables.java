package ringlink.virtio;

import java.lang.foreign.MemorySegment;

/**
 * The indirect descriptor tables of a driver, one table of {@code maxEntries} descriptors per
 * buffer id, allocated once up front in guest memory. Split and packed drivers size and place
 * them the same way, so they share this.
 *
 * @param maxEntries descriptors per table (0: no indirect descriptors)
 * @param gpa        guest-physical address of table 0
 * @param segment    all tables, {@code 16 × maxEntries × size} bytes (null without)
 */
record IndirectTables(int maxEntries, long gpa, MemorySegment segment) {
    static final IndirectTables NONE = new IndirectTables(0, 0, null);

    /**
     * Tables for a queue of {@code size} when INDIRECT_DESC was negotiated, an allocator is given
     * and chains of at least two elements may go indirect; {@link #NONE} otherwise. A table never
     * needs more entries than the ring has descriptors.
     */
    static IndirectTables allocate(FeatureSet features, GuestAllocator alloc, int maxIndirect, int size) {
        if (!features.has(VirtioFeature.INDIRECT_DESC) || alloc == null || maxIndirect < 2) return NONE;
        int max = Math.min(maxIndirect, size);
        long bytes = 16L * max * size;
        long gpa = alloc.allocate(bytes, 16);
        return new IndirectTables(max, gpa,
                alloc.region().segment().asSlice(gpa - alloc.region().guestAddress(), bytes));
    }
}
