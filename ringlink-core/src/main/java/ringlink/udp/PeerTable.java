package ringlink.udp;

import static ringlink.sys.Endian.BE16;
import static ringlink.sys.Endian.BE32;
import static ringlink.sys.Endian.BE64;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.atomic.AtomicIntegerArray;
import ringlink.sys.Pointers;
import ringlink.sys.SockaddrIn6Layout;
import ringlink.sys.SockaddrInLayout;
import ringlink.sys.Sockets;
import ringlink.sys.UdpSocket;

/**
 * The remote endpoints of a datagram socket, each under a small integer id (what
 * {@code PacketBatch.peer} carries): configured remotes first (id 0 is the first), then sources
 * learned on receive, up to a fixed capacity.
 *
 * <p>Each entry keeps its address in the socket's own sockaddr form in native memory, so a send
 * points {@code msg_name} at it (no copy, no allocation), and a receive looks the source up by
 * (address, port) in an open-addressing index without allocating. One thread adds (the
 * receiving one, or the opener); any thread may read an id it was handed: the entry's fields are
 * written before its index slot is published (release), and ids travel to other threads through
 * the packet batches and forwarding tables that already order them.
 */
public final class PeerTable implements AutoCloseable {

    private final boolean ipv6;
    private final int capacity;
    private final long[] hi, lo;
    private final int[] port;
    private final boolean[] configured;
    private final AtomicIntegerArray index; // id + 1, 0 = empty
    private final int mask;
    // Auto arena: a sendmmsg on another thread may still hold the raw address while the owner
    // closes; the memory goes when the table is unreachable.
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment sockaddrs;
    private final int saSize;
    private volatile int count;

    /** A table for a socket of family {@code ipv6 ? AF_INET6 : AF_INET} holding at most {@code capacity} peers. */
    public PeerTable(boolean ipv6, int capacity) {
        if (capacity < 1 || capacity > 1 << 20)
                throw new IllegalArgumentException("peer capacity " + capacity + " not in [1, 2^20]");
        this.ipv6 = ipv6;
        this.capacity = capacity;
        this.hi = new long[capacity];
        this.lo = new long[capacity];
        this.port = new int[capacity];
        this.configured = new boolean[capacity];
        int slots = Integer.highestOneBit(capacity * 2 - 1) << 1;
        this.index = new AtomicIntegerArray(slots);
        this.mask = slots - 1;
        this.saSize = (int) (ipv6 ? SockaddrIn6Layout.SIZE : SockaddrInLayout.SIZE);
        this.sockaddrs = arena.allocate((long) capacity * 32, 8);
    }

    /** The most peers the table holds (learning stops there). */
    public int capacity() { return capacity; }
    /** The number of peers in the table (configured and learned); ids are {@code [0, size)}. */
    public int size() { return count; }
    /** True when the sockaddrs are sockaddr_in6. */
    public boolean ipv6() { return ipv6; }
    /** The size of one sockaddr ({@code msg_namelen}). */
    public int sockaddrSize() { return saSize; }

    /** The native address of peer {@code id}'s sockaddr (for {@code msg_name}). */
    public long sockaddrAddress(int id) {
        java.util.Objects.checkIndex(id, count);
        return Pointers.of(sockaddrs, (long) id * 32);
    }

    /**
     * Adds a configured peer (or returns its id if present). Control path: allocates.
     *
     * @throws IllegalStateException if the table is full
     * @throws IllegalArgumentException if an IPv6 peer is given to an IPv4 socket
     */
    public synchronized int add(InetSocketAddress a) {
        byte[] b = a.getAddress().getAddress();
        if (!ipv6 && b.length != 4)
                throw new IllegalArgumentException(UdpSocket.format(a) + " is IPv6 but the socket is IPv4");
        if (b.length == 4) b = UdpSocket.mapped(b);
        long h = 0, l = 0;
        for (int k = 0; k < 8; k++) h = h << 8 | (b[k] & 0xff);
        for (int k = 8; k < 16; k++) l = l << 8 | (b[k] & 0xff);
        int id = find(h, l, a.getPort());
        if (id < 0) id = insert(h, l, a.getPort());
        if (id < 0) throw new IllegalStateException("peer table full (" + capacity + " peers)");
        configured[id] = true;
        return id;
    }

