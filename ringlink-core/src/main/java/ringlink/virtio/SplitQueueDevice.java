package ringlink.virtio;

import static ringlink.virtio.SplitRing.*;
import static ringlink.virtio.VirtqLayout.*;
import static ringlink.virtio.VirtqueueException.Reason.*;

import java.lang.foreign.MemorySegment;

/**
 * Device side of a split virtqueue (virtio 1.2 §2.7): pops chains from the available ring, walks
 * and translates them (direct and indirect), pushes used entries and publishes {@code used.idx}
 * once per batch.
 *
 * <p>Every value read from the ring is checked before use: the available index may move by at
 * most the queue size, ring entries and {@code next} fields must be below the queue size, a chain
 * may have at most {@code min(queue size, MAX_CHAIN_ELEMENTS)} elements (this bounds descriptor
 * loops and the work and memory of one chain), indirect tables must be
 * negotiated, a multiple of 16 bytes, not nested and not combined with NEXT, and every buffer must
 * lie inside one guest memory region.
 */
public final class SplitQueueDevice implements VirtqueueDevice {
    private final GuestMemory mem;
    private final FeatureSet features;
    private final int size;
    private final int maxElements; // min(size, MAX_CHAIN_ELEMENTS)
    private final int mask;
    private final MemorySegment desc, avail, used;
    private final long usedEventOff, availEventOff;
    private final boolean eventIdx, indirect;

    private int lastAvail;      // next avail ring slot to read (free-running u16)
    private int availIdxSeen;   // last avail.idx read from the ring
    private int usedIdx;        // shadow of used.idx incl. unpublished pushes
    private int publishedUsed;  // used.idx at the previous publish (the "old" of vring_need_event)
    private boolean notifyEnabled = true;
    private int parkedEvent;    // avail_event written while notifications are off (EVENT_IDX)
    private VirtqueueException failure;

    /**
     * A device over {@code ring}, with buffers translated through {@code mem}; only the ring
     * features of {@code features} matter here.
     *
     * @param lastAvailIdx where to start reading the available ring (0 for a new queue; vhost's
     *                     {@code SET_VRING_BASE} value when resuming)
     */
    public SplitQueueDevice(SplitRing ring, GuestMemory mem, FeatureSet features, int lastAvailIdx) {
        this.mem = mem;
        this.features = features;
        this.size = ring.size();
        this.maxElements = Math.min(size, MAX_CHAIN_ELEMENTS);
        this.mask = size - 1;
        this.desc = ring.desc;
        this.avail = ring.driverArea;
        this.used = ring.deviceArea;
        this.usedEventOff = usedEventOffset(size);
        this.availEventOff = availEventOffset(size);
        this.eventIdx = features.has(VirtioFeature.EVENT_IDX);
        this.indirect = features.has(VirtioFeature.INDIRECT_DESC);
        this.lastAvail = lastAvailIdx & 0xffff;
        this.availIdxSeen = lastAvail;
        // Resume where the used ring is (0 on a fresh ring, which the driver zeroed).
        this.usedIdx = get16(used, USED_IDX);
        this.publishedUsed = usedIdx;
    }

    /** A device over a fresh ring. */
    public SplitQueueDevice(SplitRing ring, GuestMemory mem, FeatureSet features) {
        this(ring, mem, features, 0);
    }

    @Override public int size() { return size; }
    @Override public FeatureSet features() { return features; }
    @Override public VirtqueueException failure() { return failure; }

    @Override
    public int availBase() { return lastAvail; }

    /** The next available-ring index the device will read (vhost {@code GET_VRING_BASE}). */
    public int lastAvailIndex() { return lastAvail; }

    private void checkOk() {
        if (failure != null) throw new VirtqueueException(QUEUE_FAILED, "split queue device failed earlier", failure);
    }

    private VirtqueueException fail(VirtqueueException e) {
        if (failure == null) failure = e;
        return e;
    }

    private VirtqueueException fail(VirtqueueException.Reason r, String msg) {
        return fail(new VirtqueueException(r, msg));
    }

    @Override
    public boolean hasAvailable() {
        checkOk();
        if (lastAvail != availIdxSeen) return true;
        return refreshAvail();
    }

