package ringlink.vhost;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.LinkException;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.Framing;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.sys.Epoll;
import ringlink.sys.ClosedFdException;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.SysException;
import ringlink.tun.TunDevice;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.SplitQueueDriver;
import ringlink.virtio.VirtioException;
import ringlink.virtio.VirtioFeature;
import ringlink.virtio.net.NetDriverRx;
import ringlink.virtio.net.NetDriverTx;

/**
 * A {@link Link} through the kernel's vhost-net: we are the virtio-net <em>driver</em> (what a
 * VM's guest kernel would be) and {@code /dev/vhost-net} is the device, moving packets between
 * our rings and a TAP interface in the kernel's worker thread. Packets are L2 frames of any
 * ethertype, carried as they are.
 *
 * <h2>Data path</h2>
 * Queue 0 receives, queue 1 transmits, both split virtqueues in memory we map and register with
 * VHOST_SET_MEM_TABLE (one region for rings, one for packet buffers).
 * <ul>
 * <li>Transmit copies each packet behind its virtio-net header into a transmit buffer, publishes
 *     the batch with one index store and kicks only when the kernel asked for it (EVENT_IDX);
 *     completed buffers are reclaimed later, lazily, so a transmit never waits for the kernel.
 *     Transmit interrupts are off altogether.</li>
 * <li>Receive collects used buffers (MRG_RXBUF: a packet may span several, reassembled into one
 *     batch buffer), hands them straight back to the ring and refills it, so buffers are recycled,
 *     never freed. Receive interrupts are only on between {@link #prepareToWait()} and
 *     {@link #finishWait()}.</li>
 * <li>Zero copy: a batch from {@link #newTransmitBatch(int)} lives in memory registered with the
 *     kernel, so {@link #transmit} hands its packets to the kernel where they are (the virtio-net
 *     header goes into each packet's headroom) instead of copying them; the caller gets the
 *     batch back for writing once {@link #transmitted(PacketBatch)} says the kernel is done with
 *     it. Receive into such a batch from another link and transmit it here, and a frame crosses
 *     with one copy instead of two.</li>
 * </ul>
 *
 * <h2>Offloads</h2>
 * vhost-net passes the virtio-net header through to the TAP untouched, so the offloads are the
 * TAP's: TUNSETOFFLOAD says which superpackets/partial checksums the kernel may hand us; the same
 * set is what {@link #transmit} accepts. A kernel without USO (before 6.2) negotiates it away.
 *
 * <h2>Lifetime</h2>
 * {@link #close()} detaches the backend (VHOST_NET_SET_BACKEND −1, which waits for the kernel
 * worker), stops the rings, closes the device and only then unmaps the memory. There is no
 * finalizer: a link that is never closed leaks its mapping on purpose (the descriptors' Cleaner
 * closes the device), since unmapping memory the kernel may still write would be worse.
 */
public final class VhostNetLink implements Link {
    static final int RX = 0, TX = 1;
    private static final System.Logger LOG = System.getLogger("ringlink.vhost");

    /** Features we can drive; the kernel's offer is intersected with what the caller enables. */
    public static final FeatureSet SUPPORTED = FeatureSet.of(VirtioFeature.VERSION_1, VirtioFeature.NET_MRG_RXBUF,
            VirtioFeature.EVENT_IDX, VirtioFeature.INDIRECT_DESC);

    private final String name;
    private final VhostDevice dev;
    private final TunDevice tap;
    private final FeatureSet features;
    private final Offloads offloads;
    private final int mtu;
    private final int maxReceive;
    private final Mapping ringMem, bufMem;
    private final SplitQueueDriver rxq, txq;
    private final NetDriverRx rx;
    private final NetDriverTx tx;
    private final int txBufferSize;
    private final EventFd rxKick, txKick, rxCall, err;
    /** readyFd: readable when the RX call or the error eventfd is, so a kernel-reported error wakes a sleeper too. */
    private final Epoll ready;
    private final LinkCounters counters = new LinkCounters();
    /**
     * Open/failed/closed; the rings are unmapped only after the calls in flight; the descriptors
     * a sleeper polls (ready, rxCall, err) are closed only when no thread can be asleep on them:
     * closing the call eventfd would silently drop it from the epoll set, and a sleeper would
     * sleep through the close.
     */
    private final LinkState state;
    private long rxMalformedSeen;
    private long txTooBigSeen;
    private long txKicks, rxKicks;
    /** Guards the memory table and the zero-copy batches' mappings against a concurrent close. */
    private final Object memLock = new Object();
    /** The regions registered with the kernel: rings, buffers, then one per zero-copy batch (memLock). */
    private final List<GuestMemory.Region> regions;
    private final List<Mapping> zeroCopyMappings = new ArrayList<>();
    /**
     * The zero-copy batches, replaced whole when one is added, so the transmitting thread reads them without a lock.
     */
    private volatile ZeroCopyBatch[] zeroCopy = new ZeroCopyBatch[0];

