package ringlink.virtio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes seed inputs for {@link VirtqueueFuzzTest} (valid ring images made by the real
 * driver/device in {@link RingFuzzHarness}'s layout), so the fuzzer starts from rings that get
 * past the first checks. Run by hand: {@code java -cp target/test-classes:target/classes
 * ringlink.virtio.RingFuzzSeeds DIR}. The committed corpus is these seeds plus what fuzzing found,
 * minimized with libFuzzer's merge through {@link RingFuzzTarget} (only inputs adding coverage).
 */
final class RingFuzzSeeds {
    public static void main(String[] args) throws IOException {
        Path dir = Files.createDirectories(Path.of(args[0]));
        int count = 0;
        for (int mode = 0; mode < 32; mode++) {
            boolean packed = (mode & 1) != 0;
            boolean driverSide = (mode & 16) != 0;
            for (int sizeSel : new int[] {2, 3, 5}) {
                int size = packed ? 1 + (sizeSel & 63) : 1 << (sizeSel % 7);
                byte[] image = trimTrailingZeros(image(mode, size, driverSide));
                byte[] in = new byte[3 + image.length];
                in[0] = (byte) mode;
                in[1] = (byte) sizeSel;
                in[2] = (byte) Math.min(size, 3);
                System.arraycopy(image, 0, in, 3, image.length);
                Files.write(dir.resolve(String.format("seed-%02x-%d", mode, sizeSel)), in);
                count++;
            }
        }
        for (var e : largeSeeds().entrySet()) {
            Files.write(dir.resolve(e.getKey()), e.getValue());
            count++;
        }
        System.out.println(count + " seeds in " + dir);
    }

    /**
     * Programs for {@link RingFuzzHarness#runLarge}: big queues, long and indirect chains right
     * below and above the 1024-descriptor cap, zero-length descriptors, loops, a bad address.
     */
    static java.util.Map<String, byte[]> largeSeeds() {
        java.util.Map<String, byte[]> m = new java.util.LinkedHashMap<>();
        int L = RingFuzzHarness.LARGE;
        // mode, size selector (size = 1 << (7 + sel % 9)), then chains as {kind, length, aux}
        m.put("large-split-32768-indirect-1024",
                large(L | 4 | 2, 8, new int[][] {{1 | 4, 1023, 0}, {1 | 4, 1023, 0}, {1 | 8, 1023, 0}}));
        m.put("large-split-32768-direct-1025", large(L | 2, 8, new int[][] {{4, 1023, 0}, {4, 1024, 0}, {4, 1024, 0}}));
        m.put("large-split-16384-zero-length",
                large(L, 7, new int[][] {{2 | 4, 1023, 0}, {2 | 4, 1023, 0}, {2 | 4, 1023, 0},
            {2 | 4, 1023, 0}, {2 | 4, 1023, 0}, {2 | 4, 1023, 0}, {2 | 4, 1023, 0}, {2 | 4, 1023, 0}, {2 | 4, 1023, 0},
                    {4, 0, 0}}));
        m.put("large-split-256-loop", large(L | 8, 1, new int[][] {{4, 49, 0}, {16 | 4, 19, 0}}));
        m.put("large-split-4096-bad-address",
                large(L | 4, 5, new int[][] {{8, 99, 0}, {32 | 8, 99, 7}, {1 | 32 | 4, 99, 3}}));
        m.put("large-packed-32768-direct-1024",
                large(L | 1 | 2, 8, new int[][] {{4, 1023, 0}, {8, 1023, 0}, {4, 1024, 0}}));
        m.put("large-packed-32768-indirect-2048",
                large(L | 1 | 4, 8, new int[][] {{1 | 4, 1023, 0}, {1 | 4, 2047, 0}}));
        m.put("large-packed-128-many",
                large(L | 1 | 4 | 8, 0, new int[][] {{4, 3, 0}, {1 | 4, 7, 0}, {8, 15, 0}, {2 | 4, 31, 0},
            {4, 0, 0}, {1 | 2 | 4, 63, 0}}));
        return m;
    }

    private static byte[] large(int mode, int sizeSel, int[][] chains) {
        byte[] b = new byte[3 + 4 * chains.length];
        b[0] = (byte) mode;
        b[1] = (byte) sizeSel;
        b[2] = (byte) chains.length;
        for (int i = 0; i < chains.length; i++) {
            b[3 + 4 * i] = (byte) chains[i][0];
            b[4 + 4 * i] = (byte) chains[i][1];
            b[5 + 4 * i] = (byte) (chains[i][1] >>> 8);
            b[6 + 4 * i] = (byte) chains[i][2];
        }
        return b;
    }

    // The harness zero-fills guest memory, so trailing zeros carry no information.
    private static byte[] trimTrailingZeros(byte[] b) {
        int n = b.length;
        while (n > 0 && b[n - 1] == 0) n--;
        return java.util.Arrays.copyOf(b, n);
    }

    private static byte[] image(int mode, int size, boolean driverSide) {
        boolean packed = (mode & 1) != 0;
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1);
        if ((mode & 2) != 0) f = f.with(VirtioFeature.EVENT_IDX);
        if ((mode & 4) != 0) f = f.with(VirtioFeature.INDIRECT_DESC);
        if ((mode & 8) != 0) f = f.with(VirtioFeature.IN_ORDER);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r0 = arena.allocate(65536, 4096);
            long base = RingFuzzHarness.BASE;
            GuestMemory.Region reg = new GuestMemory.Region(base, 0x7000_0000L, r0);
            GuestMemory mem = GuestMemory.of(reg);
            // Buffers and indirect tables inside the first 8 KiB so they are part of the image.
            GuestAllocator alloc =
                    new GuestAllocator(new GuestMemory.Region(base + 0x1000, 0x7000_1000L, r0.asSlice(0x1000, 0x1000)));
            VirtqueueDriver drv;
            VirtqueueDevice dev;
            if (packed) {
                PackedRing ring = PackedRing.map(mem, size, base, base + 0x400, base + 0x600);
                drv = new PackedQueueDriver(ring, f, alloc, 3);
                dev = new PackedQueueDevice(ring, mem, f);
            } else {
                SplitRing ring = SplitRing.map(mem, size, base, base + 0x400, base + 0x600);
                drv = new SplitQueueDriver(ring, f, alloc, 3);
                dev = new SplitQueueDevice(ring, mem, f);
            }
            long buf = alloc.allocate(1024, 64);
            for (int i = 0; i < 1024; i++) r0.set(ValueLayout.JAVA_BYTE, buf - base + i, (byte) i);
            long[] addrs = {buf, buf + 64, buf + 128, buf + 512};
            int[] lens = {64, 64, 384, 512};
            for (int i = 0; i < Math.min(3, size); i++) {
                int k = 1 + (i % 3);
                if (drv.offer(addrs, lens, 0, k, i % (k + 1)) < 0) break;
            }
            drv.publish();
            if (!driverSide) return r0.asSlice(0, 0x2000).toArray(ValueLayout.JAVA_BYTE);
            DescriptorChain c = new DescriptorChain();
            while (dev.pop(c)) dev.push(c, (int) Math.min(c.writableBytes(), 100));
            dev.publish();
            // Driver-side input: the device-written area (used ring / descriptor ring).
            return packed ? r0.asSlice(0, 16L * size).toArray(ValueLayout.JAVA_BYTE)
                    : r0.asSlice(0x600, 6 + 8L * size).toArray(ValueLayout.JAVA_BYTE);
        }
    }
}
