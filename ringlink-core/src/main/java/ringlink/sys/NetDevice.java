package ringlink.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;

/**
 * Configures a network interface of the calling process's network namespace through the classic
 * socket ioctls (the same calls {@code ifconfig} makes): link up/down, MTU, IPv4 and IPv6
 * addresses. No netlink and no external {@code ip} command, so a TUN/TAP link can set itself up
 * with nothing but the JDK. Requires CAP_NET_ADMIN.
 *
 * <p>Each call opens a short-lived datagram socket: configuration is rare and not a hot path.
 */
public final class NetDevice {
    private NetDevice() {}

    /** Request numbers from linux/sockios.h. */
    public static final long SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914, SIOCGIFMTU = 0x8921, SIOCSIFMTU = 0x8922,
            SIOCSIFADDR = 0x8916, SIOCSIFNETMASK = 0x891c, SIOCGIFINDEX = 0x8933;
    /** IFF_UP in {@code ifr_flags}. */
    public static final int IFF_UP = 0x1;
    /** IFF_RUNNING in {@code ifr_flags}: the carrier is on (for TUN/TAP: a queue is attached). */
    public static final int IFF_RUNNING = 0x40;

    /** {@code struct ifreq}: a 16-byte name, then a 24-byte union (flags, mtu, sockaddr...). */
    public static final long IFREQ_SIZE = 40, OFF_IFR_NAME = 0, OFF_IFR_UNION = 16;
    /** {@code struct in6_ifreq}: in6_addr, u32 prefixlen, int ifindex. */
    public static final long IN6_IFREQ_SIZE = 24, OFF_IFR6_PREFIXLEN = 16, OFF_IFR6_IFINDEX = 20;

    /** The interface flags (IFF_UP, IFF_RUNNING, ...). */
    public static int flags(String ifname) throws java.io.IOException {
        try (Arena a = Arena.ofConfined(); Fd s = socket(Sockets.AF_INET)) {
            MemorySegment ifr = ifreq(a, ifname);
            s.ioctl("SIOCGIFFLAGS", SIOCGIFFLAGS, ifr);
            return Short.toUnsignedInt(ifr.get(ValueLayout.JAVA_SHORT, OFF_IFR_UNION));
        }
    }

    /** Brings the interface up or down (read-modify-write of its flags). */
    public static void setUp(String ifname, boolean up) throws java.io.IOException {
        try (Arena a = Arena.ofConfined(); Fd s = socket(Sockets.AF_INET)) {
            MemorySegment ifr = ifreq(a, ifname);
            s.ioctl("SIOCGIFFLAGS", SIOCGIFFLAGS, ifr);
            int f = Short.toUnsignedInt(ifr.get(ValueLayout.JAVA_SHORT, OFF_IFR_UNION));
            int nf = up ? f | IFF_UP : f & ~IFF_UP;
            if (nf == f) return;
            ifr.set(ValueLayout.JAVA_SHORT, OFF_IFR_UNION, (short) nf);
            s.ioctl("SIOCSIFFLAGS", SIOCSIFFLAGS, ifr);
        }
    }

    /** The interface's MTU. */
    public static int mtu(String ifname) throws java.io.IOException {
        try (Arena a = Arena.ofConfined(); Fd s = socket(Sockets.AF_INET)) {
            MemorySegment ifr = ifreq(a, ifname);
            s.ioctl("SIOCGIFMTU", SIOCGIFMTU, ifr);
            return ifr.get(ValueLayout.JAVA_INT, OFF_IFR_UNION);
        }
    }

    /** Sets the interface's MTU. */
    public static void setMtu(String ifname, int mtu) throws java.io.IOException {
        try (Arena a = Arena.ofConfined(); Fd s = socket(Sockets.AF_INET)) {
            MemorySegment ifr = ifreq(a, ifname);
            ifr.set(ValueLayout.JAVA_INT, OFF_IFR_UNION, mtu);
            s.ioctl("SIOCSIFMTU(" + mtu + ")", SIOCSIFMTU, ifr);
        }
    }

