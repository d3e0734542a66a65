package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;
import static ringlink.virtio.VirtqLayout.*;
import static ringlink.virtio.VirtqueueException.Reason.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * The per-chain and per-call bounds of the device side (issue 15 item 2): a peer controls chain
 * length and queue size (up to 32768), so the work one pop does and the memory a chain keeps
 * must be bounded by constants, not by the queue size. Split and packed, direct and indirect,
 * zero-length descriptors included.
 */
class ChainLimitTest {
    static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final FeatureSet ALL =
            FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.INDIRECT_DESC, VirtioFeature.EVENT_IDX);
    static final int MAX = VirtqueueDevice.MAX_CHAIN_ELEMENTS;

    /** 4 MiB of guest memory at 0x10000: a 32768-entry ring (≤ 1 MiB), two indirect tables of 32 KiB, buffers. */
    static final class Mem implements AutoCloseable {
        final Arena arena = Arena.ofConfined();
        final GuestMemory mem = GuestMemory.of(GuestMemory.Region.of(0x10000, arena.allocate(4 << 20, 4096)));
        final GuestAllocator alloc = new GuestAllocator(mem.region(0));
        final long buf = alloc.allocate(4096, 64);
        final long table = alloc.allocate(16L * 2 * MAX + 64, 16);

        void tableEntry(int i, long addr, int len, int flags, int next) {
            MemorySegment t = mem.slice(table + 16L * i, 16);
            t.set(L, 0, addr);
            t.set(I, 8, len);
            t.set(S, 12, (short) flags);
            t.set(S, 14, (short) next);
        }

        @Override public void close() { arena.close(); }
    }

    /** Split ring with chains of {@code len} direct descriptors from slot 0 (each {@code segLen} bytes). */
    static SplitQueueDevice split(Mem m, int size, int heads, int len, int segLen) {
        SplitRing r = SplitRing.allocate(m.mem, m.alloc, size);
        MemorySegment d = r.descTable();
        int slot = 0;
        for (int h = 0; h < heads; h++) {
            r.availRing().set(S, 4 + 2L * h, (short) slot);
            for (int k = 0; k < len; k++, slot++) {
                d.set(L, 16L * slot, m.buf);
                d.set(I, 16L * slot + 8, segLen);
                d.set(S, 16L * slot + 12, (short) (k < len - 1 ? VIRTQ_DESC_F_NEXT : 0));
                d.set(S, 16L * slot + 14, (short) (slot + 1));
            }
        }
        r.availRing().set(S, 2, (short) heads);
        return new SplitQueueDevice(r, m.mem, ALL);
    }

    static SplitQueueDevice splitIndirect(Mem m, int size, int entries, int segLen) {
        for (int i = 0; i < entries; i++)
                m.tableEntry(i, m.buf, segLen, i < entries - 1 ? VIRTQ_DESC_F_NEXT : 0, i + 1);
        SplitRing r = SplitRing.allocate(m.mem, m.alloc, size);
        MemorySegment d = r.descTable();
        d.set(L, 0, m.table);
        d.set(I, 8, 16 * entries);
        d.set(S, 12, (short) VIRTQ_DESC_F_INDIRECT);
        r.availRing().set(S, 4, (short) 0);
        r.availRing().set(S, 2, (short) 1);
        return new SplitQueueDevice(r, m.mem, ALL);
    }

    /** Packed ring whose first chain is {@code len} descriptors (first lap, buffer id 0). */
    static PackedQueueDevice packed(Mem m, int size, int len, int segLen) {
        PackedRing r = PackedRing.allocate(m.mem, m.alloc, size);
        MemorySegment d = r.descRing();
        for (int k = 0; k < len; k++) {
            d.set(L, 16L * k, m.buf);
            d.set(I, 16L * k + 8, segLen);
            d.set(S, 16L * k + 12, (short) 0);
            d.set(S, 16L * k + 14, (short) (VIRTQ_DESC_F_AVAIL | (k < len - 1 ? VIRTQ_DESC_F_NEXT : 0)));
        }
        return new PackedQueueDevice(r, m.mem, ALL);
    }

    static PackedQueueDevice packedIndirect(Mem m, int size, int entries) {
        for (int i = 0; i < entries; i++) m.tableEntry(i, m.buf, 8, 0, 0);
        PackedRing r = PackedRing.allocate(m.mem, m.alloc, size);
        MemorySegment d = r.descRing();
        d.set(L, 0, m.table);
        d.set(I, 8, 16 * entries);
        d.set(S, 12, (short) 0);
        d.set(S, 14, (short) (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_INDIRECT));
        return new PackedQueueDevice(r, m.mem, ALL);
    }

    static void expect(VirtqueueException.Reason r, VirtqueueDevice dev) {
        VirtqueueException x = assertThrows(VirtqueueException.class, () -> dev.pop(new DescriptorChain()));
        assertEquals(r, x.reason(), x.getMessage());
        assertEquals(r, dev.failure().reason());
    }

    @Test
    void splitDirectChainIsCappedWhateverTheQueueSize() {
        try (Mem m = new Mem()) {
            DescriptorChain c = new DescriptorChain();
            assertTrue(split(m, 32768, 1, MAX, 8).pop(c));
            assertEquals(MAX, c.segmentCount());
            assertEquals(MAX, c.elementCount());
        }
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, split(m, 32768, 1, MAX + 1, 8));
        }
        // Zero-length descriptors add no segment but cost a step: they count.
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, split(m, 32768, 1, MAX + 1, 0));
        }
    }

    @Test
    void splitIndirectTableIsCapped() {
        try (Mem m = new Mem()) {
            DescriptorChain c = new DescriptorChain();
            assertTrue(splitIndirect(m, 32768, MAX, 8).pop(c));
            assertEquals(MAX, c.elementCount());
        }
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, splitIndirect(m, 32768, MAX + 1, 8));
        }
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, splitIndirect(m, 32768, MAX + 1, 0));
        }
    }

    @Test
    void packedChainsAreCapped() {
        try (Mem m = new Mem()) {
            DescriptorChain c = new DescriptorChain();
            assertTrue(packed(m, 32768, MAX, 8).pop(c));
            assertEquals(MAX, c.elementCount());
        }
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, packed(m, 32768, MAX + 1, 0));
        }
        try (Mem m = new Mem()) {
            DescriptorChain c = new DescriptorChain();
            assertTrue(packedIndirect(m, 32768, MAX).pop(c));
            assertEquals(MAX, c.elementCount());
        }
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, packedIndirect(m, 32768, MAX + 1));
        }
    }

    @Test
    void smallQueueKeepsItsOwnLimit() {
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, splitIndirect(m, 16, 17, 8));
        }
        try (Mem m = new Mem()) {
            expect(CHAIN_TOO_LONG, packedIndirect(m, 16, 17));
        }
    }

    @Test
    void batchPopStopsAtTheWorkBudget() {
        int per = MAX;
        int heads = 12; // 12 chains of 1024 descriptors available: 12288 > MAX_BATCH_ELEMENTS
        try (Mem m = new Mem()) {
            SplitQueueDevice dev = split(m, 32768, heads, per, 8);
            DescriptorChain[] cs = new DescriptorChain[32];
            for (int i = 0; i < cs.length; i++) cs[i] = new DescriptorChain();
            int n = dev.pop(cs, cs.length);
            assertEquals(VirtqueueDevice.MAX_BATCH_ELEMENTS / per, n);
            assertEquals(heads - n, dev.pop(cs, cs.length)); // the rest on the next call
        }
    }

    @Test
    void chainArraysDoNotStayGrown() {
        try (Mem m = new Mem()) {
            SplitQueueDevice dev = split(m, 32768, 2, MAX, 8);
            DescriptorChain c = new DescriptorChain();
            assertTrue(dev.pop(c));
            assertTrue(c.capacity() >= MAX);
            SplitQueueDevice small = split(m, 8, 1, 1, 8);
            assertTrue(small.pop(c));
            assertTrue(c.capacity() <= DescriptorChain.RETAINED_SEGMENTS, "capacity " + c.capacity());
            assertEquals(1, c.segmentCount());
        }
    }

    /**
     * Any chain shape on any queue size: a pop either fails with a typed reason or returns a
     * chain within the caps (elements, segments, array capacity); a batch pop's work stays
     * within {@code MAX_BATCH_ELEMENTS + MAX_CHAIN_ELEMENTS}.
     */
    @Property(tries = 60)
    void noChainExceedsTheBounds(@ForAll("sizes") int size, @ForAll @IntRange(min = 1, max = 1500) int len,
                                 @ForAll @IntRange(min = 0, max = 3) int shape, @ForAll boolean packedRing,
                                 @ForAll @IntRange(min = 1, max = 10) int heads) {
        try (Mem m = new Mem()) {
            int segLen = (shape & 1) == 0 ? 8 : 0;
            boolean indirect = (shape & 2) != 0;
            VirtqueueDevice dev;
            if (packedRing) {
                dev = indirect ? packedIndirect(m, size, Math.min(len, 2 * MAX))
                        : packed(m, size, Math.min(len, size), segLen);
            } else if (indirect) {
                dev = splitIndirect(m, size, Math.min(len, 2 * MAX), segLen);
            } else {
                int l = Math.min(len, Math.max(1, size / heads));
                dev = split(m, size, Math.min(heads, size), l, segLen);
            }
            DescriptorChain[] cs = new DescriptorChain[16];
            for (int i = 0; i < cs.length; i++) cs[i] = new DescriptorChain();
            int n;
            try {
                n = dev.pop(cs, cs.length);
            } catch (VirtqueueException e) {
                assertNotNull(e.reason());
                return;
            }
            long work = 0;
            for (int i = 0; i < n; i++) {
                assertTrue(cs[i].elementCount() <= Math.min(size, MAX), cs[i].toString());
                assertTrue(cs[i].segmentCount() <= cs[i].elementCount());
                assertTrue(cs[i].capacity() <= Math.max(MAX, 8));
                work += cs[i].elementCount();
            }
            assertTrue(work < VirtqueueDevice.MAX_BATCH_ELEMENTS + MAX, "work " + work);
        }
    }

    @Provide
    Arbitrary<Integer> sizes() {
        return Arbitraries.of(1, 2, 16, 256, 1024, 2048, 32768);
    }
}
