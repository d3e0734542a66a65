package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * IN_ORDER lets a device return a batch with one used entry naming the last chain; the driver
 * must complete every earlier chain too (length 0) and, for packed rings, skip their slots.
 */
class InOrderBatchTest {
    static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @ParameterizedTest
    @EnumSource(RingPair.Kind.class)
    void oneUsedEntryCompletesTheWholeBatch(RingPair.Kind kind) {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.IN_ORDER);
        try (RingPair p = new RingPair(kind, 8, f, 0, 1 << 20)) {
            long buf = p.alloc.allocate(4096, 64);
            int[] ids = new int[8], lens = new int[8];
            for (int lap = 0; lap < 6; lap++) {
                // chains of 1, 2 and 1 descriptors (4 of the 8 slots), all device-writable
                int a = p.driver.offer(buf, 100, true);
                int b = p.driver.offer(new long[] {buf, buf + 200}, new int[] {100, 100}, 0, 2, 0);
                int c = p.driver.offer(buf + 400, 100, true);
                assertTrue(a >= 0 && b >= 0 && c >= 0);
                p.driver.publish();
                // A batching in-order device reports only the last chain, with its length (the
                // test plays that device by writing the used entry itself).
                writeSingleUsed(p, c, 77, lap);
                // Collect in two calls to cross the "pending" state.
                assertEquals(2, p.driver.collect(ids, lens, 2));
                assertArrayEquals(new int[] {a, b}, new int[] {ids[0], ids[1]});
                assertArrayEquals(new int[] {0, 0}, new int[] {lens[0], lens[1]});
                assertEquals(1, p.driver.collect(ids, lens, 8));
                assertEquals(c, ids[0]);
                assertEquals(77, lens[0]);
                assertEquals(8, p.driver.freeDescriptors());
                assertEquals(0, p.driver.inFlight());
                assertFalse(p.driver.hasUsed());
            }
        }
    }

    /**
     * Our packed device under IN_ORDER: a run of chains pushed with length 0 (a transmit queue)
     * goes out as one used descriptor at the run's first slot, naming its last buffer; a chain
     * with a length ends the run and is written on its own. The driver completes all of them.
     */
    @org.junit.jupiter.api.Test
    void packedDeviceReturnsALengthZeroRunAsOneUsedDescriptor() {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.IN_ORDER);
        try (RingPair p = new RingPair(RingPair.Kind.PACKED, 8, f, 0, 1 << 20)) {
            PackedRing r = (PackedRing) p.ring;
            long buf = p.alloc.allocate(4096, 64);
            DescriptorChain c = new DescriptorChain();
            int[] ids = new int[8], lens = new int[8];
            for (int lap = 0; lap < 5; lap++) {
                int a = p.driver.offer(buf, 100, false);
                int b = p.driver.offer(new long[] {buf, buf + 200}, new int[] {100, 100}, 0, 2, 2);
                int w = p.driver.offer(buf + 400, 100, true);
                int d = p.driver.offer(buf + 600, 100, false);
                p.driver.publish();
                int start = p.device instanceof PackedQueueDevice pd ? pd.usedPosition() : -1;
                int[] written = {0, 0, 60, 0};
                for (int k = 0; k < 4; k++) {
                    assertTrue(p.device.pop(c));
                    p.device.push(c, written[k]);
                }
                p.device.publish();
                // slots: a (1), b (2), w (1), d (1): used descriptors only at the run starts
                // start (a..b, naming b), start+3 (w, 60) and start+4 (d)
                MemorySegment dr = r.descRing();
                assertEquals(b, Short.toUnsignedInt(dr.get(S, 16L * (start % 8) + 12)), "run of a, b names b");
                assertEquals(w, Short.toUnsignedInt(dr.get(S, 16L * ((start + 3) % 8) + 12)));
                assertEquals(60, dr.get(I, 16L * ((start + 3) % 8) + 8));
                assertEquals(d, Short.toUnsignedInt(dr.get(S, 16L * ((start + 4) % 8) + 12)));
                assertEquals(4, p.driver.collect(ids, lens, 8));
                assertArrayEquals(new int[] {a, b, w, d}, java.util.Arrays.copyOf(ids, 4));
                assertArrayEquals(new int[] {0, 0, 60, 0}, java.util.Arrays.copyOf(lens, 4));
                assertEquals(8, p.driver.freeDescriptors());
            }
        }
    }

    /** What a batching in-order device writes: one used entry for chain {@code id}. */
    private static void writeSingleUsed(RingPair p, int id, int len, int lap) {
        if (p.ring instanceof SplitRing r) {
            MemorySegment u = r.usedRing();
            int idx = Short.toUnsignedInt(u.get(S, 2));
            long e = 4 + 8L * (idx % r.size());
            u.set(I, e, id);
            u.set(I, e + 4, len);
            u.set(S, 2, (short) (idx + 1));
        } else {
            PackedRing r = (PackedRing) p.ring;
            // used descriptors go where the batch started: 4 slots per lap, wrap counter flips every 2 laps
            int pos = (4 * lap) % r.size();
            boolean wrap = ((4 * lap) / r.size()) % 2 == 0;
            MemorySegment d = r.descRing();
            d.set(I, 16L * pos + 8, len);
            d.set(S, 16L * pos + 12, (short) id);
            d.set(S, 16L * pos + 14,
                    (short) (wrap ? (VirtqLayout.VIRTQ_DESC_F_AVAIL | VirtqLayout.VIRTQ_DESC_F_USED) : 0));
        }
    }
}
