package ringlink.virtio;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.BitSet;
import java.util.Random;
import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicLong;
import net.jqwik.api.*;

/**
 * Driver and device in separate threads over shared memory: many chains of random shapes (1–4
 * elements, random readable/writable split, some zero-length), checking every byte in both
 * directions arrives exactly once, completion order under IN_ORDER, and that the notification
 * protocol (enable + recheck, EVENT_IDX or flags) never loses a wakeup: a side that sleeps waits
 * for a kick/interrupt with a bounded timeout, and a timeout fails the test.
 *
 * <p>Chains per case: {@code -Dringlink.virtio.stressChains} (default 100 000; 16 cases).
 */
class ConcurrentTransferTest {
    static final int CHAINS = Integer.getInteger("ringlink.virtio.stressChains", 100_000);
    static final int SLOT = 1024; // per chain: 512 readable + 512 writable bytes max
    static final byte[] PATTERN = new byte[1 << 16];
    static {
        Random r = new Random(42);
        r.nextBytes(PATTERN);
    }
    static final MemorySegment PAT = MemorySegment.ofArray(PATTERN);

    static long patOff(long seq, int salt) { return (seq * 131 + salt * 977L) & 0x7fff; }

    static int written(long seq, long writable) { return (int) (seq % 2 == 0 ? writable : writable * 2 / 3); }

