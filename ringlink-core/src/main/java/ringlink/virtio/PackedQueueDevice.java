package ringlink.virtio;

import static ringlink.virtio.PackedRing.*;
import static ringlink.virtio.VirtqLayout.*;
import static ringlink.virtio.VirtqueueException.Reason.*;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

/**
 * Device side of a packed virtqueue (virtio 1.2 §2.8). The device walks the descriptor ring in
 * order, tracking the driver's wrap counter: a descriptor is available when its AVAIL bit equals
 * the counter and its USED bit does not. Used descriptors are written at the device's own ring
 * position (with its used wrap counter in both bits), one per chain, skipping as many slots as the
 * chain took.
 *
 * <p>Batching: the flags of the first used descriptor of a batch are stored last, with release,
 * in {@link #publish()}; the driver reads used descriptors in ring order, so that one store
 * publishes the whole batch.
 *
 * <p>With IN_ORDER (§2.8.23, "In-order use of descriptors") a run of consecutive chains pushed with
 * length 0 (the device only read them: a transmit queue) becomes one used descriptor at the run's
 * first slot naming the run's last buffer id; the driver completes every earlier chain of the run
 * and skips their slots. Lengths other than 0 are written per chain, since the driver would not
 * learn them otherwise. This writes one descriptor per batch instead of one per packet into the
 * lines the driver is polling and refilling (DPDK's vhost does the same for its dequeue path).
 *
 * <p>Checked on every pop: chain length (at most the queue size, bounding any loop), every
 * descriptor of a chain being available in the current lap, buffer id below the queue size and not
 * already in use, indirect tables (negotiated, a non-zero multiple of 16 bytes, no nesting, not
 * with NEXT), and every buffer inside one guest memory region.
 */
public final class PackedQueueDevice implements VirtqueueDevice {
    private final GuestMemory mem;
    private final FeatureSet features;
    private final int size;
    private final int maxElements; // min(size, MAX_CHAIN_ELEMENTS)
    private final MemorySegment desc, driverEvent, deviceEvent;
    private final boolean eventIdx, indirect, inOrder;

    private int nextAvail;
    private boolean availWrap = true;
    private int nextUsed;
    private boolean usedWrap = true;
    private int signalledUsed;     // nextUsed at the previous publish
    private int firstPos = -1;     // first used descriptor of the unpublished batch
    private int firstFlags;
    private int runPos = -1;       // IN_ORDER: first slot of the open run of length-0 chains
    private int runFlags;          // the used flags valid at runPos
    private int runId;             // the run's last buffer id so far
    private final boolean[] inUse; // buffer ids popped and not yet pushed
    private VirtqueueException failure;

    /** A device over a fresh ring. */
    public PackedQueueDevice(PackedRing ring, GuestMemory mem, FeatureSet features) {
        this(ring, mem, features, 0, true, 0, true);
    }

    /**
     * A device resuming at the given positions and wrap counters (vhost-user
     * {@code SET_VRING_BASE} carries avail position and wrap; used starts equal on a fresh start).
     */
    public PackedQueueDevice(PackedRing ring, GuestMemory mem, FeatureSet features,
                             int availPos, boolean availWrap, int usedPos, boolean usedWrap) {
        this.mem = mem;
        this.features = features;
        this.size = ring.size();
        this.maxElements = Math.min(size, MAX_CHAIN_ELEMENTS);
        this.desc = ring.desc;
        this.driverEvent = ring.driverArea;
        this.deviceEvent = ring.deviceArea;
        this.eventIdx = features.has(VirtioFeature.EVENT_IDX);
        this.indirect = features.has(VirtioFeature.INDIRECT_DESC);
        this.inOrder = features.has(VirtioFeature.IN_ORDER);
        if (availPos < 0 || availPos >= size || usedPos < 0 || usedPos >= size) {
            throw new VirtqueueException(BAD_RING_SETUP,
                    "ring positions " + availPos + "/" + usedPos + " outside queue of " + size);
        }
        this.nextAvail = availPos;
        this.availWrap = availWrap;
        this.nextUsed = usedPos;
        this.usedWrap = usedWrap;
        this.signalledUsed = usedPos;
        this.inUse = new boolean[size];
    }

