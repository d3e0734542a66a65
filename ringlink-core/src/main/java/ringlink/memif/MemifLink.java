package ringlink.memif;

import static ringlink.memif.MemifDescLayout.*;
import static ringlink.memif.MemifRingLayout.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkCounters;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.PacketBatch;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;

/**
 * One queue pair of a {@link MemifInterface} as a {@link Link}. Packets are copied between the
 * {@link PacketBatch} and the shared buffers (a frame longer than one buffer is a chain of
 * descriptors flagged {@code MEMIF_DESC_FLAG_NEXT}, both ways).
 *
 * <p>Rings, by role: as client we produce on the S2M ring into our own buffers (we own
 * {@code head}, the server hands slots back with {@code tail}) and receive on the M2S ring by
 * posting our empty buffers ({@code head}) that the server fills and returns ({@code tail}). As
 * server we consume the S2M ring ({@code tail}) and fill the buffers the client posted on the
 * M2S ring ({@code tail}). Every descriptor and index the peer wrote is checked before use: a
 * region index we mapped, {@code offset + length} inside that region, index deltas within the
 * ring size; a violation throws {@link MemifException} and drops the connection (the link stays
 * and serves the next one).
 *
 * <p>Waiting: {@link #readyFd()} is an epoll descriptor over an internal wake-up eventfd and the
 * receive ring's interrupt eventfd of the current connection (so it survives reconnects). While
 * we poll, our receive ring carries {@code MEMIF_RING_FLAG_MASK_INT} and the peer makes no
 * system call for us; {@link #prepareToWait()} clears the flag, fences and re-checks,
 * {@link #finishWait()} sets it again and drains the eventfd.
 *
 * <p>The session (the connection's memory) is swapped by the control thread only when neither
 * data-path thread is inside a call: each call announces itself ({@link LinkState#enterReceive()},
 * {@link LinkState#enterTransmit()}) before reading the session, and {@link #detach()} clears the
 * session before waiting for them ({@link LinkState#awaitIdle()}, whose handshake makes an
 * announcement still in a store buffer visible).
 */
public final class MemifLink implements Link {
    private static final VarHandle U16 = Session.U16;

    private final MemifInterface owner;
    final int pair;
    private final String name;
    private final Layer layer;
    private final int mtu, maxFrame;
    private final LinkCounters counters = new LinkCounters();
    private final EventFd wake;
    private final Epoll epoll;
    /** Open/closed, the calls in flight (detach waits for them), the wake-up hand-off. */
    private final LinkState state;

    private volatile Session session;
    private EventFd watchedInt; // control thread: the rx interrupt fd registered in epoll

    // Receive-thread state, for rxSession (MemifInPlaceRx shares it).
    Session rxSession;
    MemorySegment rxMem;
    long rxRing;
    private int rxRingNo, rxHead;
    private EventFd rxInt;
    int rxCursor;
    /** The receive thread's descriptor reader: both receive paths check descriptors through it. */
    final MemifDescReader desc = new MemifDescReader();
    /** Server receive in place: what is lent, and the walk that lends it. */
    private final MemifInPlaceRx inPlace = new MemifInPlaceRx(this);
    // Transmit-thread state, for txSession.
    private Session txSession;
    private MemorySegment txMem;
    private long txRing;
    private int txRingNo;
    private EventFd txInt;
    private int txCursor;

    MemifLink(MemifInterface owner, int pair, String name, MemifConfig c) throws IOException {
        this.owner = owner;
        this.pair = pair;
        this.name = name;
        this.layer = c.ip() ? Layer.L3 : Layer.L2;
        this.mtu = c.mtu();
        this.maxFrame = c.maxFrame();
        this.wake = EventFd.create();
        this.epoll = LinkState.epollOver(wake);
        this.state = new LinkState(name, wake, epoll);
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return layer; }
    @Override public int mtu() { return mtu; }
    @Override public Offloads offloads() { return Offloads.NONE; }
    @Override public int maxReceiveSize() { return maxFrame; }
    @Override public Fd readyFd() { return epoll.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isOpen(); }

    /** The interface this queue pair belongs to. */
    public MemifInterface owner() { return owner; }

    /** True while a peer is connected and this pair has rings. */
    public boolean isConnected() {
        Session s = session;
        return s != null && pair < s.pairs && s.broken == null;
    }

    // ---- control thread ----

