package ringlink.xdp;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.LinkState;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.Errno;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.SysException;

/**
 * A {@link Link} over one AF_XDP socket: one queue of one interface, Ethernet frames (L2), no
 * offloads.
 *
 * <p>The UMEM is split in two: the first {@code ring} frames circulate between the fill and RX
 * rings (a received frame is copied into the caller's {@link PacketBatch} and goes back to the
 * fill ring with the next bunch of up to ring / 8 frames), the next {@code ring} frames are the transmit pool (taken
 * for a TX
 * descriptor, returned by the completion ring). Nothing is allocated per packet.
 *
 * <p>{@link #readyFd()} is an epoll descriptor over the socket and a wake-up eventfd, so that
 * {@link #close()} wakes a thread sleeping on it; polling the socket through it also performs
 * the need-wakeup kick of the fill ring. The socket joins that epoll set on the first
 * {@code readyFd()} call, so a receiver that only busy-polls never pays for epoll's wake-ups.
 *
 * <p>The redirect program is shared by all links on one interface (one XSKMAP entry per queue)
 * and detached when the last one closes.
 */
public final class XdpLink implements Link {
    private static final System.Logger LOG = System.getLogger("ringlink.xdp");
    /** How long to retry a bind that finds the queue still held by a socket being torn down. */
    static final long EBUSY_RETRY_NANOS = 2_000_000_000L;
    /** Binds that found the queue busy and were retried (all links; for tests and diagnostics). */
    static final java.util.concurrent.atomic.AtomicLong EBUSY_RETRIES = new java.util.concurrent.atomic.AtomicLong();
    /** In copy mode the kernel sends at most this many frames per sendto. */
    private static final int KERNEL_TX_BATCH = 32;

    private final String name;
    private final XdpConfig config;
    private final Umem umem;
    private final XskSocket xsk;
    private final SharedProgram program;
    private final Epoll epoll;
    private final EventFd wake;
    private final String modeNote;
    private final LinkCounters counters = new LinkCounters();
    private final long umemSize;
    private final int maxRx;
    private final int maxTx;
    // transmit pool (TX thread only)
    private final long[] txFree;
    private int txFreeCount;
    private final int txFrames;
    // receive frames waiting for room in the fill ring (RX thread only)
    private final long[] fillStash;
    private int fillStashCount;
    /**
     * Stashed frames go back to the fill ring once this many have gathered (ring / 8, at most
     * 256), not after every call: the kernel reads the fill ring from its softirq on another CPU,
     * and when the receiver finds one frame per call (generic XDP publishes each frame on its
     * own), writing the fill ring every call moved its cache lines between the CPUs once per
     * packet (in generic mode the Java receiver took 1.45 Mpps where DPDK, which refills in bulk,
     * took 3.07 Mpps from the same source). The stash never holds more than this while the RX ring
     * is empty, so the kernel always has the other 7/8 of the receive frames.
     */
    private final int refillBatch;
    /** True once the socket is in the epoll set behind {@link #readyFd()} (simulated links: always). */
    private volatile boolean socketWatched = true;
    /** Empty receive calls, to look at the fill ring's wake-up flag on every 16th only. */
    private int idlePolls;
    /**
     * Open/failed/closed (a corrupt ring's reason: once set, every call fails with it); frees the
     * UMEM and rings only after the calls in flight, and closes epoll and wake-up eventfd only
     * when no thread can be asleep on them.
     */
    private final LinkState state;

