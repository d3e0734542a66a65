package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;
import static ringlink.virtio.VirtqLayout.*;
import static ringlink.virtio.VirtqueueException.Reason.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Every kind of hostile ring content gives its typed error, fails only that queue, and leaves
 * the others (and the JVM) running. A raw mock writes ring memory directly, as a malicious guest
 * or device would.
 */
class HostileInputTest {
    static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final FeatureSet ALL =
            FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.INDIRECT_DESC, VirtioFeature.EVENT_IDX);

    final Arena arena = Arena.ofShared();
    // Two adjacent regions: [0x10000, +1 MiB) and [0x110000, +64 KiB)
    final MemorySegment a = arena.allocate(1 << 20, 4096);
    final MemorySegment b = arena.allocate(1 << 16, 4096);
    final GuestMemory mem = GuestMemory.of(GuestMemory.Region.of(0x10000, a), GuestMemory.Region.of(0x110000, b));
    final GuestAllocator alloc = new GuestAllocator(mem.region(0));
    final long buf = alloc.allocate(4096, 64);

    @AfterEach
    void close() { arena.close(); }

    static void expect(VirtqueueException.Reason r, Executable e) {
        VirtqueueException x = assertThrows(VirtqueueException.class, e);
        assertEquals(r, x.reason(), x.getMessage());
    }

    // ---------------- split, device side ----------------

    final class RawSplit {
        final SplitRing ring;
        final SplitQueueDevice dev;
        int availIdx;

        RawSplit(int size, FeatureSet f) {
            ring = SplitRing.allocate(mem, alloc, size);
            dev = new SplitQueueDevice(ring, mem, f);
        }

        RawSplit desc(int i, long addr, int len, int flags, int next) {
            MemorySegment d = ring.descTable();
            d.set(L, 16L * i, addr);
            d.set(I, 16L * i + 8, len);
            d.set(S, 16L * i + 12, (short) flags);
            d.set(S, 16L * i + 14, (short) next);
            return this;
        }

        RawSplit avail(int head) {
            ring.availRing().set(S, 4 + 2L * (availIdx % ring.size()), (short) head);
            availIdx++;
            ring.availRing().set(S, 2, (short) availIdx);
            return this;
        }

        void popExpect(VirtqueueException.Reason r) {
            expect(r, () -> dev.pop(new DescriptorChain()));
            expect(QUEUE_FAILED, () -> dev.pop(new DescriptorChain()));
            expect(QUEUE_FAILED, dev::publish);
            assertEquals(r, dev.failure().reason());
        }
    }

    @Test
    void splitHeadOutOfRange() { new RawSplit(8, ALL).avail(8).popExpect(INDEX_OUT_OF_RANGE); }

    @Test
    void splitNextOutOfRange() {
            new RawSplit(8, ALL).desc(0, buf, 8, VIRTQ_DESC_F_NEXT, 9).avail(0).popExpect(INDEX_OUT_OF_RANGE); }

    @Test
    void splitLoop() {
        new RawSplit(8, ALL).desc(0, buf, 8, VIRTQ_DESC_F_NEXT, 1).desc(1, buf, 8, VIRTQ_DESC_F_NEXT, 0).avail(0)
                .popExpect(CHAIN_TOO_LONG);
    }

    @Test
    void splitSelfLoopOnMaxQueue() {
        new RawSplit(32768, ALL).desc(5, buf, 8, VIRTQ_DESC_F_NEXT, 5).avail(5).popExpect(CHAIN_TOO_LONG);
    }

    @Test
    void splitAvailIdxJump() {
        RawSplit r = new RawSplit(8, ALL);
        r.ring.availRing().set(S, 2, (short) 9);
        r.popExpect(AVAIL_IDX_JUMP);
    }

    @Test
    void splitAddressOutsideMemory() { new RawSplit(8, ALL).desc(0, 0x5000, 8, 0, 0).avail(0).popExpect(BAD_ADDRESS); }

    @Test
    void splitAddressWrapsAround() { new RawSplit(8, ALL).desc(0, -8L, 64, 0, 0).avail(0).popExpect(BAD_ADDRESS); }

    @Test
    void splitBufferCrossesRegionBoundary() {
        // The regions are adjacent in guest addresses, but one buffer may not span both.
        new RawSplit(8, ALL).desc(0, 0x110000 - 8, 16, 0, 0).avail(0).popExpect(BAD_ADDRESS);
    }

    @Test
    void splitHugeDescriptorLength() {
            new RawSplit(8, ALL).desc(0, buf, 0x8000_0000, 0, 0).avail(0).popExpect(LENGTH_OVERFLOW); }

    @Test
    void chainLengthSumOverflow() {
        DescriptorChain c = new DescriptorChain();
        c.reset(0);
        c.add(a, 0, Integer.MAX_VALUE, 0, true);
        c.add(a, 0, Integer.MAX_VALUE, 0, true);
        VirtqueueException e = assertThrows(VirtqueueException.class, () -> c.add(a, 0, Integer.MAX_VALUE, 0, true));
        assertEquals(LENGTH_OVERFLOW, e.reason());
    }

    @Test
    void splitReadableAfterWritable() {
        new RawSplit(8, ALL).desc(0, buf, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1).desc(1, buf, 8, 0, 0).avail(0)
                .popExpect(BAD_ORDER);
    }

    @Test
    void splitIndirectNotNegotiated() {
        new RawSplit(8, FeatureSet.NONE).desc(0, buf, 32, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(BAD_INDIRECT);
    }

    @Test
    void splitIndirectWithNext() {
        new RawSplit(8, ALL).desc(0, buf, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1).avail(0)
                .popExpect(NESTED_INDIRECT);
    }

    @Test
    void splitIndirectBadLength() {
        new RawSplit(8, ALL).desc(0, buf, 17, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(BAD_INDIRECT);
        new RawSplit(8, ALL).desc(0, buf, 0, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(BAD_INDIRECT);
    }

    @Test
    void splitIndirectTooLong() {
        new RawSplit(8, ALL).desc(0, buf, 16 * 9, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(CHAIN_TOO_LONG);
    }

    @Test
    void splitIndirectTableOutsideMemory() {
        new RawSplit(8, ALL).desc(0, 0x1_0000_0000L, 32, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(BAD_ADDRESS);
    }

    private void table(long gpa, int i, long addr, int len, int flags, int next) {
        MemorySegment t = mem.slice(gpa, 16L * (i + 1));
        t.set(L, 16L * i, addr);
        t.set(I, 16L * i + 8, len);
        t.set(S, 16L * i + 12, (short) flags);
        t.set(S, 16L * i + 14, (short) next);
    }

    @Test
    void splitIndirectInsideIndirect() {
        long t = alloc.allocate(64, 16);
        table(t, 0, buf, 8, VIRTQ_DESC_F_NEXT, 1);
        table(t, 1, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
        new RawSplit(8, ALL).desc(0, t, 32, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(NESTED_INDIRECT);
    }

    @Test
    void splitIndirectLoop() {
        long t = alloc.allocate(64, 16);
        table(t, 0, buf, 8, VIRTQ_DESC_F_NEXT, 1);
        table(t, 1, buf, 8, VIRTQ_DESC_F_NEXT, 0);
        new RawSplit(8, ALL).desc(0, t, 32, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(CHAIN_TOO_LONG);
    }

    @Test
    void splitIndirectNextOutOfTable() {
        long t = alloc.allocate(64, 16);
        table(t, 0, buf, 8, VIRTQ_DESC_F_NEXT, 2);
        table(t, 1, buf, 8, 0, 0);
        new RawSplit(8, ALL).desc(0, t, 32, VIRTQ_DESC_F_INDIRECT, 0).avail(0).popExpect(INDEX_OUT_OF_RANGE);
    }

    @Test
    void failedQueueLeavesOtherQueuesWorking() {
        RawSplit bad = new RawSplit(8, ALL);
        bad.avail(100).popExpect(INDEX_OUT_OF_RANGE);
        RawSplit good = new RawSplit(8, ALL);
        good.desc(3, buf, 100, 0, 0).avail(3);
        DescriptorChain c = new DescriptorChain();
        assertTrue(good.dev.pop(c));
        assertEquals(3, c.id());
        assertEquals(100, c.readableBytes());
    }

    @Test
    void badRingSetup() {
        expect(BAD_RING_SETUP, () -> SplitRing.map(mem, 6, buf, buf + 256, buf + 512));
        expect(BAD_RING_SETUP, () -> SplitRing.map(mem, 65536, buf, buf, buf));
        expect(BAD_RING_SETUP, () -> SplitRing.map(mem, 8, buf + 8, buf + 256, buf + 512));
        expect(BAD_RING_SETUP, () -> SplitRing.map(mem, 8, buf, buf + 256, buf + 514));
        expect(BAD_RING_SETUP, () -> SplitRing.map(mem, 8, 0x110000 + 65536 - 64, buf + 256, buf + 512));
        expect(BAD_RING_SETUP, () -> PackedRing.map(mem, 0, buf, buf + 256, buf + 512));
        expect(BAD_RING_SETUP, () -> PackedRing.map(mem, 8, buf, buf + 258, buf + 512));
        assertThrows(GuestMemoryException.class, () -> mem.slice(0x10000 + (1 << 20) - 4, 8));
        assertThrows(GuestMemoryException.class, () -> mem.slice(0x10000, -1));
        assertThrows(GuestMemoryException.class, () -> mem.userToGuest(12, 1));
    }

    // ---------------- split, driver side ----------------

    @Test
    void splitDriverRejectsUnknownUsedIdAndBadLengths() {
        for (int variant = 0; variant < 5; variant++) {
            SplitRing ring = SplitRing.allocate(mem, alloc, 8);
            SplitQueueDriver drv = new SplitQueueDriver(ring, ALL);
            int id = drv.offer(buf, 64, true);
            drv.publish();
            MemorySegment u = ring.usedRing();
            VirtqueueException.Reason want;
            switch (variant) {
                case 0 -> { u.set(I, 4, 5); u.set(I, 8, 1); u.set(S, 2, (short) 1); want = UNKNOWN_USED_ID; }
                case 1 -> { u.set(I, 4, -1); u.set(I, 8, 1); u.set(S, 2, (short) 1); want = UNKNOWN_USED_ID; }
                case 2 -> { u.set(I, 4, id); u.set(I, 8, 65); u.set(S, 2, (short) 1); want = USED_LEN_TOO_LONG; }
                case 3 -> { u.set(S, 2, (short) 2); want = USED_IDX_JUMP; }
                default -> { // the same id completed twice
                    u.set(I, 4, id); u.set(I, 8, 1); u.set(I, 12, id); u.set(I, 16, 1); u.set(S, 2, (short) 1);
                    assertEquals(1, drv.collect(new int[8], new int[8], 8));
                    drv.offer(buf, 64, true);
                    u.set(S, 2, (short) 2);
                    // entry 1 names id again; it is in flight again now (re-offered), so that is legal...
                    // ...but a third entry naming an id that is not in flight is not:
                    drv.collect(new int[8], new int[8], 8);
                    u.set(I, 20, id); u.set(I, 24, 1); u.set(S, 2, (short) 3);
                    want = null;
                }
            }
            if (want == null) {
                // used.idx 3 with only 0 in flight: the index jumped
                expect(USED_IDX_JUMP, () -> drv.collect(new int[8], new int[8], 8));
                continue;
            }
            VirtqueueException.Reason w = want;
            expect(w, () -> drv.collect(new int[8], new int[8], 8));
            expect(QUEUE_FAILED, () -> drv.offer(buf, 8, false));
        }
    }

    // ---------------- packed, device side ----------------

    final class RawPacked {
        final PackedRing ring;
        final PackedQueueDevice dev;

        RawPacked(int size, FeatureSet f) {
            ring = PackedRing.allocate(mem, alloc, size);
            dev = new PackedQueueDevice(ring, mem, f);
        }

        /** Writes a descriptor available in the first lap (AVAIL=1, USED=0). */
        RawPacked desc(int i, long addr, int len, int id, int flags) {
            MemorySegment d = ring.descRing();
            d.set(L, 16L * i, addr);
            d.set(I, 16L * i + 8, len);
            d.set(S, 16L * i + 12, (short) id);
            d.set(S, 16L * i + 14, (short) (flags | VIRTQ_DESC_F_AVAIL));
            return this;
        }

        RawPacked rawFlags(int i, int flags) {
            ring.descRing().set(S, 16L * i + 14, (short) flags);
            return this;
        }

        void popExpect(VirtqueueException.Reason r) {
            expect(r, () -> dev.pop(new DescriptorChain()));
            expect(QUEUE_FAILED, () -> dev.pop(new DescriptorChain()));
        }
    }

    @Test
    void packedChainContinuesIntoUnavailableDescriptor() {
        new RawPacked(8, ALL).desc(0, buf, 8, 0, VIRTQ_DESC_F_NEXT).popExpect(WRAP_COUNTER);
    }

    @Test
    void packedWrapCounterLieInChain() {
        // Second descriptor claims the next lap's avail state (AVAIL=0, USED=1).
        new RawPacked(8, ALL).desc(0, buf, 8, 0, VIRTQ_DESC_F_NEXT).desc(1, buf, 8, 0, 0)
                .rawFlags(1, VIRTQ_DESC_F_USED).popExpect(WRAP_COUNTER);
    }

    @Test
    void packedChainWrapsAroundWholeRing() {
        RawPacked r = new RawPacked(4, ALL);
        for (int i = 0; i < 4; i++) r.desc(i, buf, 8, 0, VIRTQ_DESC_F_NEXT);
        r.popExpect(WRAP_COUNTER);
    }

    @Test
    void packedBufferIdOutOfRange() { new RawPacked(8, ALL).desc(0, buf, 8, 8, 0).popExpect(BAD_BUFFER_ID); }

    @Test
    void packedBufferIdReusedWhileInUse() {
        RawPacked r = new RawPacked(8, ALL).desc(0, buf, 8, 3, 0).desc(1, buf, 8, 3, 0);
        assertTrue(r.dev.pop(new DescriptorChain()));
        r.popExpect(BAD_BUFFER_ID);
    }

    @Test
    void packedIndirect() {
        new RawPacked(8, FeatureSet.NONE).desc(0, buf, 32, 0, VIRTQ_DESC_F_INDIRECT).popExpect(BAD_INDIRECT);
        new RawPacked(8, ALL).desc(0, buf, 33, 0, VIRTQ_DESC_F_INDIRECT).popExpect(BAD_INDIRECT);
        new RawPacked(8, ALL).desc(0, buf, 16 * 9, 0, VIRTQ_DESC_F_INDIRECT).popExpect(CHAIN_TOO_LONG);
        new RawPacked(8, ALL).desc(0, buf, 32, 0, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT).popExpect(NESTED_INDIRECT);
        new RawPacked(8, ALL).desc(0, buf, 8, 0, VIRTQ_DESC_F_NEXT).desc(1, buf, 32, 0, VIRTQ_DESC_F_INDIRECT)
                .popExpect(NESTED_INDIRECT);
        long t = alloc.allocate(64, 16);
        // packed table entries: flags at offset 14 (id at 12)
        table(t, 0, buf, 8, 0, 0);
        table(t, 1, t, 32, 0, VIRTQ_DESC_F_INDIRECT);
        new RawPacked(8, ALL).desc(0, t, 32, 0, VIRTQ_DESC_F_INDIRECT).popExpect(NESTED_INDIRECT);
        new RawPacked(8, ALL).desc(0, 0x7000_0000, 32, 0, VIRTQ_DESC_F_INDIRECT).popExpect(BAD_ADDRESS);
    }

    @Test
    void packedBadAddressAndOrder() {
        new RawPacked(8, ALL).desc(0, 0x110000 + 65000, 1000, 0, 0).popExpect(BAD_ADDRESS);
        new RawPacked(8, ALL).desc(0, buf, 8, 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE).desc(1, buf, 8, 0, 0)
                .popExpect(BAD_ORDER);
    }

    // ---------------- packed, driver side ----------------

    @Test
    void packedDriverRejectsUnknownIdAndLongLength() {
        for (int variant = 0; variant < 2; variant++) {
            PackedRing ring = PackedRing.allocate(mem, alloc, 8);
            PackedQueueDriver drv = new PackedQueueDriver(ring, ALL);
            int id = drv.offer(buf, 64, true);
            drv.publish();
            MemorySegment d = ring.descRing();
            d.set(S, 12, (short) (variant == 0 ? id + 1 : id));
            d.set(I, 8, variant == 0 ? 1 : 65);
            d.set(S, 14, (short) (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED));
            expect(variant == 0 ? UNKNOWN_USED_ID : USED_LEN_TOO_LONG, () -> drv.collect(new int[8], new int[8], 8));
            expect(QUEUE_FAILED, drv::publish);
        }
    }

    @Test
    void packedDriverIgnoresUsedMarkOfWrongLap() {
        PackedRing ring = PackedRing.allocate(mem, alloc, 8);
        PackedQueueDriver drv = new PackedQueueDriver(ring, ALL);
        drv.offer(buf, 64, true);
        drv.publish();
        // used bits for the *next* lap (0/0) are not "used" now: nothing to collect, no error.
        ring.descRing().set(S, 14, (short) 0);
        assertEquals(0, drv.collect(new int[8], new int[8], 8));
        assertFalse(drv.isFailed());
    }
}
