package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * A UDP socket (AF_INET or AF_INET6, non-blocking) with the calls a batched datagram link needs:
 * bind (optionally with {@code SO_REUSEPORT}), buffer sizes, {@code UDP_SEGMENT}/{@code UDP_GRO},
 * and {@code sendmmsg(2)}/{@code recvmmsg(2)} over caller-built {@link MmsghdrLayout} arrays.
 *
 * <p>The batched calls return the raw count, or {@code -errno} for the conditions a caller handles
 * per message (would block, no route, message too big, GSO refused); they throw only for errors
 * that mean a bug or a dead socket.
 */
public final class UdpSocket implements AutoCloseable {
    public static final int IPPROTO_IP = 0, IPPROTO_UDP = 17, IPPROTO_IPV6 = 41;
    /** {@code SOL_UDP} (= IPPROTO_UDP): the level of the UDP socket options and control messages. */
    public static final int SOL_UDP = 17;
    /** linux/udp.h: the GSO segment size (setsockopt, or a cmsg per sendmsg). */
    public static final int UDP_SEGMENT = 103;
    /** linux/udp.h: receive coalesced datagrams with their segment size in a cmsg. */
    public static final int UDP_GRO = 104;
    /** The kernel's cap on segments per UDP_SEGMENT send (linux/udp.h UDP_MAX_SEGMENTS, 64 up to 6.9). */
    public static final int UDP_MAX_SEGMENTS = 64;
    public static final int SO_REUSEADDR = 2, SO_REUSEPORT = 15, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33;
    public static final int IPV6_V6ONLY = 26;

    private final Fd fd;
    private final boolean ipv6;

    private UdpSocket(Fd fd, boolean ipv6) {
        this.fd = fd;
        this.ipv6 = ipv6;
    }

    /** A non-blocking UDP socket of the family of {@code local}'s address; {@code what} names it in errors. */
    public static UdpSocket open(boolean ipv6, String what) throws SysException {
        Fd fd = Sockets.socket(ipv6 ? Sockets.AF_INET6 : Sockets.AF_INET, Sockets.SOCK_DGRAM | Sockets.SOCK_NONBLOCK,
                IPPROTO_UDP, what);
        return new UdpSocket(fd, ipv6);
    }

    public Fd fd() { return fd; }

    /** True for AF_INET6. */
    public boolean ipv6() { return ipv6; }

    /** The size of this socket's sockaddr ({@link SockaddrInLayout} or {@link SockaddrIn6Layout}). */
    public int sockaddrSize() { return (int) (ipv6 ? SockaddrIn6Layout.SIZE : SockaddrInLayout.SIZE); }

    /** Sets an int socket option. */
    public void setInt(int level, int option, int value, String what) throws SysException, ClosedFdException {
        Sockets.setsockopt(fd, level, option, value, what);
    }

    /** Reads an int socket option. */
    public int getInt(int level, int option, String what) throws SysException, ClosedFdException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            Sockets.getsockopt(fd, level, option, v, what);
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** bind(2) to {@code local} (port 0: the kernel picks one, see {@link #localPort()}). */
    public void bind(InetSocketAddress local) throws SysException, ClosedFdException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(sockaddrSize(), 8);
            writeSockaddr(sa, 0, local.getAddress(), local.getPort(), ipv6);
            try {
                Sockets.bind(fd, sa, sockaddrSize());
            } catch (SysException e) {
                throw new SysException("bind(" + format(local) + ")", e.errno(), fd.name());
            }
        }
    }

