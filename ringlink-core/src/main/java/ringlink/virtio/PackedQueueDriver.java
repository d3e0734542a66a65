package ringlink.virtio;

import static ringlink.virtio.PackedRing.*;
import static ringlink.virtio.VirtqLayout.*;
import static ringlink.virtio.VirtqueueException.Reason.*;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Driver side of a packed virtqueue (virtio 1.2 §2.8): writes chains into consecutive ring slots
 * with the avail wrap counter in their flags, publishes a batch by storing the first head's flags
 * last (release), and collects used descriptors at its used position.
 *
 * <p>Buffer ids come from the driver's own free list; what the device writes back (id, length,
 * flags) is checked against the driver's shadow state: an id not in flight, a length beyond the
 * chain's writable bytes are typed errors that fail the queue.
 *
 * <p>With IN_ORDER a used descriptor may stand for every earlier chain (batched completion); those
 * are reported with length 0.
 */
public final class PackedQueueDriver implements VirtqueueDriver {
    private final PackedRing ring;
    private final FeatureSet features;
    private final int size;
    private final MemorySegment desc, driverEvent, deviceEvent;
    private final boolean eventIdx, inOrder;

    private final int maxIndirect;
    private final MemorySegment indirect;
    private final long indirectGpa;

    private final int[] freeIds;      // stack of free buffer ids
    private int freeIdCount;
    private final int[] descCount;    // per id: ring slots taken
    private final long[] writable;    // per id
    private final boolean[] inflight; // per id
    private final int[] fifo;         // IN_ORDER: ids in offer order
    private int fifoHead, fifoCount;
    private int pendingUntil = -1, pendingLen;

    private int numFree;
    private int nextAvail;
    private boolean availWrap = true;
    private int nextUsed;
    private boolean usedWrap = true;
    private int addedDescs;           // slots since last publish
    private int firstPos = -1, firstFlags;
    private int inflightCount;
    private VirtqueueException failure;

    /** A driver without indirect descriptors. */
    public PackedQueueDriver(PackedRing ring, FeatureSet features) {
        this(ring, features, null, 0);
    }

    /**
     * A driver over a fresh (zeroed) {@code ring}.
     *
     * @param indirectAlloc where to allocate indirect tables (size × maxIndirect × 16 bytes), or
     *                      null; used only with INDIRECT_DESC
     * @param maxIndirect   entries per indirect table; chains of 2..maxIndirect elements go indirect
     */
    public PackedQueueDriver(PackedRing ring, FeatureSet features, GuestAllocator indirectAlloc, int maxIndirect) {
        this.ring = ring;
        this.features = features;
        this.size = ring.size();
        this.desc = ring.desc;
        this.driverEvent = ring.driverEvent;
        this.deviceEvent = ring.deviceEvent;
        this.eventIdx = features.has(VirtioFeature.EVENT_IDX);
        this.inOrder = features.has(VirtioFeature.IN_ORDER);
        IndirectTables tables = IndirectTables.allocate(features, indirectAlloc, maxIndirect, size);
        this.maxIndirect = tables.maxEntries();
        this.indirectGpa = tables.gpa();
        this.indirect = tables.segment();
        freeIds = new int[size];
        // Stack popped from the end: hand out id 0 first.
        for (int i = 0; i < size; i++) freeIds[i] = size - 1 - i;
        freeIdCount = size;
        descCount = new int[size];
        writable = new long[size];
        inflight = new boolean[size];
        fifo = inOrder ? new int[size] : null;
        numFree = size;
    }

    @Override public int size() { return size; }
    @Override public FeatureSet features() { return features; }
    @Override public int freeDescriptors() { return numFree; }
    @Override public int inFlight() { return inflightCount; }
    @Override public VirtqueueException failure() { return failure; }

    /** The ring the queue runs on. */
    public PackedRing ring() { return ring; }
    @Override public long descAddress() { return ring.descAddress(); }
    @Override public long driverAreaAddress() { return ring.driverEventAddress(); }
    @Override public long deviceAreaAddress() { return ring.deviceEventAddress(); }
    /** Next ring position where the driver writes an available descriptor. */
    public int availPosition() { return nextAvail; }
    /** The driver's wrap counter at {@link #availPosition()}. */
    public boolean availWrapCounter() { return availWrap; }
    /** Where the driver expects the next used descriptor (a vhost-user front-end resumes a device there). */
    public int usedPosition() { return nextUsed; }
    /** The device's wrap counter the driver expects at {@link #usedPosition()}. */
    public boolean usedWrapCounter() { return usedWrap; }

