package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * An eventfd(2): a kernel counter used as a doorbell (virtio kicks and calls, shutdown wake-ups,
 * shared-memory queue notifications). {@link #signal()} may be called from any thread;
 * {@link #drain()} by one thread at a time.
 *
 * <p><b>Shared with a peer</b> ({@link #adoptPeer}, {@link #createShared}): a peer process holds
 * the same open file, so it can clear O_NONBLOCK (a flag of the open file, not of our
 * descriptor) and set the counter to anything. Then a plain read(2) of a zero counter, or a
 * write(2) that would overflow it (counter at 0xfffffffffffffffe), blocks the calling thread until
 * the peer acts. A shared eventfd therefore never calls them blindly: {@link #drain()} reads with
 * preadv2(RWF_NOWAIT), which returns EAGAIN on a zero counter whatever O_NONBLOCK says (eventfd
 * supports IOCB_NOWAIT since Linux 5.12; {@code EventFdPeerTest} checks it on the running
 * kernel), and {@link #signal()} first polls for POLLOUT with a zero timeout and skips the write
 * when the counter is full (the peer is signalled already). The kernel has no non-blocking
 * eventfd write that ignores O_NONBLOCK (pwritev2(RWF_NOWAIT) is EOPNOTSUPP: eventfd has no
 * write_iter), so one race remains: a peer that clears O_NONBLOCK <em>and</em> fills its counter
 * between our poll and our write (a window of about a microsecond) blocks the writer. Such a
 * write is released by a watchdog thread after {@link #STUCK_NANOS} (it drains the counter,
 * which wakes the writer) and the eventfd reports {@link #peerBlockedWrite()}. See
 * docs/ARCHITECTURE.md, "Hostile input".
 */
public final class EventFd implements AutoCloseable {
    public static final int EFD_SEMAPHORE = 1, EFD_CLOEXEC = 02000000, EFD_NONBLOCK = 04000;

    /** Eight bytes holding the value 1, shared read-only by every signal(). */
    private static final MemorySegment ONE = Arena.global().allocate(ValueLayout.JAVA_LONG);

    static {
        ONE.set(ValueLayout.JAVA_LONG, 0, 1L);
    }

    /** preadv2 flag: fail with EAGAIN instead of blocking, whatever O_NONBLOCK says (linux/fs.h). */
    static final int RWF_NOWAIT = 0x00000008;
    /** What /proc/self/fd/N names an eventfd. */
    static final String EVENTFD_TARGET = "anon_inode:[eventfd]";

    private final Fd fd;
    private final boolean shared;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(ValueLayout.JAVA_LONG);
    /** One iovec over {@link #buf} (preadv2) and one pollfd (POLLOUT check), for shared eventfds. */
    private final MemorySegment iov, pfd;

    private EventFd(Fd fd, boolean shared) {
        this.fd = fd;
        this.shared = shared;
        if (shared) {
            iov = arena.allocate(IovecLayout.SIZE, 8);
            IovecLayout.set(iov, 0, buf, 0, 8);
            pfd = arena.allocate(PollfdLayout.SIZE, 8);
            watch(this);
        } else {
            iov = null;
            pfd = null;
        }
    }

    /** A new non-blocking eventfd with counter 0. */
    public static EventFd create() throws SysException {
        return create(0, EFD_NONBLOCK);
    }

    /** eventfd(initval, flags); EFD_CLOEXEC is always added. */
    public static EventFd create(int initval, int flags) throws SysException {
        return new EventFd(createFd(initval, flags), false);
    }

    /**
     * A new non-blocking eventfd (counter 0) that will be handed to a peer (a vhost-user
     * front-end's kick and call): its calls are the ones that cannot block (class comment).
     */
    public static EventFd createShared() throws SysException {
        return new EventFd(createFd(0, EFD_NONBLOCK), true);
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

    /**
     * Wraps an eventfd of our own (or one the kernel alone writes): plain read(2)/write(2),
     * which block if the descriptor is blocking. For a descriptor a peer also holds use
     * {@link #adoptPeer}.
     */
    public static EventFd adopt(Fd fd) {
        return new EventFd(fd, false);
    }

    /**
     * Wraps a descriptor that a peer holds too (received from it, or ours and handed to it) as
     * an eventfd whose {@link #signal()} and {@link #drain()} cannot block however the peer
     * changes the open file (class comment). Sets O_NONBLOCK as well (best effort: the peer may
     * clear it again). Check what the descriptor is with {@link #checkPeer} first.
     */
    public static EventFd adoptPeer(Fd fd) {
        try {
            fd.setNonBlocking(true);
        } catch (SysException | ClosedFdException ignored) {
            // the calls below do not rely on it
        }
        return new EventFd(fd, true);
    }

    /**
     * Whether {@code fd}, received from a peer, may be used as its doorbell: null if it is a
     * plain eventfd, otherwise what it is instead, for the refusal's message ("a pipe
     * (pipe:[1234])", "an eventfd in semaphore mode"). Only an eventfd is accepted: a pipe, a
     * socket or a regular file read or written as a doorbell can block, stay readable for ever
     * or fill a disk; a semaphore eventfd (EFD_SEMAPHORE) is never drained by a read, so a
     * level-triggered wait on it would never sleep again. Reads {@code /proc/self/fd/N} (the
     * kernel's name for the file: "anon_inode:[eventfd]" cannot be a path, which always starts
     * with '/') and {@code /proc/self/fdinfo/N} ({@code eventfd-semaphore}). A missing /proc
     * counts as "cannot check" and refuses.
     */
    public static String checkPeer(Fd fd) {
        String target;
        try {
            target = fd.target();
        } catch (SysException | ClosedFdException e) {
            return "a descriptor whose type cannot be checked (" + e.getMessage() + ")";
        }
        if (!EVENTFD_TARGET.equals(target)) {
            String kind = target.startsWith("pipe:") ? "a pipe" : target.startsWith("socket:") ? "a socket"
                    : target.startsWith("anon_inode:") ? "another anonymous file" : target.startsWith("/") ? "a file"
                            : "something else";
            return "not an eventfd but " + kind + " (" + target + ")";
        }
        try {
            for (String l : fd.fdinfo()) {
                if (l.startsWith("eventfd-semaphore:") && !l.substring(18).trim().equals("0")) {
                    return "an eventfd in semaphore mode (EFD_SEMAPHORE: a read takes 1, so it never drains)";
                }
            }
        } catch (SysException | ClosedFdException e) {
            return "an eventfd whose mode cannot be checked (" + e.getMessage() + ")";
        }
        return null;
    }

    public Fd fd() { return fd; }

    /** True if a peer holds this eventfd too ({@link #adoptPeer}, {@link #createShared}). */
    public boolean isShared() { return shared; }

    /**
     * Adds 1 to the counter, waking a poller. A full counter (EAGAIN, or no POLLOUT for a shared
     * eventfd) already means "signalled". For a shared eventfd this is two system calls (poll,
     * write) instead of one; a data path signals once per batch, not per packet.
     */
    public void signal() throws SysException, ClosedFdException {
        if (!shared) {
            fd.write(ONE, 8);
            return;
        }
        int f = fd.acquire(); // held across both calls: pfd lives in the arena close() frees after
        try {
            // Every caller writes the same two fields, so concurrent signals may share pfd.
            pfd.set(ValueLayout.JAVA_INT, PollfdLayout.OFF_FD, f);
            pfd.set(ValueLayout.JAVA_SHORT, PollfdLayout.OFF_EVENTS, PollfdLayout.POLLOUT);
            while (true) {
                int r = LibC.poll(pfd, 1, 0);
                if (r == 0) return; // counter full: the peer has a pending signal already
                if (r > 0) break;
                int e = LibC.errno();
                if (e != Errno.EINTR) throw new SysException("poll(POLLOUT)", e, fd.name());
            }
            writeWatched(f);
        } finally {
            fd.release();
        }
    }

    /**
     * write(2) of 1 to {@code f} (this eventfd, use held by the caller) under the watchdog: if it
     * has not returned after {@link #STUCK_NANOS} (the peer won the poll→write race: counter full
     * and O_NONBLOCK cleared), the watchdog thread drains the counter with preadv2(RWF_NOWAIT),
     * which wakes this writer, and marks the eventfd {@link #peerBlockedWrite()}.
     */
    void writeWatched(int f) throws SysException {
        writingSince = System.nanoTime() | 1; // never 0 while writing
        try {
            while (true) {
                long r = LibC.write(f, ONE, 8);
                if (r >= 0) return;
                int e = LibC.errno();
                if (e == Errno.EAGAIN) return;
                if (e != Errno.EINTR) throw new SysException("write", e, fd.name());
            }
        } finally {
            writingSince = 0;
        }
    }

    /**
     * True once a write on this shared eventfd blocked and the watchdog had to release it: the
     * peer cleared O_NONBLOCK and held the counter full. Owners may treat the peer as hostile.
     */
    public boolean peerBlockedWrite() { return peerBlocked; }

    // ---- the watchdog of shared eventfd writes ----

    /** How long a write on a shared eventfd may block before the watchdog releases it. */
    static final long STUCK_NANOS = 100_000_000L;
    /** Every open shared eventfd (removed by close(); a leaked one stays, and so does its descriptor). */
    private static final java.util.Set<EventFd> WATCHED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static volatile Thread watchdog;
    private volatile long writingSince;
    private volatile boolean peerBlocked;

    private static void watch(EventFd e) {
        WATCHED.add(e);
        if (watchdog != null) return;
        synchronized (WATCHED) {
            if (watchdog != null) return;
            Thread t = new Thread(EventFd::watchdogLoop, "ringlink-eventfd-watchdog");
            t.setDaemon(true);
            t.start();
            watchdog = t;
        }
    }

    private static void watchdogLoop() {
        // Its own scratch (one thread): the watched eventfd's buffers belong to its owner.
        MemorySegment b = Arena.global().allocate(8, 8);
        MemorySegment v = Arena.global().allocate(IovecLayout.SIZE, 8);
        IovecLayout.set(v, 0, b, 0, 8);
        MemorySegment p = Arena.global().allocate(PollfdLayout.SIZE, 8);
        while (true) {
            try {
                Thread.sleep(STUCK_NANOS / 2_000_000);
                long now = System.nanoTime();
                for (EventFd e : WATCHED) {
                    long t = e.writingSince;
                    if (t != 0 && now - t > STUCK_NANOS) e.release(v, p);
                }
            } catch (InterruptedException ie) {
                return;
            } catch (RuntimeException | Error x) {
                // never let the watchdog die: the next round tries again
            }
        }
    }

    /**
     * Watchdog: empties the counter a blocked writer waits on, which wakes it. Only if the
     * counter really is full: a writer that is merely slow (descheduled on a loaded machine) is
     * left alone, so a well-behaved peer never loses a signal to the watchdog.
     */
    private void release(MemorySegment iov, MemorySegment pollfd) {
        int f;
        try {
            f = fd.acquire();
        } catch (ClosedFdException e) {
            return;
        }
        try {
            pollfd.set(ValueLayout.JAVA_INT, PollfdLayout.OFF_FD, f);
            pollfd.set(ValueLayout.JAVA_SHORT, PollfdLayout.OFF_EVENTS, PollfdLayout.POLLOUT);
            if (LibC.poll(pollfd, 1, 0) != 0) return; // room for the write (or an error): not blocked on the counter
            LibC.preadv2(f, iov, 1, -1L, RWF_NOWAIT);
            if (!peerBlocked) {
                peerBlocked = true;
                System.getLogger("ringlink.sys.EventFd").log(System.Logger.Level.WARNING, fd.name()
                        + ": a write blocked (the peer cleared O_NONBLOCK and keeps the counter full); released by "
                                + "draining it");
            }
        } finally {
            fd.release();
        }
    }

    /**
     * Reads and resets the counter. Returns its value, or 0 if it was zero (non-blocking fd, or
     * any shared eventfd: preadv2 with RWF_NOWAIT never waits).
     */
    public long drain() throws SysException, ClosedFdException {
        int f = fd.acquire(); // held across the read and the load from buf: close() frees buf only after
        try {
            if (!shared) {
                long r = fd.read(buf, 8);
                return r == 8 ? buf.get(ValueLayout.JAVA_LONG, 0) : 0;
            }
            while (true) {
                long r = LibC.preadv2(f, iov, 1, -1L, RWF_NOWAIT);
                if (r == 8) return buf.get(ValueLayout.JAVA_LONG, 0);
                if (r >= 0) return 0;
                int e = LibC.errno();
                if (e == Errno.EAGAIN) return 0;
                if (e == Errno.EOPNOTSUPP) return drainPolled(f); // kernel before 5.12
                if (e != Errno.EINTR) throw new SysException("preadv2(RWF_NOWAIT)", e, fd.name());
            }
        } finally {
            fd.release();
        }
    }

    /**
     * drain() where the kernel has no RWF_NOWAIT for eventfds: read only after poll saw the
     * counter non-zero. A peer that reads the counter itself between the two can still block us;
     * kernels since 5.12 never take this path.
     */
    private long drainPolled(int f) throws SysException {
        pfd.set(ValueLayout.JAVA_INT, PollfdLayout.OFF_FD, f);
        pfd.set(ValueLayout.JAVA_SHORT, PollfdLayout.OFF_EVENTS, PollfdLayout.POLLIN);
        int p = LibC.poll(pfd, 1, 0);
        if (p <= 0) return 0;
        long r = LibC.read(f, buf, 8);
        return r == 8 ? buf.get(ValueLayout.JAVA_LONG, 0) : 0;
    }

    @Override
    public void close() {
        if (shared) WATCHED.remove(this);
        fd.closeWith(arena);
    }

    @Override
    public String toString() {
        return "EventFd[" + fd + "]";
    }
}
