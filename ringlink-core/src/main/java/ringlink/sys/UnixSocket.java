package ringlink.sys;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * An AF_UNIX stream or seqpacket socket that can carry file descriptors (SCM_RIGHTS): the
 * transport of vhost-user and of sharedmem queue setup.
 *
 * <p>Sends use MSG_NOSIGNAL (a dead peer is an {@code EPIPE} exception, never a SIGPIPE);
 * received descriptors arrive close-on-exec and are owned by the caller.
 */
public final class UnixSocket implements AutoCloseable {
    public static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;
    static final int SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;
    /** Most descriptors one message may carry (Linux SCM_MAX_FD is 253). */
    public static final int MAX_FDS = 253;

    private final Fd fd;
    private final String what;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment msg = arena.allocate(MsghdrLayout.SIZE, 8);
    private final MemorySegment iov = arena.allocate(IovecLayout.SIZE, 8);
    private final MemorySegment control = arena.allocate(MsghdrLayout.cmsgSpace(4L * MAX_FDS), 8);

    private UnixSocket(Fd fd, String what) {
        this.fd = fd;
        this.what = what;
    }

    /** Wraps an already connected socket descriptor. */
    public static UnixSocket adopt(Fd fd) {
        return new UnixSocket(fd, fd.name());
    }

    public Fd fd() { return fd; }

    /** What the socket is ("unix:/run/vm.sock"), for messages. */
    public String what() { return what; }

    private static Fd socket(int type, String what) throws SysException {
        return Sockets.socket(SockaddrUnLayout.AF_UNIX, type, 0, what);
    }

    /**
     * A listening socket bound to {@code path}. A stale socket file left by a dead process is
     * removed first; any other existing file is an error.
     */
    public static UnixSocket listen(Path path, int type, int backlog) throws IOException {
        String what = "unix:" + path;
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            BasicFileAttributes a =
                    Files.readAttributes(path, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            if (!a.isOther()) throw new IOException(path + " exists and is not a socket; refusing to replace it");
            Files.delete(path);
        }
        return bindListen(what, path.toString(), false, type, backlog);
    }

