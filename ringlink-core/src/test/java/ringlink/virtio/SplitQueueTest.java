package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SplitQueueTest {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment seg = arena.allocate(1 << 20, 4096);
    private final GuestMemory.Region region = GuestMemory.Region.of(0x10000, seg);
    private final GuestMemory mem = GuestMemory.of(region);
    private final GuestAllocator alloc = new GuestAllocator(region);

    @AfterEach
    void close() { arena.close(); }

    private void fill(long gpa, int len, int seed) {
        MemorySegment s = mem.slice(gpa, len);
        for (int i = 0; i < len; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) (seed + i));
    }

    @Test
    void roundTripDirectAndIndirect() {
        for (FeatureSet f : new FeatureSet[] {
                FeatureSet.NONE, FeatureSet.of(VirtioFeature.INDIRECT_DESC, VirtioFeature.EVENT_IDX),
                FeatureSet.of(VirtioFeature.IN_ORDER)}) {
            SplitRing ring = SplitRing.allocate(mem, alloc, 8);
            SplitQueueDriver drv = new SplitQueueDriver(ring, f, alloc, 4);
            SplitQueueDevice dev = new SplitQueueDevice(
                    SplitRing.map(mem, 8, ring.descAddress(), ring.availAddress(), ring.usedAddress()), mem, f);
            long out = alloc.allocate(100, 8), in = alloc.allocate(200, 8);
            fill(out, 100, 7);
            for (int round = 0; round < 20; round++) {
                int id = drv.offer(new long[] {out, out + 40, in}, new int[] {40, 60, 200}, 0, 3, 2);
                assertTrue(id >= 0);
                drv.publish();
                DescriptorChain c = new DescriptorChain();
                assertTrue(dev.pop(c));
                assertEquals(id, c.id());
                assertEquals(100, c.readableBytes());
                assertEquals(200, c.writableBytes());
                MemorySegment tmp = arena.allocate(100);
                assertEquals(100, c.read(0, tmp, 0, 100));
                assertEquals(70, c.write(130, tmp, 0, 100));
                dev.push(c, 200);
                dev.publish();
                int[] ids = new int[4], lens = new int[4];
                assertEquals(1, drv.collect(ids, lens, 4));
                assertEquals(id, ids[0]);
                assertEquals(200, lens[0]);
                assertEquals(0, drv.inFlight());
                assertEquals(8, drv.freeDescriptors());
                assertEquals((byte) 7, mem.slice(in + 130, 1).get(ValueLayout.JAVA_BYTE, 0));
            }
        }
    }

    @Test
    void batchPopPushPublishesOnce() {
        SplitRing ring = SplitRing.allocate(mem, alloc, 16);
        SplitQueueDriver drv = new SplitQueueDriver(ring, FeatureSet.NONE);
        SplitQueueDevice dev = new SplitQueueDevice(ring, mem, FeatureSet.NONE);
        long buf = alloc.allocate(1024, 64);
        for (int i = 0; i < 10; i++) drv.offer(buf + 64L * i, 64, true);
        drv.publish();
        DescriptorChain[] cs = new DescriptorChain[16];
        for (int i = 0; i < cs.length; i++) cs[i] = new DescriptorChain();
        int n = dev.pop(cs, 16);
        assertEquals(10, n);
        int[] written = new int[16];
        java.util.Arrays.fill(written, 0, n, 32);
        dev.push(cs, written, n);
        assertEquals(0, ring.usedRing().get(ValueLayout.JAVA_SHORT, SplitRing.USED_IDX),
                "nothing visible before publish");
        dev.publish();
        assertEquals(10, ring.usedRing().get(ValueLayout.JAVA_SHORT, SplitRing.USED_IDX));
        assertEquals(10, drv.collect(new int[16], new int[16], 16));
    }

    @Test
    void loopIsTypedErrorAndQueueFails() {
        SplitRing ring = SplitRing.allocate(mem, alloc, 4);
        SplitQueueDriver drv = new SplitQueueDriver(ring, FeatureSet.NONE);
        SplitQueueDevice dev = new SplitQueueDevice(ring, mem, FeatureSet.NONE);
        long buf = alloc.allocate(64, 8);
        drv.offer(new long[] {buf, buf}, new int[] {8, 8}, 0, 2, 2);
        drv.publish();
        // hostile: make descriptor 1 point back to 0
        ring.descTable().set(ValueLayout.JAVA_SHORT, 16 + SplitRing.DESC_FLAGS, (short) VirtqLayout.VIRTQ_DESC_F_NEXT);
        ring.descTable().set(ValueLayout.JAVA_SHORT, 16 + SplitRing.DESC_NEXT, (short) 0);
        VirtqueueException e = assertThrows(VirtqueueException.class, () -> dev.pop(new DescriptorChain()));
        assertEquals(VirtqueueException.Reason.CHAIN_TOO_LONG, e.reason());
        VirtqueueException again = assertThrows(VirtqueueException.class, () -> dev.pop(new DescriptorChain()));
        assertEquals(VirtqueueException.Reason.QUEUE_FAILED, again.reason());
        assertSame(e, dev.failure());
    }
}