    private XdpLink(String name, XdpConfig config, Umem umem, XskSocket xsk, SharedProgram program, Epoll epoll,
                    EventFd wake, String modeNote) {
        this.name = name;
        this.config = config;
        this.umem = umem;
        this.xsk = xsk;
        this.program = program;
        this.epoll = epoll;
        this.wake = wake;
        this.state = new LinkState(name, wake, epoll);
        this.modeNote = modeNote;
        this.umemSize = umem.size();
        this.maxRx = umem.maxRxPacket();
        this.maxTx = umem.frameSize() - umem.headroom();
        int ring = config.ringSize();
        this.txFrames = ring;
        this.txFree = new long[ring];
        for (int i = 0; i < ring; i++) txFree[i] = umem.frameAddr(ring + i);
        this.txFreeCount = ring;
        this.fillStash = new long[ring];
        this.refillBatch = Math.max(1, Math.min(256, ring / 8));
        // Give the kernel every receive frame up front.
        XskRing fill = xsk.fill;
        int n = fill.free(ring);
        for (int i = 0; i < n; i++) fill.setAddrEntry(fill.cachedProd + i, umem.frameAddr(i));
        fill.cachedProd += n;
        fill.submit();
    }

    /**
     * Opens a link: validates {@code config} (before anything is created), attaches or reuses the
     * redirect program, maps the UMEM, creates and binds the socket (retrying EBUSY for up to
     * 2 s, falling back from zero copy to copy when the driver refuses it) and registers it in the
     * XSKMAP.
     */
    public static XdpLink open(XdpConfig config) throws IOException {
        int ifindex = config.validate();
        String name = "xdp:" + config.ifname() + "/" + config.queue();
        Umem umem = Umem.create(config.frames(), config.frameSize(), config.headroom(), config.unaligned());
        SharedProgram prog = null;
        XskSocket xsk = null;
        Epoll ep = null;
        EventFd wake = null;
        try {
            prog = SharedProgram.acquire(config, ifindex);
            String note = null;
            XskSocket.Mode mode = config.mode();
            long deadline = System.nanoTime() + EBUSY_RETRY_NANOS;
            while (true) {
                try {
                    xsk = XskSocket.open(umem, null, ifindex, config.ifname(), config.queue(), mode, config.ringSize(),
                            config.needWakeup());
                    break;
                } catch (SysException e) {
                    if (e.is(Errno.EBUSY) && System.nanoTime() < deadline) {
                        // The previous socket on this queue is still being released by the kernel (deferred work):
                        // wait.
                        EBUSY_RETRIES.incrementAndGet();
                        sleep(10);
                        continue;
                    }
                    if (mode == XskSocket.Mode.ZEROCOPY
                            && (e.is(Errno.EOPNOTSUPP) || e.is(Errno.ENOTSUPP) || e.is(Errno.EINVAL))) {
                        note = "zero copy refused by the driver of " + config.ifname() + " (" + e.errnoName()
                                + "; veth, for one, has no zero-copy support): fell back to copy mode";
                        LOG.log(System.Logger.Level.WARNING, name + ": " + note);
                        mode = XskSocket.Mode.COPY;
                        continue;
                    }
                    throw bindError(config, e);
                }
            }
            prog.program.register(config.queue(), xsk.fd());
            wake = EventFd.create();
            ep = new Epoll(2);
            // The socket joins the epoll set on the first readyFd() call, not here (see watchSocket).
            ep.add(wake.fd(), EpollEventLayout.EPOLLIN, 1);
            if (note == null && config.mode() == XskSocket.Mode.AUTO) {
                note = "kernel chose " + (xsk.zeroCopy() ? "zero-copy" : "copy") + " mode";
            }
            XdpLink link = new XdpLink(name, config, umem, xsk, prog, ep, wake, note);
            link.socketWatched = false;
            return link;
        } catch (IOException | RuntimeException e) {
            if (ep != null) ep.close();
            if (wake != null) wake.close();
            if (xsk != null) xsk.close();
            if (prog != null) prog.release(config.queue(), false);
            umem.close();
            throw e;
        }
    }

    /** For {@link XskSimulator}: a link over simulated rings (no program, no kernel socket). */
    static XdpLink simulated(XdpConfig config, Umem umem, XskSocket xsk, Epoll epoll, EventFd wake) {
        return new XdpLink("xdp-sim", config, umem, xsk, null, epoll, wake, "simulated");
    }

