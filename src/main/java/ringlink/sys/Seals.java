package ringlink.sys;

/**
 * File seals (fcntl F_ADD_SEALS / F_GET_SEALS) on memfds: what makes memory we share with a peer
 * safe to map (a peer that could shrink a file we have mapped would make our next access fault
 * with SIGBUS, which the JVM cannot survive).
 */
public final class Seals {
    private Seals() {}

    /** fcntl commands (F_LINUX_SPECIFIC_BASE 1024 + 9 / + 10). */
    static final int F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
    public static final int F_SEAL_SEAL = 0x1, F_SEAL_SHRINK = 0x2, F_SEAL_GROW = 0x4, F_SEAL_WRITE = 0x8;

    /** The seals on {@code fd}, or −1 if the file cannot carry seals at all (EINVAL: not shmem). */
    public static int get(Fd fd) throws SysException, ClosedFdException {
        int f = fd.acquire();
        try {
            int r = LibC.fcntl(f, F_GET_SEALS, 0);
            if (r >= 0) return r;
            int e = LibC.errno();
            if (e == Errno.EINVAL) return -1;
            throw new SysException("fcntl(F_GET_SEALS)", e, fd.name());
        } finally {
            fd.release();
        }
    }

    /** Adds {@code seals} (EPERM if F_SEAL_SEAL is already set, EINVAL if the file cannot be sealed). */
    public static void add(Fd fd, int seals) throws SysException, ClosedFdException {
        int f = fd.acquire();
        try {
            if (LibC.fcntl(f, F_ADD_SEALS, seals) < 0) throw new SysException("fcntl(F_ADD_SEALS)", LibC.errno(), fd.name());
        } finally {
            fd.release();
        }
    }
}
