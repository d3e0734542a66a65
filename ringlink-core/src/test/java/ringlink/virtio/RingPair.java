package ringlink.virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Test fixture: a driver and a device over one ring in one guest memory (which starts at a
 * non-zero guest address, so guest and host addresses differ), plus an allocator for buffers.
 */
final class RingPair implements AutoCloseable {
    enum Kind { SPLIT, PACKED }

    final Arena arena = Arena.ofShared();
    final MemorySegment seg;
    final GuestMemory.Region region;
    final GuestMemory mem;
    final GuestAllocator alloc;
    final VirtqueueDriver driver;
    final VirtqueueDevice device;
    final Kind kind;
    final Object ring;
    /** Memory right before and after guest memory, outside it (empty unless asked for). */
    final MemorySegment guardBefore, guardAfter;

    RingPair(Kind kind, int size, FeatureSet f, int maxIndirect, long bytes) {
        this(kind, size, f, maxIndirect, bytes, 0);
    }

    RingPair(Kind kind, int size, FeatureSet f, int maxIndirect, long bytes, long guard) {
        this.kind = kind;
        MemorySegment all = arena.allocate(bytes + 2 * guard, 4096);
        guardBefore = all.asSlice(0, guard);
        seg = all.asSlice(guard, bytes);
        guardAfter = all.asSlice(guard + bytes, guard);
        region = GuestMemory.Region.of(0x4000_0000L, seg);
        mem = GuestMemory.of(region);
        alloc = new GuestAllocator(region);
        if (kind == Kind.SPLIT) {
            SplitRing r = SplitRing.allocate(mem, alloc, size);
            ring = r;
            driver = new SplitQueueDriver(r, f, alloc, maxIndirect);
            device = new SplitQueueDevice(SplitRing.map(mem, size, r.descAddress(), r.availAddress(), r.usedAddress()),
                    mem, f);
        } else {
            PackedRing r = PackedRing.allocate(mem, alloc, size);
            ring = r;
            driver = new PackedQueueDriver(r, f, alloc, maxIndirect);
            device = new PackedQueueDevice(
                    PackedRing.map(mem, size, r.descAddress(), r.driverEventAddress(), r.deviceEventAddress()), mem, f);
        }
    }

    RingPair(Kind kind, int size, FeatureSet f) {
        this(kind, size, f, 8, 4 << 20);
    }

    /** The descriptor table/ring (to tamper with in hostile tests). */
    MemorySegment descMemory() {
        return ring instanceof SplitRing s ? s.descTable() : ((PackedRing) ring).descRing();
    }

    @Override
    public void close() {
        arena.close();
    }
}
