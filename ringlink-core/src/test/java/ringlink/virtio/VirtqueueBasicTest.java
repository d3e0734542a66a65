package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Single-threaded driver/device round trips over both ring formats and feature combinations. */
class VirtqueueBasicTest {
    static List<FeatureSet> combos() {
        List<FeatureSet> out = new ArrayList<>();
        VirtioFeature[] fs = {VirtioFeature.INDIRECT_DESC, VirtioFeature.EVENT_IDX, VirtioFeature.IN_ORDER};
        for (int m = 0; m < 8; m++) {
            FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1);
            for (int b = 0; b < 3; b++) if ((m & (1 << b)) != 0) f = f.with(fs[b]);
            out.add(f);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(RingPair.Kind.class)
    void batchesRoundTripAcrossManyWraps(RingPair.Kind kind) {
        for (FeatureSet f : combos()) {
            for (int size : kind == RingPair.Kind.SPLIT ? new int[] {1, 2, 8, 256} : new int[] {1, 3, 7, 256}) {
                try (RingPair p = new RingPair(kind, size, f)) {
                    roundTrips(p, f);
                } catch (AssertionError | RuntimeException e) {
                    throw new AssertionError(kind + " size " + size + " " + f + ": " + e, e);
                }
            }
        }
    }

    private void roundTrips(RingPair p, FeatureSet f) {
        int size = p.driver.size();
        long out = p.alloc.allocate(4096, 64);
        long in = p.alloc.allocate(4096, 64);
        MemorySegment outSeg = p.mem.slice(out, 4096);
        for (int i = 0; i < 4096; i++) outSeg.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31));
        DescriptorChain[] chains = new DescriptorChain[size];
        for (int i = 0; i < size; i++) chains[i] = new DescriptorChain();
        int[] ids = new int[size], lens = new int[size];
        java.util.Random rnd = new java.util.Random(size);
        long[] addrs = new long[4];
        int[] ls = new int[4];
        for (int round = 0; round < 50; round++) {
            int offered = 0;
            List<Integer> expectIds = new ArrayList<>();
            while (true) {
                int n = 1 + rnd.nextInt(Math.min(3, size));
                int readable = rnd.nextInt(n + 1);
                for (int k = 0; k < n; k++) {
                    addrs[k] = k < readable ? out + 8 * k : in + 64 * k;
                    ls[k] = k < readable ? 8 : 64;
                }
                int id = p.driver.offer(addrs, ls, 0, n, readable);
                if (id < 0) break;
                expectIds.add(id);
                offered++;
            }
            assertTrue(offered > 0);
            p.driver.publish();
            int got = p.device.pop(chains, size);
            assertEquals(offered, got);
            for (int i = 0; i < got; i++) {
                DescriptorChain c = chains[i];
                assertEquals(expectIds.get(i), c.id());
                MemorySegment tmp = MemorySegment.ofArray(new byte[(int) c.readableBytes()]);
                c.read(0, tmp, 0, c.readableBytes());
                for (int k = 0; k < c.readableBytes(); k++) {
                    assertEquals(outSeg.get(ValueLayout.JAVA_BYTE, (k / 8) * 8 + k % 8),
                            tmp.get(ValueLayout.JAVA_BYTE, k));
                }
                p.device.push(c, (int) Math.min(c.writableBytes(), 10));
            }
            p.device.publish();
            int c = p.driver.collect(ids, lens, size);
            assertEquals(offered, c);
            for (int i = 0; i < c; i++) {
                assertEquals(expectIds.get(i), ids[i], "in-order completion");
                assertEquals(Math.min(chains[i].writableBytes(), 10), lens[i]);
            }
            assertEquals(0, p.driver.inFlight());
            assertEquals(size, p.driver.freeDescriptors());
            assertFalse(p.driver.hasUsed());
            assertFalse(p.device.hasAvailable());
        }
    }

    @ParameterizedTest
    @EnumSource(RingPair.Kind.class)
    void largestQueuesThroughTheFactory(RingPair.Kind kind) {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.EVENT_IDX, VirtioFeature.INDIRECT_DESC);
        if (kind == RingPair.Kind.PACKED) f = f.with(VirtioFeature.RING_PACKED);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            GuestMemory.Region region = GuestMemory.Region.of(0x8000_0000L, arena.allocate(16 << 20, 4096));
            GuestMemory mem = GuestMemory.of(region);
            GuestAllocator alloc = new GuestAllocator(region);
            int size = 32768;
            VirtqueueDriver drv = Virtqueues.driver(mem, alloc, f, size, 4);
            VirtqueueDevice dev =
                    Virtqueues.device(mem, f, size, drv.descAddress(), drv.driverAreaAddress(), drv.deviceAreaAddress(),
                    kind == RingPair.Kind.PACKED ? Virtqueues.FRESH_PACKED_BASE : 0);
            assertEquals(kind == RingPair.Kind.PACKED, dev instanceof PackedQueueDevice);
            long buf = alloc.allocate(4096, 64);
            DescriptorChain c = new DescriptorChain();
            int[] ids = new int[size], lens = new int[size];
            long done = 0;
            // Three full laps of the largest ring, one publish per lap.
            for (int lap = 0; lap < 3; lap++) {
                int offered = 0;
                while (drv.offer(buf, 64, true) >= 0) offered++;
                assertEquals(size, offered);
                drv.publish();
                while (dev.pop(c)) dev.push(c, 64);
                dev.publish();
                done += drv.collect(ids, lens, size);
            }
            assertEquals(3L * size, done);
            if (dev instanceof SplitQueueDevice s) assertEquals((3 * size) & 0xffff, s.lastAvailIndex());
            // Three laps: the packed wrap counter flipped three times (1 -> 0); resume there.
            assertEquals(kind == RingPair.Kind.PACKED ? 0 : (3 * size) & 0xffff, dev.availBase());
            VirtqueueDevice resumed = Virtqueues.device(mem, f, size, drv.descAddress(), drv.driverAreaAddress(),
                    drv.deviceAreaAddress(), dev.availBase());
            assertTrue(drv.offer(buf, 64, true) >= 0);
            drv.publish();
            assertTrue(resumed.pop(c), "a device resumed from availBase() sees the next chain");
            assertFalse(resumed.pop(c));
            assertEquals(size - 1, drv.freeDescriptors());
        }
    }
}
