package ringlink.vhostuser;

import static ringlink.virtio.VirtqLayout.VIRTQ_DESC_F_AVAIL;
import static ringlink.virtio.VirtqLayout.VIRTQ_DESC_F_INDIRECT;
import static ringlink.virtio.VirtqLayout.VIRTQ_DESC_F_NEXT;
import static ringlink.virtio.VirtqLayout.VIRTQ_DESC_F_USED;
import static ringlink.vhostuser.QueueRegionPackedLayout.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.PackedQueueDevice;
import ringlink.virtio.PackedRing;
import ringlink.virtio.VirtqLayout;
import ringlink.virtio.VirtqueueException;

/**
 * Inflight tracking of one packed virtqueue (vhost-user.rst "Inflight I/O tracking", the packed
 * part): the back-end's bookkeeping in a {@code QueueRegionPacked} and the recovery when a ring
 * starts over a region a previous back-end left behind.
 *
 * <p>Layout ({@code QueueRegionPacked}): features u64, version u16, desc_num u16, free_head u16,
 * old_free_head u16, used_idx u16, old_used_idx u16, used_wrap_counter u8,
 * old_used_wrap_counter u8, padding, then from byte 32 {@code desc_num} × {@code DescStatePacked}
 * of 32 bytes: inflight u8, padding u8, next u16, last u16, num u16, counter u64, then a copy of
 * the ring descriptor (id u16, flags u16, len u32, addr u64).
 *
 * <p>The entries form a free list (free_head, next). Taking a chain copies each of its ring
 * descriptors into the next free entry; the first entry of the chain (its head) gets num, last,
 * counter and inflight. Completing a chain puts its entries back at the front of the free list.
 * The copies are why packed rings need more than the split layout: a packed device overwrites
 * descriptor slots with used descriptors, so after a crash between writing them and publishing
 * them the ring no longer holds what the driver offered.
 *
 * <p>Crash consistency follows the spec's commit points: a take is committed by storing
 * old_free_head; a completed batch by storing the old_* copies after the ring's publish.
 * Recovery ({@link #recover}) decides from the descriptor at old_used_idx whether the last batch
 * was published (commit) or not (roll back), frees what the free list holds and resubmits the
 * rest in counter order.
 *
 * <p>Only recovery reads the region; the data path writes it and keeps its own copy of the free
 * list ({@link #next}), so a front-end scribbling on the shared buffer while we run cannot steer
 * our loops or indices. Everything read at recovery is validated: a region that does not add up is
 * a {@link VhostUserException.InvalidParam} and the ring does not start.
 *
 * <p>Resubmission relies on in-order completion (what our back-end does): the chains still in
 * flight are exactly the ones from the used position on, so recovery writes their saved
 * descriptors back into those ring slots, in counter order, and the device pops them again from
 * the used position (checked like any chain). The first pops after recovery are matched with
 * the recovered entries instead of being recorded a second time.
 */
final class PackedInflight implements InflightTracker {
    static final ValueLayout.OfShort U16 = Message.U16;
    static final ValueLayout.OfInt U32 = Message.U32;
    static final ValueLayout.OfLong U64 = Message.U64;
    static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    private static final int WRAP_BITS = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;

    private final MemorySegment r;
    private final MemorySegment ring;
    private final int num;
    /** Our copy of every entry's next link: the free list is followed here, never in the region. */
    private final int[] next;
    /** Per head entry: its chain's last entry and length. */
    private final int[] lastOf, numOf;
    /** Per buffer id in flight: its head entry. */
    private final int[] headOfId;
    private int freeHead, freeCount;
    private long counter;
    /** The used position and wrap counter of the batch being published (ours, not read back). */
    private int usedPos;
    private boolean usedWrap;
    /** Recovered heads, in counter order, that the next pops re-take; their ids. */
    private final int[] resubmit, resubmitIds;
    private int resubmitNext;

    /** Where the device resumes (used and avail position alike) and its wrap counter. */
    final int resumePos;
    final boolean resumeWrap;
    /** How many chains recovery put back on the ring. */
    final int resubmitted;
    /** The device over the ring, once it is started ({@link #attach}): where pops begin and the used position. */
    private PackedQueueDevice dev;

