package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An eventfd(2): a kernel counter used as a doorbell (virtio kicks and calls, shutdown wake-ups,
 * shared-memory queue notifications). {@link #signal()} may be called from any thread;
 * {@link #drain()} by one thread at a time.
 */
public final class EventFd implements AutoCloseable {
    public static final int EFD_SEMAPHORE = 1, EFD_CLOEXEC = 02000000, EFD_NONBLOCK = 04000;

    /** Eight bytes holding the value 1, shared read-only by every signal(). */
    private static final MemorySegment ONE = Arena.global().allocate(ValueLayout.JAVA_LONG);

    static {
        ONE.set(ValueLayout.JAVA_LONG, 0, 1L);
    }

    private final Fd fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(ValueLayout.JAVA_LONG);

    private EventFd(Fd fd) {
        this.fd = fd;
    }

    /** A new non-blocking eventfd with counter 0. */
    public static EventFd create() throws SysException {
        return create(0, EFD_NONBLOCK);
    }

    /** eventfd(initval, flags); EFD_CLOEXEC is always added. */
    public static EventFd create(int initval, int flags) throws SysException {
        return new EventFd(createFd(initval, flags));
    }

    /**
     * eventfd(initval, flags) as a plain {@link Fd}, for a descriptor that is only handed on (to a
     * peer, a kernel ring) and never signalled or drained here: no {@code EventFd} object and so
     * no scratch memory that would outlive it. EFD_CLOEXEC is always added.
     */
    public static Fd createFd(int initval, int flags) throws SysException {
        try {
            int r = (int) LibC.EVENTFD.invokeExact(LibC.state(), initval, flags | EFD_CLOEXEC);
            if (r < 0) throw new SysException("eventfd", LibC.errno(), null);
            return Fd.adopt(r, "eventfd");
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** Wraps an eventfd received from a peer (vhost kick/call, sharedmem). */
    public static EventFd adopt(Fd fd) {
        return new EventFd(fd);
    }

    public Fd fd() { return fd; }

    /** Adds 1 to the counter, waking a poller. A full counter (EAGAIN) already means "signalled". */
    public void signal() throws SysException, ClosedFdException {
        fd.write(ONE, 8);
    }

    /**
     * Reads and resets the counter. Returns its value, or 0 if it was zero (non-blocking fd).
     */
    public long drain() throws SysException, ClosedFdException {
        fd.acquire(); // held across the read and the load from buf: close() frees buf only after
        try {
            long r = fd.read(buf, 8);
            return r == 8 ? buf.get(ValueLayout.JAVA_LONG, 0) : 0;
        } finally {
            fd.release();
        }
    }

    @Override
    public void close() {
        fd.closeWith(arena);
    }

    @Override
    public String toString() {
        return "EventFd[" + fd + "]";
    }
}
