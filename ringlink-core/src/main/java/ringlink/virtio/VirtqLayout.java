package ringlink.virtio;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import ringlink.sys.Endian;

/**
 * Constants shared by both ring formats (names as in virtio 1.2 §2.7/§2.8 and
 * {@code linux/virtio_ring.h}), the little-endian accessors the rings use, and
 * {@link #needEvent}.
 *
 * <p>Memory ordering. The two sides of a ring are different threads or processes touching the
 * same bytes, so every field that hands ownership over (split: {@code avail.idx},
 * {@code used.idx}; packed: descriptor {@code flags}) is written with {@link #setRelease16} after
 * the data it publishes, and read with {@link #getAcquire16} before the data it guards. On x86
 * these compile to plain moves plus a compiler barrier, which is what makes one publish per batch
 * cheap. The notification decision needs more: a side that has just published must see the other
 * side's event index / flags <em>after</em> its own store is visible (store→load order), otherwise
 * both sides can go to sleep at once; that is the one place a {@link VarHandle#fullFence()} is
 * required (Linux's {@code virtio_mb}).
 */
public final class VirtqLayout {
    private VirtqLayout() {}

    /** Largest queue size either format allows. */
    public static final int MAX_QUEUE_SIZE = 32768;

    /** Descriptor continues via {@code next} (split) or the following ring slot (packed). */
    public static final int VIRTQ_DESC_F_NEXT = 1;
    /** Buffer is device-writable (otherwise device-readable). */
    public static final int VIRTQ_DESC_F_WRITE = 2;
    /** Buffer holds a table of descriptors. */
    public static final int VIRTQ_DESC_F_INDIRECT = 4;
    /** Packed ring: the driver's avail bit. */
    public static final int VIRTQ_DESC_F_AVAIL = 1 << 7;
    /** Packed ring: the device's used bit. */
    public static final int VIRTQ_DESC_F_USED = 1 << 15;

    /** Split: in {@code used.flags}, the device asks not to be kicked. */
    public static final int VIRTQ_USED_F_NO_NOTIFY = 1;
    /** Split: in {@code avail.flags}, the driver asks not to be interrupted. */
    public static final int VIRTQ_AVAIL_F_NO_INTERRUPT = 1;

    /** Packed event suppression flags. */
    public static final int RING_EVENT_FLAGS_ENABLE = 0;
    /** Packed event suppression: the other side should not notify. */
    public static final int RING_EVENT_FLAGS_DISABLE = 1;
    /** Packed event suppression: notify only when the descriptor at {@code off_wrap} is reached. */
    public static final int RING_EVENT_FLAGS_DESC = 2;

    /** Size of one descriptor, split and packed. */
    public static final int DESC_SIZE = 16;

    static final ValueLayout.OfShort LE16 = Endian.LE16;
    static final ValueLayout.OfInt LE32 = Endian.LE32;
    static final ValueLayout.OfLong LE64 = Endian.LE64;

    // Aligned layout: atomic access modes need natural alignment, which ring setup checks.
    private static final VarHandle U16 = Endian.ALIGNED_LE16.varHandle();
    /** The same aligned field for plain stores ({@link #setRelease16}). */
    private static final ValueLayout.OfShort A16 = Endian.ALIGNED_LE16;

    /** Acquire-load of a 16-bit ring field (index or flags), unsigned. */
    static int getAcquire16(MemorySegment s, long off) {
        return Short.toUnsignedInt((short) U16.getAcquire(s, off));
    }

    /**
     * Release-store of a 16-bit ring field: a release fence, then a plain aligned 16-bit store
     * (what {@code setRelease} is on x86: a compiler barrier and a {@code mov}).
     *
     * <p>Not {@code U16.setRelease}: the ring lives in a file the peer may shrink (an unsealed
     * vhost-user memfd), and a store into a truncated page must fault into an
     * {@code InternalError}, not kill the JVM. When the caller is not compiled (interpreter,
     * or a call C1/C2 did not inline), a 16-bit (or 8-bit) release/opaque/volatile store runs
     * HotSpot's C++ {@code Unsafe_PutShortVolatile}, an {@code xchg %r8w,(%r14)}; on the fault
     * the x86 SIGBUS handler must decode that instruction to skip it, and
     * {@code Assembler::locate_operand} has no case for {@code 66 87} (JDK 25:
     * {@code ShouldNotReachHere()}, the JVM aborts). A plain store is a {@code mov} there, which
     * it decodes, and 32/64-bit volatile stores ({@code 87}, {@code 48 87}) are fine too
     * ({@code MemoryFaultTest} checks every form the rings use, in every mode).
     */
    static void setRelease16(MemorySegment s, long off, int v) {
        VarHandle.releaseFence();
        s.set(A16, off, (short) v);
    }

    /** Plain (opaque) load of a 16-bit field that is only read after a full fence. */
    static int getOpaque16(MemorySegment s, long off) {
        return Short.toUnsignedInt((short) U16.getOpaque(s, off));
    }

    /**
     * Store of a 16-bit notification field (flags, event index) that the other side reads after
     * its own full fence. A plain aligned store (one {@code mov}, never torn), not
     * {@code U16.setOpaque}: see {@link #setRelease16} for why no 16-bit atomic access mode may
     * store into peer memory.
     */
    static void setOpaque16(MemorySegment s, long off, int v) {
        s.set(A16, off, (short) v);
    }

    static int get16(MemorySegment s, long off) { return Short.toUnsignedInt(s.get(LE16, off)); }
    static void set16(MemorySegment s, long off, int v) { s.set(LE16, off, (short) v); }
    static int get32(MemorySegment s, long off) { return s.get(LE32, off); }
    static void set32(MemorySegment s, long off, int v) { s.set(LE32, off, v); }
    static long get64(MemorySegment s, long off) { return s.get(LE64, off); }
    static void set64(MemorySegment s, long off, long v) { s.set(LE64, off, v); }

    /**
     * {@code vring_need_event}: true if moving an index from {@code oldIdx} to {@code newIdx}
     * passed {@code eventIdx}, all modulo 2^16 (so it stays right across wrap-around).
     */
    public static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }

    static void checkQueueSize(int size, boolean powerOfTwo) {
        if (size < 1 || size > MAX_QUEUE_SIZE || (powerOfTwo && Integer.bitCount(size) != 1)) {
            throw new VirtqueueException(VirtqueueException.Reason.BAD_RING_SETUP, "queue size " + size
                    + (powerOfTwo ? " is not a power of two in [1, 32768]" : " is not in [1, 32768]"));
        }
    }

    static MemorySegment mapRingPart(GuestMemory mem, String what, long gpa, long len, int align) {
        if ((gpa & (align - 1)) != 0) {
            throw new VirtqueueException(VirtqueueException.Reason.BAD_RING_SETUP,
                    what + " at 0x" + Long.toHexString(gpa) + " is not " + align + "-byte aligned");
        }
        try {
            MemorySegment s = mem.slice(gpa, len);
            if ((s.address() & (align - 1)) != 0) {
                throw new VirtqueueException(VirtqueueException.Reason.BAD_RING_SETUP,
                        what + " is mapped at a host address that is not " + align + "-byte aligned");
            }
            return s;
        } catch (GuestMemoryException e) {
            throw new VirtqueueException(VirtqueueException.Reason.BAD_RING_SETUP, what + " is not in guest memory", e);
        }
    }
}
