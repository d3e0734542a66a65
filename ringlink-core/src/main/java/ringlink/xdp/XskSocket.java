package ringlink.xdp;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.sys.Errno;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.Sockets;
import ringlink.sys.SysException;

/**
 * An AF_XDP socket with its four rings mapped, bound to one (interface, queue).
 *
 * <p>Setup order is the kernel's: socket, UMEM registration (or XDP_SHARED_UMEM), ring sizes,
 * XDP_MMAP_OFFSETS, the four mmaps, bind. {@link #close()} unmaps every ring before closing the
 * descriptor: each mapping holds a reference to the socket, so the queue is only freed (and can
 * be bound again) once all four are gone.
 */
public final class XskSocket implements AutoCloseable {
    /** Binding modes. */
    public enum Mode {
        /** Let the kernel choose: zero copy if the driver supports it, else copy. */
        AUTO(0),
        /** XDP_COPY: frames are copied between the driver's buffers and the UMEM. */
        COPY(SockaddrXdpLayout.XDP_COPY),
        /** XDP_ZEROCOPY: the driver DMAs into the UMEM; refused (EOPNOTSUPP) by drivers without it, e.g. veth. */
        ZEROCOPY(SockaddrXdpLayout.XDP_ZEROCOPY);

        final int flag;

        Mode(int flag) { this.flag = flag; }
    }

    private final Fd fd;
    private final Umem umem;
    final XskRing fill, comp, rx, tx;
    private final String name;
    private final boolean needWakeup;
    private volatile boolean zeroCopy;

    /** For {@link XskSimulator}: rings over plain memory, no kernel socket behind {@code fd}. */
    static XskSocket simulated(Fd fd, Umem umem, XskRing fill, XskRing comp, XskRing rx, XskRing tx) {
        return new XskSocket(fd, umem, fill, comp, rx, tx, "simulated xsk", true);
    }

    private XskSocket(Fd fd, Umem umem, XskRing fill, XskRing comp, XskRing rx, XskRing tx, String name,
            boolean needWakeup) {
        this.fd = fd;
        this.umem = umem;
        this.fill = fill;
        this.comp = comp;
        this.rx = rx;
        this.tx = tx;
        this.name = name;
        this.needWakeup = needWakeup;
    }