    /** The id of (hi, lo, port), or −1. {@code hi}/{@code lo}: the 16 address bytes (IPv4 v4-mapped), big-endian. */
    public int find(long h, long l, int p) {
        int s = hash(h, l, p) & mask;
        while (true) {
            int v = index.get(s);
            if (v == 0) return -1;
            int id = v - 1;
            if (lo[id] == l && hi[id] == h && port[id] == p) return id;
            s = (s + 1) & mask;
        }
    }

    /**
     * The id of the source sockaddr at {@code sa[off]} (as recvmmsg wrote it), adding it when
     * {@code learn} and there is room; −1 if unknown (and not added). No allocation.
     */
    public int lookup(MemorySegment sa, long off, boolean learn) {
        return lookup(sa, off, learn, -1);
    }

    /**
     * Like {@link #lookup(MemorySegment, long, boolean)}, but when {@code fixedPort} ≥ 0 the
     * source is identified by its address alone and recorded at {@code fixedPort}: a tunnel
     * endpoint sends from flow-hash source ports and is answered at the well-known port.
     */
    public int lookup(MemorySegment sa, long off, boolean learn, int fixedPort) {
        int family = sa.get(ValueLayout.JAVA_SHORT_UNALIGNED, off) & 0xffff;
        long h, l;
        int p;
        if (family == Sockets.AF_INET) {
            h = 0;
            l = 0xffff_0000_0000L | (sa.get(BE32, off + SockaddrInLayout.OFF_SIN_ADDR) & 0xffff_ffffL);
            p = sa.get(BE16, off + SockaddrInLayout.OFF_SIN_PORT) & 0xffff;
        } else if (family == Sockets.AF_INET6) {
            h = sa.get(BE64, off + SockaddrIn6Layout.OFF_SIN6_ADDR);
            l = sa.get(BE64, off + SockaddrIn6Layout.OFF_SIN6_ADDR + 8);
            p = sa.get(BE16, off + SockaddrIn6Layout.OFF_SIN6_PORT) & 0xffff;
        } else {
            return -1;
        }
        if (fixedPort >= 0) p = fixedPort;
        int id = find(h, l, p);
        if (id >= 0 || !learn) return id;
        return insert(h, l, p);
    }

    private int insert(long h, long l, int p) {
        int id = count;
        if (id >= capacity) return -1;
        hi[id] = h;
        lo[id] = l;
        port[id] = p;
        long off = (long) id * 32;
        sockaddrs.asSlice(off, 32).fill((byte) 0);
        if (ipv6) {
            sockaddrs.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, (short) Sockets.AF_INET6);
            sockaddrs.set(BE16, off + SockaddrIn6Layout.OFF_SIN6_PORT, (short) p);
            sockaddrs.set(BE64, off + SockaddrIn6Layout.OFF_SIN6_ADDR, h);
            sockaddrs.set(BE64, off + SockaddrIn6Layout.OFF_SIN6_ADDR + 8, l);
        } else {
            sockaddrs.set(ValueLayout.JAVA_SHORT_UNALIGNED, off, (short) Sockets.AF_INET);
            sockaddrs.set(BE16, off + SockaddrInLayout.OFF_SIN_PORT, (short) p);
            sockaddrs.set(BE32, off + SockaddrInLayout.OFF_SIN_ADDR, (int) l);
        }
        count = id + 1; // volatile: publishes the entry before the index slot below
        int s = hash(h, l, p) & mask;
        while (index.get(s) != 0) s = (s + 1) & mask;
        index.set(s, id + 1);
        return id;
    }

    /** True if peer {@code id} was configured (not learned). */
    public boolean configured(int id) { return configured[id]; }

    /** Peer {@code id}'s address (allocates: for logs, stats and tests). */
    public InetSocketAddress address(int id) {
        java.util.Objects.checkIndex(id, count);
        byte[] b = new byte[16];
        for (int k = 0; k < 8; k++) b[k] = (byte) (hi[id] >>> (56 - 8 * k));
        for (int k = 0; k < 8; k++) b[8 + k] = (byte) (lo[id] >>> (56 - 8 * k));
        try {
            InetAddress a = InetAddress.getByAddress(b); // v4-mapped comes back as Inet4Address
            return new InetSocketAddress(a, port[id]);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private static int hash(long h, long l, int p) {
        long x = h * 0x9E3779B97F4A7C15L ^ l * 0xC2B2AE3D27D4EB4FL ^ p * 0x165667B19E3779F9L;
        return (int) (x ^ x >>> 29 ^ x >>> 43);
    }

    /** Nothing to release eagerly (the native sockaddrs are freed with the table). */
    @Override
    public void close() {
    }
}
