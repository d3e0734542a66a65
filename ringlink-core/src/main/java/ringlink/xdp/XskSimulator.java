package ringlink.xdp;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Mapping;
import ringlink.sys.SysException;

/**
 * An {@link XdpLink} over four rings in plain memory, with this object playing the kernel: it
 * turns fill-ring entries into RX descriptors ({@link #deliver}) and TX descriptors into
 * completions ({@link #complete}). For benchmarking and testing the Java side of the rings
 * (per-packet cost without the kernel's copy and scheduling), never for moving real traffic.
 * One thread drives both the link and the simulator.
 */
public final class XskSimulator implements AutoCloseable {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    /** Layout of each simulated ring: producer, consumer, flags on their own cache lines, then the entries. */
    private static final long PROD = 0, CONS = 64, FLAGS = 128, DESC = 192;

    private final Umem umem;
    private final XskSocket xsk;
    private final XdpLink link;
    private final MemorySegment fill, comp, rx, tx;
    private final int mask, size;
    private final EventFd dummy;

    private XskSimulator(Umem umem, XskSocket xsk, XdpLink link, EventFd dummy, int ring) {
        this.umem = umem;
        this.xsk = xsk;
        this.link = link;
        this.dummy = dummy;
        this.fill = xsk.fill.mem;
        this.comp = xsk.comp.mem;
        this.rx = xsk.rx.mem;
        this.tx = xsk.tx.mem;
        this.size = ring;
        this.mask = ring - 1;
    }

    /** A simulated link with {@code frames} frames of {@code frameSize} bytes and rings of {@code ring}. */
    public static XskSimulator create(int frames, int frameSize, int ring) throws IOException {
        XdpConfig config = XdpConfig.of("sim").withFrames(frames, frameSize).withRing(ring);
        Umem.validate(frames, frameSize, 0, false);
        if (Integer.bitCount(ring) != 1 || 2L * ring > frames)
                throw new IllegalArgumentException("ring must be a power of two <= frames / 2");
        Umem umem = Umem.create(frames, frameSize, 0, false);
        EventFd dummy = EventFd.create();
        EventFd wake = EventFd.create();
        Epoll ep = new Epoll(2);
        ep.add(wake.fd(), EpollEventLayout.EPOLLIN, 1);
        XskRing fill = ring("fill", ring, 8, true), comp = ring("completion", ring, 8, false);
        XskRing rx = ring("RX", ring, XdpDescLayout.SIZE, false), tx = ring("TX", ring, XdpDescLayout.SIZE, true);
        XskSocket xsk = XskSocket.simulated(dummy.fd(), umem, fill, comp, rx, tx);
        return new XskSimulator(umem, xsk, XdpLink.simulated(config, umem, xsk, ep, wake), dummy, ring);
    }

    private static XskRing ring(String name, int size, long entry, boolean producer) throws SysException {
        Mapping m = Mapping.anonymous(DESC + size * entry, "simulated " + name + " ring");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment off = a.allocate(XdpRingOffsetLayout.LAYOUT);
            off.set(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_PRODUCER, PROD);
            off.set(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_CONSUMER, CONS);
            off.set(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_DESC, DESC);
            off.set(ValueLayout.JAVA_LONG, XdpRingOffsetLayout.OFF_FLAGS, FLAGS);
            return new XskRing(name, m, size, off, entry, producer);
        }
    }

    /** The link under test. */
    public XdpLink link() { return link; }

    /**
     * Kernel side of receive: moves up to {@code n} frames from the fill ring to the RX ring as
     * packets of {@code len} bytes (data after the 256-byte XDP headroom, as copy mode places
     * it). Returns how many were delivered (fewer if the fill ring or RX ring ran short).
     */
    public int deliver(int n, int len) {
        int fc = (int) INT.getAcquire(fill, CONS), fp = (int) INT.getAcquire(fill, PROD);
        int rp = (int) INT.getAcquire(rx, PROD), rc = (int) INT.getAcquire(rx, CONS);
        int k = Math.min(n, Math.min(fp - fc, size - (rp - rc)));
        for (int i = 0; i < k; i++) {
            long base = fill.get(ValueLayout.JAVA_LONG, DESC + (((long) (fc + i) & mask) << 3));
            long d = DESC + (((long) (rp + i) & mask) << 4);
            rx.set(ValueLayout.JAVA_LONG, d, base + Umem.XDP_PACKET_HEADROOM);
            rx.set(ValueLayout.JAVA_INT, d + 8, len);
            rx.set(ValueLayout.JAVA_INT, d + 12, 0);
        }
        INT.setRelease(fill, CONS, fc + k);
        INT.setRelease(rx, PROD, rp + k);
        return k;
    }

    /** Kernel side of transmit: completes every TX descriptor; returns how many. */
    public int complete() {
        int tc = (int) INT.getAcquire(tx, CONS), tp = (int) INT.getAcquire(tx, PROD);
        int cp = (int) INT.getAcquire(comp, PROD), cc = (int) INT.getAcquire(comp, CONS);
        int k = Math.min(tp - tc, size - (cp - cc));
        for (int i = 0; i < k; i++) {
            long addr = tx.get(ValueLayout.JAVA_LONG, DESC + (((long) (tc + i) & mask) << 4));
            comp.set(ValueLayout.JAVA_LONG, DESC + (((long) (cp + i) & mask) << 3), addr);
        }
        INT.setRelease(tx, CONS, tc + k);
        INT.setRelease(comp, PROD, cp + k);
        return k;
    }

    @Override
    public void close() {
        link.close();
        dummy.close();
    }
}
