package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A memory mapping (mmap(2)) exposed as a {@link MemorySegment} bounded to exactly the mapped
 * length. Closing it invalidates the segment first (any later access throws
 * {@link IllegalStateException} instead of touching unmapped memory) and then unmaps.
 */
public final class Mapping implements AutoCloseable {
    public static final int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000, MAP_HUGETLB = 0x40000;
    private static final long MAP_FAILED = -1L;

    private final Arena arena;
    private final MemorySegment segment;
    private final long address;
    private final long length;
    private final String what;

    private Mapping(long address, long length, String what) {
        this.arena = Arena.ofShared();
        this.address = address;
        this.length = length;
        this.what = what;
        this.segment = MemorySegment.ofAddress(address).reinterpret(length, arena, null);
    }

    /**
     * Maps {@code length} bytes of {@code fd} at {@code offset}. {@code what} names the mapping in
     * errors ("vhost-user region 0", "XDP RX ring").
     */
    public static Mapping map(Fd fd, long length, int prot, int flags, long offset, String what) throws SysException,
            ClosedFdException {
        if (length <= 0) throw new IllegalArgumentException("mapping length must be positive: " + length);
        int f = fd.acquire();
        try {
            return doMap(f, length, prot, flags, offset, what + " (" + fd.name() + ")");
        } finally {
            fd.release();
        }
    }

    /**
     * True if {@code t} is HotSpot's report of a fault (SIGBUS) in an access to mapped memory:
     * the {@code InternalError} "a fault occurred in an unsafe memory access operation" that the
     * JVM raises in the accessing thread when the file behind a mapping shrank (a peer's
     * {@code ftruncate}). Interpreted, C1, C2 and bulk copies alike on JDK 25 ({@code MemoryFaultTest}).
     */
    public static boolean isFault(Throwable t) {
        return t instanceof InternalError && t.getMessage() != null && t.getMessage().contains("fault occurred in a");
    }

    /**
     * Raises here, in the calling thread, the fault {@link #isFault} of an earlier access to a
     * shrunk mapping, if one is pending; otherwise does nothing. Costs one native transition
     * (a downcall to abs(3): no system call, no allocation), ~40 ns.
     *
     * <p>Why: HotSpot does not throw the fault's {@code InternalError} at the faulting access.
     * Its SIGBUS handler skips the instruction (a load yields garbage, a store is lost) and
     * requests an <em>asynchronous</em> exception, which the thread raises at its next safepoint
     * poll. In C2 code that is often the return of the outermost compiled method, or a loop
     * back-edge of its caller, so the error surfaces <em>after</em> the try block that was meant to
     * turn it into a typed failure of the ring that faulted: in the caller, possibly while it
     * serves another port. The way back from native code processes pending asynchronous
     * exceptions, so a caller that touched memory a peer may shrink calls this at the end of its
     * try block ({@code MemoryFaultTest}'s {@code deliver} case checks that it is raised there).
     */
    public static void deliverFaults() {
        try {
            int unused = (int) LibC.ABS.invokeExact(1);
        } catch (Error e) {
            throw e; // the pending InternalError (or anything else the VM raises)
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** An anonymous shared mapping of {@code length} bytes (page aligned, zeroed). */
    public static Mapping anonymous(long length, String what) throws SysException {
        if (length <= 0) throw new IllegalArgumentException("mapping length must be positive: " + length);
        return doMap(-1, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, 0, what);
    }

    private static Mapping doMap(int fd, long length, int prot, int flags, long offset,
            String what) throws SysException {
        try {
            MemorySegment p = (MemorySegment) LibC.MMAP.invokeExact(LibC.state(), MemorySegment.NULL, length, prot,
                    flags, fd, offset);
            if (p.address() == MAP_FAILED) {
                throw new SysException("mmap(" + length + " bytes at offset " + offset + ")", LibC.errno(), what);
            }
            return new Mapping(p.address(), length, what);
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** The mapped memory, exactly {@link #length()} bytes. */
    public MemorySegment segment() { return segment; }

    /** The user-space address of the first byte (what vhost and XDP want to be told). */
    public long address() { return address; }

    public long length() { return length; }

    public boolean isOpen() { return arena.scope().isAlive(); }

    /** Invalidates the segment, then munmap(2). Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (!arena.scope().isAlive()) return;
            arena.close();
        }
        try {
            int r = (int) LibC.MUNMAP.invokeExact(LibC.state(), MemorySegment.ofAddress(address), length);
            if (r < 0) {
                System.getLogger("ringlink.sys.Mapping").log(System.Logger.Level.WARNING,
                        "munmap of " + what + ": " + Errno.name(LibC.errno()));
            }
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    @Override
    public String toString() {
        return "Mapping[" + what + ", " + length + " bytes at 0x" + Long.toHexString(address) + "]";
    }
}
