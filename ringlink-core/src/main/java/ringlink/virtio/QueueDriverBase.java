package ringlink.virtio;

import static ringlink.virtio.VirtqueueException.Reason.*;

import java.lang.foreign.MemorySegment;

/**
 * What the split and packed drivers keep the same way: the driver's own copy of every chain in
 * flight (descriptors taken, writable bytes, in flight or not) against which what the device
 * writes back is checked, the IN_ORDER offer order with a batched completion pending, the
 * indirect tables and the failed state.
 *
 * <p>Only state and {@code final} helpers live here: the per-descriptor loops ({@code offer},
 * {@code collect}, {@code publish}) stay in the two final subclasses, so every call from a hot
 * loop into this class binds statically and inlines; nothing on the data path dispatches on the
 * ring format.
 */
abstract sealed class QueueDriverBase implements VirtqueueDriver permits SplitQueueDriver, PackedQueueDriver {
    private final String kind;
    private final VirtqRing ring;
    final FeatureSet features;
    final int size;
    final MemorySegment desc;
    final boolean eventIdx, inOrder;

    // Indirect tables: one per buffer id, maxIndirect entries each, preallocated.
    final int maxIndirect;
    final MemorySegment indirect;
    final long indirectGpa;

    private final int[] descCount;    // per id: ring descriptors the chain took
    private final long[] writable;    // per id: device-writable bytes
    private final boolean[] inflight; // per id
    private final int[] fifo;         // IN_ORDER: ids in offer order
    private int fifoHead, fifoCount;
    int pendingUntil = -1;            // IN_ORDER: a used id that completes every chain up to it
    private int pendingLen;
    int numFree;
    int inflightCount;
    private VirtqueueException failure;

    QueueDriverBase(String kind, VirtqRing ring, FeatureSet features, GuestAllocator indirectAlloc, int maxIndirect) {
        this.kind = kind;
        this.ring = ring;
        this.features = features;
        this.size = ring.size();
        this.desc = ring.desc;
        this.eventIdx = features.has(VirtioFeature.EVENT_IDX);
        this.inOrder = features.has(VirtioFeature.IN_ORDER);
        IndirectTables tables = IndirectTables.allocate(features, indirectAlloc, maxIndirect, size);
        this.maxIndirect = tables.maxEntries();
        this.indirectGpa = tables.gpa();
        this.indirect = tables.segment();
        descCount = new int[size];
        writable = new long[size];
        inflight = new boolean[size];
        fifo = inOrder ? new int[size] : null;
        numFree = size;
    }

    @Override public final int size() { return size; }
    @Override public final FeatureSet features() { return features; }
    @Override public final int freeDescriptors() { return numFree; }
    @Override public final int inFlight() { return inflightCount; }
    @Override public final VirtqueueException failure() { return failure; }
    @Override public final long descAddress() { return ring.descAddress(); }
    @Override public final long driverAreaAddress() { return ring.driverAreaAddress(); }
    @Override public final long deviceAreaAddress() { return ring.deviceAreaAddress(); }

    final void checkOk() {
        if (failure != null) throw new VirtqueueException(QUEUE_FAILED, kind + " queue driver failed earlier", failure);
    }

    final VirtqueueException fail(VirtqueueException.Reason r, String msg) {
        VirtqueueException e = new VirtqueueException(r, msg);
        if (failure == null) failure = e;
        return e;
    }

    /**
     * Checks an offered chain's shape and says how many ring descriptors it takes: 1 when it goes
     * indirect (2..maxIndirect elements), else {@code n}.
     */
    final int slotsFor(int n, int readable) {
        if (n <= 0 || readable < 0 || readable > n) {
            throw new IllegalArgumentException("chain of " + n + " elements with " + readable + " readable");
        }
        if (n > 1 && n <= maxIndirect) return 1;
        if (n > size) throw new IllegalArgumentException("chain of " + n + " elements cannot fit a queue of " + size);
        return n;
    }

    /** The device-writable bytes of a chain whose first {@code readable} elements are readable. */
    static long writableBytes(int[] lens, int off, int n, int readable) {
        long wbytes = 0;
        for (int k = readable; k < n; k++) wbytes += Integer.toUnsignedLong(lens[off + k]);
        return wbytes;
    }

    /** Records chain {@code id} as offered (in offer order under IN_ORDER). */
    final void track(int id, int slots, long wbytes) {
        numFree -= slots;
        descCount[id] = slots;
        writable[id] = wbytes;
        inflight[id] = true;
        inflightCount++;
        if (inOrder) {
            int at = fifoHead + fifoCount;
            fifo[at >= size ? at - size : at] = id;
            fifoCount++;
        }
    }

    /** Forgets chain {@code id} (collected); returns the ring descriptors it gives back. */
    final int untrack(int id) {
        inflight[id] = false;
        inflightCount--;
        int n = descCount[id];
        numFree += n;
        return n;
    }

    /**
     * Checks a used (id, length) the device wrote at ring position {@code at} against the
     * driver's copy and returns the length to report: an id not in flight or a length beyond the
     * chain's writable bytes fails the queue.
     */
    final int checkUsed(int id, int len, int at) {
        if (id < 0 || id >= size || !inflight[id]) {
            throw fail(UNKNOWN_USED_ID, "used id " + Integer.toUnsignedString(id) + " at position " + at
                    + " is not in flight (queue size " + size + ")");
        }
        long w = writable[id];
        if (w == 0) {
            // A chain with no device-writable part (transmit): the length means nothing and
            // drivers ignore it (virtio 1.2 §2.7.8.2, §2.8.4); DPDK's packed vhost fills it in.
            return 0;
        }
        if (Integer.toUnsignedLong(len) > w) {
            throw fail(USED_LEN_TOO_LONG, "used length " + Integer.toUnsignedString(len) + " for chain " + id
                    + " exceeds its " + w + " writable bytes");
        }
        return len;
    }

    /**
     * IN_ORDER: takes used {@code id} in offer order. True if it is the oldest chain in flight
     * (taken off the order); false if it stands for every chain up to it (a device's batched
     * in-order completion), which {@link #takePending} then reports one by one.
     */
    final boolean inOrderUsed(int id, int len) {
        if (fifo[fifoHead] != id) {
            pendingUntil = id;
            pendingLen = len;
            return false;
        }
        popOrder();
        return true;
    }

    /**
     * Reports the next chain of a pending batched completion at {@code ids[at]}, {@code lens[at]}
     * (length 0 for every chain but the last, which the device wrote) and returns its id.
     */
    final int takePending(int[] ids, int[] lens, int at) {
        int h = popOrder();
        ids[at] = h;
        if (h == pendingUntil) {
            lens[at] = pendingLen;
            pendingUntil = -1;
        } else {
            lens[at] = 0;
        }
        return h;
    }

    private int popOrder() {
        int h = fifo[fifoHead];
        if (++fifoHead == size) fifoHead = 0;
        fifoCount--;
        return h;
    }
}
