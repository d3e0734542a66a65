package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A reusable poll(2) set: descriptors are added once, {@link #poll(int)} waits, and
 * {@link #revents(int)} tells what happened. Every descriptor is held in use (see
 * {@link Fd#acquire()}) for the duration of the wait, so a concurrent close cannot recycle a
 * number under the kernel's feet. One thread at a time.
 */
public final class PollSet implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment fds;
    private final Fd[] members;
    private int size;

    public PollSet(int capacity) {
        this.fds = arena.allocate(PollfdLayout.SIZE * capacity, 8);
        this.members = new Fd[capacity];
    }

    /** Adds {@code fd} waiting for {@code events} (PollfdLayout.POLLIN...); returns its index. */
    public int add(Fd fd, int events) {
        if (size == members.length) throw new IllegalStateException("poll set full (" + members.length + ")");
        int i = size++;
        members[i] = fd;
        fds.set(ValueLayout.JAVA_INT, i * PollfdLayout.SIZE + PollfdLayout.OFF_FD, fd.number());
        fds.set(ValueLayout.JAVA_SHORT, i * PollfdLayout.SIZE + PollfdLayout.OFF_EVENTS, (short) events);
        return i;
    }

    /** Changes the events index {@code i} waits for. */
    public void setEvents(int i, int events) {
        fds.set(ValueLayout.JAVA_SHORT, i * PollfdLayout.SIZE + PollfdLayout.OFF_EVENTS, (short) events);
    }

    public int size() { return size; }

    public void clear() {
        size = 0;
        java.util.Arrays.fill(members, null);
    }

    /**
     * Waits up to {@code timeoutMillis} (−1: forever) and returns the number of ready
     * descriptors (0 on timeout or on EINTR: the caller loops).
     *
     * @throws ClosedFdException if a member was closed before the wait started
     */
    public int poll(int timeoutMillis) throws SysException, ClosedFdException {
        int acquired = 0;
        try {
            for (; acquired < size; acquired++) {
                members[acquired].acquire();
            }
            for (int i = 0; i < size; i++) {
                fds.set(ValueLayout.JAVA_SHORT, i * PollfdLayout.SIZE + PollfdLayout.OFF_REVENTS, (short) 0);
            }
            int r = LibC.poll(fds, size, timeoutMillis);
            if (r >= 0) return r;
            int e = LibC.errno();
            if (e == Errno.EINTR) return 0;
            throw new SysException("poll", e, size + " descriptors");
        } finally {
            for (int i = 0; i < acquired; i++) members[i].release();
        }
    }

    /** The events that happened on index {@code i} in the last {@link #poll(int)}. */
    public int revents(int i) {
        return fds.get(ValueLayout.JAVA_SHORT, i * PollfdLayout.SIZE + PollfdLayout.OFF_REVENTS) & 0xffff;
    }

    /** Waits for {@code events} on a single descriptor; returns its revents (0 on timeout). */
    public static int pollOne(Fd fd, int events, int timeoutMillis) throws SysException, ClosedFdException {
        try (PollSet p = new PollSet(1)) {
            p.add(fd, events);
            return p.poll(timeoutMillis) > 0 ? p.revents(0) : 0;
        }
    }

    /** One pollfd per thread for {@link #awaitOne}: made once per thread, never per wait. */
    private static final ThreadLocal<MemorySegment> ONE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(PollfdLayout.SIZE, 8));

    /**
     * Waits up to {@code timeoutNanos} (rounded up to whole milliseconds; 0: just look) for
     * {@code events} on one descriptor and returns its revents (0 on timeout). Unlike
     * {@link #pollOne} it allocates nothing per call (a per-thread pollfd), so a thread may call it
     * once per idle period on a data path. A signal (EINTR) continues the wait until the deadline.
     * Blocks the calling thread (a virtual thread pins its carrier for the duration).
     *
     * @throws ClosedFdException if {@code fd} was closed before the wait started
     */
    public static int awaitOne(Fd fd, int events, long timeoutNanos) throws SysException, ClosedFdException {
        MemorySegment p = ONE.get();
        long deadline = System.nanoTime() + Math.max(0, timeoutNanos);
        int f = fd.acquire();
        try {
            while (true) {
                long left = Math.max(0, deadline - System.nanoTime());
                int ms = (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
                p.set(ValueLayout.JAVA_INT, PollfdLayout.OFF_FD, f);
                p.set(ValueLayout.JAVA_SHORT, PollfdLayout.OFF_EVENTS, (short) events);
                p.set(ValueLayout.JAVA_SHORT, PollfdLayout.OFF_REVENTS, (short) 0);
                int r = LibC.poll(p, 1, ms);
                if (r > 0) return p.get(ValueLayout.JAVA_SHORT, PollfdLayout.OFF_REVENTS) & 0xffff;
                if (r < 0) {
                    int e = LibC.errno();
                    if (e != Errno.EINTR) throw new SysException("poll", e, fd.name());
                }
                if (ms == 0 || deadline - System.nanoTime() <= 0) return 0;
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public void close() {
        if (arena.scope().isAlive()) arena.close();
    }
}
