package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An epoll(7) instance with a reusable event array: how one thread waits on many links.
 * Registration may happen from any thread; {@link #await(int)} from one.
 */
public final class Epoll implements AutoCloseable {
    private final Fd epfd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment events;
    private final MemorySegment ctlEvent;
    private final int maxEvents;

    public Epoll(int maxEvents) throws SysException {
        this.maxEvents = maxEvents;
        this.events = arena.allocate(EpollEventLayout.SIZE * maxEvents, 8);
        this.ctlEvent = arena.allocate(EpollEventLayout.SIZE, 8);
        try {
            int r = (int) LibC.EPOLL_CREATE1.invokeExact(LibC.state(), 02000000 /* EPOLL_CLOEXEC */);
            if (r < 0) throw new SysException("epoll_create1", LibC.errno(), null);
            this.epfd = Fd.adopt(r, "epoll");
        } catch (SysException e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** Registers {@code fd} for {@code events} (EpollEventLayout.EPOLLIN...) with a user tag. */
    public void add(Fd fd, int events, long tag) throws SysException, ClosedFdException {
        ctl(EpollEventLayout.EPOLL_CTL_ADD, fd, events, tag);
    }

    public void modify(Fd fd, int events, long tag) throws SysException, ClosedFdException {
        ctl(EpollEventLayout.EPOLL_CTL_MOD, fd, events, tag);
    }

    public void remove(Fd fd) throws SysException, ClosedFdException {
        ctl(EpollEventLayout.EPOLL_CTL_DEL, fd, 0, 0);
    }

    private synchronized void ctl(int op, Fd fd, int ev, long tag) throws SysException, ClosedFdException {
        int f = fd.acquire();
        int e = epfd.acquire();
        try {
            ctlEvent.set(ValueLayout.JAVA_INT, EpollEventLayout.OFF_EVENTS, ev);
            ctlEvent.set(ValueLayout.JAVA_LONG_UNALIGNED, EpollEventLayout.OFF_DATA, tag);
            int r = (int) LibC.EPOLL_CTL.invokeExact(LibC.state(), e, op, f, ctlEvent);
            if (r < 0) throw new SysException("epoll_ctl(" + op + ")", LibC.errno(), fd.name());
        } catch (SysException ex) {
            throw ex;
        } catch (Throwable t) {
            throw LibC.bug(t);
        } finally {
            epfd.release();
            fd.release();
        }
    }

    /**
     * Waits up to {@code timeoutMillis} (−1 forever, 0 poll) and returns how many events are
     * ready (0 on timeout or EINTR); read them with {@link #events(int)} and {@link #tag(int)}.
     */
    public int await(int timeoutMillis) throws SysException, ClosedFdException {
        int e = epfd.acquire();
        try {
            int r = LibC.epollWait(e, events, maxEvents, timeoutMillis);
            if (r >= 0) return r;
            int err = LibC.errno();
            if (err == Errno.EINTR) return 0;
            throw new SysException("epoll_wait", err, "epoll");
        } finally {
            epfd.release();
        }
    }

    public int events(int i) {
        return events.get(ValueLayout.JAVA_INT, i * EpollEventLayout.SIZE + EpollEventLayout.OFF_EVENTS);
    }

    public long tag(int i) {
        return events.get(ValueLayout.JAVA_LONG_UNALIGNED, i * EpollEventLayout.SIZE + EpollEventLayout.OFF_DATA);
    }

    public Fd fd() { return epfd; }

    @Override
    public void close() {
        epfd.close();
        synchronized (this) {
            if (arena.scope().isAlive()) arena.close();
        }
    }
}