    private record ZeroCopyBatch(PacketBatch batch, long address, int handle) {}

    /**
     * How to open a link; see {@link VhostNetLinkProvider} for the spec form.
     *
     * @param tapSndbuf the TAP queue's send buffer (TUNSETSNDBUF) in bytes; default
     *        {@link Integer#MAX_VALUE} (unlimited). The kernel's vhost-net transmits in batches (up
     *        to 64 packets per call into the TAP, each built in place, no socket buffer allocated
     *        and copied per packet) only while the send buffer is unlimited. A fresh TAP queue
     *        already is (tun sets that at open); it is set explicitly anyway, as QEMU and DPDK's
     *        virtio_user do, so batching does not rest on that default. 0 leaves the queue as the
     *        kernel made it; a finite value bounds the bytes in flight and turns batching off.
     * @param tap the TAP interface (created if missing)
     * @param device the vhost-net device path ({@code /dev/vhost-net} by default)
     * @param offloads the offloads to ask the TAP for (the kernel may accept fewer)
     * @param queueSize entries per virtqueue: a power of two in [2, 32768]
     * @param wanted the virtio features to negotiate if the kernel offers them
     * @param required features that fail the open if the kernel lacks them (must be in {@code wanted})
     * @param rxBufferSize bytes per receive buffer, 0 for a size derived from MRG_RXBUF and GSO
     */
    public record Options(String tap, String device, Offloads offloads, int queueSize,
                          FeatureSet wanted, FeatureSet required, int rxBufferSize, int tapSndbuf) {
        /** Checks that {@code tapSndbuf} is not negative. */
        public Options {
            if (tapSndbuf < 0) throw new IllegalArgumentException("TAP send buffer " + tapSndbuf + " must be >= 0");
        }

        /** As the canonical constructor, with the default TAP send buffer (unlimited). */
        public Options(String tap, String device, Offloads offloads, int queueSize, FeatureSet wanted,
                FeatureSet required,
                       int rxBufferSize) {
            this(tap, device, offloads, queueSize, wanted, required, rxBufferSize, Integer.MAX_VALUE);
        }

        /**
         * Defaults: every offload the kernel takes, 256-entry queues, all supported features if offered, unlimited TAP
         * send buffer.
         */
        public static Options of(String tap) {
            return new Options(tap, VhostDevice.VHOST_NET_PATH, Offloads.ALL, 256, SUPPORTED, FeatureSet.NONE, 0);
        }

        /** These options with offloads {@code o}. */
        public Options withOffloads(Offloads o) {
            return new Options(tap, device, o, queueSize, wanted, required, rxBufferSize, tapSndbuf);
        }

        /** These options with queues of {@code n} entries. */
        public Options withQueueSize(int n) {
            return new Options(tap, device, offloads, n, wanted, required, rxBufferSize, tapSndbuf);
        }

        /** Features to ask for ({@code wanted}); those in {@code required} fail the open if the kernel lacks them. */
        public Options withFeatures(FeatureSet wanted, FeatureSet required) {
            return new Options(tap, device, offloads, queueSize, wanted, required, rxBufferSize, tapSndbuf);
        }

        /**
         * The TAP's send buffer in bytes ({@link Integer#MAX_VALUE}: unlimited, the default; 0: the kernel's default).
         */
        public Options withTapSndbuf(int bytes) {
            return new Options(tap, device, offloads, queueSize, wanted, required, rxBufferSize, bytes);
        }
    }

