package ringlink.virtio;

/**
 * The driver side of a virtqueue: offers buffers (chains of guest-address elements) to a device
 * and collects them back used. Implemented by {@link SplitQueueDriver} and
 * {@link PackedQueueDriver}; vhost-net and the tests' mock driver are built on it.
 *
 * <p>Typical use, one publish and at most one kick per batch:
 * <pre>{@code
 * for (...) if (q.offer(addrs, lens, 0, n, readable) < 0) break;  // id, or -1 when full
 * if (q.publish()) kick();                                         // eventfd write
 * int k = q.collect(ids, lens, ids.length);                        // (id, written) pairs
 * }</pre>
 *
 * <p>What the device writes (used ids, lengths, indices, flags) is hostile: a used id never
 * offered, a length beyond the writable part, an index that jumps, a wrap-counter lie throws
 * {@link VirtqueueException} and leaves the queue failed. One thread uses a queue's driver side
 * at a time.
 */
public interface VirtqueueDriver {
    /** The queue size (number of descriptors). */
    int size();

    /** The features the queue runs with (EVENT_IDX, INDIRECT_DESC, RING_PACKED, ...). */
    FeatureSet features();

    /** Guest address of the Descriptor Area (descriptor table / packed descriptor ring). */
    long descAddress();

    /** Guest address of the Driver Area (split available ring / packed driver event suppression). */
    long driverAreaAddress();

    /** Guest address of the Device Area (split used ring / packed device event suppression). */
    long deviceAreaAddress();

    /** Descriptors free for new chains (an indirect chain needs one). */
    int freeDescriptors();

    /** Chains offered and not yet collected. */
    int inFlight();

    /**
     * Offers one chain of {@code n} elements {@code (addrs[off+k], lens[off+k])}; the first
     * {@code readable} are device-readable, the rest device-writable. With INDIRECT_DESC and an
     * indirect table configured, a multi-element chain takes one ring descriptor. Not visible to
     * the device until {@link #publish()}.
     *
     * @return the chain's id in {@code [0, size())} (what {@link #collect} reports), or -1 if
     *         there are not enough free descriptors
     */
    int offer(long[] addrs, int[] lens, int off, int n, int readable);

    /** Offers a single-element chain. */
    int offer(long addr, int len, boolean writable);

    /**
     * Makes every chain offered since the last publish visible with one release store, then
     * decides whether the device wants a kick (EVENT_IDX {@code avail_event}, NO_NOTIFY flag or
     * packed device event suppression).
     *
     * @return true if the device must be kicked
     */
    boolean publish();

    /**
     * Collects up to {@code max} used chains: {@code ids[k]} is what {@link #offer} returned,
     * {@code lens[k]} the bytes the device wrote. Their descriptors are free again.
     *
     * @return the number collected
     */
    int collect(int[] ids, int[] lens, int max);

    /** True if the device has returned chains not yet collected. */
    boolean hasUsed();

    /**
     * Asks the device not to interrupt (busy polling).
     *
     * <p>With EVENT_IDX, {@link #enableNotifications()} arms exactly one interrupt (for the next
     * used buffer after those collected); without it the flag stays on until disabled. Before
     * sleeping call {@code enableNotifications()} and sleep only if it returns false.
     */
    void disableNotifications();

    /**
     * Asks the device to interrupt on the next used buffer, then re-checks so a used buffer that
     * raced with the request is not missed.
     *
     * @return true if used buffers are already there: collect instead of sleeping
     */
    boolean enableNotifications();

    /** The error that failed this queue, or null. */
    VirtqueueException failure();

    /** True if the queue has failed ({@link #failure()} is not null). */
    default boolean isFailed() { return failure() != null; }
}
