package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.LinkFailedException;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.Framing;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.SysException;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.VirtqueueDevice;
import ringlink.virtio.VirtqueueException;

/**
 * One queue pair of a {@link VhostUserBackend} as a {@link Link}: {@link #receive} takes the
 * packets the guest put on its TX queue, {@link #transmit} fills the guest's RX queue.
 *
 * <p>Each packet on the rings is preceded by a virtio-net header (12 bytes with VERSION_1 or
 * MRG_RXBUF, else 10) whose offload fields travel in the {@link PacketBatch}. With MRG_RXBUF a
 * packet for the guest may span several RX buffers ({@code num_buffers}).
 *
 * <p>{@link #readyFd()} is an epoll descriptor watching the TX queue's kick eventfd (whichever
 * the current front-end gave) and an internal wake-up eventfd, so it stays the same descriptor
 * across reconnects. It and the wake-up eventfd are closed through a {@link LinkState}: close()
 * wakes a thread asleep on readyFd and never closes the descriptor under it.
 *
 * <p>Over 600 lines on purpose (issue #16): receive and transmit are each one pass under the
 * vring's lock, with fault handling, dirty logging and inflight tracking in line; the one
 * inflight tracker of issue #16 section 3 is the split that will shrink them.
 */
public final class BackendLink implements Link {
    private final VhostUserBackend backend;
    private final int pair;
    private final Vring rx, tx;
    private final String name;
    private final LinkCounters counters = new LinkCounters();
    private final Epoll epoll;
    private final EventFd wake;
    /** Open/closed and the hand-off of wake and epoll (readyFd); the rings' locks guard the memory. */
    private final LinkState state;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment hdr = arena.allocate(16, 8);
    private final DescriptorChain[] txChains;
    // Heads completed in this batch, for inflight tracking: one array per direction (two threads).
    /**
     * Most descriptors the chains one received packet is spread over may walk together before
     * the packet is dropped as not placeable (MRG_RXBUF): Linux vhost-net's UIO_MAXIOV per packet.
     */
    static final int MAX_PACKET_ELEMENTS = ringlink.virtio.VirtqueueDevice.MAX_CHAIN_ELEMENTS;

    private final int[] pubIds = new int[256];
    private int[] rxPub = new int[256];
    // Sink for touch(): an array of its own (32 ints, longer than a cache line), so the
    // receiving thread does not write the line of fields the transmitting thread reads.
    private final int[] rxTouched = new int[32];
    // The kick eventfd being watched (control thread) and our dup of it that is registered in
    // epoll: an entry is keyed by file and number, and the front-end keeps the file open, so the
    // registered number must stay open until the entry is removed. The dup is only closed here,
    // after its removal, whenever and however the ring closed its own kick descriptor.
    private EventFd watchedKick;
    private Fd watchedDup;
    /** The guest's TX metadata (receiving thread): a driver's flags cleared, superpackets bounded. */
    private final OffloadValidator rxCheck = new OffloadValidator(Framing.ETHERNET, OffloadValidator.Source.DRIVER);

    // Derived from the negotiated features; read by the data path.
    private volatile int hdrSize = VirtioNetHdr.SIZE_MRG;
    private volatile boolean mrgRxbuf;
    private volatile Offloads offloads = Offloads.NONE;
    private volatile Offloads fromGuest = Offloads.NONE;

    BackendLink(VhostUserBackend backend, int pair, Vring rx, Vring tx) throws IOException {
        this.backend = backend;
        this.pair = pair;
        this.rx = rx;
        this.tx = tx;
        this.name = backend.name() + (backend.config().queuePairs() > 1 ? "#" + pair : "");
        this.txChains = new DescriptorChain[256];
        for (int i = 0; i < txChains.length; i++) txChains[i] = new DescriptorChain();
        this.wake = EventFd.create();
        this.epoll = LinkState.epollOver(wake);
        this.state = new LinkState(name, wake, epoll);
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.L2; }
    @Override public int mtu() { return backend.mtu(); }
    @Override public Offloads offloads() { return offloads; }

    @Override
    public int maxReceiveSize() {
        Offloads o = fromGuest;
        boolean gso = o.has(Offloads.TSO4) || o.has(Offloads.TSO6) || o.has(Offloads.USO);
        return gso ? 65535 + 14 + 4 : Math.max(backend.mtu() + 14 + 4, 1518);
    }