    VhostNetLink(String name, VhostDevice dev, TunDevice tap, FeatureSet features, Offloads offloads, int mtu,
                         int maxReceive, Mapping ringMem, Mapping bufMem, SplitQueueDriver rxq, SplitQueueDriver txq,
                         NetDriverRx rx, NetDriverTx tx, int txBufferSize, EventFd rxKick, EventFd txKick,
                                 EventFd rxCall,
                         EventFd err, Epoll ready, List<GuestMemory.Region> regions) {
        this.name = name;
        this.regions = new ArrayList<>(regions);
        this.dev = dev;
        this.tap = tap;
        this.features = features;
        this.offloads = offloads;
        rx.setCheck(this::validRx);
        this.mtu = mtu;
        this.maxReceive = maxReceive;
        this.ringMem = ringMem;
        this.bufMem = bufMem;
        this.rxq = rxq;
        this.txq = txq;
        this.rx = rx;
        this.tx = tx;
        this.txBufferSize = txBufferSize;
        this.rxKick = rxKick;
        this.txKick = txKick;
        this.rxCall = rxCall;
        this.err = err;
        this.ready = ready;
        this.state = new LinkState(name, rxCall, ready, err);
    }

    /** Opens a link over TAP {@code opts.tap()} (created if missing, removed on close if we created it). */
    public static VhostNetLink open(Options opts) throws IOException {
        return VhostNetSetup.open(opts);
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.L2; }
    @Override public int mtu() { return mtu; }
    @Override public Offloads offloads() { return offloads; }
    @Override public int maxReceiveSize() { return maxReceive; }
    @Override public Fd readyFd() { return ready.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isUsable(); }

    /** The virtio features negotiated with the kernel. */
    public FeatureSet features() { return features; }

    /** The TAP interface this link is attached to. */
    public String tapName() { return tap.ifname(); }

    /** The device's RX metadata (receiving thread). */
    private final OffloadValidator rxCheck = new OffloadValidator(Framing.ETHERNET, OffloadValidator.Source.DEVICE);

    /** Each complete packet from the device (NetDriverRx's check, on the receiving thread). */
    private boolean validRx(PacketBatch b, int i) {
        if ((b.flags(i) | b.gsoType(i)) == 0) return true;
        OffloadValidator.Reason why = rxCheck.check(b, i, offloads.accepts(b, i), offloads.has(Offloads.CSUM));
        if (why == null) return true;
        counters.invalid(why);
        counters.error();
        counters.rxDropped(1);
        return false;
    }