    /** Reads avail.idx (acquire: the ring entries and descriptors it publishes are visible after it). */
    private boolean refreshAvail() {
        int idx = getAcquire16(avail, AVAIL_IDX);
        int pending = (idx - lastAvail) & 0xffff;
        if (pending > size) {
            throw fail(AVAIL_IDX_JUMP, "avail.idx " + idx + " is " + pending + " ahead of " + lastAvail
                    + " on a queue of " + size);
        }
        availIdxSeen = idx;
        return pending != 0;
    }

    @Override
    public boolean pop(DescriptorChain chain) {
        checkOk();
        if (lastAvail == availIdxSeen && !refreshAvail()) return false;
        int head = get16(avail, AVAIL_RING + 2L * (lastAvail & mask));
        try {
            walk(head, chain);
        } catch (VirtqueueException e) {
            throw fail(e);
        }
        lastAvail = (lastAvail + 1) & 0xffff;
        if (!notifyEnabled && eventIdx) keepEventParked();
        return true;
    }

    @Override
    public int pop(DescriptorChain[] chains, int max) {
        checkOk();
        if (lastAvail == availIdxSeen) refreshAvail();
        int n = 0;
        int work = 0;
        while (n < max && work < MAX_BATCH_ELEMENTS && lastAvail != availIdxSeen) {
            int head = get16(avail, AVAIL_RING + 2L * (lastAvail & mask));
            try {
                walk(head, chains[n]);
            } catch (VirtqueueException e) {
                throw fail(e);
            }
            lastAvail = (lastAvail + 1) & 0xffff;
            work += chains[n++].elementCount();
        }
        if (n > 0 && !notifyEnabled && eventIdx) keepEventParked();
        return n;
    }

    @Override
    public void unpop(DescriptorChain chain) {
        checkOk();
        // No check against the ring: the driver may have rewritten it; the re-pop re-validates.
        lastAvail = (lastAvail - 1) & 0xffff;
    }

