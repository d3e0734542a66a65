package ringlink.virtio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One fuzz execution, independent of the fuzzing engine: builds guest memory whose first bytes
 * are the input (ring structures, indirect tables and buffers as a hostile other side wrote
 * them), then runs the device side (or, with bit 4 of the first byte, the driver side after it
 * offered some chains) for a few rounds. {@link VirtqueueException} is the expected outcome of
 * bad input; anything else escaping, or a popped chain that breaks an invariant, is a bug.
 *
 * <pre>
 * byte 0: bit0 packed, bit1 EVENT_IDX, bit2 INDIRECT_DESC, bit3 IN_ORDER, bit4 driver side
 * byte 1: queue size selector (split 1..64 powers of two, packed 1..64)
 * byte 2: driver side: chains to offer first
 * bytes 3..: guest memory image (at most 8 KiB), region 0 at guest address 0x10000 (64 KiB);
 *            region 1 at 0x20000 (4 KiB) directly follows it
 * Ring at fixed places: descriptors at 0x10000, avail / driver event at 0x10400,
 *                       used / device event at 0x10600.
 * </pre>
 *
 * <p>With byte 0 in 0x20..0x2f ({@link #LARGE} plus the mode bits) the input is not an image but a program for big
 * queues (device side, issue 15 item 2): queue sizes 128..32768 and chains up to 2200
 * descriptors long, direct or indirect, zero-length or not, built as a driver would write them
 * ({@link #runLarge}), then scribbled on by patches. Every pop is checked against the documented
 * bounds: descriptors per chain, segments, retained array capacity, work per call.
 */
final class RingFuzzHarness {
    static final long BASE = 0x10000;
    static final int IMAGE_MAX = 8192;

    private RingFuzzHarness() {}

    /** Mode bit: big-queue program instead of a memory image. */
    static final int LARGE = 0x20;

    static void run(byte[] input) {
        if (input.length < 3) return;
        int mode = input[0] & 0xff;
        // Only 0x20..0x2f: a big-queue run costs milliseconds, so a random first byte picks it
        // one time in 16 and the fuzzer keeps its pace on the image mode.
        if ((mode & 0xf0) == LARGE) {
            runLarge(input);
            return;
        }
        boolean packed = (mode & 1) != 0;
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1);
        if ((mode & 2) != 0) f = f.with(VirtioFeature.EVENT_IDX);
        if ((mode & 4) != 0) f = f.with(VirtioFeature.INDIRECT_DESC);
        if ((mode & 8) != 0) f = f.with(VirtioFeature.IN_ORDER);
        boolean driverSide = (mode & 16) != 0;
        int sel = input[1] & 0xff;
        int size = packed ? 1 + (sel & 63) : 1 << (sel % 7);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r0 = arena.allocate(65536, 4096);
            MemorySegment r1 = arena.allocate(4096, 4096);
            GuestMemory mem = GuestMemory.of(new GuestMemory.Region(BASE, 0x7000_0000L, r0),
                    new GuestMemory.Region(BASE + 65536, 0x7001_0000L, r1));
            int n = Math.min(input.length - 3, IMAGE_MAX);
            if (driverSide) {
                runDriver(mem, r0, packed, size, f, input[2] & 0xff, MemorySegment.ofArray(input), n);
            } else {
                MemorySegment.copy(MemorySegment.ofArray(input), 3, r0, 0, n);
                runDevice(mem, packed, size, f);
            }
        }
    }

    private static void runDevice(GuestMemory mem, boolean packed, int size, FeatureSet f) {
        VirtqueueDevice dev = packed
                ? new PackedQueueDevice(PackedRing.map(mem, size, BASE, BASE + 0x400, BASE + 0x600), mem, f)
                : new SplitQueueDevice(SplitRing.map(mem, size, BASE, BASE + 0x400, BASE + 0x600), mem, f);
        DescriptorChain[] chains = new DescriptorChain[4];
        for (int i = 0; i < chains.length; i++) chains[i] = new DescriptorChain();
        MemorySegment scratch = MemorySegment.ofArray(new byte[256]);
        try {
            for (int round = 0; round < 6; round++) {
                int got = dev.pop(chains, chains.length);
                for (int i = 0; i < got; i++) {
                    DescriptorChain c = chains[i];
                    check(c, size);
                    c.read(0, scratch, 0, Math.min(c.readableBytes(), 256));
                    long w = Math.min(c.writableBytes(), 256);
                    c.write(0, scratch, 0, w);
                    dev.push(c, (int) w);
                }
                dev.publish();
                if (got == 0) {
                    dev.enableNotifications();
                    dev.disableNotifications();
                }
            }
        } catch (VirtqueueException expected) {
            if (dev.failure() == null) throw new AssertionError("queue not failed after " + expected, expected);
            try {
                dev.pop(chains[0]);
                throw new AssertionError("failed queue popped again");
            } catch (VirtqueueException again) {
                if (again.reason() != VirtqueueException.Reason.QUEUE_FAILED)
                        throw new AssertionError("wrong reason " + again.reason());
            }
        }
    }

    private static void check(DescriptorChain c, int size) {
        if (c.segmentCount() > size)
                throw new AssertionError("chain of " + c.segmentCount() + " segments on a queue of " + size);
        if (c.readableBytes() + c.writableBytes() > 0xFFFF_FFFFL) throw new AssertionError("chain larger than 4 GiB");
        for (int i = 0; i < c.segmentCount(); i++) {
            long end = c.offset(i) + c.length(i);
            if (c.offset(i) < 0 || c.length(i) <= 0 || end > c.memory(i).byteSize()) {
                throw new AssertionError("segment " + i + " outside its region: " + c);
            }
        }
        if (c.id() < 0 || c.id() >= size) throw new AssertionError("chain id " + c.id() + " outside queue of " + size);
    }

    private static void runDriver(GuestMemory mem, MemorySegment r0, boolean packed, int size, FeatureSet f, int offers,
                                  MemorySegment image, int n) {
        // The driver's own structures live after the image area so the device-written parts
        // (used ring / descriptor ring) can be overwritten with the input alone.
        GuestAllocator alloc =
                new GuestAllocator(new GuestMemory.Region(BASE + 0x8000, 0x7000_8000L, r0.asSlice(0x8000, 0x8000)));
        VirtqueueDriver drv;
        MemorySegment deviceWritten;
        long devOff;
        if (packed) {
            PackedRing ring = PackedRing.map(mem, size, BASE, BASE + 0x400, BASE + 0x600);
            drv = new PackedQueueDriver(ring, f, alloc, 4);
            deviceWritten = r0;
            devOff = 0;
        } else {
            SplitRing ring = SplitRing.map(mem, size, BASE, BASE + 0x400, BASE + 0x600);
            drv = new SplitQueueDriver(ring, f, alloc, 4);
            deviceWritten = r0;
            devOff = 0x600;
        }
        long buf = alloc.allocate(4096, 64);
        long[] addrs = {buf, buf + 64, buf + 128, buf + 512};
        int[] lens = {64, 64, 384, 1024};
        long[] writable = new long[size];
        boolean[] offered = new boolean[size];
        for (int i = 0; i < Math.min(offers, size); i++) {
            int k = 1 + (i % 4);
            int id = drv.offer(addrs, lens, 0, k, i % (k + 1));
            if (id < 0) break;
            offered[id] = true;
            long w = 0;
            for (int e = i % (k + 1); e < k; e++) w += lens[e];
            writable[id] = w;
        }
        drv.publish();
        // The "device" writes: the image overwrites the used ring (split) or the descriptor ring (packed).
        long len = packed ? Math.min(n, 16L * size) : Math.min(n, 6 + 8L * size);
        MemorySegment.copy(image, 3, deviceWritten, devOff, len);
        int[] ids = new int[size], got = new int[size];
        try {
            for (int round = 0; round < 3; round++) {
                int c = drv.collect(ids, got, size);
                for (int i = 0; i < c; i++) {
                    if (!offered[ids[i]]) throw new AssertionError("collected id " + ids[i] + " never offered");
                    if (Integer.toUnsignedLong(got[i]) > writable[ids[i]])
                            throw new AssertionError("length above writable");
                    offered[ids[i]] = false;
                }
                drv.enableNotifications();
                drv.disableNotifications();
            }
        } catch (VirtqueueException expected) {
            if (drv.failure() == null) throw new AssertionError("queue not failed after " + expected, expected);
        }
    }

    // ---- big queues: a program, not an image ----

    static final long L_AVAIL = 0x80000, L_USED = 0xA0000, L_TABLE = 0x100000, L_BUF = 0x180000, L_SIZE = 0x200000;

    /**
     * <pre>
     * byte 0: LARGE | bit0 packed, bit1 EVENT_IDX, bit2 INDIRECT_DESC, bit3 IN_ORDER
     * byte 1: queue size 1 << (7 + sel % 9): 128 .. 32768
     * byte 2: chains to build (at most 16)
     * then 4 bytes per chain: kind, length (u16 LE, % 2200 + 1), aux
     *   kind bit0 indirect, bit1 zero-length descriptors, bit2 device-writable,
     *        bit3 readable first half then writable, bit4 loop back to the head (split),
     *        bit5 one buffer outside memory (entry aux)
     * then 3-byte patches: u16 LE descriptor index, a byte XORed into that descriptor at aux % 16
     * </pre>
     */
    static void runLarge(byte[] in) {
        int mode = in[0] & 0xff;
        boolean packed = (mode & 1) != 0;
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1);
        if ((mode & 2) != 0) f = f.with(VirtioFeature.EVENT_IDX);
        if ((mode & 4) != 0) f = f.with(VirtioFeature.INDIRECT_DESC);
        if ((mode & 8) != 0) f = f.with(VirtioFeature.IN_ORDER);
        int size = 1 << (7 + (in[1] & 0xff) % 9);
        int chains = Math.min(in[2] & 0xff, 16);
        {
            // One region for all big runs (allocating and faulting in 2 MiB per run cost more
            // than the run); only what a run wrote is cleared for the next.
            MemorySegment r = largeRegion();
            r.asSlice(0, 16L * size).fill((byte) 0);
            r.asSlice(L_AVAIL, L_TABLE - L_AVAIL + 16L * 2200).fill((byte) 0);
            GuestMemory mem = GuestMemory.of(new GuestMemory.Region(BASE, 0x7000_0000L, r));
            int p = 3;
            int slot = 0;
            boolean wrap = true;
            int built = 0;
            for (; built < chains && p + 4 <= in.length; built++, p += 4) {
                int kind = in[p] & 0xff;
                int len = ((in[p + 1] & 0xff) | (in[p + 2] & 0xff) << 8) % 2200 + 1;
                int aux = in[p + 3] & 0xff;
                int head = slot;
                if ((kind & 1) != 0) {
                    // One ring slot pointing at a table of len entries.
                    for (int k = 0; k < len; k++) {
                        int fl =
                                entryFlags(kind, k, len) | (packed || k == len - 1 ? 0 : VirtqLayout.VIRTQ_DESC_F_NEXT);
                        putDesc(r, packed, L_TABLE + 16L * k, entryAddr(kind, aux, k), (kind & 2) != 0 ? 0 : 16, fl,
                                packed ? 0 : k + 1);
                    }
                    int fl = VirtqLayout.VIRTQ_DESC_F_INDIRECT;
                    if (packed) fl |= availFlags(wrap);
                    putDesc(r, packed, 16L * slot, BASE + L_TABLE, 16 * len, fl, packed ? built % size : 0);
                    slot++;
                    if (slot == size) {
                        slot = 0;
                        wrap = !wrap;
                    }
                } else {
                    for (int k = 0; k < len; k++) {
                        boolean last = k == len - 1;
                        int fl = entryFlags(kind, k, len) | (last ? 0 : VirtqLayout.VIRTQ_DESC_F_NEXT);
                        int next = (slot + 1) % size;
                        if (last && (kind & 16) != 0 && !packed) {
                            fl |= VirtqLayout.VIRTQ_DESC_F_NEXT;
                            next = head; // a loop
                        }
                        if (packed) fl |= availFlags(wrap);
                        putDesc(r, packed, 16L * slot, entryAddr(kind, aux, k), (kind & 2) != 0 ? 0 : 16, fl,
                                packed ? built % size : next);
                        slot++;
                        if (slot == size) {
                            slot = 0;
                            wrap = !wrap;
                        }
                    }
                }
                if (!packed) r.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED,
                        L_AVAIL + 4 + 2L * (built % size), (short) head);
            }
            if (!packed) r.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, L_AVAIL + 2, (short) built);
            for (; p + 3 <= in.length; p += 3) {
                int d = ((in[p] & 0xff) | (in[p + 1] & 0xff) << 8) % size;
                int at = (in[p + 2] & 0xff) % 16;
                long o = 16L * d + at;
                r.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o,
                        (byte) (r.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o) ^ in[p + 2]));
            }
            VirtqueueDevice dev = packed
                    ? new PackedQueueDevice(PackedRing.map(mem, size, BASE, BASE + L_AVAIL, BASE + L_USED), mem, f)
                    : new SplitQueueDevice(SplitRing.map(mem, size, BASE, BASE + L_AVAIL, BASE + L_USED), mem, f);
            popLarge(dev, size);
        }
    }

    private static MemorySegment largeRegion;

    private static synchronized MemorySegment largeRegion() {
        if (largeRegion == null) largeRegion = Arena.global().allocate(L_SIZE, 4096);
        return largeRegion;
    }

    private static int entryFlags(int kind, int k, int len) {
        boolean w = (kind & 4) != 0 || ((kind & 8) != 0 && k >= len / 2);
        return w ? VirtqLayout.VIRTQ_DESC_F_WRITE : 0;
    }

    private static long entryAddr(int kind, int aux, int k) {
        if ((kind & 32) != 0 && k == aux) return 0x5000; // below the region
        return BASE + L_BUF + 16L * (k % 256);
    }

    private static int availFlags(boolean wrap) {
        return wrap ? VirtqLayout.VIRTQ_DESC_F_AVAIL : VirtqLayout.VIRTQ_DESC_F_USED;
    }

    /** Split: addr, len, flags, next. Packed: addr, len, id, flags (so flags go last there). */
    private static void putDesc(MemorySegment r, boolean packed, long off, long addr, int len, int flags,
            int nextOrId) {
        r.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, off, addr);
        r.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, off + 8, len);
        r.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, off + 12, (short) (packed ? nextOrId : flags));
        r.set(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, off + 14, (short) (packed ? flags : nextOrId));
    }

    /** Pops in batches and checks every documented bound (per chain, per call, retained memory). */
    private static void popLarge(VirtqueueDevice dev, int size) {
        DescriptorChain[] chains = new DescriptorChain[16];
        for (int i = 0; i < chains.length; i++) chains[i] = new DescriptorChain();
        int maxElements = Math.min(size, VirtqueueDevice.MAX_CHAIN_ELEMENTS);
        try {
            for (int round = 0; round < 8; round++) {
                int got = dev.pop(chains, chains.length);
                long work = 0;
                for (int i = 0; i < got; i++) {
                    DescriptorChain c = chains[i];
                    check(c, size);
                    if (c.elementCount() > maxElements)
                            throw new AssertionError("chain walked " + c.elementCount() + " > " + maxElements);
                    if (c.segmentCount() > c.elementCount())
                            throw new AssertionError("more segments than descriptors: " + c);
                    if (c.capacity() > Math.max(DescriptorChain.RETAINED_SEGMENTS, 2 * c.segmentCount())) {
                        throw new AssertionError("chain keeps arrays of " + c.capacity() + " for " + c.segmentCount()
                                + " segments");
                    }
                    work += c.elementCount();
                    dev.push(c, 0);
                }
                if (work >= VirtqueueDevice.MAX_BATCH_ELEMENTS + maxElements)
                        throw new AssertionError("one pop walked " + work);
                dev.publish();
                if (got == 0) break;
            }
        } catch (VirtqueueException expected) {
            if (dev.failure() == null) throw new AssertionError("queue not failed after " + expected, expected);
        }
    }
}