    private LinkException fail(RuntimeException e) {
        return state.fail("the kernel broke the ring protocol: ", e);
    }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        return state.receive(this, batch, VhostNetLink::receiveEntered); // close() waits for it to leave
    }

    private int receiveEntered(PacketBatch batch) throws IOException {
        int first = batch.count();
        int got;
        try {
            got = rx.receive(batch);
            if (rx.refill() > 0 && rxq.publish()) {
                rxKicks++;
                rxKick.signal();
            }
        } catch (ClosedFdException e) {
            if (!state.isOpen()) throw state.closedException();
            throw e;
        } catch (VirtioException | IllegalStateException e) {
            throw fail(e);
        }
        if (got > 0) {
            long bytes = 0;
            int gso = 0;
            for (int i = first; i < first + got; i++) {
                bytes += batch.length(i);
                if (batch.isGso(i)) gso++;
            }
            counters.received(got, bytes);
            if (gso > 0) counters.superpacket(gso);
        }
        long m = rx.droppedMalformed();
        if (m != rxMalformedSeen) {
            counters.rxDropped(m - rxMalformedSeen);
            rxMalformedSeen = m;
        }
        return got;
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        return state.transmit(this, batch, from, to, VhostNetLink::transmitEntered);
    }

    private int transmitEntered(PacketBatch batch, int from, int to) throws IOException {
        if (from < 0 || to > batch.count() || from > to) {
            throw new IndexOutOfBoundsException("packets [" + from + ", " + to + ") of a batch of " + batch.count());
        }
        ZeroCopyBatch zc = zeroCopyOf(batch);
        for (int i = from; i < to; i++) {
            if (!offloads.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i + " needs offloads this link lacks ("
                        + offloads + ")");
            }
            if (zc != null && batch.dataStart(i) < tx.headerSize()) {
                throw new IllegalArgumentException(name + ": packet " + i + " of a zero-copy batch has "
                        + batch.dataStart(i)
                        + " bytes of headroom; its " + tx.headerSize() + "-byte virtio-net header goes there");
            }
        }
        int saved = batch.count();
        int next;
        try {
            batch.setCount(to); // the driver queues up to the batch's count
            try {
                next = zc == null ? tx.transmit(batch, from)
                        : tx.transmitInPlace(batch, from, zc.address(), zc.handle());
            } finally {
                batch.setCount(saved);
            }
            if (txq.publish()) {
                txKicks++;
                txKick.signal();
            }
        } catch (ClosedFdException e) {
            if (!state.isOpen()) throw state.closedException();
            throw e;
        } catch (VirtioException | IllegalStateException e) {
            throw fail(e);
        }
        long bytes = 0;
        int sent = 0, gso = 0;
        for (int i = from; i < next; i++) {
            int len = batch.length(i);
            if (len + tx.headerSize() > txBufferSize) continue;
            sent++;
            bytes += len;
            if (batch.isGso(i)) gso++;
        }
        counters.transmitted(sent, bytes);
        if (gso > 0) counters.superpacket(gso);
        long d = tx.droppedTooBig();
        if (d != txTooBigSeen) {
            counters.txDropped(d - txTooBigSeen);
            txTooBigSeen = d;
        }
        return next - from;
    }

    /**
     * A batch the kernel reads in place: {@link #transmit} sends its packets without copying them.
     * Its buffers hold {@link #maxReceiveSize()} bytes behind {@link PacketBatch#DEFAULT_HEADROOM}
     * bytes of headroom, part of which carries the virtio-net header; the memory is registered
     * with the kernel (VHOST_SET_MEM_TABLE, one more region) and unmapped when the link closes,
     * after which touching the batch throws {@link IllegalStateException}.
     *
     * <p>Ownership: packets handed to {@link #transmit} belong to the kernel until
     * {@link #transmitted(PacketBatch)} returns {@code true} (or {@link #awaitTransmitted} returns);
     * only then may the caller clear the batch and write it again. Writing earlier cannot harm
     * this process, but changes what goes out. The kernel allows a few dozen regions, so make a
     * few such batches and reuse them (two, used in turn, hide the wait).
     *
     * @param capacity packets per batch, at most the transmit queue's size
     * @throws IOException if the link is closed or failed, or the kernel refuses the new memory table
     * @throws IllegalStateException if the link has {@link NetDriverTx#MAX_IN_PLACE} such batches already
     */
    public PacketBatch newTransmitBatch(int capacity) throws IOException {
        if (capacity < 1 || capacity > txq.ring().size()) {
            throw new IllegalArgumentException("capacity " + capacity + " must be in [1, " + txq.ring().size()
                    + "] (the transmit queue's size)");
        }
        int bufferSize = (PacketBatch.DEFAULT_HEADROOM + maxReceive + 63) & ~63;
        synchronized (memLock) {
            state.check();
            if (zeroCopy.length == NetDriverTx.MAX_IN_PLACE) {
                throw new IllegalStateException(name + ": already " + NetDriverTx.MAX_IN_PLACE
                        + " zero-copy batches; reuse them");
            }
            Mapping m = Mapping.anonymous(VhostNetSetup.round((long) capacity * bufferSize), name + " zero-copy batch");
            regions.add(GuestMemory.Region.identity(m.segment()));
            try {
                dev.setMemTable(regions);
            } catch (IOException | RuntimeException e) {
                // Refused (or the link closed meanwhile): the kernel never saw this mapping.
                regions.removeLast();
                m.close();
                if (e instanceof ClosedFdException && !state.isOpen()) throw state.closedException();
                throw e;
            }
            int handle = tx.registerInPlace(); // cannot fail: checked above, and only this method registers
            zeroCopyMappings.add(m);
            PacketBatch b = new PacketBatch(m.segment(), capacity, bufferSize, PacketBatch.DEFAULT_HEADROOM);
            ZeroCopyBatch[] all = Arrays.copyOf(zeroCopy, zeroCopy.length + 1);
            all[all.length - 1] = new ZeroCopyBatch(b, m.segment().address(), handle);
            zeroCopy = all;
            return b;
        }
    }

    private ZeroCopyBatch zeroCopyOf(PacketBatch batch) {
        for (ZeroCopyBatch z : zeroCopy) if (z.batch() == batch) return z;
        return null;
    }

    /**
     * Whether the kernel is done with every packet of zero-copy {@code batch} handed to
     * {@link #transmit} (it reclaims completed transmit buffers first). Call it on the transmitting
     * thread.
     *
     * @throws IllegalArgumentException if the batch is not one of this link's {@link #newTransmitBatch}
     */
    public boolean transmitted(PacketBatch batch) throws IOException {
        ZeroCopyBatch zc = zeroCopyOf(batch);
        if (zc == null) throw new IllegalArgumentException(name
                + ": not a zero-copy batch of this link (see newTransmitBatch)");
        state.check();
        try {
            tx.reclaim();
        } catch (VirtioException | IllegalStateException e) {
            throw fail(e);
        }
        return tx.inFlight(zc.handle()) == 0;
    }

    /**
     * Waits, polling, until {@link #transmitted(PacketBatch)}; the kernel's worker sends without
     * interrupts here, so this spins (yielding the CPU) rather than sleeps.
     *
     * @throws LinkException if the kernel has not finished within {@code timeoutMillis}
     */
    public void awaitTransmitted(PacketBatch batch, long timeoutMillis) throws IOException {
        long start = System.nanoTime();
        while (!transmitted(batch)) {
            if (System.nanoTime() - start > timeoutMillis * 1_000_000L) {
                throw new LinkException(name + ": the kernel still holds " + tx.inFlight(zeroCopyOf(batch).handle())
                        + " packets of a zero-copy batch after " + timeoutMillis + " ms");
            }
            Thread.yield();
        }
    }

    @Override
    public boolean prepareToWait() throws IOException {
        // Either we see the close (and do not sleep) or close sees us (and leaves readyFd open).
        if (!state.beginWait()) return false;
        try {
            state.enterReceive(); // close() unmaps the rings only after we left
        } catch (LinkException closedOrFailed) {
            endWait();
            return false;
        }
        try {
            if (rxq.enableNotifications()) {
                rxq.disableNotifications(); // work is there: stay in busy mode, no interrupts
                endWait();
                return false;
            }
            return true;
        } catch (VirtioException | IllegalStateException e) {
            endWait();
            throw fail(e);
        } finally {
            state.exitReceive();
        }
    }

    @Override
    public void finishWait() throws IOException {
        if (!state.tryEnterReceive()) {
            endWait();
            state.check(); // closed or failed: throws
        }
        try {
            rxCall.drain();
            rxq.disableNotifications();
            // The kernel signals the error eventfd when it finds a ring it cannot use (bad address,
            // descriptor loop); checking once per wake-up costs nothing on a busy link.
            if (err.drain() != 0) {
                state.recordFailure(
                        "the kernel reported a broken queue (VHOST_SET_VRING_ERR signalled; see the kernel log)");
                state.check();
            }
        } catch (ClosedFdException e) {
            if (!state.isOpen()) throw state.closedException();
            throw e;
        } catch (VirtioException | IllegalStateException e) {
            throw fail(e);
        } finally {
            state.exitReceive();
            endWait();
        }
    }

    private void endWait() {
        state.endWait();
    }

    /** Detaches the backend, stops the rings, closes the device, and then unmaps the memory. */
    @Override
    public void close() {
        // signals rxCall last: a thread sleeping on readyFd() wakes, its finishWait sees the link closed
        state.close(this::stopDevice, tap, rxKick, txKick, ringMem, bufMem);
    }

    private void stopDevice() {
        for (int q : new int[] {RX, TX}) {
            try {
                dev.setBackend(q, null);
                dev.getVringBase(q);
            } catch (SysException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, name + ": stopping queue " + q + ": " + e.getMessage());
            }
        }
        synchronized (memLock) {
            dev.close(); // the kernel lets go of every region before any is unmapped
            for (Mapping m : zeroCopyMappings) m.close();
        }
    }

    @Override
    public String toString() {
        return name + " " + features + " offloads " + offloads;
    }

    List<Mapping> mappings() { return List.of(ringMem, bufMem); }

    /** For the benchmark: the TAP queue's send buffer now (TUNGETSNDBUF). */
    int tapSndbuf() throws IOException { return tap.sndbuf(); }

    /** For the benchmark: transmit kicks so far (transmitting thread only). */
    long txKicks() { return txKicks; }

    /** For the benchmark: receive-side kicks (refills the kernel was waiting for) so far (receiving thread only). */
    long rxKicks() { return rxKicks; }
}
