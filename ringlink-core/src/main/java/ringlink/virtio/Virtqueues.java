package ringlink.virtio;

/**
 * Builds the right queue (split or packed, from {@link VirtioFeature#RING_PACKED}) for a transport
 * that only knows the negotiated features and the three area addresses.
 */
public final class Virtqueues {
    private Virtqueues() {}

    /** The {@code availBase} of a packed queue that has not been used yet: position 0, wrap counter 1. */
    public static final int FRESH_PACKED_BASE = 0x8000;

    /**
     * The device side of a queue the driver placed at these guest addresses (vhost-user backend:
     * after {@code SET_VRING_NUM}, {@code SET_VRING_ADDR} translated with
     * {@link GuestMemory#userToGuest}, and {@code SET_VRING_BASE}).
     *
     * @param availBase split: the first available index to read; packed: bits 0–14 the avail
     *                  position, bit 15 the driver's wrap counter (vhost-user's encoding), used
     *                  position/wrap taken equal (the backend starts with nothing in flight);
     *                  a fresh packed queue is {@link #FRESH_PACKED_BASE}, a fresh split one 0
     * @throws VirtqueueException {@code BAD_RING_SETUP} for an impossible size or layout
     */
    public static VirtqueueDevice device(GuestMemory mem, FeatureSet features, int size,
                                         long descGpa, long driverAreaGpa, long deviceAreaGpa, int availBase) {
        if (features.has(VirtioFeature.RING_PACKED)) {
            PackedRing r = PackedRing.map(mem, size, descGpa, driverAreaGpa, deviceAreaGpa);
            int pos = availBase & 0x7fff;
            boolean wrap = (availBase & 0x8000) != 0;
            if (pos >= size) {
                throw new VirtqueueException(VirtqueueException.Reason.BAD_RING_SETUP,
                        "packed ring base position " + pos + " outside queue of " + size);
            }
            return new PackedQueueDevice(r, mem, features, pos, wrap, pos, wrap);
        }
        return new SplitQueueDevice(SplitRing.map(mem, size, descGpa, driverAreaGpa, deviceAreaGpa), mem, features,
                availBase);
    }

    /**
     * A driver side with a fresh ring allocated from {@code alloc} (vhost-net, tests): report
     * {@link VirtqueueDriver#descAddress()} etc. (through {@link GuestMemory#guestToUser} for the
     * kernel) to the device.
     *
     * @param maxIndirect entries per indirect table if INDIRECT_DESC is in {@code features}
     *                    (0: no indirect descriptors)
     */
    public static VirtqueueDriver driver(GuestMemory mem, GuestAllocator alloc, FeatureSet features, int size,
            int maxIndirect) {
        if (features.has(VirtioFeature.RING_PACKED)) {
            return new PackedQueueDriver(PackedRing.allocate(mem, alloc, size), features, alloc, maxIndirect);
        }
        return new SplitQueueDriver(SplitRing.allocate(mem, alloc, size), features, alloc, maxIndirect);
    }
}