    /**
     * Adds an address with a prefix length. IPv4 replaces the interface's primary address
     * (SIOCSIFADDR + SIOCSIFNETMASK, as ifconfig does); IPv6 adds one (the interface must be up
     * for the kernel to use it without waiting for DAD, which we do not disable here).
     */
    public static void addAddress(String ifname, InetAddress addr, int prefixLength) throws java.io.IOException {
        if (addr instanceof Inet4Address v4) {
            if (prefixLength < 0 || prefixLength > 32)
                    throw new IllegalArgumentException("IPv4 prefix length " + prefixLength);
            try (Arena a = Arena.ofConfined(); Fd s = socket(Sockets.AF_INET)) {
                MemorySegment ifr = ifreq(a, ifname);
                sockaddrIn(ifr, v4.getAddress());
                s.ioctl("SIOCSIFADDR(" + v4.getHostAddress() + ")", SIOCSIFADDR, ifr);
                int mask = prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
                byte[] m = {(byte) (mask >>> 24), (byte) (mask >>> 16), (byte) (mask >>> 8), (byte) mask};
                sockaddrIn(ifr, m);
                s.ioctl("SIOCSIFNETMASK(/" + prefixLength + ")", SIOCSIFNETMASK, ifr);
            }
        } else if (addr instanceof Inet6Address v6) {
            if (prefixLength < 0 || prefixLength > 128)
                    throw new IllegalArgumentException("IPv6 prefix length " + prefixLength);
            int index = Net.ifNameToIndex(ifname);
            try (Arena a = Arena.ofConfined(); Fd s = socket(Sockets.AF_INET6)) {
                MemorySegment r = a.allocate(IN6_IFREQ_SIZE, 8);
                MemorySegment.copy(v6.getAddress(), 0, r, ValueLayout.JAVA_BYTE, 0, 16);
                r.set(ValueLayout.JAVA_INT, OFF_IFR6_PREFIXLEN, prefixLength);
                r.set(ValueLayout.JAVA_INT, OFF_IFR6_IFINDEX, index);
                s.ioctl("SIOCSIFADDR(" + v6.getHostAddress() + "/" + prefixLength + ")", SIOCSIFADDR, r);
            }
        } else {
            throw new IllegalArgumentException("unsupported address " + addr);
        }
    }

    /** Parses {@code "10.0.0.1/24"} or {@code "fd00::1/64"} and adds it (see {@link #addAddress}). */
    public static void addAddress(String ifname, String cidr) throws java.io.IOException {
        int slash = cidr.indexOf('/');
        String host = slash < 0 ? cidr : cidr.substring(0, slash);
        if (!host.matches("[0-9a-fA-F:.]+")) {
            // never resolve names: configuration must not depend on DNS
            throw new IllegalArgumentException("'" + cidr
                    + "' is not an IP address with a prefix (e.g. 10.0.0.1/24, fd00::1/64)");
        }
        InetAddress addr;
        try {
            addr = InetAddress.getByName(host);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("'" + cidr + "' is not an IP address", e);
        }
        int max = addr instanceof Inet4Address ? 32 : 128;
        int prefix;
        try {
            prefix = slash < 0 ? max : Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad prefix length in '" + cidr + "'");
        }
        addAddress(ifname, addr, prefix);
    }

    private static Fd socket(int family) throws SysException {
        return Sockets.socket(family, Sockets.SOCK_DGRAM, 0,
                family == Sockets.AF_INET ? "configuration socket" : "IPv6 configuration socket");
    }

    private static MemorySegment ifreq(Arena a, String ifname) {
        Net.checkName(ifname);
        MemorySegment ifr = a.allocate(IFREQ_SIZE, 8);
        byte[] n = ifname.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        MemorySegment.copy(n, 0, ifr, ValueLayout.JAVA_BYTE, OFF_IFR_NAME, n.length);
        return ifr;
    }

    /** Writes a {@code sockaddr_in} (family in host order, port 0, address in network order) into the union. */
    private static void sockaddrIn(MemorySegment ifr, byte[] addr4) {
        ifr.asSlice(OFF_IFR_UNION, 16).fill((byte) 0);
        ifr.set(ValueLayout.JAVA_SHORT, OFF_IFR_UNION, (short) Sockets.AF_INET);
        MemorySegment.copy(addr4, 0, ifr, ValueLayout.JAVA_BYTE, OFF_IFR_UNION + 4, 4);
    }
}