    @Override public int size() { return size; }
    @Override public FeatureSet features() { return features; }
    @Override public VirtqueueException failure() { return failure; }

    @Override
    public int availBase() { return nextAvail | (availWrap ? 0x8000 : 0); }

    /** Next ring position to look at for available descriptors. */
    public int availPosition() { return nextAvail; }
    /** The driver's wrap counter the device expects at {@link #availPosition()}. */
    public boolean availWrapCounter() { return availWrap; }
    /** Next ring position where the device writes a used descriptor. */
    public int usedPosition() { return nextUsed; }
    /** The device's wrap counter at {@link #usedPosition()}. */
    public boolean usedWrapCounter() { return usedWrap; }

    private void checkOk() {
        if (failure != null) throw new VirtqueueException(QUEUE_FAILED, "packed queue device failed earlier", failure);
    }

    private VirtqueueException fail(VirtqueueException e) {
        if (failure == null) failure = e;
        return e;
    }

    private boolean isAvail(int flags, boolean wrap) {
        return ((flags & VIRTQ_DESC_F_AVAIL) != 0) == wrap && ((flags & VIRTQ_DESC_F_USED) != 0) != wrap;
    }

    @Override
    public boolean hasAvailable() {
        checkOk();
        return isAvail(getAcquire16(desc, 16L * nextAvail + DESC_FLAGS), availWrap);
    }

    @Override
    public boolean pop(DescriptorChain chain) {
        checkOk();
        // Acquire on the head's flags: the driver wrote the chain, then the head flags with release.
        long w = headWord();
        if (!isAvail((int) (w >>> 48), availWrap)) return false;
        try {
            walk(w, chain);
        } catch (VirtqueueException e) {
            throw fail(e);
        }
        return true;
    }

    @Override
    public int pop(DescriptorChain[] chains, int max) {
        checkOk();
        int n = 0;
        int work = 0;
        try {
            while (n < max && work < MAX_BATCH_ELEMENTS) {
                long w = headWord();
                if (!isAvail((int) (w >>> 48), availWrap)) break;
                walk(w, chains[n]);
                work += chains[n++].elementCount();
            }
        } catch (VirtqueueException e) {
            throw fail(e);
        }
        return n;
    }

    @Override
    public void unpop(DescriptorChain chain) {
        checkOk();
        int id = chain.id();
        if (id < 0 || id >= size || !inUse[id]) throw new IllegalStateException(chain + " is not popped");
        int pos = nextAvail - chain.descriptorCount();
        boolean wrap = availWrap;
        if (pos < 0) {
            pos += size;
            wrap = !wrap;
        }
        inUse[id] = false;
        nextAvail = pos;
        availWrap = wrap;
    }

    /**
     * len, id and flags of the descriptor at {@link #nextAvail} as one acquire load: the flags
     * decide availability and, read with acquire, make the chain the driver wrote before them
     * visible; len and id come with them instead of costing two more checked accesses.
     */
    private long headWord() {
        return (long) U64.getAcquire(desc, 16L * nextAvail + DESC_LEN);
    }

    // Aligned: the ring's host address is 16-byte aligned (checked when it is mapped).
    private static final VarHandle U64 = java.lang.foreign.ValueLayout.JAVA_LONG
            .withOrder(java.nio.ByteOrder.LITTLE_ENDIAN).varHandle();