    /** Control thread: starts using {@code s} (a new connection) and wakes a sleeping receiver. */
    void attach(Session s) throws IOException {
        if (pair >= s.pairs) return; // the peer took fewer queue pairs: this one stays down
        EventFd rxi = s.ringInt(pair, true);
        epoll.add(rxi.fd(), EpollEventLayout.EPOLLIN, 1);
        watchedInt = rxi;
        session = s;
        wake.signal();
    }

    /** Control thread: stops using the session; returns once no data-path call can touch it. */
    void detach() {
        session = null;
        state.awaitIdle();
        if (watchedInt != null) {
            try {
                epoll.remove(watchedInt.fd());
            } catch (IOException ignored) {
                // the epoll is closed (link closed) or the fd already gone: nothing is watched
            }
            watchedInt = null;
        }
    }

    // ---- receive ----

    private void rxSetup(Session s) {
        rxSession = s;
        rxMem = s.ringMemory(pair, true);
        rxRing = s.ringOffset(pair, true);
        rxInt = s.ringInt(pair, true);
        rxRingNo = s.pairs + pair; // client: its M2S buffers follow the S2M ones
        rxCursor = 0;
        inPlace.lent = 0; // a new connection: whatever was lent belonged to the old one
        rxHead = s.server ? 0 : s.ringSize; // the control thread posted every buffer at connect
    }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        state.enterReceive();
        try {
            Session s = session;
            if (s == null || s.broken != null || batch.isFull()) return 0;
            if (s != rxSession) rxSetup(s);
            if (inPlace.lent != 0)
                    throw new IllegalStateException(name + ": packets are lent in place; releaseInPlace first");
            return s.server ? receiveServer(s, batch) : receiveClient(s, batch);
        } finally {
            state.exitReceive();
        }
    }

    /** Server: consume the client's S2M ring from our tail to its head. */
    private int receiveServer(Session s, PacketBatch batch) throws MemifException {
        int n = published(s);
        if (n == 0) return 0;
        int used = consume(s, rxMem, batch, n);
        if (used > 0) {
            rxCursor = (rxCursor + used) & 0xffff;
            Session.setRelease16(rxMem, rxRing + OFF_TAIL, rxCursor);
        }
        return lastGot;
    }

    /** Server: how many S2M slots the client published past our cursor (its head checked). */
    int published(Session s) throws MemifException {
        int head = (short) U16.getAcquire(rxMem, rxRing + OFF_HEAD) & 0xffff;
        int n = (head - rxCursor) & 0xffff;
        if (n > s.ringSize) throw broken(s, "S2M ring " + pair + ": head " + head + " is " + n + " slots past tail "
                + rxCursor + " (ring of " + s.ringSize + ")");
        return n;
    }

    /** A chain unfinished in the {@code n} slots published: wait for the rest, unless it fills the ring. */
    void chainUnfinished(Session s, int n) throws MemifException {
        if (n >= s.ringSize)
                throw broken(s, "a descriptor chain on ring " + pair + " fills the whole ring without an end");
    }

    /** Client: take what the server filled (our cursor to its tail), then post the buffers again. */
    private int receiveClient(Session s, PacketBatch batch) throws MemifException {
        MemorySegment m = rxMem;
        int tail = (short) U16.getAcquire(m, rxRing + OFF_TAIL) & 0xffff;
        int n = (tail - rxCursor) & 0xffff;
        int posted = (rxHead - rxCursor) & 0xffff;
        if (n > posted) {
            throw broken(s, "M2S ring " + pair + ": tail " + tail + " is past the " + posted + " buffers posted");
        }
        if (n == 0) return 0;
        int used = consume(s, m, batch, n);
        rxCursor = (rxCursor + used) & 0xffff;
        // Post the consumed buffers again, each descriptor rewritten from our own numbers (the
        // server could have scribbled on them).
        int target = (rxCursor + s.ringSize) & 0xffff;
        int h = rxHead;
        while (h != target) {
            long d = rxRing + OFF_DESC + (long) (h & s.mask) * MemifDescLayout.SIZE;
            m.set(ValueLayout.JAVA_SHORT, d + MemifDescLayout.OFF_FLAGS, (short) 0);
            m.set(ValueLayout.JAVA_SHORT, d + OFF_REGION, (short) 0);
            m.set(ValueLayout.JAVA_INT, d + OFF_LENGTH, s.bufferSize);
            m.set(ValueLayout.JAVA_INT, d + OFF_OFFSET, (int) s.clientBuffer(rxRingNo, h));
            h = (h + 1) & 0xffff;
        }
        if (h != rxHead) {
            rxHead = h;
            Session.setRelease16(m, rxRing + OFF_HEAD, h);
        }
        return lastGot;
    }

    private int lastGot;

    /**
     * Copies whole packets (descriptor chains) out of {@code n} filled slots from rxCursor into
     * the batch; returns how many slots it used (a chain not yet complete is left for later).
     * Sets lastGot to the packets delivered.
     */
    private int consume(Session s, MemorySegment ring, PacketBatch batch, int n) throws MemifException {
        int used = 0, got = 0, drops = 0;
        long bytes = 0;
        MemorySegment dst = batch.memory();
        MemifDescReader d = desc;
        while (used < n && !batch.isFull()) {
            int i = batch.add();
            long at = batch.dataOffset(i);
            int room = Math.min(batch.room(i), maxFrame);
            int total = 0, k = 0;
            boolean drop = false, complete = false;
            while (used + k < n) {
                if (!d.read(s, ring, rxRing, rxCursor + used + k)) {
                    batch.setCount(i);
                    throw broken(s, d.outside(pair));
                }
                k++;
                long len = d.length; // the values checked are the values used
                if (!drop && total + len <= room) {
                    MemorySegment.copy(s.regions[d.region], d.offset, dst, at + total, len);
                } else {
                    drop = true;
                }
                total += (int) Math.min(len, Integer.MAX_VALUE - total);
                if (!d.chained()) {
                    complete = true;
                    break;
                }
            }
            if (!complete) {
                batch.setCount(i);
                chainUnfinished(s, n);
                break; // the rest of the chain is not published yet
            }
            used += k;
            if (drop || total == 0) {
                batch.setCount(i);
                drops++;
            } else {
                batch.setLength(i, total);
                bytes += total;
                got++;
            }
        }
        if (got > 0) counters.received(got, bytes);
        if (drops > 0) counters.rxDropped(drops);
        lastGot = got;
        return used;
    }

    // ---- receive in place (server: zero copy, the walk in MemifInPlaceRx) ----

    /**
     * Server only: lends up to {@code view.capacity()} received packets where they are, in the
     * client's buffers, instead of copying them into a {@link PacketBatch}; their first bytes
     * are copied into {@code view.headers()} (decide on those: the peer can still write the lent
     * bytes). The ring's tail does not move, so the client does not reuse those buffers, until
     * {@link #releaseInPlace}; until then this link receives nothing else (neither call may be
     * made again). Descriptors are checked exactly as {@link #receive} checks them.
     *
     * @return the packets lent (also {@code view.count()}); 0 with no peer or nothing pending
     * @throws IllegalStateException if {@code view} still holds lent packets, or we are the client
     *         (the client's received buffers are its own; memif lends only toward the server)
     */
    public int receiveInPlace(MemifInPlaceBatch view) throws IOException {
        if (view.count != 0 || view.lentSlots != 0)
                throw new IllegalStateException(name + ": the batch still holds lent packets; releaseInPlace first");
        state.enterReceive();
        try {
            Session s = session;
            if (s == null || s.broken != null) return 0;
            if (!s.server) throw new IllegalStateException(name
                    + ": in-place receive is for the server role (the client's buffers are what memif lends)");
            if (s != rxSession) rxSetup(s);
            return inPlace.lend(s, view);
        } finally {
            state.exitReceive();
        }
    }

    /**
     * Hands the buffers of the packets {@code view} holds back to the client (one release store
     * of the ring's tail) and empties {@code view}. After a reconnect the old connection's
     * packets are simply forgotten (its memory is gone). Does nothing for an empty view.
     */
    public void releaseInPlace(MemifInPlaceBatch view) {
        if (!state.tryEnterReceive()) { // closed: the memory goes with the link
            view.clear();
            return;
        }
        try {
            Session s = session;
            if (s != null) inPlace.release(s, view);
        } finally {
            state.exitReceive();
            view.clear();
        }
    }

    // ---- transmit ----

    private void txSetup(Session s) {
        txSession = s;
        txMem = s.ringMemory(pair, false);
        txRing = s.ringOffset(pair, false);
        txInt = s.ringInt(pair, false);
        txRingNo = pair; // client: its S2M buffers come first
        txCursor = 0;
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        Objects.checkFromToIndex(from, to, batch.count());
        for (int i = from; i < to; i++) {
            if (batch.flags(i) != 0 || batch.isGso(i)) {
                if (!Offloads.NONE.accepts(batch, i)) {
                    throw new IllegalArgumentException(name + ": packet " + i
                            + " needs offloads this link lacks (none)");
                }
            }
        }
        state.enterTransmit();
        try {
            Session s = session;
            if (s == null || s.broken != null) {
                // No peer (or it is being dropped): the frames go nowhere, like on a NIC whose link is down.
                counters.txDropped(to - from);
                return to - from;
            }
            if (s != txSession) txSetup(s);
            int n = s.server ? transmitServer(s, batch, from, to) : transmitClient(s, batch, from, to);
            if (n > 0) kick(s);
            return n;
        } finally {
            state.exitTransmit();
        }
    }

    /** Client: copy into our own buffers behind free S2M slots, publish head. */
    private int transmitClient(Session s, PacketBatch batch, int from, int to) throws MemifException {
        MemorySegment m = txMem;
        int tail = (short) U16.getAcquire(m, txRing + OFF_TAIL) & 0xffff;
        int inFlight = (txCursor - tail) & 0xffff;
        if (inFlight > s.ringSize)
                throw broken(s, "S2M ring " + pair + ": tail " + tail + " is ahead of head " + txCursor);
        int free = s.ringSize - inFlight;
        int slot = txCursor, sent = 0, drops = 0;
        long bytes = 0;
        int bs = s.bufferSize;
        MemorySegment src = batch.memory();
        int i = from;
        for (; i < to; i++) {
            int len = batch.length(i);
            // The common frame fits one buffer: no integer division (tens of cycles) per packet for it.
            int need = len <= bs ? 1 : (len + bs - 1) / bs;
            if (len == 0 || len > maxFrame || need > s.ringSize) {
                drops++;
                continue;
            }
            if (need > free) break;
            long at = batch.dataOffset(i);
            int left = len, done = 0;
            while (left > 0) {
                int chunk = Math.min(left, bs);
                long d = txRing + OFF_DESC + (long) (slot & s.mask) * MemifDescLayout.SIZE;
                long buf = s.clientBuffer(txRingNo, slot);
                MemorySegment.copy(src, at + done, s.regions[0], buf, chunk);
                left -= chunk;
                done += chunk;
                m.set(ValueLayout.JAVA_SHORT, d + MemifDescLayout.OFF_FLAGS,
                        (short) (left > 0 ? MEMIF_DESC_FLAG_NEXT : 0));
                m.set(ValueLayout.JAVA_SHORT, d + OFF_REGION, (short) 0);
                m.set(ValueLayout.JAVA_INT, d + OFF_LENGTH, chunk);
                m.set(ValueLayout.JAVA_INT, d + OFF_OFFSET, (int) buf);
                slot = (slot + 1) & 0xffff;
            }
            free -= need;
            sent++;
            bytes += len;
        }
        txPublish(OFF_HEAD, slot, sent, bytes, drops);
        return i - from;
    }

    /** Server: fill the buffers the client posted on the M2S ring (our tail to its head), publish tail. */
    private int transmitServer(Session s, PacketBatch batch, int from, int to) throws MemifException {
        MemorySegment m = txMem;
        int head = (short) U16.getAcquire(m, txRing + OFF_HEAD) & 0xffff;
        int avail = (head - txCursor) & 0xffff;
        if (avail > s.ringSize) throw broken(s,
                "M2S ring " + pair + ": head " + head + " is " + avail + " slots past tail " + txCursor);
        int slot = txCursor, sent = 0, drops = 0;
        long bytes = 0;
        MemorySegment src = batch.memory();
        int i = from;
        for (; i < to; i++) {
            int len = batch.length(i);
            if (len == 0 || len > maxFrame) {
                drops++;
                continue;
            }
            long at = batch.dataOffset(i);
            int left = len, done = 0, k = 0;
            boolean fits = true;
            while (left > 0) {
                if (k == avail) {
                    fits = false;
                    break;
                }
                long d = txRing + OFF_DESC + (long) ((slot + k) & s.mask) * MemifDescLayout.SIZE;
                int region = m.get(ValueLayout.JAVA_SHORT, d + OFF_REGION) & 0xffff;
                long cap = m.get(ValueLayout.JAVA_INT, d + OFF_LENGTH) & 0xffffffffL;
                long off = m.get(ValueLayout.JAVA_INT, d + OFF_OFFSET) & 0xffffffffL;
                if (region >= s.regions.length || cap == 0 || off + cap > s.regionSize[region]) {
                    throw broken(s, "posted buffer " + ((slot + k) & s.mask) + " of M2S ring " + pair
                            + " is outside the shared memory or empty (region " + region + ", offset " + off
                                    + ", length " + cap + ")");
                }
                int chunk = (int) Math.min(left, cap);
                MemorySegment.copy(src, at + done, s.regions[region], off, chunk);
                left -= chunk;
                done += chunk;
                m.set(ValueLayout.JAVA_SHORT, d + MemifDescLayout.OFF_FLAGS,
                        (short) (left > 0 ? MEMIF_DESC_FLAG_NEXT : 0));
                m.set(ValueLayout.JAVA_INT, d + OFF_LENGTH, chunk);
                k++;
            }
            if (!fits) {
                if (avail == s.ringSize) {
                    // Even the whole ring cannot hold it (the client's buffers are too small): drop.
                    // The descriptors we wrote on are re-posted by the client as it always does.
                    drops++;
                    continue;
                }
                break; // wait for more buffers; nothing of this packet is published
            }
            slot = (slot + k) & 0xffff;
            avail -= k;
            sent++;
            bytes += len;
        }
        txPublish(OFF_TAIL, slot, sent, bytes, drops);
        return i - from;
    }

    /** Publishes our transmit index (head or tail) at {@code slot}, one release store if it moved; counts. */
    private void txPublish(long index, int slot, int sent, long bytes, int drops) {
        if (slot != txCursor) {
            txCursor = slot;
            Session.setRelease16(txMem, txRing + index, slot);
        }
        if (sent > 0) counters.transmitted(sent, bytes);
        if (drops > 0) counters.txDropped(drops);
    }

    /** Signals the peer if its receive ring (our transmit ring) asks for interrupts. */
    private void kick(Session s) throws IOException {
        // our index store before the load of the peer's flag (it stores the flag, fences, re-checks)
        VarHandle.fullFence();
        int flags = txMem.get(ValueLayout.JAVA_SHORT, txRing + MemifRingLayout.OFF_FLAGS);
        if ((flags & MEMIF_RING_FLAG_MASK_INT) == 0) {
            try {
                txInt.signal(); // cannot block (a peer-shared EventFd): a full counter already means "signalled"
            } catch (ClosedFdException e) {
                // the connection is being torn down
            }
        }
    }

    // ---- waiting ----

    @Override
    public boolean prepareToWait() throws IOException {
        if (!state.beginWait()) return false;
        boolean sleep = false, entered = false;
        try {
            state.enterReceive();
            entered = true;
            Session s = session;
            if (s == null) {
                sleep = true; // woken by attach() or close()
                return true;
            }
            if (s.broken != null) return false;
            if (s != rxSession) rxSetup(s);
            rxMem.set(ValueLayout.JAVA_SHORT, rxRing + MemifRingLayout.OFF_FLAGS, (short) 0);
            VarHandle.fullFence();
            if (rxPending(s)) {
                rxMem.set(ValueLayout.JAVA_SHORT, rxRing + MemifRingLayout.OFF_FLAGS, (short) MEMIF_RING_FLAG_MASK_INT);
                return false;
            }
            sleep = true;
            return true;
        } catch (LinkClosedException closedMeanwhile) {
            return false;
        } finally {
            if (entered) state.exitReceive();
            if (!sleep) state.endWait();
        }
    }

    private boolean rxPending(Session s) {
        int idx = (short) U16.getAcquire(rxMem, rxRing + (s.server ? OFF_HEAD : OFF_TAIL)) & 0xffff;
        return idx != rxCursor;
    }

    @Override
    public void finishWait() throws IOException {
        boolean entered = state.tryEnterReceive(); // false: closed while we slept
        try {
            Session s = entered ? session : null;
            if (s != null && s == rxSession) {
                rxMem.set(ValueLayout.JAVA_SHORT, rxRing + MemifRingLayout.OFF_FLAGS, (short) MEMIF_RING_FLAG_MASK_INT);
                try {
                    rxInt.drain();
                } catch (ClosedFdException ignored) {
                    // torn down meanwhile
                }
            }
            if (entered) wake.drain();
        } catch (ClosedFdException ignored) {
            // closed while we slept: awaitReadable returns true and the next receive throws
        } finally {
            if (entered) state.exitReceive();
            state.endWait();
        }
    }

    MemifException broken(Session s, String why) {
        counters.error();
        if (s.broken == null) s.broken = why;
        owner.dataPathFailed();
        return new MemifException(name + ": the peer broke the rings: " + why);
    }

    // ---- close ----

    /** Closes the whole interface (every queue pair), as closing any of its links does. */
    @Override
    public void close() {
        owner.close();
    }

    /** From the interface's close, first: new calls are refused while the sessions are detached. */
    void markClosed() {
        state.markClosed();
    }

    /** From the interface's close, after the control thread has detached every session. */
    void closeLink() {
        state.close(); // the interface unmaps the memory, after detach() waited for our calls
    }
}
