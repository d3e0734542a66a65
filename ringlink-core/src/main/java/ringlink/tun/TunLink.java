package ringlink.tun;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkCounters;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.Framing;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.Errno;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.IovecLayout;
import ringlink.sys.NetDevice;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.SysException;

/**
 * One queue of a kernel TUN (L3) or TAP (L2) device, with the virtio-net header so that
 * checksum and segmentation offloads cross the boundary in both directions.
 *
 * <h2>Receive (kernel → us)</h2>
 * The descriptor is non-blocking. Each packet is one {@code readv}: the virtio-net header lands
 * in a scratch, the packet directly in the caller's batch buffer (no copy). {@link #receive}
 * drains up to {@value #RX_BURST} packets per call. A superpacket is checked (gso type against
 * the headers, gso_size, lengths; a wrong {@code hdr_len} is corrected) and handed on whole with
 * its GSO metadata; a packet the kernel marked NEEDS_CSUM is passed on as such when CSUM was
 * negotiated and completed here otherwise. A packet that fails the checks is counted
 * ({@code rxDrops}, {@code errors}) and dropped; the reader keeps going.
 *
 * <h2>Transmit (us → kernel)</h2>
 * Each packet is one {@code writev} of header and packet. Plain packets get a DATA_VALID header
 * (unless {@link TunConfig#dataValid} is off); superpackets and partially checksummed packets
 * carry their metadata, whatever offloads were negotiated for receive: the kernel segments what
 * it is handed whole ({@link #transmitOffloads()}), so nobody has to segment for a TUN/TAP. With TSO (or USO) agreed
 * and {@link TunConfig#gro} on, runs of consecutive
 * TCP segments (UDP datagrams) of one flow are coalesced into one superpacket written with a scatter list that
 * points into the batch (headers patched in a scratch, payload not copied). Whether the kernel
 * accepts such writes is probed at open; on EINVAL coalescing is switched off for good and the
 * run is written segment by segment, so nothing is lost.
 *
 * <h2>Waiting and closing</h2>
 * {@link #readyFd()} is an epoll descriptor over the TUN queue and a shutdown eventfd, so
 * {@link #close()} wakes every thread waiting on it; receive then throws
 * {@link LinkClosedException}. Waiters must bracket the sleep with {@link #prepareToWait()} and
 * {@link #finishWait()} as the {@link Link} contract says: a close() during the sleep leaves the
 * wake-up descriptors open (closing them would silently drop the eventfd from the epoll set and
 * the sleeper would never wake) and the waiter releases them in finishWait() or receive().
 */
public class TunLink implements Link { // not final only for the test seam writev(); constructors are package-private
    /** Most packets one {@link #receive} drains before returning (bounds the time one call holds the queue). */
    public static final int RX_BURST = 64;

    /** Largest superpacket the kernel hands a TUN queue (GSO_MAX_SIZE), before any L2 header. */
    static final int MAX_GSO_PACKET = 65536;
    /** Ethernet header plus one VLAN tag. */
    static final int L2_OVERHEAD = 18;

    private final String name;
    private final String ifname;
    private final Fd fd;
    private final Layer layer;
    private final int mtu;
    private final Offloads offloads;
    /** What transmit takes whole: more than {@link #offloads} ({@link TunDevice#writeOffloads}). */
    private final Offloads txOffloads;
    private final int hdrSize;
    private final boolean dataValid;
    private final int maxReceiveSize;
    private final LinkCounters counters = new LinkCounters();
    private final EventFd shutdown;
    private final Epoll ready;
    /** Open/closed, and closes ready, shutdown and txPoll only when no reader can be asleep on them. */
    private final LinkState state;
    private final boolean multiQueue;

    // Scratch, reached only by the receiving (rx*) or transmitting (tx*) thread. Auto arena: a
    // close() from another thread must not free memory a call in progress still points at.
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment rxHdr;
    private final MemorySegment rxIov;
    private final MemorySegment txHdr;
    private final MemorySegment txIov;
    private final MemorySegment validHdr;
    private final PollSet txPoll;
    private final OffloadValidator rxCheck;
    final TxCoalescer coalescer;

