package ringlink.sys;

import java.lang.foreign.Arena;

/** memfd_create(2): anonymous shared memory that can be passed to another process as an fd. */
public final class MemFd {
    private MemFd() {}

    public static final int MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_HUGETLB = 4;

    /** Creates a memfd named {@code name} (shows in /proc/PID/maps) of {@code size} bytes. */
    public static Fd create(String name, long size) throws SysException {
        return create(name, size, MFD_ALLOW_SEALING);
    }

    /** Creates a memfd with {@code flags} (MFD_CLOEXEC is always added), sized to {@code size}. */
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
}
