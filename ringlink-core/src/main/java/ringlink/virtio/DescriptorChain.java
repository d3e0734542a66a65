package ringlink.virtio;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One descriptor chain a device popped from a ring, already walked and translated: a list of
 * segments, the device-readable ones first, then the device-writable ones, each a bounded range
 * of a {@link GuestMemory} region.
 *
 * <p>A {@code DescriptorChain} is a reusable cursor: {@link VirtqueueDevice#pop} refills it, so
 * a device keeps a few (one per batch slot) and allocates nothing per chain. Segment {@code i} is
 * {@code memory(i)} at {@code offset(i)} for {@code length(i)} bytes; {@link #read} and
 * {@link #write} gather/scatter with {@link MemorySegment#copy} over them.
 */
public final class DescriptorChain {
    private int id = -1;
    private int descCount;
    private int elements;
    private int count;
    private int readable;
    private long readableBytes;
    private long writableBytes;
    private MemorySegment[] seg = new MemorySegment[INITIAL];
    private long[] off = new long[INITIAL];
    private int[] len = new int[INITIAL];
    private long[] addr = new long[INITIAL];

    /** Segment arrays a fresh chain has. */
    private static final int INITIAL = 8;
    /**
     * Arrays grown past this are dropped when the chain is refilled: the peer decides how long a
     * chain is (up to {@link VirtqueueDevice#MAX_CHAIN_ELEMENTS}), and a device keeps up to a
     * thousand chains per queue, so arrays that only grow would let it park ~28 KiB in every one
     * of them. Real drivers stay far below (Linux: at most MAX_SKB_FRAGS + 2 = 19 descriptors),
     * so this costs nothing on their chains; a peer sending longer ones pays one allocation per
     * chain, never unbounded retained memory.
     */
    public static final int RETAINED_SEGMENTS = 64;

    /** An empty chain to pass to {@link VirtqueueDevice#pop}. */
    public DescriptorChain() {}

    /**
     * The chain's id, to hand back in the used ring: the head descriptor index (split) or the
     * buffer id (packed).
     */
    public int id() { return id; }

    /**
     * Ring slots the chain occupies (packed: the device skips this many when writing used
     * entries; an indirect chain counts 1). For split rings, the direct descriptors walked.
     */
    public int descriptorCount() { return descCount; }

    /**
     * Descriptors the device walked for this chain: direct ones plus the entries of an indirect
     * table, zero-length ones included (at most {@link VirtqueueDevice#MAX_CHAIN_ELEMENTS}). The
     * unit of work budgets ({@link VirtqueueDevice#MAX_BATCH_ELEMENTS}, the vhost-user receive
     * gather), because a zero-length descriptor costs a walk step but adds no segment.
     */
    public int elementCount() { return elements; }

    /** Number of segments (zero-length descriptors are dropped). */
    public int segmentCount() { return count; }

    /** Number of device-readable segments (they come first). */
    public int readableCount() { return readable; }

    /** Number of device-writable segments (after the readable ones). */
    public int writableCount() { return count - readable; }

    /** True if segment {@code i} is device-writable (it is at or after {@link #readableCount()}). */
    public boolean isWritable(int i) { return i >= readable; }

    /** The region segment that holds segment {@code i} (use with {@link #offset}). */
    public MemorySegment memory(int i) { return seg[i]; }

    /** Offset of segment {@code i} in {@link #memory}. */
    public long offset(int i) { return off[i]; }

    /** Length of segment {@code i}. */
    public int length(int i) { return len[i]; }

    /** Guest address of segment {@code i} as the descriptor gave it. */
    public long address(int i) { return addr[i]; }

    /** Segment {@code i} as its own slice (allocates a view object). */
    public MemorySegment slice(int i) { return seg[i].asSlice(off[i], len[i]); }

    /** Total device-readable bytes. */
    public long readableBytes() { return readableBytes; }

    /** Total device-writable bytes. */
    public long writableBytes() { return writableBytes; }

    /**
     * Copies up to {@code n} bytes of the chain's readable data, starting {@code from} bytes into
     * it, to {@code dst[dstOff..]}.
     *
     * @return bytes copied (less than {@code n} when the readable part ends first)
     */
    public long read(long from, MemorySegment dst, long dstOff, long n) {
        long done = 0;
        for (int i = 0; i < readable && done < n; i++) {
            int l = len[i];
            if (from >= l) {
                from -= l;
                continue;
            }
            long c = Math.min(l - from, n - done);
            MemorySegment.copy(seg[i], off[i] + from, dst, dstOff + done, c);
            done += c;
            from = 0;
        }
        return done;
    }

    /**
     * Copies up to {@code n} bytes from {@code src[srcOff..]} into the chain's writable part,
     * starting {@code at} bytes into it.
     *
     * @return bytes copied (less than {@code n} when the writable part ends first)
     */
    public long write(long at, MemorySegment src, long srcOff, long n) {
        long done = 0;
        for (int i = readable; i < count && done < n; i++) {
            int l = len[i];
            if (at >= l) {
                at -= l;
                continue;
            }
            long c = Math.min(l - at, n - done);
            MemorySegment.copy(src, srcOff + done, seg[i], off[i] + at, c);
            done += c;
            at = 0;
        }
        return done;
    }

    // ---- filled by the rings ----

    void reset(int id) {
        this.id = id;
        descCount = 0;
        elements = 0;
        if (seg.length > RETAINED_SEGMENTS) shrink(); // one compare per pop on the hot path
        count = 0;
        readable = 0;
        readableBytes = 0;
        writableBytes = 0;
    }

    void setDescCount(int n) { descCount = n; }

    void setId(int id) { this.id = id; }

    void setElementCount(int n) { elements = n; }

    /**
     * Segments the chain's arrays can hold now: what it keeps allocated (at most
     * {@link VirtqueueDevice#MAX_CHAIN_ELEMENTS}, back to 64 or less on the refill after a longer
     * chain). For tests and diagnostics of the per-port memory bound.
     */
    public int capacity() { return seg.length; }

    /**
     * Drops segment arrays grown past {@link #RETAINED_SEGMENTS} now, instead of at the next
     * refill: for a device that keeps many chains between uses (one compare when nothing to do).
     * The chain's segments are gone afterwards; call it only on a chain that was pushed.
     */
    public void trim() {
        if (seg.length > RETAINED_SEGMENTS) {
            shrink();
            count = 0;
            readable = 0;
        }
    }

    private void shrink() {
        seg = new MemorySegment[INITIAL];
        off = new long[INITIAL];
        len = new int[INITIAL];
        addr = new long[INITIAL];
    }

    /** Adds a translated segment; enforces readable-before-writable and the 32-bit total. */
    void add(MemorySegment s, long o, int l, long a, boolean writable) {
        if (writable) {
            writableBytes += Integer.toUnsignedLong(l);
        } else {
            if (count > readable) {
                throw new VirtqueueException(VirtqueueException.Reason.BAD_ORDER,
                        "device-readable descriptor after a device-writable one in chain " + id);
            }
            readableBytes += Integer.toUnsignedLong(l);
            readable++;
        }
        if (readableBytes + writableBytes > 0xFFFF_FFFFL) {
            throw new VirtqueueException(VirtqueueException.Reason.LENGTH_OVERFLOW,
                    "chain " + id + " describes more than 4 GiB");
        }
        if (count == seg.length) grow();
        // Almost every chain lands in the region the slot already names. Skipping the reference
        // store then skips G1's post-write barrier, whose StoreLoad fence was a visible part of
        // the per-descriptor cost.
        if (seg[count] != s) seg[count] = s;
        off[count] = o;
        len[count] = l;
        addr[count] = a;
        count++;
    }

    private void grow() {
        int n = seg.length * 2;
        seg = Arrays.copyOf(seg, n);
        off = Arrays.copyOf(off, n);
        len = Arrays.copyOf(len, n);
        addr = Arrays.copyOf(addr, n);
    }

    @Override
    public String toString() {
        return "DescriptorChain[id=" + id + ", segments=" + count + ", readable=" + readableBytes
                + " B, writable=" + writableBytes + " B]";
    }
}