    private PackedInflight(MemorySegment r, MemorySegment ring, int num, int resumePos, boolean resumeWrap,
            int[] resubmit,
                           int[] resubmitIds) {
        this.r = r;
        this.ring = ring;
        this.num = num;
        this.next = new int[num];
        this.lastOf = new int[num];
        this.numOf = new int[num];
        this.headOfId = new int[num];
        this.resumePos = resumePos;
        this.resumeWrap = resumeWrap;
        this.resubmit = resubmit;
        this.resubmitIds = resubmitIds;
        this.resubmitted = resubmit.length;
        this.usedPos = resumePos;
        this.usedWrap = resumeWrap;
    }

    private static long entry(int i) {
        return OFF_DESC + DescStatePackedLayout.SIZE * i;
    }

    private static int u16(MemorySegment s, long off) {
        return Short.toUnsignedInt(s.get(U16, off));
    }

    /** A fresh region for a ring resuming at {@code pos}/{@code wrap}: all entries free, nothing in flight. */
    static void initialise(MemorySegment r, int num, int pos, boolean wrap) {
        r.asSlice(0, Inflight.regionSize(num, true)).fill((byte) 0);
        // num ends the list
        for (int j = 0; j < num; j++) r.set(U16, entry(j) + DescStatePackedLayout.OFF_NEXT, (short) (j + 1));
        r.set(U16, OFF_DESC_NUM, (short) num);
        r.set(U16, OFF_USED_IDX, (short) pos);
        r.set(U16, OFF_OLD_USED_IDX, (short) pos);
        r.set(U8, OFF_USED_WRAP_COUNTER, (byte) (wrap ? 1 : 0));
        r.set(U8, OFF_OLD_USED_WRAP_COUNTER, (byte) (wrap ? 1 : 0));
        // Version last: until it is stored the region still reads as uninitialised.
        VarHandle.releaseFence();
        r.set(U16, OFF_VERSION, (short) QueueRegionSplitLayout.VERSION);
    }

