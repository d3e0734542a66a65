package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Generic socket calls for the address families Ringlink uses beyond AF_UNIX (AF_XDP, netlink,
 * AF_PACKET): socket, bind, setsockopt/getsockopt, sendto/recvfrom.
 */
public final class Sockets {
    private Sockets() {}

    public static final int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16, AF_PACKET = 17, AF_XDP = 44;
    public static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5,
            SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;
    public static final int SOL_SOCKET = 1, SOL_XDP = 283;
    public static final int SO_RCVBUF = 8, SO_SNDBUF = 7;

    /** socket(2); SOCK_CLOEXEC is always added. {@code what} names it in errors. */
    public static Fd socket(int domain, int type, int protocol, String what) throws SysException {
        try {
            int r = (int) LibC.SOCKET.invokeExact(LibC.state(), domain, type | SOCK_CLOEXEC, protocol);
            if (r < 0) throw new SysException("socket(" + domain + ", " + type + ", " + protocol + ")", LibC.errno(),
                    what);
            return Fd.adopt(r, what);
        } catch (SysException e) {
            throw e;
        } catch (Throwable t) {
            throw LibC.bug(t);
        }
    }

    /** bind(2) to the {@code len}-byte address in {@code addr}. */
    public static void bind(Fd fd, MemorySegment addr, int len) throws SysException, ClosedFdException {
        fd.call("bind", f -> (int) LibC.BIND.invokeExact(LibC.state(), f, addr, len));
    }

    /** setsockopt(2) with {@code value} as the option value. {@code what} names the option. */
    public static void setsockopt(Fd fd, int level, int option, MemorySegment value, String what) throws SysException,
            ClosedFdException {
        fd.call("setsockopt(" + what + ")",
                f -> (int) LibC.SETSOCKOPT.invokeExact(LibC.state(), f, level, option, value, (int) value.byteSize()));
    }

    /** setsockopt(2) with an int value. */
    public static void setsockopt(Fd fd, int level, int option, int value, String what) throws SysException,
            ClosedFdException {
        try (Arena a = Arena.ofConfined()) {
            setsockopt(fd, level, option, a.allocateFrom(ValueLayout.JAVA_INT, value), what);
        }
    }

    /** getsockopt(2) into {@code out}; returns the length the kernel wrote. */
    public static int getsockopt(Fd fd, int level, int option, MemorySegment out, String what) throws SysException,
            ClosedFdException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment len = a.allocateFrom(ValueLayout.JAVA_INT, (int) out.byteSize());
            fd.call("getsockopt(" + what + ")",
                    f -> (int) LibC.GETSOCKOPT.invokeExact(LibC.state(), f, level, option, out, len));
            return len.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /**
     * sendto(2) of {@code len} bytes (may be 0 with a NULL buffer, as AF_XDP's TX kick does).
     * Returns bytes sent, or −errno for EAGAIN/EBUSY/ENOBUFS/ENETDOWN (conditions a caller retries
     * or counts); other errors throw.
     */
    public static long sendto(Fd fd, MemorySegment buf, long len, int flags) throws SysException, ClosedFdException {
        int f = fd.acquire();
        try {
            while (true) {
                long r = LibC.sendto(f, buf, len, flags, MemorySegment.NULL, 0);
                if (r >= 0) return r;
                int e = LibC.errno();
                if (e == Errno.EINTR) continue;
                if (e == Errno.EAGAIN || e == Errno.EBUSY || e == Errno.ENOBUFS || e == Errno.ENETDOWN) return -e;
                throw new SysException("sendto", e, fd.name());
            }
        } finally {
            fd.release();
        }
    }

    /** recvfrom(2); returns bytes, or −errno for EAGAIN; other errors throw. */
    public static long recvfrom(Fd fd, MemorySegment buf, long len, int flags) throws SysException, ClosedFdException {
        int f = fd.acquire();
        try {
            while (true) {
                long r = LibC.recvfrom(f, buf, len, flags, MemorySegment.NULL, MemorySegment.NULL);
                if (r >= 0) return r;
                int e = LibC.errno();
                if (e == Errno.EINTR) continue;
                if (e == Errno.EAGAIN) return -e;
                throw new SysException("recvfrom", e, fd.name());
            }
        } finally {
            fd.release();
        }
    }
}