    TunLink(String name, String ifname, Fd fd, Layer layer, int mtu, Offloads offloads, int hdrSize,
            boolean dataValid, boolean gro, boolean multiQueue) throws IOException {
        this.name = name;
        this.ifname = ifname;
        this.fd = fd;
        this.layer = layer;
        this.mtu = mtu;
        this.offloads = offloads;
        this.txOffloads = TunDevice.writeOffloads(offloads);
        this.hdrSize = hdrSize;
        this.dataValid = dataValid;
        this.multiQueue = multiQueue;
        int l2 = layer == Layer.L2 ? L2_OVERHEAD : 0;
        boolean gso = offloads.has(Offloads.TSO4) || offloads.has(Offloads.TSO6) || offloads.has(Offloads.USO);
        this.maxReceiveSize = (gso ? MAX_GSO_PACKET : Math.max(mtu, 1500)) + l2;
        this.rxHdr = arena.allocate(16, 8);
        this.rxIov = arena.allocate(IovecLayout.SIZE * 2, 8);
        this.txHdr = arena.allocate(16, 8);
        this.txIov = arena.allocate(IovecLayout.SIZE * TxCoalescer.MAX_IOVS, 8);
        this.validHdr = arena.allocate(16, 8);
        validHdr.set(ValueLayout.JAVA_BYTE, VirtioNetHdr.OFF_FLAGS, (byte) VirtioNetHdr.F_DATA_VALID);
        IovecLayout.set(rxIov, 0, rxHdr, 0, hdrSize);
        this.rxCheck =
                new OffloadValidator(layer == Layer.L2 ? Framing.ETHERNET : Framing.IP, OffloadValidator.Source.KERNEL);
        this.coalescer =
                gro && (offloads.has(Offloads.TSO4) || offloads.has(Offloads.TSO6) || offloads.has(Offloads.USO))
                ? new TxCoalescer(layer, offloads, arena, dataValid) : null;
        EventFd sd = null;
        Epoll ep = null;
        try {
            sd = EventFd.create();
            ep = new Epoll(2);
            ep.add(fd, EpollEventLayout.EPOLLIN, 0);
            ep.add(sd.fd(), EpollEventLayout.EPOLLIN, 1);
            this.txPoll = new PollSet(2);
            txPoll.add(fd, PollfdLayout.POLLOUT);
            txPoll.add(sd.fd(), PollfdLayout.POLLIN);
        } catch (IOException | RuntimeException e) {
            if (ep != null) ep.close();
            if (sd != null) sd.close();
            throw e;
        }
        this.shutdown = sd;
        this.ready = ep;
        this.state = new LinkState(name, shutdown, ready, txPoll);
    }

    /**
     * Opens (creating if needed) a TUN/TAP device and attaches one queue, negotiates offloads,
     * then applies MTU, addresses and link state from {@code c} in the current network namespace.
     */
    public static TunLink open(TunConfig c) throws IOException {
        TunDevice dev = TunDevice.open(c);
        Fd fd = dev.fd();
        TunLink link = null;
        try {
            fd.setNonBlocking(true);
            String ifname = dev.ifname();
            link = new TunLink((c.tap ? "tap:" : "tun:") + ifname, ifname, fd, c.tap ? Layer.L2 : Layer.L3, dev.mtu(),
                    dev.offloads(), c.vnetHdrSize, c.dataValid, c.gro, c.multiQueue);
            if (link.coalescer != null) link.coalescer.probe(link, c.vnetHdrSize);
            return link;
        } catch (IOException | RuntimeException e) {
            if (link != null) link.close();
            else dev.close();
            throw e;
        }
    }

    @Override public String name() { return name; }
    /** The kernel interface name. */
    public String ifname() { return ifname; }
    @Override public Layer layer() { return layer; }
    @Override public int mtu() { return mtu; }
    @Override public Offloads offloads() { return offloads; }
    /**
     * More than {@link #offloads()}: the kernel takes a partial checksum and TCP (and, from Linux
     * 6.2, UDP) superpackets written with the virtio-net header whatever was negotiated for what
     * it hands us, and segments them itself where they leave through a device that needs it.
     */
    @Override public Offloads transmitOffloads() { return txOffloads; }
    @Override public int maxReceiveSize() { return maxReceiveSize; }
    @Override public Fd readyFd() { return ready.fd(); }