    private void walk(int head, DescriptorChain chain) {
        if (head >= size)
                throw new VirtqueueException(INDEX_OUT_OF_RANGE, "avail ring entry " + head + " >= queue size " + size);
        chain.reset(head);
        int idx = head;
        int direct = 0;
        int elements = 0;
        while (true) {
            long d = 16L * idx;
            long addr = get64(desc, d + DESC_ADDR);
            // len, flags and next are the descriptor's second 8 bytes: one bounds-checked load
            // instead of three.
            long w = get64(desc, d + DESC_LEN);
            int len = (int) w;
            int flags = (int) (w >>> 32) & 0xffff;
            int next = (int) (w >>> 48);
            direct++;
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (!indirect) throw new VirtqueueException(BAD_INDIRECT,
                        "indirect descriptor " + idx + " but INDIRECT_DESC not negotiated");
                if ((flags & VIRTQ_DESC_F_NEXT) != 0) {
                    throw new VirtqueueException(NESTED_INDIRECT, "descriptor " + idx + " has both INDIRECT and NEXT");
                }
                elements = walkIndirect(addr, len, chain, elements);
                break;
            }
            if (++elements > maxElements) throw tooLong(head);
            addSegment(chain, addr, len, (flags & VIRTQ_DESC_F_WRITE) != 0);
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) break;
            if (next >= size) throw new VirtqueueException(INDEX_OUT_OF_RANGE,
                    "descriptor " + idx + " next " + next + " >= queue size " + size);
            idx = next;
        }
        chain.setDescCount(direct);
        chain.setElementCount(elements);
    }

    private VirtqueueException tooLong(int head) {
        return new VirtqueueException(CHAIN_TOO_LONG, "chain at head " + head + " has more than " + maxElements
                + " descriptors (queue size " + size + ", at most " + MAX_CHAIN_ELEMENTS + " per chain; a loop?)");
    }

    private int walkIndirect(long tableAddr, int tableLen, DescriptorChain chain, int elements) {
        long tl = Integer.toUnsignedLong(tableLen);
        if (tl == 0 || (tl & 15) != 0) throw new VirtqueueException(BAD_INDIRECT,
                "indirect table length " + tl + " is not a positive multiple of 16");
        long entries = tl >>> 4;
        if (entries + elements > maxElements) {
            throw new VirtqueueException(CHAIN_TOO_LONG,
                    "indirect table of " + entries + " entries makes chain " + chain.id() + " longer than "
                    + maxElements + " descriptors (queue size " + size + ", at most " + MAX_CHAIN_ELEMENTS
                            + " per chain)");
        }
        int r;
        try {
            r = mem.find(tableAddr, tl);
        } catch (GuestMemoryException e) {
            throw new VirtqueueException(BAD_ADDRESS, "indirect table of chain " + chain.id(), e);
        }
        MemorySegment t = mem.segment(r);
        long base = mem.offsetIn(r, tableAddr);
        int i = 0;
        int walked = 0;
        while (true) {
            long d = base + 16L * i;
            long addr = get64(t, d + DESC_ADDR);
            int len = get32(t, d + DESC_LEN);
            int flags = get16(t, d + DESC_FLAGS);
            int next = get16(t, d + DESC_NEXT);
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                throw new VirtqueueException(NESTED_INDIRECT,
                        "indirect descriptor inside the indirect table of chain " + chain.id());
            }
            if (++walked > entries) {
                throw new VirtqueueException(CHAIN_TOO_LONG, "indirect table of chain " + chain.id() + " loops");
            }
            addSegment(chain, addr, len, (flags & VIRTQ_DESC_F_WRITE) != 0);
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) break;
            if (next >= entries) throw new VirtqueueException(INDEX_OUT_OF_RANGE,
                    "indirect next " + next + " >= table entries " + entries);
            i = next;
        }
        return elements + walked;
    }

    private void addSegment(DescriptorChain chain, long addr, int len, boolean writable) {
        long l = Integer.toUnsignedLong(len);
        if (l == 0) return; // nothing to read or write; keep the chain compact
        if (l > Integer.MAX_VALUE)
                throw new VirtqueueException(LENGTH_OVERFLOW, "descriptor length " + l + " in chain " + chain.id());
        int r;
        try {
            r = mem.find(addr, l);
        } catch (GuestMemoryException e) {
            throw new VirtqueueException(BAD_ADDRESS, "buffer of chain " + chain.id(), e);
        }
        chain.add(mem.segment(r), mem.offsetIn(r, addr), len, addr, writable);
    }

    @Override
    public void push(int id, int descriptorCount, int written) {
        checkOk();
        long e = USED_RING + (long) USED_ELEM_SIZE * (usedIdx & mask);
        // id and len in one store (one bounds check); used.idx, stored with release in publish(),
        // orders them for the driver.
        set64(used, e + USED_ELEM_ID, Integer.toUnsignedLong(id) | (long) written << 32);
        usedIdx = (usedIdx + 1) & 0xffff;
    }

    @Override
    public boolean publish() {
        checkOk();
        int newIdx = usedIdx;
        int old = publishedUsed;
        if (newIdx == old) return false;
        // Release: the used elements written above are visible before the index that covers them.
        setRelease16(used, USED_IDX, newIdx);
        publishedUsed = newIdx;
        // Store(used.idx) -> load(used_event / avail.flags) must not be reordered, or the driver
        // may have re-enabled interrupts after reading the old used.idx and we would not see it.
        java.lang.invoke.VarHandle.fullFence();
        if (eventIdx) {
            return needEvent(getOpaque16(avail, usedEventOff), newIdx, old);
        }
        return (getOpaque16(avail, AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT) == 0;
    }

    @Override
    public void disableNotifications() {
        checkOk();
        notifyEnabled = false;
        if (eventIdx) {
            parkEvent();
        } else {
            setOpaque16(used, USED_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
        }
    }

    // With EVENT_IDX there is no "off" flag: the driver kicks when its index passes avail_event.
    // Leaving a stale avail_event would be passed again when the 16-bit index comes round (a kick
    // every 65536 buffers), so while off it is parked half the index space ahead, and moved on
    // (rarely: once per 16384 buffers) as the device consumes.
    private void parkEvent() {
        parkedEvent = (lastAvail + 0x7fff) & 0xffff;
        setOpaque16(used, availEventOff, parkedEvent);
    }

    private void keepEventParked() {
        if (((parkedEvent - lastAvail) & 0xffff) < 0x4000) parkEvent();
    }

    @Override
    public boolean enableNotifications() {
        checkOk();
        notifyEnabled = true;
        if (eventIdx) {
            setOpaque16(used, availEventOff, availIdxSeen);
        } else {
            setOpaque16(used, USED_FLAGS, 0);
        }
        // The request must be visible before we look at avail.idx again (store->load), else a
        // driver that published just before reading our request would never kick.
        java.lang.invoke.VarHandle.fullFence();
        return refreshAvail() || lastAvail != availIdxSeen;
    }

    /** True unless {@link #disableNotifications()} is in force. */
    public boolean notificationsEnabled() { return notifyEnabled; }
}
