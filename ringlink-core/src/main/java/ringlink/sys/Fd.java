package ringlink.sys;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;

/**
 * An open file descriptor that closes exactly once and is safe against use after close.
 *
 * <p>Every system call made through an {@code Fd} holds a use count for the duration of the call
 * ({@link #acquire()}/{@link #release()}). {@link #close()} marks the descriptor closed at once
 * (later calls throw {@link ClosedFdException}) but the kernel descriptor is released only when
 * the last in-flight call returns, so a call can never run on a number the kernel has already
 * handed to someone else. If an {@code Fd} becomes unreachable while open, a {@link Cleaner}
 * closes it and logs the leak.
 */
public final class Fd implements AutoCloseable {
    // open(2) flags (x86-64)
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200,
            O_TRUNC = 01000, O_APPEND = 02000, O_NONBLOCK = 04000, O_CLOEXEC = 02000000;
    // fcntl(2)
    static final int F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, FD_CLOEXEC = 1, F_DUPFD_CLOEXEC = 1030;

    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "ringlink-fd-cleaner");
        t.setDaemon(true);
        return t;
    });
    private static final System.Logger LOG = System.getLogger("ringlink.sys.Fd");

    private static final int CLOSED = 0x8000_0000;
    private static final VarHandle USES;

    static {
        try {
            USES = MethodHandles.lookup().findVarHandle(Fd.class, "uses", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int fd;
    private final String name;
    private final Closer closer;
    private final Cleaner.Cleanable cleanable;
    @SuppressWarnings("unused") // accessed through USES
    private volatile int uses;
    /** The owner's scratch arena, closed with the kernel descriptor ({@link #closeWith}). */
    private volatile java.lang.foreign.Arena scratch;

    /** Kernel-side close, run exactly once: explicitly, or by the Cleaner for a leaked Fd. */
    private static final class Closer implements Runnable {
        private final int fd;
        private final String name;
        volatile boolean explicit;

        Closer(int fd, String name) {
            this.fd = fd;
            this.name = name;
        }

        @Override
        public void run() {
            if (!explicit) {
                LOG.log(System.Logger.Level.WARNING, "leaked file descriptor " + fd + " (" + name
                        + ") was not closed; closing it now");
            }
            // Linux releases the descriptor even when close(2) fails (EINTR included): never retry.
            if (LibC.close(fd) < 0) {
                int e = LibC.errno();
                if (e != Errno.EINTR) {
                    LOG.log(System.Logger.Level.DEBUG, "close(" + fd + ", " + name + "): " + Errno.name(e));
                }
            }
        }
    }

    private Fd(int fd, String name) {
        this.fd = fd;
        this.name = name;
        this.closer = new Closer(fd, name);
        this.cleanable = CLEANER.register(this, closer);
    }

    /**
     * Takes ownership of a raw descriptor (e.g. one received over SCM_RIGHTS or returned by a
     * syscall). {@code name} describes it in errors ("eventfd", "/dev/net/tun [tap0]").
     */
    public static Fd adopt(int fd, String name) {
        if (fd < 0) throw new IllegalArgumentException("not a descriptor: " + fd);
        return new Fd(fd, name);
    }

    /** open(2), always with O_CLOEXEC so descriptors never leak into child processes. */
    public static Fd open(String path, int flags) throws SysException {
        return open(path, flags, 0);
    }

    /** open(2) with a mode for O_CREAT, always with O_CLOEXEC. */
    public static Fd open(String path, int flags, int mode) throws SysException {
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment p = arena.allocateFrom(path);
            while (true) {
                int r = (int) LibC.OPEN.invokeExact(LibC.state(), p, flags | O_CLOEXEC, mode);
                if (r >= 0) return new Fd(r, path);
                int e = LibC.errno();
                if (e != Errno.EINTR) throw new SysException("open", e, path);
            }
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** What this descriptor is, for messages. */
    public String name() { return name; }

    /** True until {@link #close()} was called. */
    public boolean isOpen() { return ((int) USES.getVolatile(this) & CLOSED) == 0; }

    /**
     * Marks the descriptor in use by a call and returns its number.
     *
     * @throws ClosedFdException if it was closed
     */
    public int acquire() throws ClosedFdException {
        while (true) {
            int u = (int) USES.getVolatile(this);
            if ((u & CLOSED) != 0) throw new ClosedFdException(describe());
            if (USES.compareAndSet(this, u, u + 1)) return fd;
        }
    }

    /** Ends a use started by {@link #acquire()}. */
    public void release() {
        int u = (int) USES.getAndAdd(this, -1) - 1;
        if (u == CLOSED) {
            reallyClose();
        }
    }

    /**
     * The raw number without taking a use. Only for diagnostics and for structures the kernel
     * reads later while this Fd is known to stay open (the caller owns it).
     */
    public int number() { return fd; }

    /** Closes the descriptor (idempotent; the kernel close happens after in-flight calls end). */
    @Override
    public void close() {
        while (true) {
            int u = (int) USES.getVolatile(this);
            if ((u & CLOSED) != 0) return;
            if (USES.compareAndSet(this, u, u | CLOSED)) {
                if (u == 0) reallyClose();
                return;
            }
        }
    }

    /**
     * Closes the descriptor, then {@code scratch}: the arena of the small buffers an owner's calls
     * on this descriptor use (an eventfd's counter, ioctl arguments). The arena is closed together
     * with the kernel descriptor, i.e. once the last call in flight has released its use, never
     * under a call that is still reading or writing it; an owner that reads the buffer after the
     * call holds a use of its own across both ({@link #acquire()}/{@link #release()}). Idempotent,
     * so any number of threads may call it and the arena is closed once. Owners whose calls lock
     * themselves to keep the arena alive (UnixSocket, Epoll) close under that lock instead.
     */
    public void closeWith(java.lang.foreign.Arena scratch) {
        this.scratch = scratch; // before close(): the last release may run reallyClose at once
        close();
        // No call in flight (uses is exactly CLOSED): nobody will release, so close it here. If a
        // call is in flight, its release() runs reallyClose, which closes it.
        if ((int) USES.getVolatile(this) == CLOSED) closeScratch(scratch);
    }

    private static void closeScratch(java.lang.foreign.Arena scratch) {
        synchronized (scratch) {
            if (scratch.scope().isAlive()) scratch.close();
        }
    }

    private void reallyClose() {
        closer.explicit = true;
        cleanable.clean();
        java.lang.foreign.Arena s = scratch;
        if (s != null) closeScratch(s);
    }

    private String describe() {
        return "fd " + fd + " (" + name + ")";
    }

    @Override
    public String toString() {
        return describe() + (isOpen() ? "" : " [closed]");
    }

    // ---- I/O ----

    private static final int OP_READ = 0, OP_WRITE = 1, OP_READV = 2, OP_WRITEV = 3;
    private static final String[] OP_NAMES = {"read", "write", "readv", "writev"};

    /**
     * The one retry loop of the four data calls: EINTR is retried, EAGAIN is −1, anything else
     * throws. The call is picked by a constant rather than passed as a lambda so that the per-packet
     * path allocates nothing (a capturing lambda would be a new object per call).
     */
    private long io(int op, MemorySegment seg, long n) throws SysException, ClosedFdException {
        int f = acquire();
        try {
            while (true) {
                long r = switch (op) {
                    case OP_READ -> LibC.read(f, seg, n);
                    case OP_WRITE -> LibC.write(f, seg, n);
                    case OP_READV -> LibC.readv(f, seg, (int) n);
                    default -> LibC.writev(f, seg, (int) n);
                };
                if (r >= 0) return r;
                int e = LibC.errno();
                if (e == Errno.EAGAIN) return -1;
                if (e != Errno.EINTR) throw new SysException(OP_NAMES[op], e, name);
            }
        } finally {
            release();
        }
    }

    /**
     * read(2) into {@code buf}. Returns the byte count, 0 at end of file, or −1 if the descriptor
     * is non-blocking and nothing is ready (EAGAIN). EINTR is retried.
     */
    public int read(MemorySegment buf) throws SysException, ClosedFdException {
        return (int) read(buf, buf.byteSize());
    }

    /** read(2) of at most {@code len} bytes into the start of {@code buf}; see {@link #read(MemorySegment)}. */
    public long read(MemorySegment buf, long len) throws SysException, ClosedFdException {
        if (len > buf.byteSize()) throw new IndexOutOfBoundsException("len " + len + " > buffer " + buf.byteSize());
        return io(OP_READ, buf, len);
    }

    /** write(2); returns bytes written or −1 on EAGAIN. EINTR is retried. */
    public long write(MemorySegment buf) throws SysException, ClosedFdException {
        return write(buf, buf.byteSize());
    }

    /** write(2) of the first {@code len} bytes of {@code buf}; returns bytes written or −1 on EAGAIN. */
    public long write(MemorySegment buf, long len) throws SysException, ClosedFdException {
        if (len > buf.byteSize()) throw new IndexOutOfBoundsException("len " + len + " > buffer " + buf.byteSize());
        return io(OP_WRITE, buf, len);
    }

    /**
     * readv(2) with {@code count} {@code struct iovec}s at {@code iov} (see {@link IovecLayout});
     * returns bytes read, or −1 on EAGAIN.
     */
    public long readv(MemorySegment iov, int count) throws SysException, ClosedFdException {
        IovecLayout.check(iov, count);
        return io(OP_READV, iov, count);
    }

    /** writev(2); returns bytes written, or −1 on EAGAIN. */
    public long writev(MemorySegment iov, int count) throws SysException, ClosedFdException {
        IovecLayout.check(iov, count);
        return io(OP_WRITEV, iov, count);
    }

    /**
     * ioctl(2) with a pointer argument; {@code what} names the request in errors
     * ("TUNSETIFF"). Returns the (non-negative) result.
     */
    public int ioctl(String what, long request, MemorySegment arg) throws SysException, ClosedFdException {
        return ioctl(what, request, java.util.Objects.requireNonNull(arg, "arg"), 0);
    }

    /** ioctl(2) with an integer argument. */
    public int ioctl(String what, long request, long arg) throws SysException, ClosedFdException {
        return ioctl(what, request, null, arg);
    }

    /** Both ioctl forms: the pointer one if {@code ptr} is not null, else the integer one. EINTR is retried. */
    private int ioctl(String what, long request, MemorySegment ptr, long arg) throws SysException, ClosedFdException {
        int f = acquire();
        try {
            while (true) {
                int r = ptr != null ? LibC.ioctl(f, request, ptr) : LibC.ioctl(f, request, arg);
                if (r >= 0) return r;
                int e = LibC.errno();
                if (e != Errno.EINTR) throw new SysException("ioctl(" + what + ")", e, name);
            }
        } finally {
            release();
        }
    }

    /**
     * fcntl(F_DUPFD_CLOEXEC): a second descriptor for the same open file, owned by the caller.
     * Used to register a peer's descriptor in an epoll set under a number that only the
     * registering code closes, so the registration can always be removed before its descriptor
     * is closed (epoll keys an entry by file and number; an entry whose number was closed while
     * the peer still holds the file stays armed and cannot be deleted any more).
     */
    public Fd dup() throws SysException, ClosedFdException {
        int f = acquire();
        try {
            int r = LibC.fcntl(f, F_DUPFD_CLOEXEC, 0);
            if (r < 0) throw new SysException("fcntl(F_DUPFD_CLOEXEC)", LibC.errno(), name);
            return new Fd(r, name + " (dup)");
        } finally {
            release();
        }
    }

    /**
     * What the descriptor refers to, as the kernel names it in {@code /proc/self/fd}: a path for
     * a file ("/tmp/x", "/memfd:name (deleted)"), "anon_inode:[eventfd]", "pipe:[123]",
     * "socket:[456]". For checking the type of a descriptor a peer sent before trusting it.
     */
    public String target() throws SysException, ClosedFdException {
        int f = acquire();
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + f)).toString();
        } catch (java.io.IOException e) {
            throw new SysException("readlink(/proc/self/fd/" + f + ")", Errno.ENOENT, name + ": " + e.getMessage());
        } finally {
            release();
        }
    }

    /** The lines of {@code /proc/self/fdinfo/N} (flags, position, and type-specific fields). */
    public java.util.List<String> fdinfo() throws SysException, ClosedFdException {
        int f = acquire();
        try {
            return java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/fdinfo/" + f));
        } catch (java.io.IOException e) {
            throw new SysException("read(/proc/self/fdinfo/" + f + ")", Errno.ENOENT, name + ": " + e.getMessage());
        } finally {
            release();
        }
    }

    /** Sets or clears O_NONBLOCK. */
    public void setNonBlocking(boolean on) throws SysException, ClosedFdException {
        int f = acquire();
        try {
            int fl = LibC.fcntl(f, F_GETFL, 0);
            if (fl < 0) throw new SysException("fcntl(F_GETFL)", LibC.errno(), name);
            int nf = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
            if (nf != fl && LibC.fcntl(f, F_SETFL, nf) < 0) {
                throw new SysException("fcntl(F_SETFL)", LibC.errno(), name);
            }
        } finally {
            release();
        }
    }

    /** Size of the file (lseek to the end; for memfds and regular files). */
    public long size() throws SysException, ClosedFdException {
        return call("lseek(SEEK_END)", f -> (long) LibC.LSEEK.invokeExact(LibC.state(), f, 0L, 2 /* SEEK_END */));
    }

    /** ftruncate(2). */
    public void truncate(long size) throws SysException, ClosedFdException {
        callRetrying("ftruncate(" + size + ")", f -> (int) LibC.FTRUNCATE.invokeExact(LibC.state(), f, size));
    }

    /**
     * A system call on a raw descriptor number, for {@link #call}: returns the call's result,
     * negative when it failed (then {@code errno} says why; nothing may run between the call and
     * its return that could change it).
     */
    @FunctionalInterface
    interface Call {
        long on(int fd) throws Throwable;
    }

    /**
     * Runs {@code call} on this descriptor, held open for the call: a negative result throws a
     * {@link SysException} naming {@code op}, errno and this descriptor. For setup calls (it takes
     * a lambda); data paths keep their own acquire/release.
     *
     * @return the call's (non-negative) result
     */
    long call(String op, Call call) throws SysException, ClosedFdException {
        int f = acquire();
        try {
            long r = call.on(f);
            if (r < 0) throw new SysException(op, LibC.errno(), name);
            return r;
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        } finally {
            release();
        }
    }

    /** {@link #call}, repeated while it fails with EINTR. */
    long callRetrying(String op, Call call) throws SysException, ClosedFdException {
        while (true) {
            try {
                return call(op, call);
            } catch (SysException e) {
                if (e.errno() != Errno.EINTR) throw e;
            }
        }
    }
}