    /**
     * Sleeps until the device's queue has room (POLLOUT) or the link closes, at most
     * {@code timeout}: the kernel says when, so nothing spins. The transmitting thread's own
     * poll set, so nothing is allocated.
     */
    @Override
    public boolean awaitWritable(java.time.Duration timeout) throws IOException {
        if (timeout.isNegative()) throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        if (!state.isOpen()) return true;
        long deadline = System.nanoTime() + Math.min(timeout.toMillis(), Integer.MAX_VALUE) * 1_000_000L;
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                int ms = (int) Math.max(0, (left + 999_999) / 1_000_000);
                if (txPoll.poll(ms) > 0 || !state.isOpen()) return true;
                if (ms == 0 || deadline - System.nanoTime() <= 0) return false;
            }
        } catch (ringlink.sys.ClosedFdException | IllegalStateException e) { // close() raced with us
            return true;
        }
    }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isOpen(); }
    /** Virtio-net header size in use (10 or 12). */
    public int vnetHdrSize() { return hdrSize; }
    /** True while transmit coalesces TCP segments into superpackets (off if the kernel refused). */
    public boolean groEnabled() { return coalescer != null && coalescer.enabled(); }

    // ---------------------------------------------------------------- receive

    @Override
    public int receive(PacketBatch batch) throws IOException {
        return state.receive(this, batch, TunLink::receiveEntered); // close() waits for it to leave
    }

    private int receiveEntered(PacketBatch batch) throws IOException {
        int budget = Math.min(RX_BURST, batch.capacity() - batch.count());
        int got = 0;
        long bytes = 0;
        int drops = 0;
        while (got < budget) {
            int i = batch.add();
            int room = batch.room(i);
            if (room < maxReceiveSize) {
                batch.setCount(i);
                throw new IllegalArgumentException(name + ": receive buffers hold " + room
                        + " bytes after headroom, need "
                        + maxReceiveSize + " (maxReceiveSize)");
            }
            IovecLayout.set(rxIov, 1, batch.memory(), batch.dataOffset(i), room);
            long r;
            try {
                r = fd.readv(rxIov, 2);
            } catch (ClosedFdException e) {
                batch.setCount(i);
                throw new LinkClosedException(name + ": closed", e);
            } catch (SysException e) {
                batch.setCount(i);
                if (e.is(Errno.EBADF) || e.is(77 /* EBADFD: queue detached or device gone */) || !state.isOpen()) {
                    throw new LinkClosedException(name + ": " + e.getMessage(), e);
                }
                throw e;
            }
            if (r < 0) { // EAGAIN: drained
                batch.setCount(i);
                break;
            }
            if (r == 0) { // a seqpacket peer hung up (only in tests); the tun queue never returns 0
                batch.setCount(i);
                if (got == 0) throw new LinkClosedException(name + ": end of file");
                break;
            }
            int len = (int) r - hdrSize;
            String bad = null;
            if (len <= 0) {
                bad = "truncated read of " + r + " bytes (virtio-net header is " + hdrSize + ")";
            } else if (len >= room) {
                bad = "packet of at least " + len + " bytes filled the whole buffer (truncated)";
            } else {
                VirtioNetHdr.decode(rxHdr, 0, batch, i);
                batch.setLength(i, len);
                OffloadValidator.Reason why = (batch.flags(i) | batch.gsoType(i)) == 0 ? null
                        : rxCheck.check(batch, i, offloads.accepts(batch, i), offloads.has(Offloads.CSUM));
                if (why != null) {
                    counters.invalid(why);
                    bad = rxCheck.lastProblem();
                }
            }
            if (bad != null) {
                batch.setCount(i);
                drops++;
                counters.error();
                noteBad(bad);
                continue;
            }
            if (batch.isGso(i)) counters.superpacket(1);
            got++;
            bytes += batch.length(i);
        }
        if (got > 0) counters.received(got, bytes);
        if (drops > 0) counters.rxDropped(drops);
        return got;
    }

    private volatile String lastError;

    /** The last bad packet or refused write, for diagnostics (null if none). */
    public String lastError() { return lastError; }

    private void noteBad(String what) {
        lastError = name + ": " + what;
    }

    // ---------------------------------------------------------------- transmit

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        return state.transmit(this, batch, from, to, TunLink::transmitEntered);
    }

    private int transmitEntered(PacketBatch batch, int from, int to) throws IOException {
        int i = from;
        long bytes = 0;
        int sent = 0;
        int drops = 0;
        try {
            while (i < to) {
                if (!txOffloads.accepts(batch, i)) {
                    throw new IllegalArgumentException(name + ": packet " + i
                            + " needs offloads this link's writes lack (" + txOffloads + ")");
                }
                TxCoalescer co = coalescer;
                if (co != null && co.enabled()) {
                    int run = co.run(batch, i, to);
                    if (run > 1) {
                        int iovs = co.build(batch, i, run, txHdr, hdrSize, txIov);
                        long r = write(txIov, iovs, co.runGsoType(), true);
                        if (r == -2) { // refused: coalescing off, this run goes out one by one
                            co.disable("kernel refused a coalesced write (EINVAL)");
                            counters.error();
                            noteBad(co.disabledReason());
                            continue;
                        }
                        if (r < 0) break; // back-pressure
                        counters.superpacket(1);
                        for (int k = 0; k < run; k++) bytes += batch.length(i + k);
                        sent += run;
                        i += run;
                        continue;
                    }
                }
                MemorySegment hdr;
                if (batch.isGso(i) || batch.needsCsum(i)) {
                    VirtioNetHdr.encode(txHdr, 0, hdrSize, batch, i, 0);
                    hdr = txHdr;
                } else if (dataValid || (batch.flags(i) & VirtioNetHdr.F_DATA_VALID) != 0) {
                    hdr = validHdr;
                } else {
                    txHdr.fill((byte) 0);
                    hdr = txHdr;
                }
                IovecLayout.set(txIov, 0, hdr, 0, hdrSize);
                IovecLayout.set(txIov, 1, batch.memory(), batch.dataOffset(i), batch.length(i));
                long r = write(txIov, 2, batch.gsoType(i), false);
                if (r == -1) break;
                if (r == -2) {
                    drops++;
                } else {
                    if (batch.isGso(i)) counters.superpacket(1);
                    bytes += batch.length(i);
                    sent++;
                }
                i++;
            }
        } finally {
            if (sent > 0) counters.transmitted(sent, bytes);
            if (drops > 0) counters.txDropped(drops);
        }
        return i - from;
    }

    /**
     * One writev. Returns bytes written, −1 for back-pressure (still EAGAIN after a short wait),
     * −2 if the kernel refused this packet (EINVAL, EIO, ...: counted by the caller, link goes on).
     */
    private long write(MemorySegment iov, int n, int gsoType, boolean coalesced) throws IOException {
        for (int attempt = 0; ; attempt++) {
            long r;
            try {
                r = writev(iov, n, gsoType, coalesced);
            } catch (ClosedFdException e) {
                throw new LinkClosedException(name + ": closed", e);
            } catch (SysException e) {
                if (e.is(Errno.EBADF) || e.is(77) || !state.isOpen())
                        throw new LinkClosedException(name + ": " + e.getMessage(), e);
                return refused(e, coalesced);
            }
            if (r >= 0) return r;
            // EAGAIN: the kernel's queue is full. Wait briefly for room (or for close), then
            // report back-pressure so the caller keeps the rest instead of spinning here.
            if (attempt == 1) return -1;
            try {
                txPoll.poll(10);
            } catch (ClosedFdException | IllegalStateException e) { // close() raced with us
                throw new LinkClosedException(name + ": closed", e);
            }
            if (!state.isOpen()) throw new LinkClosedException(name + ": closed");
        }
    }

    /**
     * The one {@code writev} of a packet or a coalesced run. Package-private and overridable only
     * so that a test in this package can have the "kernel" refuse chosen writes
     * ({@code TunLinkInputTest}); no class outside the package can subclass TunLink (its
     * constructor is package-private). While no subclass is loaded the JIT binds this call
     * directly (class hierarchy analysis), so the seam costs nothing per write.
     */
    long writev(MemorySegment iov, int n, int gsoType, boolean coalesced) throws IOException {
        return fd.writev(iov, n);
    }

    private long refused(SysException e, boolean coalesced) {
        if (!coalesced) {
            counters.error();
            noteBad("kernel refused a packet: " + e.getMessage());
        }
        return -2;
    }

    // ---------------------------------------------------------------- queues and close

    /**
     * Detaches this queue from a multi-queue device (TUNSETQUEUE IFF_DETACH_QUEUE): the kernel
     * stops steering packets to it until {@link #attachQueue()}.
     */
    public void detachQueue() throws IOException {
        setQueue(TunDevice.IFF_DETACH_QUEUE);
    }

    /** Re-attaches a queue detached with {@link #detachQueue()}. */
    public void attachQueue() throws IOException {
        setQueue(TunDevice.IFF_ATTACH_QUEUE);
    }

    private void setQueue(int flag) throws IOException {
        if (!multiQueue) throw new IllegalStateException(name + ": not a multi-queue device");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ifr = a.allocate(NetDevice.IFREQ_SIZE, 8);
            ifr.set(ValueLayout.JAVA_SHORT, NetDevice.OFF_IFR_UNION, (short) flag);
            fd.ioctl(flag == TunDevice.IFF_ATTACH_QUEUE ? "TUNSETQUEUE(attach)" : "TUNSETQUEUE(detach)",
                    TunDevice.TUNSETQUEUE, ifr);
        }
    }

    /** Writes a raw frame with the given header bytes (for the open-time probe). */
    long writeRaw(MemorySegment hdr, MemorySegment pkt, long len) throws IOException {
        IovecLayout.set(txIov, 0, hdr, 0, hdrSize);
        IovecLayout.set(txIov, 1, pkt, 0, len);
        try {
            return fd.writev(txIov, 2);
        } catch (SysException e) {
            return -e.errno();
        }
    }

    @Override
    public boolean prepareToWait() {
        // Either we see closed (and do not sleep), or close() sees us waiting and leaves the
        // wake-up descriptors open for us to find signalled.
        return state.beginWait();
    }

    @Override
    public void finishWait() {
        state.endWait();
    }

    /**
     * Closes the queue fd, then signals and (once no reader can be asleep on them) closes the
     * wake-up descriptors (a txPoll still in use by the transmitting thread refuses to close: its
     * memory goes with the link).
     */
    @Override
    public void close() {
        state.close(fd);
    }

    @Override
    public String toString() {
        return name + " [" + offloads + ", vnet_hdr " + hdrSize + (groEnabled() ? ", gro" : "") + "]";
    }
}
