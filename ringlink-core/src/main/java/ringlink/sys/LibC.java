package ringlink.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The downcall handles into the C library: the only place in Ringlink that calls native code.
 *
 * <p>Every handle captures {@code errno} right after the call (FFM's {@code captureCallState}),
 * into a per-thread segment; {@link #errno()} reads it. Methods return the raw C result (−1 on
 * failure) so that hot paths can treat {@code EAGAIN} without an exception; the public wrappers
 * in this package turn failures into {@link SysException}s.
 */
final class LibC {
    private LibC() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP = LINKER.defaultLookup();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE = Linker.Option.captureCallState("errno");

    private static final ThreadLocal<MemorySegment> STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    static MemorySegment state() {
        return STATE.get();
    }

    /** errno of this thread's last call through LibC. */
    static int errno() {
        return (int) ERRNO.get(STATE.get(), 0L);
    }

    private static MethodHandle h(String name, FunctionDescriptor fd, Linker.Option... extra) {
        MemorySegment sym = LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        Linker.Option[] opts = new Linker.Option[extra.length + 1];
        opts[0] = CAPTURE;
        System.arraycopy(extra, 0, opts, 1, extra.length);
        return LINKER.downcallHandle(sym, fd, opts);
    }

    private static MethodHandle plain(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LOOKUP.find(name).orElseThrow(), fd);
    }

    static final MethodHandle OPEN =
            h("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    static final MethodHandle CLOSE = h("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle READ = h("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle WRITE = h("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle READV = h("readv", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle WRITEV = h("writev", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle PREADV2 =
            h("preadv2", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_INT));
    static final MethodHandle IOCTL_PTR = h("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2));
    static final MethodHandle IOCTL_LONG = h("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(2));
    static final MethodHandle FCNTL = h("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2));
    static final MethodHandle MMAP =
            h("mmap", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    static final MethodHandle MUNMAP = h("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle EVENTFD = h("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle MEMFD_CREATE = h("memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle FTRUNCATE = h("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    static final MethodHandle LSEEK = h("lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    static final MethodHandle POLL = h("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    static final MethodHandle EPOLL_CREATE1 = h("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle EPOLL_CTL =
            h("epoll_ctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle EPOLL_WAIT =
            h("epoll_wait", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle PIPE2 = h("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle SOCKET = h("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle SOCKETPAIR =
            h("socketpair", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle BIND = h("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle LISTEN = h("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle ACCEPT4 =
            h("accept4", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    static final MethodHandle CONNECT = h("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle SENDMSG = h("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle RECVMSG = h("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle SENDTO =
            h("sendto", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle RECVFROM =
            h("recvfrom", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle SETSOCKOPT =
            h("setsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle GETSOCKOPT =
            h("getsockopt", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle GETSOCKNAME =
            h("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle SHUTDOWN = h("shutdown", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle SYSCALL3 = h("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
            JAVA_LONG), Linker.Option.firstVariadicArg(1));
    static final MethodHandle IF_NAMETOINDEX = h("if_nametoindex", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle IF_INDEXTONAME = h("if_indextoname", FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS));
    static final MethodHandle GETRLIMIT = h("getrlimit", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle SETRLIMIT = h("setrlimit", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle SCHED_SETAFFINITY =
            h("sched_setaffinity", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS));
    static final MethodHandle UNLINK = h("unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    static final MethodHandle GETPID = plain("getpid", FunctionDescriptor.of(JAVA_INT));
    /**
     * abs(3): no system call, no memory; only its native transition is wanted
     * ({@link Mapping#deliverFaults}). Must stay a normal (not {@code critical}) downcall.
     */
    static final MethodHandle ABS = plain("abs", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle STRERROR = plain("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));

    /** Wraps a Throwable from invokeExact (only possible for a wrong signature: a bug). */
    static AssertionError bug(Throwable t) {
        return new AssertionError("native call failed to link/invoke", t);
    }

    static String strerror(int errno) {
        try {
            MemorySegment p = (MemorySegment) STRERROR.invokeExact(errno);
            return p.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }

    static int getpid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    // ---- raw calls: return the C result; errno() holds the error when it is negative ----

    static int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(state(), fd);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long read(int fd, MemorySegment buf, long len) {
        try {
            return (long) READ.invokeExact(state(), fd, buf, len);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long write(int fd, MemorySegment buf, long len) {
        try {
            return (long) WRITE.invokeExact(state(), fd, buf, len);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long readv(int fd, MemorySegment iov, int cnt) {
        try {
            return (long) READV.invokeExact(state(), fd, iov, cnt);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long writev(int fd, MemorySegment iov, int cnt) {
        try {
            return (long) WRITEV.invokeExact(state(), fd, iov, cnt);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long preadv2(int fd, MemorySegment iov, int cnt, long offset, int flags) {
        try {
            return (long) PREADV2.invokeExact(state(), fd, iov, cnt, offset, flags);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int ioctl(int fd, long req, MemorySegment arg) {
        try {
            return (int) IOCTL_PTR.invokeExact(state(), fd, req, arg);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int ioctl(int fd, long req, long arg) {
        try {
            return (int) IOCTL_LONG.invokeExact(state(), fd, req, arg);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int fcntl(int fd, int cmd, int arg) {
        try {
            return (int) FCNTL.invokeExact(state(), fd, cmd, arg);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int poll(MemorySegment fds, long n, int timeout) {
        try {
            return (int) POLL.invokeExact(state(), fds, n, timeout);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long sendto(int fd, MemorySegment buf, long len, int flags, MemorySegment addr, int addrLen) {
        try {
            return (long) SENDTO.invokeExact(state(), fd, buf, len, flags, addr, addrLen);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long recvfrom(int fd, MemorySegment buf, long len, int flags, MemorySegment addr, MemorySegment addrLen) {
        try {
            return (long) RECVFROM.invokeExact(state(), fd, buf, len, flags, addr, addrLen);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long sendmsg(int fd, MemorySegment msg, int flags) {
        try {
            return (long) SENDMSG.invokeExact(state(), fd, msg, flags);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long recvmsg(int fd, MemorySegment msg, int flags) {
        try {
            return (long) RECVMSG.invokeExact(state(), fd, msg, flags);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int epollWait(int epfd, MemorySegment events, int max, int timeout) {
        try {
            return (int) EPOLL_WAIT.invokeExact(state(), epfd, events, max, timeout);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static long syscall(long nr, long a, long b, long c) {
        try {
            return (long) SYSCALL3.invokeExact(state(), nr, a, b, c);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    // ---- batched datagram calls (ringlink.sys.UdpSocket) ----

    static final MethodHandle SENDMMSG =
            h("sendmmsg", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle RECVMMSG =
            h("recvmmsg", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));

    static int sendmmsg(int fd, MemorySegment msgvec, int vlen, int flags) {
        try {
            return (int) SENDMMSG.invokeExact(state(), fd, msgvec, vlen, flags);
        } catch (Throwable t) {
            throw bug(t);
        }
    }

    static int recvmmsg(int fd, MemorySegment msgvec, int vlen, int flags) {
        try {
            return (int) RECVMMSG.invokeExact(state(), fd, msgvec, vlen, flags, MemorySegment.NULL);
        } catch (Throwable t) {
            throw bug(t);
        }
    }
}