    /** The local address the socket is bound to (getsockname). */
    public InetSocketAddress localAddress() throws SysException, ClosedFdException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment sa = a.allocate(SockaddrIn6Layout.SIZE, 8);
            MemorySegment len = a.allocateFrom(ValueLayout.JAVA_INT, (int) SockaddrIn6Layout.SIZE);
            fd.call("getsockname", f -> (int) LibC.GETSOCKNAME.invokeExact(LibC.state(), f, sa, len));
            return readSockaddr(sa, 0);
        }
    }

    /**
     * sendmmsg(2) of {@code n} messages of {@code vec} (MSG_DONTWAIT). Returns how many were sent
     * (≥ 1), or {@code -errno} if the first could not be: EAGAIN/ENOBUFS (full: retry), and the
     * per-message errors EMSGSIZE, EINVAL, EIO (UDP_SEGMENT the route cannot do), ENETUNREACH,
     * EHOSTUNREACH, EPERM, EACCES, EADDRNOTAVAIL, ECONNREFUSED (the caller drops that message).
     */
    public int sendmmsg(MemorySegment vec, int n) throws SysException, ClosedFdException {
        check(vec, n);
        int f = fd.acquire();
        try {
            while (true) {
                int r = LibC.sendmmsg(f, vec, n, MsghdrLayout.MSG_DONTWAIT | MsghdrLayout.MSG_NOSIGNAL);
                if (r >= 0) return r;
                int e = LibC.errno();
                if (e == Errno.EINTR) continue;
                if (e == Errno.EBADF || e == Errno.EFAULT || e == Errno.ENOTSOCK)
                        throw new SysException("sendmmsg", e, fd.name());
                return -e;
            }
        } finally {
            fd.release();
        }
    }

    /**
     * recvmmsg(2) of up to {@code n} messages into {@code vec} (MSG_DONTWAIT). Returns how many
     * arrived, or {@code -EAGAIN} if none; a pending socket error (ICMP-reported, e.g.
     * ECONNREFUSED) is returned as {@code -errno} too, and cleared by that call.
     */
    public int recvmmsg(MemorySegment vec, int n) throws SysException, ClosedFdException {
        check(vec, n);
        int f = fd.acquire();
        try {
            while (true) {
                int r = LibC.recvmmsg(f, vec, n, MsghdrLayout.MSG_DONTWAIT);
                if (r >= 0) return r;
                int e = LibC.errno();
                if (e == Errno.EINTR) continue;
                if (e == Errno.EBADF || e == Errno.EFAULT || e == Errno.ENOTSOCK || e == Errno.EINVAL) {
                    throw new SysException("recvmmsg", e, fd.name());
                }
                return -e;
            }
        } finally {
            fd.release();
        }
    }

    private static void check(MemorySegment vec, int n) {
        if (n < 1 || n * MmsghdrLayout.SIZE > vec.byteSize()) {
            throw new IndexOutOfBoundsException(n + " mmsghdrs do not fit " + vec.byteSize() + " bytes");
        }
        if (!vec.isNative()) throw new IllegalArgumentException("mmsghdr array must be native memory");
    }

    /**
     * Writes {@code addr:port} as this family's sockaddr at {@code off}: on an IPv6 socket an IPv4
     * address becomes v4-mapped ({@code ::ffff:a.b.c.d}).
     */
    public static void writeSockaddr(MemorySegment seg, long off, InetAddress addr, int port, boolean ipv6) {
        byte[] b = addr.getAddress();
        if (ipv6) {
            if (b.length == 4) b = mapped(b);
            int scope = addr instanceof Inet6Address a6 ? a6.getScopeId() : 0;
            SockaddrIn6Layout.write(seg, off, b, port, scope);
        } else {
            if (b.length != 4)
                    throw new IllegalArgumentException(addr + " is not an IPv4 address (the socket is AF_INET)");
            SockaddrInLayout.write(seg, off, b, port);
        }
    }

    /** Reads the sockaddr_in or sockaddr_in6 at {@code off} (not for hot paths: allocates). */
    public static InetSocketAddress readSockaddr(MemorySegment seg, long off) {
        int family = seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, off) & 0xffff;
        try {
            if (family == Sockets.AF_INET) {
                byte[] b = seg.asSlice(off + SockaddrInLayout.OFF_SIN_ADDR, 4).toArray(ValueLayout.JAVA_BYTE);
                return new InetSocketAddress(InetAddress.getByAddress(b), SockaddrInLayout.port(seg, off));
            }
            if (family == Sockets.AF_INET6) {
                byte[] b = seg.asSlice(off + SockaddrIn6Layout.OFF_SIN6_ADDR, 16).toArray(ValueLayout.JAVA_BYTE);
                int scope = seg.get(ValueLayout.JAVA_INT_UNALIGNED, off + SockaddrIn6Layout.OFF_SIN6_SCOPE_ID);
                InetAddress a = scope != 0 ? Inet6Address.getByAddress(null, b, scope) : InetAddress.getByAddress(b);
                return new InetSocketAddress(a, SockaddrIn6Layout.port(seg, off));
            }
        } catch (UnknownHostException e) {
            throw new AssertionError(e); // lengths are 4 and 16
        }
        throw new IllegalArgumentException("not an AF_INET/AF_INET6 address: family " + family);
    }

    /** {@code ::ffff:a.b.c.d} for an IPv4 address. */
    public static byte[] mapped(byte[] v4) {
        byte[] m = new byte[16];
        m[10] = (byte) 0xff;
        m[11] = (byte) 0xff;
        System.arraycopy(v4, 0, m, 12, 4);
        return m;
    }

    /** {@code addr:port}, IPv6 in brackets. */
    public static String format(InetSocketAddress a) {
        InetAddress ad = a.getAddress();
        String h = ad == null ? a.getHostString() : ad.getHostAddress();
        return (ad instanceof Inet6Address ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return fd.name();
    }

    static boolean isV4(InetAddress a) { return a instanceof Inet4Address; }
}
