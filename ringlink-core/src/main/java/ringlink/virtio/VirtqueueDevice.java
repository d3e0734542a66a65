package ringlink.virtio;

/**
 * The device side of a virtqueue: takes chains the driver made available, hands them back used.
 * Implemented by {@link SplitQueueDevice} and {@link PackedQueueDevice}.
 *
 * <p>Typical loop, one index/flag publish and at most one interrupt per batch:
 * <pre>{@code
 * int n = q.pop(chains, chains.length);
 * for (int i = 0; i < n; i++) { ... q.push(chains[i], written); }
 * if (q.publish()) signalDriver();            // eventfd / irqfd
 * if (n == 0 && !q.enableNotifications()) sleepUntilKick(); // recheck protocol
 * }</pre>
 *
 * <p>Everything read from the ring is hostile: bad indices, loops, overlong chains, addresses
 * outside guest memory, nested indirect tables throw {@link VirtqueueException} and leave the
 * queue failed ({@link #failure()}); every later call throws {@code QUEUE_FAILED}. One thread
 * uses a queue's device side at a time.
 */
public interface VirtqueueDevice {
    /**
     * Most descriptors one chain may have (direct ones plus indirect-table entries, zero-length
     * ones included), whatever the queue size; a longer chain fails the queue with
     * {@link VirtqueueException.Reason#CHAIN_TOO_LONG}. Without it a chain could be as long as the
     * queue (32768), and a device holding many chains (mergeable receive buffers) would do
     * O(size²) walking and keep O(size²) segments. 1024 is Linux vhost's limit (UIO_MAXIOV: the
     * iovec array {@code vhost_get_vq_desc} fills; DPDK's vhost library allows even fewer,
     * BUF_VECTOR_MAX = 256 per packet); real drivers stay far below (Linux virtio-net: at most
     * MAX_SKB_FRAGS + 2 = 19).
     */
    int MAX_CHAIN_ELEMENTS = 1024;

    /**
     * {@link #pop(DescriptorChain[], int)} stops once the chains it took walked this many
     * descriptors ({@link DescriptorChain#elementCount()}), so one call costs at most
     * {@code MAX_BATCH_ELEMENTS + MAX_CHAIN_ELEMENTS - 1} descriptor walks however long the
     * driver's chains are. A batch of 256 Linux chains (≤ 19 each) is never cut short.
     */
    int MAX_BATCH_ELEMENTS = 8192;

    /** Queue size (number of descriptors). */
    int size();

    /** The negotiated features this queue honours (EVENT_IDX, INDIRECT_DESC, IN_ORDER). */
    FeatureSet features();

    /**
     * Takes the next available chain into {@code chain} (walked, checked and translated).
     *
     * @return false if the driver has made nothing new available
     */
    boolean pop(DescriptorChain chain);

    /**
     * Pops up to {@code max} chains into {@code chains[0..]}, fewer once they walked
     * {@link #MAX_BATCH_ELEMENTS} descriptors; returns how many.
     */
    default int pop(DescriptorChain[] chains, int max) {
        int n = 0;
        int work = 0;
        while (n < max && work < MAX_BATCH_ELEMENTS && pop(chains[n])) work += chains[n++].elementCount();
        return n;
    }

    /**
     * Gives back the most recently popped chain, unused: the next {@link #pop} returns it again.
     * For a device that popped chains and then found it cannot use them, e.g. a mergeable receive
     * buffer packet that ran out of buffers half way. Chains must be unpopped newest first and
     * must not have been pushed.
     */
    void unpop(DescriptorChain chain);

    /**
     * Returns a chain to the driver with {@code written} bytes written into its writable part.
     * Not visible to the driver until {@link #publish()}.
     *
     * @throws IllegalArgumentException if {@code written} exceeds the chain's writable bytes
     */
    default void push(DescriptorChain chain, int written) {
        // Checked here, once for both ring formats: the used length is what the driver trusts.
        if (written < 0 || written > chain.writableBytes()) {
            throw new IllegalArgumentException("written " + written + " not in [0, " + chain.writableBytes() + "] for "
                    + chain);
        }
        push(chain.id(), chain.descriptorCount(), written);
    }

    /**
     * Pushes {@code chains[0..n)} with {@code written[0..n)} bytes each (the batch counterpart of
     * {@link #pop(DescriptorChain[], int)}); publish once afterwards.
     */
    default void push(DescriptorChain[] chains, int[] written, int n) {
        for (int i = 0; i < n; i++) push(chains[i], written[i]);
    }

    /**
     * Low-level {@link #push(DescriptorChain, int)} for a device that kept only the id and the
     * descriptor count of a chain.
     */
    void push(int id, int descriptorCount, int written);

    /**
     * Makes everything pushed since the last publish visible to the driver with a single release
     * store, and says whether the driver wants an interrupt for it (EVENT_IDX {@code used_event}
     * or the NO_INTERRUPT flag / packed driver event suppression).
     *
     * @return true if the driver must be notified
     */
    boolean publish();

    /** True if the driver has made a chain available that {@link #pop} has not taken yet. */
    boolean hasAvailable();

    /**
     * Asks the driver not to kick (busy polling).
     *
     * <p>Contract of the pair: with EVENT_IDX, {@link #enableNotifications()} arms exactly one
     * kick (for the first buffer after those already seen); after it the driver stays quiet until
     * the device enables again, so a device that never sleeps costs no kicks at all. Without
     * EVENT_IDX the flag stays on until disabled. Either way: disable while busy, and before
     * sleeping call {@code enableNotifications()} and sleep only if it returns false.
     */
    void disableNotifications();

    /**
     * Asks the driver to kick on its next available buffer, then re-checks the ring so a buffer
     * that raced with the request is not missed.
     *
     * @return true if buffers are already available: poll again instead of sleeping
     */
    boolean enableNotifications();

    /**
     * Where the device would resume, in vhost's {@code GET_VRING_BASE} encoding: split, the next
     * available index to read; packed, the next avail position in bits 0–14 and the driver wrap
     * counter the device expects there in bit 15. {@link Virtqueues#device} takes it back.
     */
    int availBase();

    /** The error that failed this queue, or null. */
    VirtqueueException failure();

    /** True if the queue has failed ({@link #failure()} is not null). */
    default boolean isFailed() { return failure() != null; }
}