    /**
     * Creates a socket on {@code umem} and binds it. {@code sharedWith} is null for the socket
     * that registers the UMEM, or a bound socket whose UMEM this one shares (XDP_SHARED_UMEM; it
     * gets its own fill and completion rings, so it may be on another queue or device).
     *
     * @throws SysException from bind (callers look at EBUSY and EOPNOTSUPP), XdpException otherwise
     */
    public static XskSocket open(Umem umem, XskSocket sharedWith, int ifindex, String ifname, int queue, Mode mode,
                                 int ringSize, boolean useNeedWakeup) throws IOException {
        if (Integer.bitCount(ringSize) != 1)
                throw new IllegalArgumentException("ring size " + ringSize + " must be a power of two");
        String name = "xsk " + ifname + "/" + queue;
        Fd fd = Sockets.socket(Sockets.AF_XDP, Sockets.SOCK_RAW, 0, name);
        Mapping[] maps = new Mapping[4];
        try (Arena a = Arena.ofConfined()) {
            if (sharedWith == null) umem.register(fd);
            setRing(fd, XdpMmapOffsetsLayout.XDP_UMEM_FILL_RING, ringSize, "XDP_UMEM_FILL_RING");
            setRing(fd, XdpMmapOffsetsLayout.XDP_UMEM_COMPLETION_RING, ringSize, "XDP_UMEM_COMPLETION_RING");
            setRing(fd, XdpMmapOffsetsLayout.XDP_RX_RING, ringSize, "XDP_RX_RING");
            setRing(fd, XdpMmapOffsetsLayout.XDP_TX_RING, ringSize, "XDP_TX_RING");
            MemorySegment off = a.allocate(XdpMmapOffsetsLayout.LAYOUT);
            int got = Sockets.getsockopt(fd, Sockets.SOL_XDP, XdpMmapOffsetsLayout.XDP_MMAP_OFFSETS, off,
                    "XDP_MMAP_OFFSETS");
            if (got != XdpMmapOffsetsLayout.SIZE) {
                throw new XdpException(name + ": XDP_MMAP_OFFSETS returned " + got + " bytes, expected "
                        + XdpMmapOffsetsLayout.SIZE
                        + " (kernel older than 5.4?)");
            }
            MemorySegment rxo = off.asSlice(XdpMmapOffsetsLayout.OFF_RX, XdpRingOffsetLayout.SIZE);
            MemorySegment txo = off.asSlice(XdpMmapOffsetsLayout.OFF_TX, XdpRingOffsetLayout.SIZE);
            MemorySegment fro = off.asSlice(XdpMmapOffsetsLayout.OFF_FR, XdpRingOffsetLayout.SIZE);
            MemorySegment cro = off.asSlice(XdpMmapOffsetsLayout.OFF_CR, XdpRingOffsetLayout.SIZE);
            int rw = Mapping.PROT_READ | Mapping.PROT_WRITE, fl = Mapping.MAP_SHARED | Mapping.MAP_POPULATE;
            maps[0] = Mapping.map(fd, XskRing.mapLength(fro, ringSize, 8), rw, fl,
                    XdpMmapOffsetsLayout.XDP_UMEM_PGOFF_FILL_RING, "XDP fill ring");
            maps[1] = Mapping.map(fd, XskRing.mapLength(cro, ringSize, 8), rw, fl,
                    XdpMmapOffsetsLayout.XDP_UMEM_PGOFF_COMPLETION_RING, "XDP completion ring");
            maps[2] = Mapping.map(fd, XskRing.mapLength(rxo, ringSize, XdpDescLayout.SIZE), rw, fl,
                    XdpMmapOffsetsLayout.XDP_PGOFF_RX_RING, "XDP RX ring");
            maps[3] = Mapping.map(fd, XskRing.mapLength(txo, ringSize, XdpDescLayout.SIZE), rw, fl,
                    XdpMmapOffsetsLayout.XDP_PGOFF_TX_RING, "XDP TX ring");
            XskRing fill = new XskRing("fill", maps[0], ringSize, fro, 8, true);
            XskRing comp = new XskRing("completion", maps[1], ringSize, cro, 8, false);
            XskRing rx = new XskRing("RX", maps[2], ringSize, rxo, XdpDescLayout.SIZE, false);
            XskRing tx = new XskRing("TX", maps[3], ringSize, txo, XdpDescLayout.SIZE, true);

            MemorySegment sa = a.allocate(SockaddrXdpLayout.LAYOUT);
            int flags = mode.flag | (useNeedWakeup ? SockaddrXdpLayout.XDP_USE_NEED_WAKEUP : 0);
            sa.set(ValueLayout.JAVA_SHORT, SockaddrXdpLayout.OFF_SXDP_FAMILY, (short) Sockets.AF_XDP);
            if (sharedWith != null) {
                // A socket sharing a UMEM inherits copy/zero-copy and need-wakeup from its owner; the
                // kernel refuses (EINVAL) any of those flags next to XDP_SHARED_UMEM.
                flags = SockaddrXdpLayout.XDP_SHARED_UMEM;
                sa.set(ValueLayout.JAVA_INT, SockaddrXdpLayout.OFF_SXDP_SHARED_UMEM_FD, sharedWith.fd.number());
            }
            sa.set(ValueLayout.JAVA_SHORT, SockaddrXdpLayout.OFF_SXDP_FLAGS, (short) flags);
            sa.set(ValueLayout.JAVA_INT, SockaddrXdpLayout.OFF_SXDP_IFINDEX, ifindex);
            sa.set(ValueLayout.JAVA_INT, SockaddrXdpLayout.OFF_SXDP_QUEUE_ID, queue);
            if (sharedWith != null) sharedWith.fd.acquire();
            try {
                Sockets.bind(fd, sa, (int) SockaddrXdpLayout.SIZE);
            } finally {
                if (sharedWith != null) sharedWith.fd.release();
            }
            XskSocket s = new XskSocket(fd, umem, fill, comp, rx, tx, name,
                    sharedWith != null ? sharedWith.needWakeup : useNeedWakeup);
            s.zeroCopy = s.readZeroCopy();
            return s;
        } catch (IOException | RuntimeException e) {
            for (Mapping m : maps) if (m != null) m.close();
            fd.close();
            throw e;
        }
    }

    private static void setRing(Fd fd, int opt, int size, String what) throws IOException {
        try {
            Sockets.setsockopt(fd, Sockets.SOL_XDP, opt, size, what + "=" + size);
        } catch (SysException e) {
            throw new XdpException(fd.name() + ": the kernel refused a ring of " + size + " entries: " + e.getMessage(),
                    e);
        }
    }