    private static XdpException bindError(XdpConfig c, SysException e) {
        String hint = switch (e.errno()) {
            case Errno.EBUSY ->
                    " (queue " + c.queue() + " of " + c.ifname() + " is still bound by another AF_XDP socket after "
                    + EBUSY_RETRY_NANOS / 1_000_000 + " ms of retries)";
            case Errno.EOPNOTSUPP, Errno.ENOTSUPP -> " (the driver does not support this mode; use mode=copy)";
            case Errno.EINVAL -> " (queue " + c.queue() + " out of range, or interface down?)";
            case Errno.ENETDOWN -> " (interface " + c.ifname() + " is down)";
            default -> "";
        };
        return new XdpException("cannot bind an AF_XDP socket to " + c.ifname() + " queue " + c.queue() + " in "
                + c.mode().name().toLowerCase(java.util.Locale.ROOT) + " mode: " + e.getMessage() + hint, e);
    }

    private static void sleep(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for the XDP queue");
        }
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.L2; }
    /** The MTU a frame can carry: the receive room minus the Ethernet header. */
    @Override public int mtu() { return Math.min(maxRx, maxTx) - 14; }
    @Override public Offloads offloads() { return Offloads.NONE; }
    @Override public int maxReceiveSize() { return maxRx; }
    /**
     * {@inheritDoc}
     *
     * <p>The socket is added to the epoll set on the first call, not when the link opens: while
     * it is in the set, every wake-up of the socket runs epoll's callback in the kernel's receive
     * path, and generic XDP wakes the socket once per frame. Measured with the live-frame source
     * (docs/parts/xdp.md), that callback cost a busy-polling receiver that never sleeps 15-25 % of
     * its packet rate. Links whose owner sleeps on this descriptor pay it, as any sleeper must.
     */
    @Override
    public Fd readyFd() {
        if (!socketWatched) watchSocket();
        return epoll.fd();
    }

    private synchronized void watchSocket() {
        if (socketWatched || !state.isOpen()) return;
        try {
            epoll.add(xsk.fd(), EpollEventLayout.EPOLLIN, 0);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(name + ": cannot add the AF_XDP socket to the readiness epoll set: "
                    + e.getMessage(), e);
        }
        socketWatched = true;
    }
    @Override public LinkCounters counters() { return counters; }
    /** False once closed or stopped by a corrupt ring. */
    @Override public boolean isOpen() { return state.isUsable(); }

    /** The configuration this link was opened with. */
    public XdpConfig config() { return config; }

    /** True if the kernel bound the socket in zero-copy mode. */
    public boolean zeroCopy() { return xsk.zeroCopy(); }

    /** A note about the mode (zero copy refused and fell back; what auto chose), or null. */
    public String modeNote() { return modeNote; }

    /** The socket (for statistics and tests). */
    public XskSocket socket() { return xsk; }

    /** Frames of the transmit pool currently not in flight (all of them once every completion came back). */
    public int txFramesFree() { return txFreeCount; }

    /** The size of the transmit frame pool (the configured ring size). */
    public int txFrames() { return txFrames; }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        return state.receiveRing(this, batch, XdpLink::receiveEntered); // close() unmaps only after we left
    }

    private int receiveEntered(PacketBatch batch) throws IOException {
        XskRing rx = xsk.rx;
        int room = batch.capacity() - batch.count();
        int n = rx.available(room);
        if (n == 0) {
            // Idle: the frames are with the kernel (the stash holds fewer than refillBatch), so
            // only a driver asking for a wake-up needs us; its flag shares a cache line with the
            // fill consumer the kernel writes, so it is read on every 16th empty call, not each.
            if ((++idlePolls & 15) == 0) wakeFillIfAsked();
            return 0;
        }
        MemorySegment mem = umem.memory();
        int idx = rx.cachedCons;
        int got = 0;
        long bytes = 0;
        int dropped = 0;
        for (int k = 0; k < n; k++) {
            long addr = rx.descAddr(idx + k);
            int len = rx.descLen(idx + k);
            long data = umem.dataAddr(addr);
            long base = umem.frameBase(addr);
            if (base < 0 || base > umemSize - umem.frameSize() || fillStashCount == fillStash.length) {
                // Not a frame we handed out (or one handed back twice): never reuse it.
                counters.error();
                dropped++;
                continue;
            }
            // Every frame goes back to the kernel, whatever happens to its packet.
            fillStash[fillStashCount++] = base;
            if (len <= 0 || len > maxRx || data < 0 || data + len > umemSize) {
                // Only a broken kernel would say this; don't read outside the UMEM.
                counters.error();
                dropped++;
                continue;
            }
            int i = batch.add();
            if (len > batch.room(i)) {
                batch.setCount(i);
                dropped++;
                continue;
            }
            MemorySegment.copy(mem, data, batch.memory(), batch.dataOffset(i), len);
            batch.setLength(i, len);
            got++;
            bytes += len;
        }
        rx.release(n);
        if (fillStashCount >= refillBatch) refill();
        counters.received(got, bytes);
        if (dropped > 0) counters.rxDropped(dropped);
        return got;
    }

    /**
     * Gives stashed receive frames back through the fill ring. The kernel publishes its fill
     * consumer index lazily (it reads ahead into a private cache), so right after receiving n
     * frames the fill ring may have fewer than n free slots: the rest wait in the stash for the
     * next call instead of being lost.
     */
    private void refill() throws IOException {
        XskRing fill = xsk.fill;
        if (fillStashCount > 0) {
            int m = fill.free(fillStashCount);
            int fp = fill.cachedProd;
            for (int k = 0; k < m; k++) fill.setAddrEntry(fp + k, fillStash[--fillStashCount]);
            if (m > 0) {
                fill.cachedProd = fp + m;
                fill.submit();
            }
        }
        wakeFillIfAsked();
    }

    private void wakeFillIfAsked() throws IOException {
        if (xsk.usesNeedWakeup() && xsk.fill.needWakeup()) xsk.kickFill();
    }

    /** Returns completed TX frames to the pool. */
    private void reapCompletions() {
        XskRing comp = xsk.comp;
        int n = comp.available(txFrames);
        if (n == 0) return;
        int idx = comp.cachedCons;
        for (int k = 0; k < n; k++) {
            long base = umem.frameBase(comp.addrEntry(idx + k));
            if (txFreeCount == txFree.length || base < 0 || base > umemSize - umem.frameSize()) {
                counters.error(); // a completion we never sent: ignore it rather than double-use a frame
                continue;
            }
            txFree[txFreeCount++] = base;
        }
        comp.release(n);
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        return state.transmitRing(this, batch, from, to, XdpLink::transmitEntered);
    }

    private int transmitEntered(PacketBatch batch, int from, int to) throws IOException {
        reapCompletions();
        XskRing tx = xsk.tx;
        int want = Math.min(to - from, txFreeCount);
        int n = tx.free(want);
        MemorySegment mem = umem.memory();
        int tp = tx.cachedProd;
        int posted = 0;
        long bytes = 0;
        int dropped = 0;
        for (int k = 0; k < n; k++) {
            int i = from + k;
            if (!Offloads.NONE.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i + " needs offloads an XDP link lacks");
            }
            int len = batch.length(i);
            if (len > maxTx || len < 14) {
                dropped++;
                continue;
            }
            long base = txFree[--txFreeCount];
            long data = base + umem.headroom();
            MemorySegment.copy(batch.memory(), batch.dataOffset(i), mem, data, len);
            tx.setDesc(tp + posted, data, len);
            posted++;
            bytes += len;
        }
        if (posted > 0) {
            tx.cachedProd = tp + posted;
            tx.submit();
        }
        flushTx();
        counters.transmitted(posted, bytes);
        if (dropped > 0) counters.txDropped(dropped);
        return n;
    }

    /**
     * Kicks the kernel until the TX ring is drained or it pushes back. In copy mode each sendto
     * sends at most 32 frames and answers EAGAIN when more are left.
     */
    private void flushTx() throws IOException {
        XskRing tx = xsk.tx;
        if (xsk.usesNeedWakeup() && !tx.needWakeup()) return;
        int rounds = tx.size / KERNEL_TX_BATCH + 2;
        while (rounds-- > 0 && tx.pending() > 0) {
            long r = xsk.kickTx();
            if (r == -Errno.EBUSY || r == -Errno.ENOBUFS || r == -Errno.ENETDOWN) break;
        }
    }

    /**
     * Sends what is still queued and waits (bounded) until every transmitted frame has
     * completed; returns true if they all did.
     */
    public boolean drainTx(long timeoutMillis) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            flushTx();
            reapCompletions();
            if (txFreeCount == txFrames) return true;
            if (System.nanoTime() > deadline) return false;
            Thread.onSpinWait();
        }
    }

    @Override
    public boolean prepareToWait() throws IOException {
        return state.prepareToWait(this, XdpLink::workReady);
    }

    /** Before sleeping: sends what is left in the TX ring (it would wait for the next transmit), then looks at RX. */
    private boolean workReady() throws IOException {
        if (xsk.tx.pending() > 0) flushTx();
        return xsk.rx.hasEntries();
    }

    @Override
    public void finishWait() throws IOException {
        // The wake-up eventfd is only ever signalled by close(), so there is nothing to drain:
        // a closed link's next call throws.
        state.endWait();
    }

    /** Kernel drop counters for this socket. */
    public XskSocket.Statistics statistics() throws IOException {
        return xsk.statistics();
    }

    @Override
    public void close() {
        synchronized (this) {
            state.markClosed(); // watchSocket sees it under the same lock
        }
        // After the calls in flight: the program's entry, the socket (its rings), the UMEM; then
        // signals wake, but closes epoll and wake only when no thread is asleep on them.
        state.close(() -> {
            if (program != null) program.release(config.queue(), true);
        }, xsk, umem);
    }

    @Override
    public String toString() {
        return name + (zeroCopy() ? " [zero-copy]" : " [copy]");
    }

    /** The redirect program of one interface, shared by the links on its queues. */
    static final class SharedProgram {
        private static final Map<Integer, SharedProgram> BY_IFINDEX = new HashMap<>();
        final XdpProgram program;
        final int ifindex;
        final boolean shared;
        int refs;

        private SharedProgram(XdpProgram program, int ifindex, boolean shared) {
            this.program = program;
            this.ifindex = ifindex;
            this.shared = shared;
        }

        static SharedProgram acquire(XdpConfig c, int ifindex) throws IOException {
            if (c.xskMap() != null) {
                return new SharedProgram(XdpProgram.usePinnedMap(c.xskMap()), ifindex, false);
            }
            synchronized (BY_IFINDEX) {
                SharedProgram p = BY_IFINDEX.get(ifindex);
                if (p != null) {
                    if (p.program.attachMode() != c.attach()) {
                        throw new IllegalArgumentException(c.ifname() + " already has our XDP program in "
                                + p.program.attachMode()
                                        + " mode; every queue of an interface must use the same attach mode");
                    }
                    p.refs++;
                    return p;
                }
                int queues = Math.max(XdpConfig.rxQueues(c.ifname()), c.queue() + 1);
                p = new SharedProgram(XdpProgram.attach(ifindex, c.ifname(), c.attach(), queues), ifindex, true);
                p.refs = 1;
                BY_IFINDEX.put(ifindex, p);
                return p;
            }
        }

        void release(int queue, boolean registered) {
            if (registered) program.unregister(queue);
            if (!shared) {
                program.close();
                return;
            }
            synchronized (BY_IFINDEX) {
                if (--refs == 0) {
                    BY_IFINDEX.remove(ifindex);
                    program.close();
                }
            }
        }
    }
}