    /** Binds a new socket to {@code name} (a path, or an abstract name) and listens. */
    private static UnixSocket bindListen(String what, String name, boolean abstractName, int type,
            int backlog) throws IOException {
        Fd fd = socket(type, what);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(SockaddrUnLayout.SIZE);
            int len = abstractName ? SockaddrUnLayout.fillAbstract(sa, name) : SockaddrUnLayout.fill(sa, name);
            fd.call("bind", f -> (int) LibC.BIND.invokeExact(LibC.state(), f, sa, len));
            fd.call("listen", f -> (int) LibC.LISTEN.invokeExact(LibC.state(), f, backlog));
            return new UnixSocket(fd, what);
        } catch (IOException | RuntimeException | Error e) {
            fd.close();
            throw e;
        }
    }

    /**
     * Accepts one connection, waiting at most {@code timeoutMillis} (−1 forever). Returns null on
     * timeout.
     */
    public UnixSocket accept(int timeoutMillis) throws SysException, ClosedFdException {
        while (true) {
            if (timeoutMillis >= 0 && PollSet.pollOne(fd, PollfdLayout.POLLIN, timeoutMillis) == 0) return null;
            int f = fd.acquire();
            try {
                int r = (int) LibC.ACCEPT4.invokeExact(LibC.state(), f, MemorySegment.NULL, MemorySegment.NULL,
                        SOCK_CLOEXEC);
                if (r >= 0) return new UnixSocket(Fd.adopt(r, what + " (accepted)"), what);
                int e = LibC.errno();
                if (e != Errno.EINTR && e != Errno.EAGAIN && e != Errno.ECONNABORTED)
                        throw new SysException("accept", e, what);
            } catch (SysException e) {
                throw e;
            } catch (Throwable t) {
                throw LibC.bug(t);
            } finally {
                fd.release();
            }
        }
    }

    /** Connects to the socket at {@code path}. */
    public static UnixSocket connect(Path path, int type) throws SysException {
        return connectTo("unix:" + path, path.toString(), false, type);
    }

    /** Connects a new socket to {@code name} (a path, or an abstract name). */
    private static UnixSocket connectTo(String what, String name, boolean abstractName, int type) throws SysException {
        Fd fd = socket(type, what);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(SockaddrUnLayout.SIZE);
            int len = abstractName ? SockaddrUnLayout.fillAbstract(sa, name) : SockaddrUnLayout.fill(sa, name);
            fd.callRetrying("connect", f -> (int) LibC.CONNECT.invokeExact(LibC.state(), f, sa, len));
            return new UnixSocket(fd, what);
        } catch (SysException | RuntimeException | Error e) {
            fd.close();
            throw e;
        } catch (ClosedFdException e) {
            throw LibC.bug(e); // nobody else has the new descriptor to close it
        }
    }

    /**
     * A listening socket bound to the abstract name {@code name} (no file; the name disappears
     * with the socket). Shown as {@code @name} in messages, as ss(8) does.
     */
    public static UnixSocket listenAbstract(String name, int type, int backlog) throws IOException {
        return bindListen("unix:@" + name, name, true, type, backlog);
    }

    /** Connects to the socket with the abstract name {@code name}. */
    public static UnixSocket connectAbstract(String name, int type) throws SysException {
        return connectTo("unix:@" + name, name, true, type);
    }

    /** socketpair(AF_UNIX, type): two connected sockets. */
    public static UnixSocket[] pair(int type) throws SysException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sv = a.allocate(ValueLayout.JAVA_INT, 2);
            int r = (int) LibC.SOCKETPAIR.invokeExact(LibC.state(), SockaddrUnLayout.AF_UNIX, type | SOCK_CLOEXEC, 0,
                    sv);
            if (r < 0) throw new SysException("socketpair", LibC.errno(), null);
            return new UnixSocket[] {
                new UnixSocket(Fd.adopt(sv.getAtIndex(ValueLayout.JAVA_INT, 0), "socketpair[0]"), "socketpair[0]"),
                new UnixSocket(Fd.adopt(sv.getAtIndex(ValueLayout.JAVA_INT, 1), "socketpair[1]"), "socketpair[1]")
            };
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /**
     * Sends {@code len} bytes of {@code data} with {@code fds} attached (SCM_RIGHTS) in one
     * sendmsg. Blocks until everything is sent (a stream socket may take several calls; the fds go
     * with the first). One thread at a time.
     */
    public void send(MemorySegment data, long len, Fd... fds) throws SysException, ClosedFdException {
        send(data, len, -1, fds);
    }

    /**
     * {@link #send(MemorySegment, long, Fd...)} bounded in time: every sendmsg is MSG_DONTWAIT and
     * a full socket buffer is waited on with poll for at most what is left of
     * {@code timeoutMillis} (−1: no bound), so a peer that stops reading cannot hold the sender
     * for longer. Throws a {@link SysException} with ETIMEDOUT when the bound is reached (part of
     * the data may have been sent: the stream is then unusable and the caller closes it).
     */
    public synchronized void send(MemorySegment data, long len, int timeoutMillis, Fd... fds) throws SysException,
            ClosedFdException {
        if (fds.length > MAX_FDS) throw new IllegalArgumentException(fds.length + " fds exceed " + MAX_FDS);
        if (!data.isNative()) throw new IllegalArgumentException("data must be native memory");
        int acquired = 0;
        int f = fd.acquire();
        try {
            for (; acquired < fds.length; acquired++) fds[acquired].acquire();
            long sent = 0;
            long deadline = System.nanoTime() + Math.max(0, timeoutMillis) * 1_000_000L;
            boolean withFds = fds.length > 0;
            do {
                msg.fill((byte) 0);
                IovecLayout.set(iov, 0, data, sent, len - sent);
                msg.set(ValueLayout.ADDRESS, MsghdrLayout.OFF_MSG_IOV, iov);
                msg.set(ValueLayout.JAVA_LONG, MsghdrLayout.OFF_MSG_IOVLEN, 1);
                if (withFds) {
                    long space = MsghdrLayout.cmsgSpace(4L * fds.length);
                    control.asSlice(0, space).fill((byte) 0);
                    control.set(ValueLayout.JAVA_LONG, MsghdrLayout.OFF_CMSG_LEN,
                            MsghdrLayout.cmsgLen(4L * fds.length));
                    control.set(ValueLayout.JAVA_INT, MsghdrLayout.OFF_CMSG_LEVEL, MsghdrLayout.SOL_SOCKET);
                    control.set(ValueLayout.JAVA_INT, MsghdrLayout.OFF_CMSG_TYPE, MsghdrLayout.SCM_RIGHTS);
                    for (int i = 0; i < fds.length; i++) {
                        control.set(ValueLayout.JAVA_INT, MsghdrLayout.CMSGHDR_SIZE + 4L * i, fds[i].number());
                    }
                    msg.set(ValueLayout.ADDRESS, MsghdrLayout.OFF_MSG_CONTROL, control);
                    msg.set(ValueLayout.JAVA_LONG, MsghdrLayout.OFF_MSG_CONTROLLEN, space);
                }
                long r = LibC.sendmsg(f, msg,
                        MsghdrLayout.MSG_NOSIGNAL | (timeoutMillis >= 0 ? MsghdrLayout.MSG_DONTWAIT : 0));
                if (r < 0) {
                    int e = LibC.errno();
                    if (e == Errno.EINTR) continue;
                    if (e == Errno.EAGAIN) {
                        int wait = 1000;
                        if (timeoutMillis >= 0) {
                            long left = deadline - System.nanoTime();
                            if (left <= 0) {
                                throw new SysException("sendmsg (peer took nothing for " + timeoutMillis + " ms)",
                                        Errno.ETIMEDOUT, what);
                            }
                            wait = (int) Math.min(1000, Math.max(1, left / 1_000_000));
                        }
                        PollSet.pollOne(fd, PollfdLayout.POLLOUT, wait);
                        continue;
                    }
                    throw new SysException("sendmsg", e, what);
                }
                sent += r;
                withFds = false;
            } while (sent < len);
        } finally {
            for (int i = 0; i < acquired; i++) fds[i].release();
            fd.release();
        }
    }

    /** Sends bytes with optional fds; see {@link #send(MemorySegment, long, Fd...)}. */
    public void send(byte[] data, Fd... fds) throws SysException, ClosedFdException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, s, ValueLayout.JAVA_BYTE, 0, data.length);
            send(s, data.length, fds);
        }
    }

    /** What one {@link #receive} returned: the byte count (0 = peer closed) and any descriptors. */
    public record Received(long bytes, Fd[] fds) {
        public boolean closed() { return bytes == 0 && fds.length == 0; }
    }

    private static final Fd[] NO_FDS = new Fd[0];

    /**
     * One recvmsg of at most {@code len} bytes into {@code buf}, collecting at most
     * {@code maxFds} descriptors. Received descriptors beyond {@code maxFds} (MSG_CTRUNC) are
     * an error: those that did arrive are closed and a {@link SysException} with EMSGSIZE is
     * thrown. Returns bytes = −1 if the socket is non-blocking and nothing is ready.
     */
    public synchronized Received receive(MemorySegment buf, long len, int maxFds) throws SysException,
            ClosedFdException {
        if (maxFds > MAX_FDS) throw new IllegalArgumentException(maxFds + " fds exceed " + MAX_FDS);
        if (len > buf.byteSize()) throw new IndexOutOfBoundsException();
        int f = fd.acquire();
        try {
            while (true) {
                msg.fill((byte) 0);
                IovecLayout.set(iov, 0, buf, 0, len);
                msg.set(ValueLayout.ADDRESS, MsghdrLayout.OFF_MSG_IOV, iov);
                msg.set(ValueLayout.JAVA_LONG, MsghdrLayout.OFF_MSG_IOVLEN, 1);
                long space = MsghdrLayout.cmsgSpace(4L * Math.max(1, maxFds));
                control.asSlice(0, space).fill((byte) 0);
                msg.set(ValueLayout.ADDRESS, MsghdrLayout.OFF_MSG_CONTROL, control);
                msg.set(ValueLayout.JAVA_LONG, MsghdrLayout.OFF_MSG_CONTROLLEN, space);
                long r = LibC.recvmsg(f, msg, MsghdrLayout.MSG_CMSG_CLOEXEC);
                if (r < 0) {
                    int e = LibC.errno();
                    if (e == Errno.EINTR) continue;
                    if (e == Errno.EAGAIN) return new Received(-1, NO_FDS);
                    throw new SysException("recvmsg", e, what);
                }
                Fd[] fds = collectFds();
                int flags = msg.get(ValueLayout.JAVA_INT, MsghdrLayout.OFF_MSG_FLAGS);
                if ((flags & MsghdrLayout.MSG_CTRUNC) != 0 || fds.length > maxFds) {
                    for (Fd x : fds) x.close();
                    throw new SysException("recvmsg (peer sent more than " + maxFds + " descriptors)", Errno.EMSGSIZE,
                            what);
                }
                return new Received(r, fds);
            }
        } finally {
            fd.release();
        }
    }

    private Fd[] collectFds() {
        long controllen = msg.get(ValueLayout.JAVA_LONG, MsghdrLayout.OFF_MSG_CONTROLLEN);
        if (controllen < MsghdrLayout.CMSGHDR_SIZE) return NO_FDS;
        java.util.List<Fd> out = new java.util.ArrayList<>();
        long off = 0;
        while (off + MsghdrLayout.CMSGHDR_SIZE <= controllen) {
            long clen = control.get(ValueLayout.JAVA_LONG, off + MsghdrLayout.OFF_CMSG_LEN);
            int level = control.get(ValueLayout.JAVA_INT, off + MsghdrLayout.OFF_CMSG_LEVEL);
            int type = control.get(ValueLayout.JAVA_INT, off + MsghdrLayout.OFF_CMSG_TYPE);
            if (clen < MsghdrLayout.CMSGHDR_SIZE || off + clen > controllen) break;
            if (level == MsghdrLayout.SOL_SOCKET && type == MsghdrLayout.SCM_RIGHTS) {
                long n = (clen - MsghdrLayout.CMSGHDR_SIZE) / 4;
                for (long i = 0; i < n; i++) {
                    int raw = control.get(ValueLayout.JAVA_INT, off + MsghdrLayout.CMSGHDR_SIZE + 4 * i);
                    out.add(Fd.adopt(raw, what + " (received fd)"));
                }
            }
            off += MsghdrLayout.cmsgAlign(clen);
        }
        return out.toArray(NO_FDS);
    }

    /** shutdown(2) both directions: wakes a thread blocked in receive on this socket. */
    public void shutdown() {
        try {
            int f = fd.acquire();
            try {
                // Errors (ENOTCONN for a listener that never connected) need no handling.
                int ignored = (int) LibC.SHUTDOWN.invokeExact(LibC.state(), f, 2 /* SHUT_RDWR */);
            } finally {
                fd.release();
            }
        } catch (ClosedFdException ignored) {
            // already closed: nothing to wake
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /**
     * Closes the socket. A thread blocked in {@link #receive} or {@link #send} is woken first
     * (shutdown), so close never waits on a peer.
     */
    @Override
    public void close() {
        shutdown();
        fd.close();
        synchronized (this) {
            if (arena.scope().isAlive()) arena.close();
        }
    }

    @Override
    public String toString() {
        return "UnixSocket[" + what + ", " + fd + "]";
    }
}
