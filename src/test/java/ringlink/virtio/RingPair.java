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

    RingPair(Kind kind, int size, FeatureSet f, int maxIndirect, long bytes) {
        this.kind = kind;
        seg = arena.allocate(bytes, 4096);
        region = GuestMemory.Region.of(0x4000_0000L, seg);
        mem = GuestMemory.of(region);
        alloc = new GuestAllocator(region);
        if (kind == Kind.SPLIT) {
            SplitRing r = SplitRing.allocate(mem, alloc, size);
            ring = r;
            driver = new SplitQueueDriver(r, f, alloc, maxIndirect);
            device = new SplitQueueDevice(SplitRing.map(mem, size, r.descAddress(), r.availAddress(), r.usedAddress()), mem, f);
        } else {
            PackedRing r = PackedRing.allocate(mem, alloc, size);
            ring = r;
            driver = new PackedQueueDriver(r, f, alloc, maxIndirect);
            device = new PackedQueueDevice(PackedRing.map(mem, size, r.descAddress(), r.driverEventAddress(), r.deviceEventAddress()), mem, f);
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
