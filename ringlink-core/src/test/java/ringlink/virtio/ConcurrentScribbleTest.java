package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A malicious other side does not play by the ordering rules: it rewrites descriptors, indices
 * and flags while the honest side is reading them. A third thread scribbles random bytes over the
 * whole ring while a driver and a device run; each side may only stop with a
 * {@link VirtqueueException} (never another exception, never a hang), and memory outside guest
 * memory is never touched (guard areas on both sides of it are checked).
 */
class ConcurrentScribbleTest {

    @ParameterizedTest
    @EnumSource(RingPair.Kind.class)
    @Timeout(60)
    void onlyTypedErrorsUnderConcurrentCorruption(RingPair.Kind kind) throws Exception {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.INDIRECT_DESC, VirtioFeature.EVENT_IDX);
        for (int trial = 0; trial < 20; trial++) {
            // Guest memory with 64 KiB guard areas directly before and after it, outside it.
            try (RingPair p = new RingPair(kind, 16, f, 4, 1 << 20, 65536)) {
                long buf = p.alloc.allocate(8192, 64);
                p.guardBefore.fill((byte) 0x5a);
                p.guardAfter.fill((byte) 0x5a);
                long ringGpa = p.ring instanceof SplitRing s ? s.descAddress() : ((PackedRing) p.ring).descAddress();
                long ringBytes = buf - ringGpa;
                // the rings and the driver's indirect tables
                MemorySegment whole = p.mem.slice(ringGpa, ringBytes);
                AtomicBoolean stop = new AtomicBoolean();
                ExecutorService ex = Executors.newFixedThreadPool(3);
                long seed = System.nanoTime() + trial;
                try {
                    Future<String> drv = ex.submit(() -> side(stop, () -> {
                        long[] a = {buf, buf + 1024, buf + 2048};
                        int[] l = {512, 512, 1024};
                        int[] ids = new int[16], lens = new int[16];
                        for (int i = 0; i < 200_000 && !stop.get(); i++) {
                            p.driver.offer(a, l, 0, 1 + i % 3, i % 2);
                            p.driver.publish();
                            p.driver.collect(ids, lens, 16);
                        }
                    }));
                    Future<String> dev = ex.submit(() -> side(stop, () -> {
                        DescriptorChain[] cs = {new DescriptorChain(), new DescriptorChain(), new DescriptorChain(),
                                new DescriptorChain()};
                        MemorySegment scratch = MemorySegment.ofArray(new byte[4096]);
                        for (int i = 0; i < 200_000 && !stop.get(); i++) {
                            int n = p.device.pop(cs, 4);
                            for (int k = 0; k < n; k++) {
                                cs[k].read(0, scratch, 0, Math.min(4096, cs[k].readableBytes()));
                                long w = Math.min(4096, cs[k].writableBytes());
                                cs[k].write(0, scratch, 0, w);
                                p.device.push(cs[k], (int) w);
                            }
                            p.device.publish();
                        }
                    }));
                    Future<?> scribbler = ex.submit(() -> {
                        Random r = new Random(seed);
                        while (!stop.get()) {
                            long at = r.nextLong(ringBytes - 8);
                            whole.set(ValueLayout.JAVA_LONG_UNALIGNED, at, r.nextLong());
                            Thread.onSpinWait();
                        }
                    });
                    String d1 = drv.get(30, TimeUnit.SECONDS);
                    String d2 = dev.get(30, TimeUnit.SECONDS);
                    stop.set(true);
                    scribbler.get(10, TimeUnit.SECONDS);
                    assertNull(d1, "driver: " + d1);
                    assertNull(d2, "device: " + d2);
                } finally {
                    stop.set(true);
                    ex.shutdownNow();
                    assertTrue(ex.awaitTermination(10, TimeUnit.SECONDS));
                }
                MemorySegment expect = MemorySegment.ofArray(new byte[65536]).fill((byte) 0x5a);
                assertEquals(-1, p.guardBefore.mismatch(expect), "guard before guest memory written");
                assertEquals(-1, p.guardAfter.mismatch(expect), "guard after guest memory written");
            }
        }
    }

    /** Runs a side; returns null if it ended normally or with a typed error, else the problem. */
    private static String side(AtomicBoolean stop, Runnable body) {
        try {
            body.run();
            return null;
        } catch (VirtqueueException expected) {
            return null;
        } catch (Throwable t) {
            stop.set(true);
            java.io.StringWriter sw = new java.io.StringWriter();
            t.printStackTrace(new java.io.PrintWriter(sw));
            return sw.toString();
        }
    }
}