    private void checkOk() {
        if (failure != null) throw new VirtqueueException(QUEUE_FAILED, "packed queue driver failed earlier", failure);
    }

    private VirtqueueException fail(VirtqueueException.Reason r, String msg) {
        VirtqueueException e = new VirtqueueException(r, msg);
        if (failure == null) failure = e;
        return e;
    }

    private int availFlags() {
        return availWrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
    }

    /** Writes one descriptor at nextAvail and advances; the chain head's flags are deferred. */
    private void put(long addr, int len, int id, int flags, boolean head) {
        long d = 16L * nextAvail;
        set64(desc, d + DESC_ADDR, addr);
        set32(desc, d + DESC_LEN, len);
        set16(desc, d + DESC_ID, id);
        int f = flags | availFlags();
        if (head) {
            if (firstPos < 0) {
                firstPos = nextAvail; // the batch's first head: stored last, in publish()
                firstFlags = f;
            } else {
                headPos = nextAvail;  // a later head: stored after its chain's other descriptors
                headFlags = f;
            }
        } else {
            set16(desc, d + DESC_FLAGS, f);
        }
        if (++nextAvail == size) {
            nextAvail = 0;
            availWrap = !availWrap;
        }
    }

    private int headPos = -1, headFlags;

    private void finishHead() {
        if (headPos >= 0) {
            // Not the batch's first head, so the device cannot be looking at it yet; a plain
            // store after the rest of its chain suffices (the first head's release publishes all).
            set16(desc, 16L * headPos + DESC_FLAGS, headFlags);
            headPos = -1;
        }
    }

    @Override
    public int offer(long addr, int len, boolean writable) {
        checkOk();
        if (numFree == 0 || freeIdCount == 0) return -1;
        int id = freeIds[--freeIdCount];
        put(addr, len, id, writable ? VIRTQ_DESC_F_WRITE : 0, true);
        finishHead();
        return enqueue(id, 1, writable ? Integer.toUnsignedLong(len) : 0);
    }

    @Override
    public int offer(long[] addrs, int[] lens, int off, int n, int readable) {
        checkOk();
        if (n <= 0 || readable < 0 || readable > n) {
            throw new IllegalArgumentException("chain of " + n + " elements with " + readable + " readable");
        }
        boolean useIndirect = n > 1 && n <= maxIndirect;
        if (!useIndirect && n > size)
                throw new IllegalArgumentException("chain of " + n + " elements cannot fit a queue of " + size);
        int need = useIndirect ? 1 : n;
        if (need > numFree || freeIdCount == 0) return -1;
        long wbytes = 0;
        for (int k = readable; k < n; k++) wbytes += Integer.toUnsignedLong(lens[off + k]);
        int id = freeIds[--freeIdCount];
        if (useIndirect) {
            long t = 16L * maxIndirect * id;
            for (int k = 0; k < n; k++) {
                long e = t + 16L * k;
                set64(indirect, e + DESC_ADDR, addrs[off + k]);
                set32(indirect, e + DESC_LEN, lens[off + k]);
                set16(indirect, e + DESC_ID, 0);
                set16(indirect, e + DESC_FLAGS, k >= readable ? VIRTQ_DESC_F_WRITE : 0);
            }
            put(indirectGpa + t, 16 * n, id, VIRTQ_DESC_F_INDIRECT, true);
        } else {
            for (int k = 0; k < n; k++) {
                int flags = (k >= readable ? VIRTQ_DESC_F_WRITE : 0) | (k < n - 1 ? VIRTQ_DESC_F_NEXT : 0);
                put(addrs[off + k], lens[off + k], id, flags, k == 0);
            }
        }
        finishHead();
        return enqueue(id, need, wbytes);
    }

    private int enqueue(int id, int slots, long wbytes) {
        numFree -= slots;
        addedDescs += slots;
        descCount[id] = slots;
        writable[id] = wbytes;
        inflight[id] = true;
        inflightCount++;
        if (inOrder) {
            int at = fifoHead + fifoCount;
            fifo[at >= size ? at - size : at] = id;
            fifoCount++;
        }
        return id;
    }