    @Property(generation = GenerationMode.EXHAUSTIVE)
    void everyByteOnceInOrderWhereRequired(@ForAll RingPair.Kind kind, @ForAll boolean eventIdx,
                                           @ForAll boolean indirect, @ForAll boolean inOrder) throws Exception {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1);
        if (eventIdx) f = f.with(VirtioFeature.EVENT_IDX);
        if (indirect) f = f.with(VirtioFeature.INDIRECT_DESC);
        if (inOrder) f = f.with(VirtioFeature.IN_ORDER);
        int size = kind == RingPair.Kind.SPLIT ? 64 : 50;
        long seed = System.nanoTime();
        try (RingPair p = new RingPair(kind, size, f, 4, 4L << 20)) {
            run(p, CHAINS, seed, inOrder);
        } catch (Throwable t) {
            throw new AssertionError(kind + " " + f + " seed " + seed + ": " + t, t);
        }
    }

    @Property(tries = 20)
    void tinyQueues(@ForAll RingPair.Kind kind, @ForAll boolean eventIdx, @ForAll boolean inOrder,
                    @ForAll @net.jqwik.api.constraints.IntRange(min = 0, max = 2) int sizeExp) throws Exception {
        FeatureSet f = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.INDIRECT_DESC);
        if (eventIdx) f = f.with(VirtioFeature.EVENT_IDX);
        if (inOrder) f = f.with(VirtioFeature.IN_ORDER);
        int size = 1 << sizeExp;
        long seed = System.nanoTime();
        try (RingPair p = new RingPair(kind, size, f, 4, 4L << 20)) {
            run(p, 5_000, seed, inOrder);
        } catch (Throwable t) {
            throw new AssertionError(kind + " size " + size + " " + f + " seed " + seed + ": " + t, t);
        }
    }

    static void run(RingPair p, int total, long seed, boolean inOrder) throws Exception {
        int size = p.driver.size();
        long slots = p.alloc.allocate((long) SLOT * size, 64);
        MemorySegment slotMem = p.mem.slice(slots, (long) SLOT * size);
        Semaphore kicks = new Semaphore(0), irqs = new Semaphore(0);
        AtomicLong kickCount = new AtomicLong(), irqCount = new AtomicLong();
        ExecutorService ex = Executors.newFixedThreadPool(2);
        try {
            Future<?> drv = ex.submit(() ->
                    { driver(p, total, seed, inOrder, slots, slotMem, kicks, irqs, kickCount); return null; });
            Future<?> dev = ex.submit(() -> { device(p, total, seed, inOrder, kicks, irqs, irqCount); return null; });
            try {
                drv.get(120, TimeUnit.SECONDS);
                dev.get(120, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                drv.cancel(true);
                dev.cancel(true);
                if (e.getCause() instanceof Exception c) throw c;
                throw new AssertionError(e.getCause());
            }
        } finally {
            ex.shutdownNow();
            assertTrue(ex.awaitTermination(10, TimeUnit.SECONDS), "threads did not stop");
        }
    }

    static void driver(RingPair p, int total, long seed, boolean inOrder, long slots, MemorySegment slotMem,
                       Semaphore kicks, Semaphore irqs, AtomicLong kickCount) throws InterruptedException {
        VirtqueueDriver q = p.driver;
        int size = q.size();
        Random rnd = new Random(seed);
        int[] freeSlots = new int[size];
        for (int i = 0; i < size; i++) freeSlots[i] = i;
        int freeCount = size;
        long[] seqOf = new long[size];
        int[] slotOf = new int[size];
        long[] wlen = new long[size];
        long[] addrs = new long[4];
        int[] lens = new int[4];
        int[] ids = new int[size], got = new int[size];
        BitSet done = new BitSet(total);
        long seq = 0, completed = 0, nextInOrder = 0;
        q.disableNotifications();
        while (completed < total) {
            boolean progress = false;
            int burst = 1 + rnd.nextInt(size);
            for (int b = 0; b < burst && seq < total && freeCount > 0; b++) {
                int n = 1 + rnd.nextInt(Math.min(4, size));
                int readable = rnd.nextInt(n + 1);
                int slot = freeSlots[freeCount - 1];
                long base = slots + (long) SLOT * slot;
                long rOff = 0, wOff = 512, w = 0;
                for (int k = 0; k < n; k++) {
                    int len = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(128);
                    lens[k] = len;
                    if (k < readable) {
                        addrs[k] = base + rOff;
                        rOff += len;
                    } else {
                        addrs[k] = base + wOff;
                        wOff += len;
                        w += len;
                    }
                }
                // Readable bytes: the pattern for this seq, laid out contiguously in the slot.
                MemorySegment.copy(PAT, patOff(seq, 0), slotMem, (long) SLOT * slot, rOff);
                int id = q.offer(addrs, lens, 0, n, readable);
                if (id < 0) break;
                freeCount--;
                seqOf[id] = seq;
                slotOf[id] = slot;
                wlen[id] = w;
                seq++;
                progress = true;
            }
            if (progress && q.publish()) {
                kickCount.incrementAndGet();
                kicks.release();
            }
            int c = q.collect(ids, got, size);
            for (int k = 0; k < c; k++) {
                int id = ids[k];
                long s = seqOf[id];
                assertFalse(done.get((int) s), "chain " + s + " completed twice");
                done.set((int) s);
                if (inOrder) assertEquals(nextInOrder++, s, "IN_ORDER completion order");
                assertEquals(written(s, wlen[id]), got[k], "used length of chain " + s);
                long mm = MemorySegment.mismatch(slotMem, (long) SLOT * slotOf[id] + 512,
                        (long) SLOT * slotOf[id] + 512 + got[k],
                        PAT, patOff(s, 1), patOff(s, 1) + got[k]);
                assertEquals(-1, mm, "device-written byte " + mm + " of chain " + s);
                freeSlots[freeCount++] = slotOf[id];
                completed++;
            }
            if (c == 0 && !progress) {
                // Nothing to do: sleep until an interrupt, with the recheck protocol.
                if (!q.enableNotifications()) {
                    if (!irqs.tryAcquire(20, TimeUnit.SECONDS))
                            fail("lost interrupt: driver waited 20 s with " + q.inFlight() + " in flight");
                }
                q.disableNotifications();
            }
        }
        assertEquals(total, done.cardinality());
    }

    static void device(RingPair p, int total, long seed, boolean inOrder, Semaphore kicks, Semaphore irqs,
                       AtomicLong irqCount) throws InterruptedException {
        VirtqueueDevice q = p.device;
        int size = q.size();
        Random rnd = new Random(~seed);
        DescriptorChain[] pool = new DescriptorChain[size];
        for (int i = 0; i < size; i++) pool[i] = new DescriptorChain();
        DescriptorChain[] batch = new DescriptorChain[size];
        DescriptorChain[] held = new DescriptorChain[size];
        int heldCount = 0;
        int[] freePool = new int[size];
        java.util.IdentityHashMap<DescriptorChain, Integer> poolIdx = new java.util.IdentityHashMap<>();
        for (int i = 0; i < size; i++) {
            freePool[i] = i;
            poolIdx.put(pool[i], i);
        }
        int freeCount = size;
        long[] seqOfPool = new long[size];
        byte[] scratch = new byte[512];
        MemorySegment sc = MemorySegment.ofArray(scratch);
        long seq = 0, pushed = 0;
        q.disableNotifications();
        while (pushed < total) {
            int want = Math.min(freeCount, 1 + rnd.nextInt(size));
            for (int k = 0; k < want; k++) batch[k] = pool[freePool[freeCount - 1 - k]];
            int n = q.pop(batch, want);
            freeCount -= n;
            for (int k = 0; k < n; k++) {
                DescriptorChain c = batch[k];
                int r = (int) c.readableBytes();
                assertEquals(r, c.read(0, sc, 0, r));
                long mm = MemorySegment.mismatch(sc, 0, r, PAT, patOff(seq, 0), patOff(seq, 0) + r);
                assertEquals(-1, mm, "driver-written byte " + mm + " of chain " + seq);
                int w = written(seq, c.writableBytes());
                assertEquals(w, c.write(0, PAT, patOff(seq, 1), w));
                seqOfPool[poolIdx.get(c)] = seq;
                seq++;
                if (!inOrder && rnd.nextInt(4) == 0) {
                    held[heldCount++] = c; // complete later, out of order
                } else {
                    q.push(c, w);
                    freePool[freeCount++] = poolIdx.get(c);
                    pushed++;
                }
            }
            if (heldCount > 0 && (n == 0 || rnd.nextInt(3) == 0)) {
                while (heldCount > 0) {
                    int i = rnd.nextInt(heldCount);
                    DescriptorChain c = held[i];
                    held[i] = held[--heldCount];
                    q.push(c, written(seqOfPool[poolIdx.get(c)], c.writableBytes()));
                    freePool[freeCount++] = poolIdx.get(c);
                    pushed++;
                }
            }
            if (q.publish()) {
                irqCount.incrementAndGet();
                irqs.release();
            }
            if (n == 0 && heldCount == 0 && pushed < total) {
                if (!q.enableNotifications()) {
                    if (!kicks.tryAcquire(20, TimeUnit.SECONDS))
                            fail("lost kick: device waited 20 s after " + pushed + " chains");
                }
                q.disableNotifications();
            }
        }
        assertEquals(total, seq);
    }
}