    @Override public Fd readyFd() { return epoll.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isOpen(); }

    /** Which queue pair this is. */
    public int pair() { return pair; }

    /** True while both queues are started and enabled. */
    public boolean isRunning() { return rx.started() && tx.started() && rx.enabled && tx.enabled; }

    /**
     * True while the link is open and its rings are not running: no front-end yet, or it left,
     * reset the device or broke a ring (that connection was closed), and the next front-end
     * (a reconnect) brings the link back. False once the back-end is closed.
     */
    @Override
    public boolean waitingForPeer() { return state.isOpen() && !isRunning(); }

    void featuresChanged(FeatureSet f) {
        hdrSize = f.has(VERSION_1) || f.has(NET_MRG_RXBUF) ? VirtioNetHdr.SIZE_MRG : VirtioNetHdr.SIZE;
        mrgRxbuf = f.has(NET_MRG_RXBUF);
        int toGuest = 0, fromG = 0;
        if (f.has(NET_GUEST_CSUM)) toGuest |= Offloads.CSUM;
        if (f.has(NET_GUEST_TSO4)) toGuest |= Offloads.TSO4;
        if (f.has(NET_GUEST_TSO6)) toGuest |= Offloads.TSO6;
        if (f.has(NET_GUEST_USO4) && f.has(NET_GUEST_USO6)) toGuest |= Offloads.USO;
        if (f.has(NET_GUEST_ECN)) toGuest |= Offloads.TSO_ECN;
        if (f.has(NET_CSUM)) fromG |= Offloads.CSUM;
        if (f.has(NET_HOST_TSO4)) fromG |= Offloads.TSO4;
        if (f.has(NET_HOST_TSO6)) fromG |= Offloads.TSO6;
        if (f.has(NET_HOST_USO)) fromG |= Offloads.USO;
        if (f.has(NET_HOST_ECN)) fromG |= Offloads.TSO_ECN;
        fromGuest = Offloads.of(fromG);
        offloads = Offloads.of(toGuest & fromG);
    }