    private boolean readZeroCopy() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment o = a.allocate(XdpOptionsLayout.LAYOUT);
            Sockets.getsockopt(fd, Sockets.SOL_XDP, XdpMmapOffsetsLayout.XDP_OPTIONS, o, "XDP_OPTIONS");
            return (o.get(ValueLayout.JAVA_INT, XdpOptionsLayout.OFF_FLAGS) & XdpOptionsLayout.XDP_OPTIONS_ZEROCOPY)
                    != 0;
        }
    }

    /** True if the kernel bound this socket in zero-copy mode (XDP_OPTIONS). */
    public boolean zeroCopy() { return zeroCopy; }

    /** True if the socket was bound with XDP_USE_NEED_WAKEUP (the kernel asks for a syscall only when it sleeps). */
    public boolean usesNeedWakeup() { return needWakeup; }

    /** The socket's descriptor. */
    public Fd fd() { return fd; }

    /** The UMEM the socket uses. */
    public Umem umem() { return umem; }

    /** The socket's name for messages ({@code xsk ifname/queue}). */
    public String name() { return name; }

    /** Kicks the kernel to transmit what the TX ring holds (sendto with no data). */
    long kickTx() throws IOException {
        long r = Sockets.sendto(fd, MemorySegment.NULL, 0, MSG_DONTWAIT);
        // EAGAIN/EBUSY: the kernel is still busy with earlier frames; ENOBUFS: its queue is full.
        // All are back-pressure: the frames stay in the ring and the next kick sends them.
        if (r < 0 && r != -Errno.EAGAIN && r != -Errno.EBUSY && r != -Errno.ENOBUFS && r != -Errno.ENETDOWN) {
            throw new SysException("sendto (TX kick)", (int) -r, name);
        }
        return r;
    }

    /** Wakes the driver to refill from the fill ring (recvfrom with no data). */
    void kickFill() throws IOException {
        Sockets.recvfrom(fd, MemorySegment.NULL, 0, MSG_DONTWAIT);
    }

    static final int MSG_DONTWAIT = 0x40;

    /** getsockopt(XDP_STATISTICS). */
    public Statistics statistics() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(XdpStatisticsLayout.LAYOUT);
            Sockets.getsockopt(fd, Sockets.SOL_XDP, XdpMmapOffsetsLayout.XDP_STATISTICS, s, "XDP_STATISTICS");
            return new Statistics(s.get(ValueLayout.JAVA_LONG, XdpStatisticsLayout.OFF_RX_DROPPED),
                    s.get(ValueLayout.JAVA_LONG, XdpStatisticsLayout.OFF_RX_INVALID_DESCS),
                    s.get(ValueLayout.JAVA_LONG, XdpStatisticsLayout.OFF_TX_INVALID_DESCS),
                    s.get(ValueLayout.JAVA_LONG, XdpStatisticsLayout.OFF_RX_RING_FULL),
                    s.get(ValueLayout.JAVA_LONG, XdpStatisticsLayout.OFF_RX_FILL_RING_EMPTY_DESCS),
                    s.get(ValueLayout.JAVA_LONG, XdpStatisticsLayout.OFF_TX_RING_EMPTY_DESCS));
        }
    }

    /**
     * The kernel's per-socket drop counters.
     *
     * @param rxDropped received packets dropped for other reasons than invalid descriptors ({@code rx_dropped})
     * @param rxInvalidDescs invalid descriptors on the fill or RX ring ({@code rx_invalid_descs})
     * @param txInvalidDescs invalid descriptors on the TX ring ({@code tx_invalid_descs})
     * @param rxRingFull packets dropped because the RX ring was full ({@code rx_ring_full})
     * @param rxFillRingEmptyDescs times the fill ring was empty when a packet arrived
     * ({@code rx_fill_ring_empty_descs})
     * @param txRingEmptyDescs times the TX ring was found empty ({@code tx_ring_empty_descs})
     */
    public record Statistics(long rxDropped, long rxInvalidDescs, long txInvalidDescs, long rxRingFull,
                             long rxFillRingEmptyDescs, long txRingEmptyDescs) {}

    /** Unmaps the four rings, then closes the socket. Idempotent. The UMEM stays mapped. */
    @Override
    public void close() {
        fill.mapping.close();
        comp.mapping.close();
        rx.mapping.close();
        tx.mapping.close();
        fd.close();
    }
}
