package ringlink.virtio;

import java.lang.foreign.MemorySegment;

/**
 * Where a split virtqueue (virtio 1.2 §2.7) lives: the descriptor table, the available ring
 * (driver area) and the used ring (device area), each a bounded segment of {@link GuestMemory},
 * plus their guest addresses. Both sides build their queue on a {@code SplitRing}.
 *
 * <p>Layout (all little-endian), for queue size {@code N}:
 * <pre>
 * struct virtq_desc  { le64 addr; le32 len; le16 flags; le16 next; }          // 16 bytes, table align 16
 * struct virtq_avail { le16 flags; le16 idx; le16 ring[N]; le16 used_event; }  // 6 + 2N, align 2
 * struct virtq_used  { le16 flags; le16 idx; struct { le32 id; le32 len; } ring[N]; le16 avail_event; }
 *                                                                               // 6 + 8N, align 4
 * </pre>
 */
public final class SplitRing extends VirtqRing {
    /** Descriptor: offset of {@code addr} (le64). */
    public static final int DESC_ADDR = 0;
    /** Descriptor: offset of {@code len} (le32). */
    public static final int DESC_LEN = 8;
    /** Descriptor: offset of {@code flags} (le16). */
    public static final int DESC_FLAGS = 12;
    /** Descriptor: offset of {@code next} (le16). */
    public static final int DESC_NEXT = 14;
    /** Alignment of the descriptor table in bytes. */
    public static final int DESC_ALIGN = 16;

    /** Available ring: offset of {@code flags} (le16). */
    public static final int AVAIL_FLAGS = 0;
    /** Available ring: offset of {@code idx} (le16, free-running). */
    public static final int AVAIL_IDX = 2;
    /** Available ring: offset of {@code ring[0]} (le16 entries). */
    public static final int AVAIL_RING = 4;
    /** Alignment of the available ring in bytes. */
    public static final int AVAIL_ALIGN = 2;

    /** Used ring: offset of {@code flags} (le16). */
    public static final int USED_FLAGS = 0;
    /** Used ring: offset of {@code idx} (le16, free-running). */
    public static final int USED_IDX = 2;
    /** Used ring: offset of {@code ring[0]}. */
    public static final int USED_RING = 4;
    /** Size of a used ring element ({@code id}, {@code len}). */
    public static final int USED_ELEM_SIZE = 8;
    /** Used element: offset of {@code id} (le32, the chain's head). */
    public static final int USED_ELEM_ID = 0;
    /** Used element: offset of {@code len} (le32, bytes written). */
    public static final int USED_ELEM_LEN = 4;
    /** Alignment of the used ring in bytes. */
    public static final int USED_ALIGN = 4;

    /** Bytes of the descriptor table. */
    public static long descTableSize(int n) { return 16L * n; }
    /** Bytes of the available ring including {@code used_event}. */
    public static long availSize(int n) { return 6L + 2L * n; }
    /** Bytes of the used ring including {@code avail_event}. */
    public static long usedSize(int n) { return 6L + 8L * n; }
    /** Offset of {@code used_event} in the available ring. */
    public static long usedEventOffset(int n) { return 4L + 2L * n; }
    /** Offset of {@code avail_event} in the used ring. */
    public static long availEventOffset(int n) { return 4L + 8L * n; }

    private SplitRing(GuestMemory mem, int size, long descGpa, long availGpa, long usedGpa) {
        super(mem, size, "descriptor table", descGpa,
                "available ring", availGpa, availSize(size), AVAIL_ALIGN,
                "used ring", usedGpa, usedSize(size), USED_ALIGN);
    }

    /**
     * The ring the other side placed at these guest addresses (device side; vhost-user backend
     * after translating {@code SET_VRING_ADDR} with {@link GuestMemory#userToGuest}).
     *
     * @throws VirtqueueException {@code BAD_RING_SETUP} if the size is not a power of two in
     *         [1, 32768], a part is misaligned, or not inside one region
     */
    public static SplitRing map(GuestMemory mem, int size, long descGpa, long availGpa, long usedGpa) {
        VirtqLayout.checkQueueSize(size, true);
        return new SplitRing(mem, size, descGpa, availGpa, usedGpa);
    }

    /** A new zeroed ring allocated from {@code alloc}'s region (driver side). */
    public static SplitRing allocate(GuestMemory mem, GuestAllocator alloc, int size) {
        VirtqLayout.checkQueueSize(size, true);
        long d = alloc.allocate(descTableSize(size), DESC_ALIGN);
        long a = alloc.allocate(availSize(size), AVAIL_ALIGN);
        // The used ring gets its own cache lines: it is written by the other side.
        long u = alloc.allocate(usedSize(size), 64);
        return map(mem, size, d, a, u);
    }

    /** Guest address of the available ring (driver area). */
    public long availAddress() { return driverAreaAddress(); }
    /** Guest address of the used ring (device area). */
    public long usedAddress() { return deviceAreaAddress(); }
    /** The descriptor table's bytes. */
    public MemorySegment descTable() { return desc; }
    /** The available ring's bytes (with {@code used_event}). */
    public MemorySegment availRing() { return driverArea; }
    /** The used ring's bytes (with {@code avail_event}). */
    public MemorySegment usedRing() { return deviceArea; }
}
