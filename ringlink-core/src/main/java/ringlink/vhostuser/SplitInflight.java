package ringlink.vhostuser;

import static ringlink.vhostuser.QueueRegionSplitLayout.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.SplitRing;

/**
 * Inflight tracking of one split virtqueue (vhost-user.rst "Inflight I/O tracking", the split
 * part) over its {@code QueueRegionSplit}: a taken head is marked inflight with a counter, a
 * completed one is linked into the batch list ({@code last_batch_head}, {@code next}), and after
 * the publish the batch's heads are cleared and {@code used_idx} follows the ring's. At ring
 * start {@link #recover} follows the spec's reconnect steps.
 */
final class SplitInflight implements InflightTracker {
    private static final ValueLayout.OfShort U16 = Message.U16;
    private static final ValueLayout.OfLong U64 = Message.U64;
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    private final MemorySegment r;
    private final int num;
    /** The ring whose used index {@link #published} records; set when the ring starts. */
    private SplitRing ring;
    private long counter;

    /** Tracking of a ring of {@code num} descriptors in region {@code r} (not read until {@link #recover}). */
    SplitInflight(MemorySegment r, int num) {
        this.r = r;
        this.num = num;
    }

    private static long entry(int i) {
        return OFF_DESC + DescStateSplitLayout.SIZE * i;
    }

    /**
     * Prepares the region for a ring whose used index is {@code usedIdx} (spec "When
     * reconnecting"): a fresh region is initialised; otherwise the last batch the previous
     * back-end completed but had not recorded is cleared.
     *
     * @return the number of chains still marked inflight (to be processed again), or 0
     */
    int recover(int usedIdx) throws VhostUserException {
        int version = Short.toUnsignedInt(r.get(U16, OFF_VERSION));
        if (version == 0) {
            r.set(U16, OFF_VERSION, (short) VERSION);
            r.set(U16, OFF_DESC_NUM, (short) num);
            r.set(U16, OFF_USED_IDX, (short) usedIdx);
            return 0;
        }
        int descNum = Short.toUnsignedInt(r.get(U16, OFF_DESC_NUM));
        if (version != VERSION || descNum != num) {
            throw new VhostUserException.InvalidParam("inflight region version " + version + " for " + descNum
                    + " descriptors does not match a ring of " + num);
        }
        int recorded = Short.toUnsignedInt(r.get(U16, OFF_USED_IDX));
        if (recorded != usedIdx) {
            int batch = (usedIdx - recorded) & 0xffff;
            if (batch > num) throw new VhostUserException.InvalidParam("inflight used_idx " + recorded + " is " + batch
                    + " behind the used ring's " + usedIdx);
            int h = Short.toUnsignedInt(r.get(U16, OFF_LAST_BATCH_HEAD));
            for (int k = 0; k < batch; k++) {
                if (h >= num)
                        throw new VhostUserException.InvalidParam("inflight batch list points at descriptor " + h);
                long e = entry(h);
                r.set(U8, e + DescStateSplitLayout.OFF_INFLIGHT, (byte) 0);
                h = Short.toUnsignedInt(r.get(U16, e + DescStateSplitLayout.OFF_NEXT));
            }
            r.set(U16, OFF_USED_IDX, (short) usedIdx);
        }
        int pending = 0;
        for (int i = 0; i < num; i++) {
            if (r.get(U8, entry(i) + DescStateSplitLayout.OFF_INFLIGHT) != 0) pending++;
        }
        return pending;
    }

    /** Clears every head's inflight byte: the ring resumes at used.idx, so those chains are re-read from the ring. */
    void clearInflight() {
        for (int i = 0; i < num; i++) r.set(U8, entry(i) + DescStateSplitLayout.OFF_INFLIGHT, (byte) 0);
    }

    /** The largest counter in the region (the next one continues after it). */
    long maxCounter() {
        long max = 0;
        for (int i = 0; i < num; i++) max = Math.max(max, r.get(U64, entry(i) + DescStateSplitLayout.OFF_COUNTER));
        return max;
    }

    /** The ring starts over {@code splitRing}: counters continue after the region's largest. */
    SplitInflight attach(SplitRing splitRing) {
        this.ring = splitRing;
        this.counter = maxCounter() + 1;
        return this;
    }

    /** A chain with head {@code id} was taken from the available ring, as the {@code counter}-th. */
    void taken(int id, long count) {
        long e = entry(id);
        r.set(U64, e + DescStateSplitLayout.OFF_COUNTER, count);
        r.set(U8, e + DescStateSplitLayout.OFF_INFLIGHT, (byte) 1);
    }

    /** The batch {@code ids[0..n)} was published with used index {@code usedIdx}. */
    void published(int[] ids, int n, int usedIdx) {
        for (int k = 0; k < n; k++) r.set(U8, entry(ids[k]) + DescStateSplitLayout.OFF_INFLIGHT, (byte) 0);
        r.set(U16, OFF_USED_IDX, (short) usedIdx);
    }

    @Override
    public int cursor() {
        return 0;
    }

    @Override
    public int taken(int cursor, DescriptorChain c) {
        taken(c.id(), counter++);
        return cursor;
    }

    /** Chain {@code id} was put on the used ring (not yet published): link it into the batch list. */
    @Override
    public void used(int id) {
        long e = entry(id);
        r.set(U16, e + DescStateSplitLayout.OFF_NEXT, r.get(U16, OFF_LAST_BATCH_HEAD));
        r.set(U16, OFF_LAST_BATCH_HEAD, (short) id);
    }

    /** Nothing: a split region records a batch only once the ring's used index moved. */
    @Override
    public void beforePublish(int[] ids, int n) {}

    @Override
    public void published(int[] ids, int n) {
        published(ids, n, Vring.usedIdx(ring));
    }
}
