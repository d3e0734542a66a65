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
public final class SplitQueueDriver extends QueueDriverBase {
    private final SplitRing ring;
    private final int mask;
    private final MemorySegment avail, used;
    private final long usedEventOff, availEventOff;

    private final int[] nextFree;     // shadow free list
    private final int[] tail;         // per head: last descriptor of the chain
    private int freeHead;
    private int nextInOrder;          // IN_ORDER: next descriptor to hand out

    private int availIdx;   // shadow avail.idx incl. unpublished
    private int added;      // chains since last publish
    private int lastUsed;   // next used entry to read
    private int usedSeen;   // last used.idx read
    private boolean notifyEnabled = true;
    private int parkedEvent;    // used_event written while interrupts are off (EVENT_IDX)

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
        super("split", ring, features, indirectAlloc, maxIndirect);
        this.ring = ring;
        this.mask = size - 1;
        this.avail = ring.driverArea;
        this.used = ring.deviceArea;
        this.usedEventOff = usedEventOffset(size);
        this.availEventOff = availEventOffset(size);
        nextFree = new int[size];
        for (int i = 0; i < size; i++) nextFree[i] = i + 1;
        tail = new int[size];
    }

    /** The ring (for its guest addresses). */
    public SplitRing ring() { return ring; }

    /** The available index the device should start from (vhost {@code SET_VRING_BASE}): 0 for a fresh ring. */
    public int availIndex() { return availIdx; }

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
        int need = slotsFor(n, readable);
        if (need > numFree) return -1;
        long wbytes = writableBytes(lens, off, n, readable);
        int head;
        if (need < n) {
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
        track(head, ndesc, wbytes);
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
                release(takePending(ids, lens, out++));
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
            int len = checkUsed(id, get32(used, e + USED_ELEM_LEN), lastUsed);
            lastUsed = (lastUsed + 1) & 0xffff;
            if (inOrder && !inOrderUsed(id, len)) continue; // a batched in-order completion
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
        untrack(head);
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