    /**
     * Starts tracking a packed ring of {@code num} descriptors over region {@code r}. A fresh
     * region (version 0) is initialised at {@code basePos}/{@code baseWrap} (what SET_VRING_BASE
     * said). Otherwise the spec's reconnect steps run: commit or roll back the last batch, clear
     * the free entries, and put the chains still in flight back on {@code descRing} from the
     * recovered used position, in counter order; the ring then resumes there
     * ({@link #resumePos}).
     *
     * @throws VhostUserException.InvalidParam if the region's version, size, indices, lists or
     *                                         chains do not add up
     */
    static PackedInflight recover(MemorySegment r, int num, MemorySegment descRing, int basePos, boolean baseWrap)
            throws VhostUserException {
        if (num < 1 || num > 32768 || r.byteSize() < Inflight.regionSize(num, true)
                || descRing.byteSize() < (long) VirtqLayout.DESC_SIZE * num) {
            throw new IllegalArgumentException("packed inflight region of " + r.byteSize() + " bytes for a ring of "
                    + num);
        }
        int version = u16(r, OFF_VERSION);
        if (version == 0) {
            initialise(r, num, basePos, baseWrap);
            PackedInflight t = new PackedInflight(r, descRing, num, basePos, baseWrap, new int[0], new int[0]);
            t.freeAll();
            return t;
        }
        int descNum = u16(r, OFF_DESC_NUM);
        if (version != QueueRegionSplitLayout.VERSION || descNum != num) {
            throw bad("version " + version + " for " + descNum + " descriptors does not match a packed ring of " + num);
        }
        int freeHead = u16(r, OFF_FREE_HEAD), oldFreeHead = u16(r, OFF_OLD_FREE_HEAD);
        int usedIdx = u16(r, OFF_USED_IDX), oldUsedIdx = u16(r, OFF_OLD_USED_IDX);
        int wrapByte = Byte.toUnsignedInt(r.get(U8, OFF_USED_WRAP_COUNTER)),
                oldWrapByte = Byte.toUnsignedInt(r.get(U8, OFF_OLD_USED_WRAP_COUNTER));
        if (freeHead > num || oldFreeHead > num)
                throw bad("free_head " + freeHead + "/old_free_head " + oldFreeHead + " outside " + num + " entries");
        if (usedIdx >= num || oldUsedIdx >= num)
                throw bad("used_idx " + usedIdx + "/old_used_idx " + oldUsedIdx + " outside a ring of " + num);
        if (wrapByte > 1 || oldWrapByte > 1)
                throw bad("used wrap counters " + wrapByte + "/" + oldWrapByte + " are not 0 or 1");
        boolean wrap = wrapByte == 1, oldWrap = oldWrapByte == 1;

        // 1. An unfinished batch: was it published? The spec compares used_idx only; the wrap
        //    counter is compared too, since a batch of exactly num descriptors brings used_idx
        //    back to where it was.
        if (usedIdx != oldUsedIdx || wrap != oldWrap) {
            int flags = u16(descRing, (long) VirtqLayout.DESC_SIZE * oldUsedIdx + PackedRing.DESC_FLAGS) & WRAP_BITS;
            int stillAvailable = oldWrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED;
            if (flags != stillAvailable) {
                // The batch's first used descriptor (which publishes the batch) was stored, or the
                // driver already reused that slot: the batch reached the driver, commit it.
                oldFreeHead = freeHead;
                oldUsedIdx = usedIdx;
                oldWrap = wrap;
            }
        }
        // 2. Roll back whatever was not committed. old_* first, then the working copies, so a
        //    crash half-way repeats the same decision next time.
        r.set(U16, OFF_OLD_FREE_HEAD, (short) oldFreeHead);
        r.set(U8, OFF_OLD_USED_WRAP_COUNTER, (byte) (oldWrap ? 1 : 0));
        r.set(U16, OFF_OLD_USED_IDX, (short) oldUsedIdx);
        r.set(U16, OFF_FREE_HEAD, (short) oldFreeHead);
        r.set(U8, OFF_USED_WRAP_COUNTER, (byte) (oldWrap ? 1 : 0));
        r.set(U16, OFF_USED_IDX, (short) oldUsedIdx);

        // 3. The free list: acyclic, inside the entries, ended by num. Its entries are not in flight.
        boolean[] free = new boolean[num];
        int freeCount = 0;
        for (int f = oldFreeHead; f != num; ) {
            if (f > num) throw bad("free list runs to entry " + f + " of " + num);
            if (free[f]) throw bad("free list loops at entry " + f);
            free[f] = true;
            freeCount++;
            r.set(U8, entry(f) + DescStatePackedLayout.OFF_INFLIGHT, (byte) 0);
            f = u16(r, entry(f) + DescStatePackedLayout.OFF_NEXT);
        }

        // 4. The heads still in flight, in counter order, each chain walked and checked.
        int nh = 0;
        int[] keyed = new int[num];
        long[] counters = new long[num];
        for (int i = 0; i < num; i++) {
            if (free[i]) continue;
            int inflight = Byte.toUnsignedInt(r.get(U8, entry(i) + DescStatePackedLayout.OFF_INFLIGHT));
            if (inflight > 1) throw bad("entry " + i + " has inflight " + inflight);
            if (inflight == 1) {
                counters[i] = r.get(U64, entry(i) + DescStatePackedLayout.OFF_COUNTER);
                keyed[nh++] = i;
            }
        }
        Integer[] order = new Integer[nh];
        for (int k = 0; k < nh; k++) order[k] = keyed[k];
        Arrays.sort(order, (a, b) -> {
            int c = Long.compareUnsigned(counters[a], counters[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] heads = new int[nh], ids = new int[nh];
        boolean[] claimed = new boolean[num];
        boolean[] idSeen = new boolean[num];
        int[] chainEntries = new int[num];
        int total = 0;
        long maxCounter = 0;
        for (int k = 0; k < nh; k++) {
            int h = order[k];
            heads[k] = h;
            int n = u16(r, entry(h) + DescStatePackedLayout.OFF_NUM);
            if (n < 1 || n > num - total) throw bad("entry " + h + " claims a chain of " + n + " descriptors (" + total
                    + " of " + num + " taken)");
            int e = h;
            for (int j = 0; j < n; j++) {
                if (j > 0) {
                    e = u16(r, entry(e) + DescStatePackedLayout.OFF_NEXT);
                    if (e >= num) throw bad("chain of entry " + h + " links to entry " + e + " of " + num);
                }
                if (free[e] || claimed[e]) throw bad("chain of entry " + h + " reaches entry " + e
                        + ", which is free or in another chain");
                claimed[e] = true;
                int flags = u16(r, entry(e) + DescStatePackedLayout.OFF_FLAGS);
                if (((flags & VIRTQ_DESC_F_NEXT) != 0) != (j < n - 1)) {
                    throw bad("descriptor " + j + " of the " + n + " in the chain of entry " + h + " has flags 0x"
                            + Integer.toHexString(flags));
                }
                if ((flags & VIRTQ_DESC_F_INDIRECT) != 0 && n != 1)
                        throw bad("chain of entry " + h + " mixes an indirect descriptor with others");
                chainEntries[total + j] = e;
            }
            int last = u16(r, entry(h) + DescStatePackedLayout.OFF_LAST);
            if (last != e)
                    throw bad("entry " + h + " says its chain ends at entry " + last + ", its links end at " + e);
            int id = u16(r, entry(e) + DescStatePackedLayout.OFF_ID);
            if (id >= num || idSeen[id])
                    throw bad("chain of entry " + h + " has buffer id " + id + (id < num ? " twice" : " >= " + num));
            idSeen[id] = true;
            ids[k] = id;
            total += n;
            long c = counters[h];
            if (Long.compareUnsigned(c, maxCounter) > 0) maxCounter = c;
        }

        // 5. Resubmit: the saved descriptors go back on the ring from the used position, in
        //    counter order, marked available for the lap each slot is in.
        int pos = oldUsedIdx;
        boolean w = oldWrap;
        for (int j = 0; j < total; j++) {
            long src = entry(chainEntries[j]);
            long d = (long) VirtqLayout.DESC_SIZE * pos;
            int flags = (u16(r, src + DescStatePackedLayout.OFF_FLAGS) & ~WRAP_BITS)
                    | (w ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED);
            descRing.set(U64, d + PackedRing.DESC_ADDR, r.get(U64, src + DescStatePackedLayout.OFF_ADDR));
            descRing.set(U32, d + PackedRing.DESC_LEN, r.get(U32, src + DescStatePackedLayout.OFF_LEN));
            descRing.set(U16, d + PackedRing.DESC_ID, r.get(U16, src + DescStatePackedLayout.OFF_ID));
            descRing.set(U16, d + PackedRing.DESC_FLAGS, (short) flags);
            if (++pos == num) {
                pos = 0;
                w = !w;
            }
        }
        VarHandle.fullFence();

        PackedInflight t = new PackedInflight(r, descRing, num, oldUsedIdx, oldWrap, heads, ids);
        for (int i = 0; i < num; i++) t.next[i] = u16(r, entry(i) + DescStatePackedLayout.OFF_NEXT);
        int at = 0;
        for (int k = 0; k < nh; k++) {
            int h = heads[k];
            int n = u16(r, entry(h) + DescStatePackedLayout.OFF_NUM);
            t.numOf[h] = n;
            t.lastOf[h] = chainEntries[at + n - 1];
            at += n;
        }
        t.freeHead = oldFreeHead;
        t.freeCount = freeCount;
        t.counter = maxCounter + 1;
        return t;
    }

    /** Fresh region: every entry free, linked in index order. */
    private void freeAll() {
        for (int j = 0; j < num; j++) next[j] = j + 1;
        freeHead = 0;
        freeCount = num;
        counter = 1;
    }

    private static VhostUserException.InvalidParam bad(String what) {
        return new VhostUserException.InvalidParam("packed inflight region: " + what);
    }

    /**
     * A chain of {@code descCount} ring slots from position {@code pos} with buffer id {@code id}
     * was taken from the ring (the slots still hold what the driver wrote). Returns the position
     * after it.
     *
     * @throws VirtqueueException if the entries ran out or a re-taken chain differs from what
     *                            recovery put back (someone rewrote the ring meanwhile)
     */
    int taken(int pos, int descCount, int id) {
        if (resubmitNext < resubmit.length) {
            int h = resubmit[resubmitNext];
            if (resubmitIds[resubmitNext] != id || numOf[h] != descCount) {
                throw new VirtqueueException(VirtqueueException.Reason.BAD_BUFFER_ID, "chain " + id + " of " + descCount
                        + " descriptors at ring position " + pos + " is not the resubmitted chain "
                                + resubmitIds[resubmitNext]
                        + " of " + numOf[h]);
            }
            resubmitNext++;
            headOfId[id] = h; // already recorded: inflight, with its counter
            return advance(pos, descCount);
        }
        if (descCount > freeCount) {
            throw new VirtqueueException(VirtqueueException.Reason.CHAIN_TOO_LONG, "inflight region has " + freeCount
                    + " free entries for a chain of " + descCount);
        }
        int h = freeHead;
        int e = h;
        for (int j = 0; j < descCount; j++) {
            if (j > 0) e = next[e];
            long src = (long) VirtqLayout.DESC_SIZE * pos;
            long dst = entry(e);
            r.set(U64, dst + DescStatePackedLayout.OFF_ADDR, ring.get(U64, src + PackedRing.DESC_ADDR));
            r.set(U32, dst + DescStatePackedLayout.OFF_LEN, ring.get(U32, src + PackedRing.DESC_LEN));
            r.set(U16, dst + DescStatePackedLayout.OFF_ID, ring.get(U16, src + PackedRing.DESC_ID));
            r.set(U16, dst + DescStatePackedLayout.OFF_FLAGS, ring.get(U16, src + PackedRing.DESC_FLAGS));
            if (j > 0) r.set(U8, dst + DescStatePackedLayout.OFF_INFLIGHT, (byte) 0);
            pos = advance(pos, 1);
        }
        long hd = entry(h);
        r.set(U16, hd + DescStatePackedLayout.OFF_NUM, (short) descCount);
        r.set(U16, hd + DescStatePackedLayout.OFF_LAST, (short) e);
        r.set(U64, hd + DescStatePackedLayout.OFF_COUNTER, counter++);
        r.set(U8, hd + DescStatePackedLayout.OFF_INFLIGHT, (byte) 1);
        freeHead = next[e];
        freeCount -= descCount;
        lastOf[h] = e;
        numOf[h] = descCount;
        headOfId[id] = h;
        r.set(U16, OFF_FREE_HEAD, (short) freeHead);
        // The commit point of a take: everything above is stored before it.
        VarHandle.releaseFence();
        r.set(U16, OFF_OLD_FREE_HEAD, (short) freeHead);
        return pos;
    }

    /** The ring started with this tracking: pops and publishes are the device's from now on. */
    PackedInflight attach(PackedQueueDevice device) {
        this.dev = device;
        return this;
    }

    @Override
    public int cursor() {
        return dev.availPosition();
    }

    @Override
    public int taken(int cursor, DescriptorChain c) {
        return taken(cursor, c.descriptorCount(), c.id());
    }

    /** Nothing: a packed chain's entries return to the free list only in {@link #beforePublish}. */
    @Override
    public void used(int id) {}

    /** With IN_ORDER the device may return the batch as one used descriptor; every chain is still completed here. */
    @Override
    public void beforePublish(int[] ids, int n) {
        beforePublish(ids, n, dev.usedPosition(), dev.usedWrapCounter());
    }

    private int advance(int pos, int n) {
        pos += n;
        return pos >= num ? pos - num : pos;
    }

    /**
     * Before the device publishes a batch: the chains {@code ids[0..n)} go back to the free list
     * and the used position becomes {@code usedPos}/{@code usedWrap} (spec: before the
     * descriptor flags are updated).
     */
    void beforePublish(int[] ids, int n, int usedPos, boolean usedWrap) {
        for (int k = 0; k < n; k++) {
            int h = headOfId[ids[k]];
            int l = lastOf[h];
            next[l] = freeHead;
            r.set(U16, entry(l) + DescStatePackedLayout.OFF_NEXT, (short) freeHead);
            freeHead = h;
            freeCount += numOf[h];
        }
        this.usedPos = usedPos;
        this.usedWrap = usedWrap;
        r.set(U16, OFF_FREE_HEAD, (short) freeHead);
        r.set(U8, OFF_USED_WRAP_COUNTER, (byte) (usedWrap ? 1 : 0));
        VarHandle.releaseFence();
        r.set(U16, OFF_USED_IDX, (short) usedPos);
    }

    /** After the device published the batch: its heads are no longer in flight; commit. */
    @Override
    public void published(int[] ids, int n) {
        for (int k = 0; k < n; k++) r.set(U8, entry(headOfId[ids[k]]) + DescStatePackedLayout.OFF_INFLIGHT, (byte) 0);
        r.set(U16, OFF_OLD_FREE_HEAD, (short) freeHead);
        r.set(U8, OFF_OLD_USED_WRAP_COUNTER, (byte) (usedWrap ? 1 : 0));
        // old_used_idx last: while it differs from used_idx, recovery re-checks the ring.
        VarHandle.releaseFence();
        r.set(U16, OFF_OLD_USED_IDX, (short) usedPos);
    }
}