    @Override
    public boolean publish() {
        checkOk();
        if (firstPos < 0) return false;
        // Release: every descriptor of the batch is visible before the first head says "available".
        setRelease16(desc, 16L * firstPos + DESC_FLAGS, firstFlags);
        firstPos = -1;
        int added = addedDescs;
        addedDescs = 0;
        VarHandle.fullFence(); // store(flags) -> load(device event suppression), see VirtqLayout
        int evFlags = getOpaque16(deviceEvent, EVENT_FLAGS);
        if (evFlags == RING_EVENT_FLAGS_DISABLE) return false;
        if (evFlags != RING_EVENT_FLAGS_DESC || !eventIdx) return true;
        int offWrap = getOpaque16(deviceEvent, EVENT_OFF_WRAP);
        int event = offWrap & 0x7fff;
        if (((offWrap & 0x8000) != 0) != availWrap) event -= size;
        int newIdx = nextAvail;
        return needEvent(event, newIdx, newIdx - added);
    }

    private boolean isUsed(int flags) {
        return ((flags & VIRTQ_DESC_F_AVAIL) != 0) == usedWrap && ((flags & VIRTQ_DESC_F_USED) != 0) == usedWrap;
    }

    @Override
    public boolean hasUsed() {
        checkOk();
        return pendingUntil >= 0 || (inflightCount > 0 && isUsed(getAcquire16(desc, 16L * nextUsed + DESC_FLAGS)));
    }

    @Override
    public int collect(int[] ids, int[] lens, int max) {
        checkOk();
        int out = 0;
        while (out < max) {
            if (pendingUntil >= 0) {
                int h = fifo[fifoHead];
                if (++fifoHead == size) fifoHead = 0;
                fifoCount--;
                ids[out] = h;
                lens[out++] = h == pendingUntil ? pendingLen : 0;
                if (h == pendingUntil) pendingUntil = -1;
                release(h);
                continue;
            }
            if (inflightCount == 0) break;
            long d = 16L * nextUsed;
            // Acquire: id and len are read after the flags that say the descriptor is used.
            int flags = getAcquire16(desc, d + DESC_FLAGS);
            if (!isUsed(flags)) break;
            int id = get16(desc, d + DESC_ID);
            int len = get32(desc, d + DESC_LEN);
            if (id >= size || !inflight[id]) {
                throw fail(UNKNOWN_USED_ID, "used buffer id " + id + " at position " + nextUsed + " is not in flight");
            }
            if (writable[id] == 0) {
                // A chain with no device-writable part (transmit): the length means nothing and
                // drivers ignore it (virtio 1.2 §2.7.8.2, §2.8.4); DPDK's packed vhost fills it in.
                len = 0;
            } else if (Integer.toUnsignedLong(len) > writable[id]) {
                throw fail(USED_LEN_TOO_LONG, "used length " + Integer.toUnsignedString(len) + " for buffer " + id
                        + " exceeds its " + writable[id] + " writable bytes");
            }
            if (inOrder) {
                if (fifo[fifoHead] != id) {
                    pendingUntil = id;
                    pendingLen = len;
                    continue;
                }
                if (++fifoHead == size) fifoHead = 0;
                fifoCount--;
            }
            ids[out] = id;
            lens[out++] = len;
            release(id);
        }
        return out;
    }

    private void release(int id) {
        inflight[id] = false;
        inflightCount--;
        int n = descCount[id];
        numFree += n;
        freeIds[freeIdCount++] = id;
        nextUsed += n;
        if (nextUsed >= size) {
            nextUsed -= size;
            usedWrap = !usedWrap;
        }
    }

    @Override
    public void disableNotifications() {
        checkOk();
        setOpaque16(driverEvent, EVENT_FLAGS, RING_EVENT_FLAGS_DISABLE);
    }

    @Override
    public boolean enableNotifications() {
        checkOk();
        if (eventIdx) {
            setOpaque16(driverEvent, EVENT_OFF_WRAP, nextUsed | (usedWrap ? 0x8000 : 0));
            setOpaque16(driverEvent, EVENT_FLAGS, RING_EVENT_FLAGS_DESC);
        } else {
            setOpaque16(driverEvent, EVENT_FLAGS, RING_EVENT_FLAGS_ENABLE);
        }
        VarHandle.fullFence();
        return hasUsed();
    }
}
