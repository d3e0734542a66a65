package ringlink.sys;

import java.lang.foreign.Arena;

/**
 * memfd_create(2): anonymous shared memory that can be passed to another process as an fd, and
 * file seals (fcntl(2) {@code F_ADD_SEALS}/{@code F_GET_SEALS}).
 *
 * <p>Why seals: a peer we hand a memfd to can {@code ftruncate} it; every page of our mapping
 * past the new end then raises SIGBUS on access (the JVM turns that into an
 * {@code InternalError} at best). {@link #create(String, long)} therefore seals the size once it
 * is set ({@link #SEAL_SIZE}): neither side can shrink or grow it, nor lift the seals. For files
 * we receive, {@link #seals} tells whether the peer gave that guarantee, and
 * {@link #checkPeer(Fd, long, boolean)} checks one before it is mapped.
 */
public final class MemFd {
    private MemFd() {}

    public static final int MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4;

    /** fcntl(2) commands (linux/fcntl.h: F_LINUX_SPECIFIC_BASE 1024 + 9 / + 10). */
    public static final int F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
    /** Seal bits (linux/fcntl.h). */
    public static final int F_SEAL_SEAL = 0x1, F_SEAL_SHRINK = 0x2, F_SEAL_GROW = 0x4, F_SEAL_WRITE = 0x8;
    /** The seals {@link #create(String, long)} sets: the size is fixed for good. */
    public static final int SEAL_SIZE = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

    /**
     * Creates a memfd named {@code name} (shows in /proc/PID/maps) of {@code size} bytes, sealed
     * against any size change ({@link #SEAL_SIZE}): safe to map and share with a peer.
     */
    public static Fd create(String name, long size) throws SysException {
        Fd fd = create(name, size, MFD_ALLOW_SEALING);
        try {
            seal(fd, SEAL_SIZE);
            return fd;
        } catch (SysException | RuntimeException e) {
            fd.close();
            throw e;
        }
    }

    /**
     * Creates a memfd with {@code flags} (MFD_CLOEXEC is always added), sized to {@code size},
     * <em>not</em> sealed: for callers that resize it or seal it themselves.
     */
    public static Fd create(String name, long size, int flags) throws SysException {
        int r;
        try (Arena a = Arena.ofConfined()) {
            r = (int) LibC.MEMFD_CREATE.invokeExact(LibC.state(), a.allocateFrom(name), flags | MFD_CLOEXEC);
            if (r < 0) throw new SysException("memfd_create", LibC.errno(), name);
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
        Fd fd = Fd.adopt(r, "memfd:" + name);
        try {
            if (size > 0) fd.truncate(size);
            return fd;
        } catch (SysException | ClosedFdException e) {
            fd.close();
            if (e instanceof SysException se) throw se;
            throw new IllegalStateException(e);
        }
    }

    /** Adds {@code seals} to {@code fd} (fcntl F_ADD_SEALS); EPERM if sealing is not allowed or F_SEAL_SEAL is set. */
    public static void seal(Fd fd, int seals) throws SysException {
        try {
            int f = fd.acquire();
            try {
                if (LibC.fcntl(f, F_ADD_SEALS, seals) < 0) {
                    throw new SysException("fcntl(F_ADD_SEALS, 0x" + Integer.toHexString(seals) + ")", LibC.errno(),
                            fd.name());
                }
            } finally {
                fd.release();
            }
        } catch (ClosedFdException e) {
            throw new IllegalStateException(fd.name() + " is closed", e);
        }
    }

    /**
     * The seals on {@code fd} (fcntl F_GET_SEALS); 0 for a file that does not support sealing
     * (EINVAL: not a memfd/shmem/hugetlbfs file) — a file anyone with access may resize.
     */
    public static int seals(Fd fd) throws SysException {
        try {
            int f = fd.acquire();
            try {
                int r = LibC.fcntl(f, F_GET_SEALS, 0);
                if (r >= 0) return r;
                int e = LibC.errno();
                if (e == Errno.EINVAL) return 0;
                throw new SysException("fcntl(F_GET_SEALS)", e, fd.name());
            } finally {
                fd.release();
            }
        } catch (ClosedFdException e) {
            throw new IllegalStateException(fd.name() + " is closed", e);
        }
    }

    /** True if nobody can make {@code fd} shorter than it is now (F_SEAL_SHRINK is set). */
    public static boolean cannotShrink(Fd fd) throws SysException {
        return (seals(fd) & F_SEAL_SHRINK) != 0;
    }

    /**
     * Makes sure nobody can make {@code fd} shorter than it is now: true if F_SEAL_SHRINK is set,
     * by the peer or here (a sealable file without F_SEAL_SEAL gets it added: the peer's
     * {@code ftruncate} to a smaller size then fails with EPERM). False if the file can shrink and
     * cannot be sealed against it: F_SEAL_SEAL without F_SEAL_SHRINK (a memfd created without
     * MFD_ALLOW_SEALING: DPDK's, Python's {@code os.memfd_create} default), or no seals at all
     * (hugetlbfs, disk files).
     */
    public static boolean sealAgainstShrink(Fd fd) throws SysException {
        int s = seals(fd); // 0 also for a file that cannot carry seals
        if ((s & F_SEAL_SHRINK) != 0) return true;
        if ((s & F_SEAL_SEAL) != 0) return false;
        try {
            seal(fd, F_SEAL_SHRINK);
            return true;
        } catch (SysException e) {
            if (e.errno() != Errno.EINVAL && e.errno() != Errno.EPERM) throw e;
            return false; // EINVAL: not sealable (hugetlbfs, a disk file); EPERM: sealing not allowed
        }
    }

    /**
     * Whether a peer's shared-memory descriptor may be mapped for {@code size} bytes: null if so,
     * otherwise why not, for the refusal's message. The file must be at least that long (a pipe or
     * socket fails here), and must not be able to shrink under the mapping (SIGBUS on the next
     * access). A sealable file (memfd) without F_SEAL_SHRINK and F_SEAL_SEAL gets F_SEAL_SHRINK
     * added here. A file that can shrink and cannot be sealed against it (F_SEAL_SEAL without
     * F_SEAL_SHRINK, or no seals at all: hugetlbfs, disk files) is refused unless
     * {@code allowUnsealed}: accepting it means trusting the peer not to truncate it. For
     * eventfds a peer sends see {@link EventFd#checkPeer}.
     */
    public static String checkPeer(Fd fd, long size, boolean allowUnsealed) {
        try {
            long have;
            try {
                have = fd.size();
            } catch (SysException e) {
                return "not a mappable file (" + describe(fd) + "): " + e.getMessage();
            }
            if (have < size) return "file has " + have + " bytes, peer claims " + size;
            if (sealAgainstShrink(fd) || allowUnsealed) return null;
            int s = seals(fd);
            return "the peer could shrink the file under our mapping ("
                    + ((s & F_SEAL_SEAL) != 0 ? "sealed without F_SEAL_SHRINK" : "it cannot be sealed") + ", "
                            + describe(fd) + ")";
        } catch (SysException | ClosedFdException | IllegalStateException e) {
            return "a file whose size or seals cannot be checked (" + e.getMessage() + ")";
        }
    }

    private static String describe(Fd fd) {
        try {
            return fd.target();
        } catch (SysException | ClosedFdException e) {
            return "?";
        }
    }
}
