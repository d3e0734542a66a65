package ringlink.vhostuser;

import ringlink.virtio.DescriptorChain;

/**
 * Inflight I/O tracking of one running vring (VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD): what the
 * data path records in the front-end's inflight buffer as it takes, completes and publishes
 * chains. One implementation per ring layout, chosen once when the ring starts
 * ({@link Rings#start}), as the ring's device is: {@link SplitInflight} over a
 * {@code QueueRegionSplit}, {@link PackedInflight} over a {@code QueueRegionPacked}. A ring
 * without tracking has none ({@link Vring#inflight} null), so the data path pays one null check.
 *
 * <p>Per batch, under the ring's lock: {@link #cursor()} before popping, {@link #taken} per
 * popped chain, {@link #used} per chain pushed, {@link #beforePublish} right before the ring's
 * publish and {@link #published} right after it.
 */
sealed interface InflightTracker permits SplitInflight, PackedInflight {
    /** Where the next pop starts, for {@link #taken} (packed: the ring position; split: unused). */
    int cursor();

    /** Chain {@code c} was popped at {@code cursor}; returns the cursor after it. */
    int taken(int cursor, DescriptorChain c);

    /** The chain with buffer id {@code id} was pushed onto the used ring (not yet published). */
    void used(int id);

    /** The chains {@code ids[0..n)} are about to be published (called before the ring's publish). */
    void beforePublish(int[] ids, int n);

    /** The chains {@code ids[0..n)} were published (called after the ring's publish). */
    void published(int[] ids, int n);
}
