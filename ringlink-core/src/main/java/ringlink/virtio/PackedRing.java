package ringlink.virtio;

import java.lang.foreign.MemorySegment;

/**
 * Where a packed virtqueue (virtio 1.2 §2.8) lives: the descriptor ring, the driver event
 * suppression structure (driver area, written by the driver) and the device event suppression
 * structure (device area, written by the device).
 *
 * <pre>
 * struct pvirtq_desc           { le64 addr; le32 len; le16 id; le16 flags; }  // 16 bytes, ring align 16
 * struct pvirtq_event_suppress { le16 off_wrap; le16 flags; }                 // 4 bytes, align 4
 * </pre>
 * {@code off_wrap}: bits 0–14 a descriptor ring offset, bit 15 the wrap counter it belongs to.
 */
public final class PackedRing extends VirtqRing {
    /** Descriptor: offset of {@code addr} (le64). */
    public static final int DESC_ADDR = 0;
    /** Descriptor: offset of {@code len} (le32). */
    public static final int DESC_LEN = 8;
    /** Descriptor: offset of {@code id} (le16, the buffer id). */
    public static final int DESC_ID = 12;
    /** Descriptor: offset of {@code flags} (le16). */
    public static final int DESC_FLAGS = 14;
    /** Alignment of the descriptor ring in bytes. */
    public static final int DESC_ALIGN = 16;

    /** Event suppression: offset of {@code off_wrap} (le16). */
    public static final int EVENT_OFF_WRAP = 0;
    /** Event suppression: offset of {@code flags} (le16, {@code RING_EVENT_FLAGS_*}). */
    public static final int EVENT_FLAGS = 2;
    /** Size of an event suppression structure in bytes. */
    public static final int EVENT_SIZE = 4;
    /** Alignment of an event suppression structure in bytes. */
    public static final int EVENT_ALIGN = 4;

    private PackedRing(GuestMemory mem, int size, long descGpa, long driverEventGpa, long deviceEventGpa) {
        super(mem, size, "descriptor ring", descGpa,
                "driver event suppression", driverEventGpa, EVENT_SIZE, EVENT_ALIGN,
                "device event suppression", deviceEventGpa, EVENT_SIZE, EVENT_ALIGN);
    }

    /**
     * The ring at these guest addresses.
     *
     * @throws VirtqueueException {@code BAD_RING_SETUP} if the size is not in [1, 32768], or a
     *         part is misaligned or not inside one region
     */
    public static PackedRing map(GuestMemory mem, int size, long descGpa, long driverEventGpa, long deviceEventGpa) {
        VirtqLayout.checkQueueSize(size, false);
        return new PackedRing(mem, size, descGpa, driverEventGpa, deviceEventGpa);
    }

    /** A new zeroed ring allocated from {@code alloc}'s region (driver side). */
    public static PackedRing allocate(GuestMemory mem, GuestAllocator alloc, int size) {
        VirtqLayout.checkQueueSize(size, false);
        long d = alloc.allocate(16L * size, DESC_ALIGN);
        // The two event structures are written by different sides: separate cache lines.
        long drv = alloc.allocate(EVENT_SIZE, 64);
        long dev = alloc.allocate(EVENT_SIZE, 64);
        return map(mem, size, d, drv, dev);
    }

    /** Guest address of the driver event suppression structure (driver area; vhost's {@code avail_user_addr}). */
    public long driverEventAddress() { return driverAreaAddress(); }
    /** Guest address of the device event suppression structure (device area; vhost's {@code used_user_addr}). */
    public long deviceEventAddress() { return deviceAreaAddress(); }
    /** The descriptor ring's bytes ({@code 16 * size}). */
    public MemorySegment descRing() { return desc; }
    /** The driver event suppression structure's bytes. */
    public MemorySegment driverEvent() { return driverArea; }
    /** The device event suppression structure's bytes. */
    public MemorySegment deviceEvent() { return deviceArea; }
}
