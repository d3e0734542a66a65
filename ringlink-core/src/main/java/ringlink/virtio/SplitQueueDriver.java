package ringlink.virtio;

import static ringlink.virtio.SplitRing.*;
import static ringlink.virtio.VirtqLayout.*;
import static ringlink.virtio.VirtqueueException.Reason.*;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Driver side of a split virtqueue (virtio 1.2 §2.7): writes chains into the descriptor table,
 * publishes them through the available ring (one {@code avail.idx} release per batch) and
 * collects used entries.
 *
 * <p>The driver keeps its own copy of everything it needs to free descriptors (free list, chain
 * lengths, writable sizes), so a device scribbling over the descriptor table cannot corrupt the
 * driver's bookkeeping; what it reads back from the device (used id, length, index) is checked
 * against that copy.
 *
 * <p>With IN_ORDER descriptors are allocated in ring order (as the spec requires) and a used entry
 * may stand for every earlier chain (a device's batched in-order completion); those earlier chains
 * are reported with length 0.
 */
public final class SplitQueueDriver implements VirtqueueDriver {
    private final SplitRing ring;
    private final FeatureSet features;
    private final int size;
    private final int mask;
    private final MemorySegment desc, avail, used;
    private final long usedEventOff, availEventOff;
    private final boolean eventIdx, inOrder;

    // Indirect tables: one per head descriptor, maxIndirect entries each, preallocated.
    private final int maxIndirect;
    private final MemorySegment indirect;
    private final long indirectGpa;

    private final int[] nextFree;     // shadow free list
    private final int[] descCount;    // per head: ring descriptors the chain took
    private final int[] tail;         // per head: last descriptor of the chain
    private final long[] writable;    // per head: device-writable bytes
    private final boolean[] inflight; // per head
    private int freeHead;
    private int numFree;
    private int nextInOrder;          // IN_ORDER: next descriptor to hand out

    private final int[] fifo;         // IN_ORDER: heads in offer order
    private int fifoHead, fifoCount;
    private int pendingUntil = -1, pendingLen;

    private int availIdx;   // shadow avail.idx incl. unpublished
    private int added;      // chains since last publish
    private int lastUsed;   // next used entry to read
    private int usedSeen;   // last used.idx read
    private int inflightCount;
    private boolean notifyEnabled = true;
    private int parkedEvent;    // used_event written while interrupts are off (EVENT_IDX)
    private VirtqueueException failure;

    /** A driver without indirect descriptors. */
    public SplitQueueDriver(SplitRing ring, FeatureSet features) {
        this(ring, features, null, 0);
    }

    /**
     * A driver over a fresh (zeroed) {@code ring}.
     *
     * @param indirectAlloc where to allocate indirect tables (size × maxIndirect × 16 bytes), or
     *                      null; used only if {@code features} has INDIRECT_DESC
     * @param maxIndirect   entries per indirect table; chains of 2..maxIndirect elements go
     *                      indirect, longer ones direct
     */
    public SplitQueueDriver(SplitRing ring, FeatureSet features, GuestAllocator indirectAlloc, int maxIndirect) {
        this.ring = ring;
        this.features = features;
        this.size = ring.size();
        this.mask = size - 1;
        this.desc = ring.desc;
        this.avail = ring.avail;
        this.used = ring.used;
        this.usedEventOff = usedEventOffset(size);
        this.availEventOff = availEventOffset(size);
        this.eventIdx = features.has(VirtioFeature.EVENT_IDX);
        this.inOrder = features.has(VirtioFeature.IN_ORDER);
        IndirectTables tables = IndirectTables.allocate(features, indirectAlloc, maxIndirect, size);
        this.maxIndirect = tables.maxEntries();
        this.indirectGpa = tables.gpa();
        this.indirect = tables.segment();
        nextFree = new int[size];
        for (int i = 0; i < size; i++) nextFree[i] = i + 1;
        descCount = new int[size];
        tail = new int[size];
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

    @Override public long descAddress() { return ring.descAddress(); }
    @Override public long driverAreaAddress() { return ring.availAddress(); }
    @Override public long deviceAreaAddress() { return ring.usedAddress(); }

    /** The ring (for its guest addresses). */
    public SplitRing ring() { return ring; }

    /** The available index the device should start from (vhost {@code SET_VRING_BASE}): 0 for a fresh ring. */
    public int availIndex() { return availIdx; }

    private void checkOk() {
        if (failure != null) throw new VirtqueueException(QUEUE_FAILED, "split queue driver failed earlier", failure);
    }

    private VirtqueueException fail(VirtqueueException.Reason r, String msg) {
        VirtqueueException e = new VirtqueueException(r, msg);
        if (failure == null) failure = e;
        return e;
    }

    @Override
    public int offer(long addr, int len, boolean writable) {
        checkOk();
        if (numFree == 0) return -1;
        int head = allocOne();
        long d = 16L * head;
        set64(desc, d + DESC_ADDR, addr);
        set32(desc, d + DESC_LEN, len);
        set16(desc, d + DESC_FLAGS, writable ? VIRTQ_DESC_F_WRITE : 0);
        set16(desc, d + DESC_NEXT, 0);
        tail[head] = head;
        return enqueue(head, 1, writable ? Integer.toUnsignedLong(len) : 0);
    }

    private int allocOne() {
        int head;
        if (inOrder) {
            head = nextInOrder;
            nextInOrder = (nextInOrder + 1) & mask;
        } else {
            head = freeHead;
            freeHead = nextFree[head];
        }
        return head;
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
        if (need > numFree) return -1;
        long wbytes = 0;
        for (int k = readable; k < n; k++) wbytes += Integer.toUnsignedLong(lens[off + k]);
        int head;
        if (useIndirect) {
            head = allocOne();
            long t = 16L * maxIndirect * head;
            for (int k = 0; k < n; k++) {
                long e = t + 16L * k;
                set64(indirect, e + DESC_ADDR, addrs[off + k]);
                set32(indirect, e + DESC_LEN, lens[off + k]);
                set16(indirect, e + DESC_FLAGS,
                        (k >= readable ? VIRTQ_DESC_F_WRITE : 0) | (k < n - 1 ? VIRTQ_DESC_F_NEXT : 0));
                set16(indirect, e + DESC_NEXT, k + 1);
            }
            long d = 16L * head;
            set64(desc, d + DESC_ADDR, indirectGpa + t);
            set32(desc, d + DESC_LEN, 16 * n);
            set16(desc, d + DESC_FLAGS, VIRTQ_DESC_F_INDIRECT);
            set16(desc, d + DESC_NEXT, 0);
            tail[head] = head;
        } else {
            head = allocOne();
            int cur = head;
            for (int k = 0; k < n; k++) {
                long d = 16L * cur;
                set64(desc, d + DESC_ADDR, addrs[off + k]);
                set32(desc, d + DESC_LEN, lens[off + k]);
                int flags = k >= readable ? VIRTQ_DESC_F_WRITE : 0;
                if (k < n - 1) {
                    int nx = allocOne();
                    set16(desc, d + DESC_FLAGS, flags | VIRTQ_DESC_F_NEXT);
                    set16(desc, d + DESC_NEXT, nx);
                    cur = nx;
                } else {
                    set16(desc, d + DESC_FLAGS, flags);
                    set16(desc, d + DESC_NEXT, 0);
                }
            }
            tail[head] = cur;
        }
        return enqueue(head, need, wbytes);
    }

    private int enqueue(int head, int ndesc, long wbytes) {
        numFree -= ndesc;
        descCount[head] = ndesc;
        writable[head] = wbytes;
        inflight[head] = true;
        inflightCount++;
        if (inOrder) {
            fifo[(fifoHead + fifoCount) & mask] = head;
            fifoCount++;
        }
        set16(avail, AVAIL_RING + 2L * (availIdx & mask), head);
        availIdx = (availIdx + 1) & 0xffff;
        added++;
        return head;
    }

    @Override
    public boolean publish() {
        checkOk();
        if (added == 0) return false;
        int old = (availIdx - added) & 0xffff;
        added = 0;
        // Release: descriptors and ring entries are visible before the index that publishes them.
        setRelease16(avail, AVAIL_IDX, availIdx);
        // Store(avail.idx) -> load(avail_event / used.flags): see VirtqLayout on why a full fence.
        VarHandle.fullFence();
        if (eventIdx) return needEvent(getOpaque16(used, availEventOff), availIdx, old);
        return (getOpaque16(used, USED_FLAGS) & VIRTQ_USED_F_NO_NOTIFY) == 0;
    }

    @Override
    public boolean hasUsed() {
        checkOk();
        return pendingUntil >= 0 || lastUsed != usedSeen || getAcquire16(used, USED_IDX) != lastUsed;
    }

    @Override
    public int collect(int[] ids, int[] lens, int max) {
        checkOk();
        int out = 0;
        while (out < max) {
            if (pendingUntil >= 0) {
                int h = fifo[fifoHead];
                fifoHead = (fifoHead + 1) & mask;
                fifoCount--;
                ids[out] = h;
                lens[out++] = h == pendingUntil ? pendingLen : 0;
                if (h == pendingUntil) pendingUntil = -1;
                release(h);
                continue;
            }
            if (lastUsed == usedSeen) {
                // Acquire: the used elements are read after the index that published them.
                int idx = getAcquire16(used, USED_IDX);
                int pending = (idx - lastUsed) & 0xffff;
                if (pending > inflightCount) {
                    throw fail(USED_IDX_JUMP, "used.idx " + idx + " is " + pending + " ahead of " + lastUsed
                            + " with only " + inflightCount + " chains in flight");
                }
                usedSeen = idx;
                if (pending == 0) break;
            }
            long e = USED_RING + (long) USED_ELEM_SIZE * (lastUsed & mask);
            int id = get32(used, e + USED_ELEM_ID);
            int len = get32(used, e + USED_ELEM_LEN);
            if (id < 0 || id >= size || !inflight[id]) {
                throw fail(UNKNOWN_USED_ID,
                        "used id " + Integer.toUnsignedString(id) + " was not offered (queue size " + size + ")");
            }
            if (writable[id] == 0) {
                // A chain with no device-writable part (transmit): the length means nothing and
                // drivers ignore it (virtio 1.2 §2.7.8.2, §2.8.4); DPDK's packed vhost fills it in.
                len = 0;
            } else if (Integer.toUnsignedLong(len) > writable[id]) {
                throw fail(USED_LEN_TOO_LONG, "used length " + Integer.toUnsignedString(len) + " for chain " + id
                        + " exceeds its " + writable[id] + " writable bytes");
            }
            lastUsed = (lastUsed + 1) & 0xffff;
            if (inOrder && fifo[fifoHead] != id) {
                pendingUntil = id; // a batched in-order completion: everything up to id is used
                pendingLen = len;
                continue;
            }
            if (inOrder) {
                fifoHead = (fifoHead + 1) & mask;
                fifoCount--;
            }
            ids[out] = id;
            lens[out++] = len;
            release(id);
        }
        if (out > 0 && !notifyEnabled && eventIdx && ((parkedEvent - lastUsed) & 0xffff) < 0x4000) parkEvent();
        return out;
    }

    // See SplitQueueDevice.parkEvent: no "off" flag with EVENT_IDX, so park used_event half the
    // index space ahead of what we have collected and move it on as we collect.
    private void parkEvent() {
        parkedEvent = (lastUsed + 0x7fff) & 0xffff;
        setOpaque16(avail, usedEventOff, parkedEvent);
    }

    private void release(int head) {
        inflight[head] = false;
        inflightCount--;
        int n = descCount[head];
        numFree += n;
        if (!inOrder) {
            nextFree[tail[head]] = freeHead;
            freeHead = head;
        }
    }

    @Override
    public void disableNotifications() {
        checkOk();
        notifyEnabled = false;
        setOpaque16(avail, AVAIL_FLAGS, VIRTQ_AVAIL_F_NO_INTERRUPT);
        if (eventIdx) parkEvent();
    }

    @Override
    public boolean enableNotifications() {
        checkOk();
        notifyEnabled = true;
        if (eventIdx) setOpaque16(avail, usedEventOff, lastUsed);
        setOpaque16(avail, AVAIL_FLAGS, 0);
        // Our request must be visible before we re-read used.idx (store->load), see VirtqLayout.
        VarHandle.fullFence();
        return hasUsed();
    }
}