    private void walk(long headWord, DescriptorChain chain) {
        int pos = nextAvail;
        boolean wrap = availWrap;
        int slots = 0;
        int elements = 0;
        chain.reset(-1);
        int id;
        while (true) {
            long d = 16L * pos;
            // len, id and flags are the descriptor's second 8 bytes: one bounds-checked load
            // instead of three. (The head's flags were read with acquire by the caller; the
            // rest of a chain is written before the head, so plain loads see it.)
            long w = slots == 0 ? headWord : get64(desc, d + DESC_LEN);
            int flags = (int) (w >>> 48);
            if (slots > 0) {
                if (!isAvail(flags, wrap)) {
                    throw new VirtqueueException(WRAP_COUNTER,
                            "descriptor " + pos + " continues a chain but is not available in this lap (flags 0x"
                            + Integer.toHexString(flags) + ", wrap " + wrap + ")");
                }
            }
            long addr = get64(desc, d + DESC_ADDR);
            int len = (int) w;
            id = (int) (w >>> 32) & 0xffff;
            if (++slots > size) {
                throw new VirtqueueException(CHAIN_TOO_LONG,
                        "chain at position " + nextAvail + " is longer than the queue size " + size);
            }
            if (++pos == size) {
                pos = 0;
                wrap = !wrap;
            }
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                if (!indirect) throw new VirtqueueException(BAD_INDIRECT,
                        "indirect descriptor but INDIRECT_DESC not negotiated");
                if ((flags & VIRTQ_DESC_F_NEXT) != 0 || slots > 1) {
                    // Packed rings allow an indirect descriptor only as a list of its own (§2.8.20).
                    throw new VirtqueueException(NESTED_INDIRECT, "indirect descriptor inside a NEXT-linked list");
                }
                elements = walkIndirect(addr, len, chain, elements);
                break;
            }
            if (++elements > maxElements) {
                throw new VirtqueueException(CHAIN_TOO_LONG,
                        "chain at position " + nextAvail + " has more than " + maxElements
                        + " descriptors (queue size " + size + ", at most " + MAX_CHAIN_ELEMENTS + " per chain)");
            }
            addSegment(chain, addr, len, (flags & VIRTQ_DESC_F_WRITE) != 0);
            if ((flags & VIRTQ_DESC_F_NEXT) == 0) break;
        }
        // The buffer id is the one in the chain's last descriptor.
        if (id >= size) throw new VirtqueueException(BAD_BUFFER_ID, "buffer id " + id + " >= queue size " + size);
        if (inUse[id])
                throw new VirtqueueException(BAD_BUFFER_ID, "buffer id " + id + " is already in use by the device");
        inUse[id] = true;
        chain.setId(id);
        chain.setDescCount(slots);
        chain.setElementCount(elements);
        nextAvail = pos;
        availWrap = wrap;
    }

    private int walkIndirect(long tableAddr, int tableLen, DescriptorChain chain, int elements) {
        long tl = Integer.toUnsignedLong(tableLen);
        if (tl == 0 || (tl & 15) != 0) throw new VirtqueueException(BAD_INDIRECT,
                "indirect table length " + tl + " is not a positive multiple of 16");
        long entries = tl >>> 4;
        if (entries + elements > maxElements) {
            throw new VirtqueueException(CHAIN_TOO_LONG,
                    "indirect table of " + entries + " entries is longer than " + maxElements
                    + " descriptors (queue size " + size + ", at most " + MAX_CHAIN_ELEMENTS + " per chain)");
        }
        int r;
        try {
            r = mem.find(tableAddr, tl);
        } catch (GuestMemoryException e) {
            throw new VirtqueueException(BAD_ADDRESS, "indirect table", e);
        }
        MemorySegment t = mem.segment(r);
        long base = mem.offsetIn(r, tableAddr);
        // Packed indirect tables are sequential: every entry is an element, only WRITE counts.
        for (int i = 0; i < entries; i++) {
            long d = base + 16L * i;
            int flags = get16(t, d + DESC_FLAGS);
            if ((flags & VIRTQ_DESC_F_INDIRECT) != 0) {
                throw new VirtqueueException(NESTED_INDIRECT, "indirect descriptor inside an indirect table");
            }
            addSegment(chain, get64(t, d + DESC_ADDR), get32(t, d + DESC_LEN), (flags & VIRTQ_DESC_F_WRITE) != 0);
        }
        return elements + (int) entries;
    }

    private void addSegment(DescriptorChain chain, long addr, int len, boolean writable) {
        long l = Integer.toUnsignedLong(len);
        if (l == 0) return;
        if (l > Integer.MAX_VALUE) throw new VirtqueueException(LENGTH_OVERFLOW, "descriptor length " + l);
        int r;
        try {
            r = mem.find(addr, l);
        } catch (GuestMemoryException e) {
            throw new VirtqueueException(BAD_ADDRESS, "buffer at ring position " + nextAvail, e);
        }
        chain.add(mem.segment(r), mem.offsetIn(r, addr), len, addr, writable);
    }

    private void updateAvailEvent() {
        set16(deviceEvent, EVENT_OFF_WRAP, nextAvail | (availWrap ? 0x8000 : 0));
    }

    @Override
    public void push(int id, int descriptorCount, int written) {
        checkOk();
        if (id < 0 || id >= size || !inUse[id])
                throw new IllegalArgumentException("buffer id " + id + " was not popped");
        if (descriptorCount < 1 || descriptorCount > size)
                throw new IllegalArgumentException("descriptor count " + descriptorCount);
        inUse[id] = false;
        int flags = usedWrap ? (VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED) : 0;
        if (inOrder && written == 0) {
            if (runPos < 0) {
                runPos = nextUsed;
                runFlags = flags;
            }
            runId = id; // written out when the run ends (closeRun)
        } else {
            closeRun();
            writeUsed(nextUsed, id, written, flags);
        }
        nextUsed += descriptorCount;
        if (nextUsed >= size) {
            nextUsed -= size;
            usedWrap = !usedWrap;
        }
    }

    /** One used descriptor at {@code pos}; the batch's first one gets its flags in {@link #publish()}. */
    private void writeUsed(int pos, int id, int written, int flags) {
        long d = 16L * pos;
        if (firstPos < 0) {
            set32(desc, d + DESC_LEN, written);
            set16(desc, d + DESC_ID, id);
            firstPos = pos;   // stored last, in publish()
            firstFlags = flags;
        } else {
            // len, id and flags in one store: the batch's first flags, stored later with
            // release, publish it, so the order inside the batch does not matter.
            set64(desc, d + DESC_LEN, Integer.toUnsignedLong(written) | (long) id << 32 | (long) flags << 48);
        }
    }

    /** IN_ORDER: the open run of length-0 chains as one used descriptor at its first slot. */
    private void closeRun() {
        if (runPos < 0) return;
        writeUsed(runPos, runId, 0, runFlags);
        runPos = -1;
    }

    @Override
    public boolean publish() {
        checkOk();
        closeRun();
        if (firstPos < 0) return false;
        setRelease16(desc, 16L * firstPos + DESC_FLAGS, firstFlags);
        firstPos = -1;
        int newPos = nextUsed;
        int old = signalledUsed;
        signalledUsed = newPos;
        // Store(flags) -> load(driver event suppression) needs a full fence; see VirtqLayout.
        VarHandle.fullFence();
        int evFlags = getOpaque16(driverEvent, EVENT_FLAGS);
        if (evFlags == RING_EVENT_FLAGS_DISABLE) return false;
        if (evFlags != RING_EVENT_FLAGS_DESC || !eventIdx) return true;
        int offWrap = getOpaque16(driverEvent, EVENT_OFF_WRAP);
        int off = offWrap & 0x7fff;
        if (((offWrap & 0x8000) != 0) != usedWrap) off -= size;
        if (newPos <= old) old -= size;
        return needEvent(off, newPos, old);
    }

    @Override
    public void disableNotifications() {
        checkOk();
        setOpaque16(deviceEvent, EVENT_FLAGS, RING_EVENT_FLAGS_DISABLE);
    }

    @Override
    public boolean enableNotifications() {
        checkOk();
        if (eventIdx) {
            updateAvailEvent();
            setOpaque16(deviceEvent, EVENT_FLAGS, RING_EVENT_FLAGS_DESC);
        } else {
            setOpaque16(deviceEvent, EVENT_FLAGS, RING_EVENT_FLAGS_ENABLE);
        }
        VarHandle.fullFence();
        return hasAvailable();
    }
}