    /** Control thread: the rings' kick fds or states changed; re-register and wake a sleeper. */
    void ringsChanged() {
        tx.lock.lock();
        try {
            EventFd k = tx.kick;
            if (k != watchedKick) {
                unwatchKick();
                if (k != null) {
                    Fd d = null;
                    try {
                        d = k.fd().dup();
                        epoll.add(d, EpollEventLayout.EPOLLIN, 1);
                        watchedKick = k;
                        watchedDup = d;
                    } catch (IOException e) {
                        if (d != null) d.close();
                        System.getLogger("ringlink.vhostuser.backend").log(System.Logger.Level.WARNING,
                                name + ": cannot watch kick fd: " + e.getMessage());
                    }
                }
            }
        } finally {
            tx.lock.unlock();
        }
        try {
            wake.signal();
        } catch (IOException ignored) {
            // closed: nobody to wake
        }
    }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        state.checkReceive();
        Vring q = tx;
        q.lock.lock();
        try {
            VirtqueueDevice dev = q.dev;
            if (dev == null) return 0;
            int room = Math.min(batch.capacity() - batch.count(), txChains.length);
            if (room <= 0) return 0;
            InflightTracker track = q.inflight;
            // Packed tracking copies the chains' ring slots, so it needs where they start.
            int pos = track != null ? track.cursor() : 0;
            int n;
            try {
                n = dev.pop(txChains, room);
            } catch (VirtqueueException e) {
                return fail(q, e);
            }
            if (n == 0) {
                if (backend.shrinkable) Mapping.deliverFaults(); // pop read the ring
                return 0;
            }
            if (track != null) {
                for (int k = 0; k < n; k++) pos = track.taken(pos, txChains[k]);
            }
            touch(txChains, n);
            boolean enabled = q.enabled;
            int h = hdrSize;
            int max = maxReceiveSize();
            Offloads allowed = fromGuest;
            int got = 0, drops = 0;
            long bytes = 0;
            for (int k = 0; k < n; k++) {
                DescriptorChain c = txChains[k];
                long total = c.readableBytes();
                if (!enabled) {
                    drops++; // a disabled ring is processed without side effects: packets are discarded
                } else if (total <= h || total - h > max) {
                    drops++;
                    counters.error();
                } else {
                    int len = (int) (total - h);
                    int i = batch.add();
                    if (batch.room(i) < len) {
                        batch.setCount(i);
                        drops++;
                    } else {
                        if (c.length(0) >= h) {
                            VirtioNetHdr.decode(c.memory(0), c.offset(0), batch, i); // in place: no copy
                        } else {
                            c.read(0, hdr, 0, h);
                            VirtioNetHdr.decode(hdr, 0, batch, i);
                        }
                        if (c.length(0) >= total) {
                            // One descriptor holds header and packet (how DPDK and Linux send).
                            MemorySegment.copy(c.memory(0), c.offset(0) + h, batch.memory(), batch.dataOffset(i), len);
                        } else {
                            c.read(h, batch.memory(), batch.dataOffset(i), len);
                        }
                        batch.setLength(i, len);
                        // After the copy: the metadata is checked against the bytes we hold, which
                        // the guest can no longer change.
                        if (counters.admitReceived(batch, i, rxCheck, allowed)) {
                            got++;
                            bytes += len;
                        } else {
                            drops++;
                        }
                    }
                }
            }
            // The used entries after all the copies, back to back, not one between every two
            // packets: the descriptor ring's lines (which the front-end polls and refills) are
            // then written in one burst, and the per-packet loop above only reads guest memory.
            // Packed 64 B rx: 15.1/17.1/16.0 Mpps against 12.8/14.3/14.6 in alternating runs
            // (docs/parts/vhostuser.md, round 3).
            for (int k = 0; k < n; k++) {
                DescriptorChain c = txChains[k];
                dev.push(c, 0);
                c.trim(); // pushed: at most RETAINED_SEGMENTS stay allocated until the next pop
                if (track != null) {
                    track.used(c.id());
                    pubIds[k] = c.id();
                }
            }
            if (track != null) track.beforePublish(pubIds, n);
            if (dev.publish()) signal(q);
            DirtyLog log = q.log; // live migration: the used ring we just wrote
            if (log != null) q.logRing(log);
            if (track != null) track.published(pubIds, n);
            if (got > 0) counters.received(got, bytes);
            if (drops > 0) counters.rxDropped(drops);
            if (backend.shrinkable) Mapping.deliverFaults(); // see finishWait
            return got;
        } catch (RuntimeException | InternalError e) {
            return ringFault(q, e);
        } finally {
            q.lock.unlock();
        }
    }

    /**
     * Loads the first and the last readable byte of each chain. The front-end wrote these lines
     * on another core, so each is a cache miss; issued back to back here, the misses overlap,
     * where the per-packet loop below would take them one after the other (DPDK's vhost
     * prefetches for the same reason; Java has no prefetch). Bounds-checked like any access.
     */
    private void touch(DescriptorChain[] chains, int n) {
        int t = 0;
        for (int k = 0; k < n; k++) {
            DescriptorChain c = chains[k];
            int last = c.readableCount() - 1;
            if (last < 0) continue;
            t += c.memory(0).get(ValueLayout.JAVA_BYTE, c.offset(0));
            t += c.memory(last).get(ValueLayout.JAVA_BYTE, c.offset(last) + c.length(last) - 1);
        }
        rxTouched[0] = t; // a use, so the loads are not dropped
    }

    /**
     * Bookkeeping of an RX chain just pushed as the {@code pushed}-th of this call, with
     * {@code written} bytes: marked in the dirty log while the front-end migrates the guest;
     * marked used in the inflight tracking; and remembered for the end of the call
     * ({@link InflightTracker#beforePublish}, {@link InflightTracker#published}: packed chains
     * return to the free list only then, so chains popped later in this call cannot take their
     * entries before the batch is published).
     */
    private void trackPushed(Vring q, DescriptorChain c, int pushed, long written) {
        int id = c.id();
        DirtyLog log = q.log;
        if (log != null) logWritten(log, c, written);
        InflightTracker track = q.inflight;
        if (track != null) track.used(id);
        if (pushed == rxPub.length) rxPub = java.util.Arrays.copyOf(rxPub, rxPub.length * 2);
        rxPub[pushed] = id;
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        state.check();
        Vring q = rx;
        Offloads off = offloads;
        for (int i = from; i < to; i++) {
            if (!off.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i + " needs offloads this link lacks (" + off
                        + ")");
            }
        }
        q.lock.lock();
        try {
            VirtqueueDevice dev = q.dev;
            if (dev == null || !q.enabled) {
                // No guest (or its RX queue is off): like a cable pulled, packets are dropped.
                counters.txDropped(to - from);
                return to - from;
            }
            int h = hdrSize;
            boolean mrg = mrgRxbuf;
            DescriptorChain[] held = q.held;
            int cap = held.length;
            // Every packet needs at least one chain: take that many now, back to back, so the
            // misses on descriptors the front-end just refilled overlap instead of coming one
            // per packet. The loop below pops more only for packets spread over several buffers.
            // (The buffers are not touched ahead as on receive: we only write them, and a load
            // first would add a second coherence transaction per line before the store.)
            int want = Math.min(to - from, cap);
            while (q.heldCount < want && q.heldElements < Vring.HELD_PREFETCH_ELEMENTS) {
                try {
                    if (!q.holdOne(dev)) break;
                } catch (VirtqueueException e) {
                    return fail(q, e);
                }
            }
            // Null unless the front-end is migrating the guest (VHOST_F_LOG_ALL): then every
            // buffer byte we write is marked in its dirty log (in trackPushed, so the per-packet
            // loop keeps the one branch it has for inflight tracking), and the used ring after
            // the batch.
            DirtyLog log = q.log;
            InflightTracker track = q.inflight;
            boolean tracked = track != null || log != null;
            int sent = 0, drops = 0, pushed = 0;
            long bytes = 0;
            MemorySegment data = batch.memory();
            int i = from;
            for (; i < to; i++) {
                int len = batch.length(i);
                long need = (long) h + len;
                if (q.heldCount > 0) {
                    // The common case: the next buffer's first writable descriptor holds the
                    // header and the whole packet (DPDK and Linux post one descriptor per RX
                    // buffer): header in place, one copy, no gathering over chains or segments.
                    // Every access is still bounds-checked against the region segment.
                    DescriptorChain c = held[q.heldHead];
                    int fw = c.readableCount();
                    if (fw < c.segmentCount() && c.length(fw) >= need) {
                        MemorySegment m = c.memory(fw);
                        long o = c.offset(fw);
                        VirtioNetHdr.encode(m, o, h, batch, i, 1);
                        MemorySegment.copy(data, batch.dataOffset(i), m, o + h, len);
                        dev.push(c, (int) need);
                        if (tracked) trackPushed(q, c, pushed, need);
                        pushed++;
                        q.releaseHead(c);
                        c.trim(); // a long chain's arrays do not stay parked in the cache
                        sent++;
                        bytes += len;
                        if (batch.isGso(i)) counters.superpacket(1);
                        continue;
                    }
                }
                // Gather enough popped chains for this packet: at most `cap` chains
                // (MAX_HELD_CHAINS) that walked at most MAX_CHAIN_ELEMENTS descriptors together
                // (the last one may take it up to twice that), like Linux's UIO_MAXIOV per packet.
                long have = 0;
                int chainsUsed = 0;
                int elems = 0;
                boolean enough = false, capped = false;
                while (true) {
                    if (chainsUsed == q.heldCount) {
                        if (q.heldCount == cap) {
                            capped = true;
                            break;
                        }
                        try {
                            if (!q.holdOne(dev)) break;
                        } catch (VirtqueueException e) {
                            return fail(q, e);
                        }
                    }
                    int slot = q.heldHead + chainsUsed;
                    DescriptorChain c = held[slot >= cap ? slot - cap : slot];
                    have += c.writableBytes();
                    elems += c.elementCount();
                    chainsUsed++;
                    if (have >= need) {
                        enough = true;
                        break;
                    }
                    if (!mrg) break;
                    if (elems >= MAX_PACKET_ELEMENTS) {
                        capped = true;
                        break;
                    }
                }
                if (!enough) {
                    if (!mrg && chainsUsed == 1 && held[q.heldHead].writableBytes() < need) {
                        // The guest's buffer can never hold this packet: drop it, keep the buffer.
                        drops++;
                        continue;
                    }
                    if (capped) {
                        // Larger than the whole ring, or than the buffers one packet may span:
                        // drop it (Linux discards such a packet too), keep the buffers.
                        drops++;
                        continue;
                    }
                    break; // ring empty: back-pressure
                }
                // Header into the first chain, payload across the chains.
                long src = batch.dataOffset(i);
                long left = len;
                for (int k = 0; k < chainsUsed; k++) {
                    DescriptorChain c = held[q.heldHead];
                    long w = 0;
                    if (k == 0) {
                        int fw = c.readableCount(); // first writable segment
                        if (fw < c.segmentCount() && c.length(fw) >= h) {
                            VirtioNetHdr.encode(c.memory(fw), c.offset(fw), h, batch, i, chainsUsed); // in place
                            w = h;
                        } else {
                            VirtioNetHdr.encode(hdr, 0, h, batch, i, chainsUsed);
                            w = c.write(0, hdr, 0, h);
                        }
                    }
                    long n = Math.min(left, c.writableBytes() - w);
                    if (n > 0) {
                        c.write(w, batch.memory(), src, n);
                        src += n;
                        left -= n;
                        w += n;
                    }
                    dev.push(c, (int) w);
                    if (tracked) trackPushed(q, c, pushed, w);
                    pushed++;
                    q.releaseHead(c);
                    c.trim();
                }
                sent++;
                bytes += len;
                if (batch.isGso(i)) counters.superpacket(1);
            }
            if (track != null && pushed > 0) track.beforePublish(rxPub, pushed);
            if (dev.publish()) signal(q);
            if (log != null && pushed > 0) q.logRing(log);
            if (track != null && pushed > 0) track.published(rxPub, pushed);
            if (sent > 0) counters.transmitted(sent, bytes);
            if (drops > 0) counters.txDropped(drops);
            if (backend.shrinkable) Mapping.deliverFaults(); // see finishWait
            return i - from;
        } catch (RuntimeException | InternalError e) {
            return ringFault(q, e);
        } finally {
            q.lock.unlock();
        }
    }

    /** Marks the pages of the first {@code written} bytes of {@code c}'s writable segments. */
    private static void logWritten(DirtyLog log, DescriptorChain c, long written) {
        for (int s = c.readableCount(); s < c.segmentCount() && written > 0; s++) {
            long n = Math.min(written, c.length(s));
            log.mark(c.address(s), n);
            written -= n;
        }
    }

    private void signal(Vring q) {
        EventFd c = q.call;
        if (c == null) return;
        try {
            c.signal();
            // The front-end held its call counter full with O_NONBLOCK cleared and won the
            // poll→write race: the eventfd watchdog released us; drop that front-end.
            if (c.peerBlockedWrite()) backend.callBlocked(q);
        } catch (SysException | ClosedFdException e) {
            // the front-end replaced or closed its call fd; the next SET_VRING_CALL brings a new one
        }
    }

    /**
     * What a batch on {@code q} threw: a broken ring or a memory fault stops the ring (returns 0:
     * nothing moved); anything else is rethrown after raising a pending fault (which may be its cause).
     */
    private int ringFault(Vring q, Throwable e) throws LinkFailedException {
        if (e instanceof VirtqueueException v) return fail(q, v);
        if (e instanceof InternalError f)
                return failNow(q, VirtqueueException.memoryFault(f, name + " vring " + q.index));
        pendingFault(q);
        if (e instanceof RuntimeException r) throw r;
        throw (Error) e;
    }

    private int fail(Vring q, VirtqueueException e) throws LinkFailedException {
        pendingFault(q); // the garbage a skipped faulting load returned may be what e is about
        return failNow(q, e);
    }

    /**
     * Raises a memory fault still pending from an earlier access of this call as {@code q}'s
     * MEMORY_FAULT (a {@link LinkFailedException}), if the front-end's memory can shrink; returns
     * if there is none. For the catch blocks: HotSpot skips the faulting instruction and raises
     * the error later ({@link Mapping#deliverFaults}), so what a catch block sees first may be a
     * consequence of the fault (a ring index or a segment bound read as garbage).
     */
    private void pendingFault(Vring q) throws LinkFailedException {
        if (!backend.shrinkable) return;
        try {
            Mapping.deliverFaults();
        } catch (InternalError f) {
            failNow(q, VirtqueueException.memoryFault(f, name + " vring " + q.index));
        }
    }

    private int failNow(Vring q, VirtqueueException e) throws LinkFailedException {
        counters.error();
        q.stop();
        backend.ringFailed(q, e);
        throw new LinkFailedException(name + ": the front-end broke vring " + q.index + ": " + e.getMessage(), e);
    }

    @Override
    public boolean prepareToWait() throws IOException {
        if (!state.isOpen() || !state.beginWait()) return false;
        boolean sleep = false;
        Vring q = tx;
        q.lock.lock();
        try {
            if (!state.isOpen()) return false;
            VirtqueueDevice dev = q.dev;
            if (dev == null) {
                sleep = true; // until the control thread (a front-end) or close() wakes us
                return true;
            }
            if (q.kickPolled || q.kick == null) return false; // no doorbell: the front-end wants polling
            try {
                boolean more = dev.enableNotifications();
                DirtyLog log = q.log; // the event suppression fields just written
                if (log != null) q.logRing(log);
                if (backend.shrinkable) Mapping.deliverFaults(); // see finishWait
                sleep = !more;
                return sleep;
            } catch (RuntimeException | InternalError e) {
                ringFault(q, e);
                return false;
            }
        } finally {
            q.lock.unlock();
            if (!sleep) state.endWait();
        }
    }

    /** Removes the watched kick from epoll, then closes our registered dup (control thread or free). */
    private void unwatchKick() {
        Fd d = watchedDup;
        watchedDup = null;
        watchedKick = null;
        if (d == null) return;
        try {
            epoll.remove(d);
        } catch (IOException ignored) {
            // the epoll set is closed (free): its entries went with it
        }
        d.close();
    }

    @Override
    public void finishWait() throws IOException {
        try {
            finishWaitOpen();
        } finally {
            state.endWait(); // closed while we slept: the wake-up descriptors are ours to release
        }
    }

    private void finishWaitOpen() throws IOException {
        if (!state.isOpen()) return; // awaitReadable then returns true and the next receive throws
        try {
            wake.drain(); // still open: the guard keeps it until our endWait
        } catch (ClosedFdException ignored) {
            // a finishWait without prepareToWait after close: nothing to drain
        }
        Vring q = tx;
        q.lock.lock();
        try {
            EventFd k = q.kick;
            if (k != null) {
                try {
                    k.drain(); // preadv2(RWF_NOWAIT): returns at once even if the front-end cleared O_NONBLOCK
                } catch (SysException | ClosedFdException ignored) {
                    // a kick fd replaced under us: the new one is watched already
                }
            }
            VirtqueueDevice dev = q.dev;
            if (dev != null && !dev.isFailed()) {
                try {
                    dev.disableNotifications();
                    DirtyLog log = q.log;
                    if (log != null) q.logRing(log);
                    // A front-end whose memory can shrink (not sealed, not sealable): HotSpot
                    // raises the SIGBUS of a truncated page asynchronously, at the next safepoint
                    // poll, which in compiled code is often after this try block (in the switch's
                    // poller, maybe while it serves another port). The native transition raises
                    // it here, where it becomes this ring's MEMORY_FAULT. Sealed memory cannot
                    // fault, and skips the ~40 ns.
                    if (backend.shrinkable) Mapping.deliverFaults();
                } catch (InternalError e) {
                    failNow(q, VirtqueueException.memoryFault(e, name + " vring " + q.index));
                } catch (RuntimeException e) {
                    pendingFault(q);
                    throw e;
                }
            }
        } finally {
            q.lock.unlock();
        }
    }

    /** Closes the whole back-end this link belongs to (all its queue pairs). */
    @Override
    public void close() {
        if (!state.isOpen()) return;
        backend.close();
    }

    void free() {
        state.markClosed();
        tx.lock.lock();
        try {
            unwatchKick();
        } finally {
            tx.lock.unlock();
        }
        // Signals wake (a sleeper on readyFd wakes) and closes wake and epoll now, or, if a thread
        // may be asleep on them, when it returns (finishWait, or receive seeing the close):
        // closing them right after the signal could drop the event from the sleeper's epoll set
        // or leave it polling a recycled descriptor number (LinkState's class comment).
        state.close();
        synchronized (this) {
            if (arena.scope().isAlive()) {
                // Data-path users are gone (the link is closed); hdr is only used under the ring locks.
                rx.lock.lock();
                tx.lock.lock();
                try {
                    arena.close();
                } finally {
                    tx.lock.unlock();
                    rx.lock.unlock();
                }
            }
        }
    }
}
