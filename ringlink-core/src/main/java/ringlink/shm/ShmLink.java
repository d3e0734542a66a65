package ringlink.shm;


import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import ringlink.link.LinkState;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkCounters;
import ringlink.link.LinkFailedException;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Mapping;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.UnixSocket;

/**
 * A link over a gVisor-compatible sharedmem queue pair: one TX queue (client to server) and one RX
 * queue (server to client), each a data region, two pipes, a shared-data page and an eventfd
 * (see {@link QueueConfig}). The byte layouts and index rules are gVisor's
 * ({@code pkg/tcpip/link/sharedmem}), so either end may be gVisor's own endpoint or queue code.
 *
 * <h2>Roles</h2>
 * The {@link Role#CLIENT} owns the buffers: it copies outgoing packets into its TX data region
 * and posts empty RX buffers for the server to fill. The {@link Role#SERVER} reads the client's
 * packets and fills the posted buffers. Which side created the memory does not matter here
 * (see {@link ShmLinkProvider} for the usual arrangement).
 *
 * <h2>Waiting</h2>
 * Each side sleeps on the eventfd of the queue it receives from; it tells the peer to signal it by
 * setting that queue's shared-data word to ENABLED in {@link #prepareToWait()} (and DISABLED again
 * in {@link #finishWait()}), so a busy link never makes a notification syscall.
 *
 * <h2>Lifetime</h2>
 * {@link #close()} wakes a thread waiting on {@link #readyFd()} and releases the memory and
 * descriptors only after every {@link #receive}/{@link #transmit} in progress returned;
 * {@link #awaitReleased} waits for that. If a peer socket is given, its hang-up (the peer process
 * died or closed the connection) closes the link and calls the hang-up callback.
 */
public final class ShmLink implements Link {
    /** Which end of the sharedmem protocol this side plays. */
    public enum Role {
        /** Owns the buffers: copies outgoing packets into its TX data region and posts empty RX buffers. */
        CLIENT,
        /** Reads the client's TX packets and fills the RX buffers the client posted. */
        SERVER
    }

    /**
     * Link settings.
     *
     * @param mtu largest IP packet; on the wire frames may add an Ethernet header
     * @param bufferSize bytes per data-region buffer (client side; gVisor's default is 2048)
     * @param ethernet whether frames on the wire carry a 14-byte Ethernet header
     * @param layer L2 (packets are the wire frames) or L3 (IP packets; an Ethernet header on the
     *     wire is added on transmit and stripped on receive; without one, received packets must be
     *     IPv4 or IPv6 by their version nibble)
     * @param checksumOffload both ends agree not to verify or fill checksums (gVisor's
     *     TX/RXChecksumOffload): packets needing a checksum may be sent, received ones are marked
     *     DATA_VALID
     * @param vnetHdr every frame on the wire starts with a 10-byte virtio-net header (gVisor's
     *     VirtioNetHeaderRequired), carrying the packet's offload metadata: the link then passes
     *     partial checksums and GSO superpackets (up to 64 KiB) through
     * @param mac source address of headers added on transmit (L3 over Ethernet)
     * @param peerMac destination address of headers added on transmit
     */
    public record Options(int mtu, int bufferSize, boolean ethernet, Layer layer, boolean checksumOffload,
            boolean vnetHdr,
                          byte[] mac, byte[] peerMac) {
        /**
         * Checks the settings (MTU in [68, 65535], buffer size in [64, 1 MiB], an L2 link has Ethernet on the wire) and
         * fills in default addresses for null ones.
         */
        public Options {
            if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("mtu " + mtu + " must be in [68, 65535]");
            if (bufferSize < 64 || bufferSize > (1 << 20))
                    throw new IllegalArgumentException("buffer size " + bufferSize + " must be in [64, 1 MiB]");
            Objects.requireNonNull(layer);
            if (!ethernet && layer == Layer.L2)
                    throw new IllegalArgumentException("an L2 link needs Ethernet headers on the wire (eth=true)");
            if (mac == null) mac = new byte[] {0x02, 0x72, 0x6c, 0x73, 0x68, 0x01};
            if (peerMac == null) peerMac = new byte[] {-1, -1, -1, -1, -1, -1};
            if (mac.length != 6 || peerMac.length != 6)
                    throw new IllegalArgumentException("MAC addresses have 6 bytes");
        }

        /** gVisor's defaults: MTU 1500, 2048-byte buffers, Ethernet on the wire, L2, no checksum offload. */
        public static Options defaults() {
            return new Options(1500, 2048, true, Layer.L2, false, false, null, null);
        }

        /** These settings with MTU {@code m}. */
        public Options withMtu(int m) {
                return new Options(m, bufferSize, ethernet, layer, checksumOffload, vnetHdr, mac, peerMac); }
        /** These settings with {@code b}-byte buffers. */
        public Options withBufferSize(int b) {
                return new Options(mtu, b, ethernet, layer, checksumOffload, vnetHdr, mac, peerMac); }
        /** These settings with Ethernet on the wire or not ({@code eth}) and layer {@code l}. */
        public Options withLayer(boolean eth, Layer l) {
                return new Options(mtu, bufferSize, eth, l, checksumOffload, vnetHdr, mac, peerMac); }
        /** These settings with checksum offload on or off. */
        public Options withChecksumOffload(boolean c) {
                return new Options(mtu, bufferSize, ethernet, layer, c, vnetHdr, mac, peerMac); }
        /** These settings with the virtio-net header on the wire or not. */
        public Options withVnetHdr(boolean v) {
                return new Options(mtu, bufferSize, ethernet, layer, checksumOffload, v, mac, peerMac); }
    }

    private static final int ETH_HLEN = 14;
    private static final int VNET_HLEN = VirtioNetHdr.SIZE;
    /** The largest IP packet, hence the largest superpacket with a virtio-net header. */
    private static final int MAX_IP = 65535;

    private final String name;
    private final Role role;
    private final Options options;
    private final QueueConfig txConfig, rxConfig;
    private final QueueConfig.Mapped txMem, rxMem;
    private final EventFd txEvent, rxEvent;
    private final EventFd readyEvent;
    /**
     * Open/closed; the mapped queues go only after the calls in flight; closes readyEvent (and
     * its queue's descriptors) only when no thread can be asleep on it.
     */
    private final LinkState state;
    private final MemorySegment readyState;
    private final Queues.Inbound in;
    private final Queues.Outbound out;
    private final UnixSocket peer;
    private Consumer<String> onPeerClosed; // guarded by this
    private String peerGone;               // guarded by this; the hang-up reason once it happened
    private boolean peerGoneReported;      // guarded by this
    private final Thread watcher;
    private final LinkCounters counters = new LinkCounters();
    /** What goes on the wire around a packet (Ethernet and virtio-net headers), both ways. */
    private final ShmFraming framing;
    private final CountDownLatch released = new CountDownLatch(1);
    private final long[] drops = new long[1];
    private final long[] txStats = new long[2];
    private final int maxFrame;
    private volatile String closeReason;
    private volatile Throwable failure;
    private volatile boolean peerDone;
    /**
     * The peer gave a queue file it can shrink under our mapping (not sealed, not sealable): each
     * call then ends with {@link Mapping#deliverFaults}, so HotSpot's asynchronous fault error is
     * raised inside this link's try blocks (docs/ARCHITECTURE.md, "Shared files").
     */
    private final boolean shrinkable;

    /**
     * Opens a link on two queues this process already has descriptors for. Takes ownership of the
     * configs and of {@code peer} (closed with the link).
     *
     * @param tx the TX queue (client to server)
     * @param rx the RX queue (server to client)
     * @param peer the connection to the peer process whose hang-up means the peer is gone, or null
     * @param onPeerClosed called once (on a watcher thread) with a reason when the peer hangs up; may be null
     */
    public static ShmLink open(String name, Role role, QueueConfig tx, QueueConfig rx, Options options,
                               UnixSocket peer, Consumer<String> onPeerClosed) throws IOException {
        QueueConfig.Mapped t = null, r = null;
        try {
            t = new QueueConfig.Mapped(tx, name + " TX queue");
            r = new QueueConfig.Mapped(rx, name + " RX queue");
            return new ShmLink(name, role, tx, rx, t, r, options, peer, onPeerClosed);
        } catch (IOException | RuntimeException e) {
            if (t != null) t.close();
            if (r != null) r.close();
            tx.close();
            rx.close();
            if (peer != null) peer.close();
            throw e;
        }
    }

    private ShmLink(String name, Role role, QueueConfig txc, QueueConfig rxc, QueueConfig.Mapped tx,
            QueueConfig.Mapped rx,
                    Options options, UnixSocket peer, Consumer<String> onPeerClosed) throws IOException {
        this.name = name;
        this.role = role;
        this.options = options;
        this.framing = new ShmFraming(options, counters, drops);
        this.txConfig = txc;
        this.rxConfig = rxc;
        this.txMem = tx;
        this.rxMem = rx;
        this.shrinkable = tx.shrinkable || rx.shrinkable;
        // Both eventfds are shared with the peer (it sent them, or we created and sent them), so
        // it may hand us something else, or clear O_NONBLOCK and set the counter later: only an
        // eventfd is accepted, and it is used only through calls that cannot block (EventFd).
        checkEventFd(name + " TX queue", txc.eventFd());
        checkEventFd(name + " RX queue", rxc.eventFd());
        this.txEvent = EventFd.adoptPeer(txc.eventFd());
        this.rxEvent = EventFd.adoptPeer(rxc.eventFd());
        // On the wire: [virtio-net header][Ethernet header][IP packet]; with the virtio-net
        // header, superpackets may exceed the MTU.
        this.maxFrame = (options.vnetHdr() ? VNET_HLEN + MAX_IP : options.mtu()) + (options.ethernet() ? ETH_HLEN : 0);
        if (role == Role.CLIENT) {
            Queues.ClientTx ct = new Queues.ClientTx(tx, txEvent, options.bufferSize(), name);
            Queues.ClientRx cr = new Queues.ClientRx(rx, options.bufferSize(), name);
            this.out = ct;
            this.in = cr;
            this.readyEvent = rxEvent;
            this.readyState = rx.sharedState();
            cr.postBuffers();
        } else {
            this.out = new Queues.ServerTx(rx, rxEvent, name);
            this.in = new Queues.ServerRx(tx, name);
            this.readyEvent = txEvent;
            this.readyState = tx.sharedState();
        }
        this.state = new LinkState(name, readyEvent, readyEvent == rxEvent ? rxConfig : txConfig);
        // We poll until told to sleep: the peer need not signal until prepareToWait says so.
        SharedDataLayout.STATE.setVolatile(readyState, 0L, SharedDataLayout.EVENTFD_DISABLED);
        this.peer = peer;
        this.onPeerClosed = onPeerClosed;
        if (peer != null) {
            watcher = new Thread(this::watchPeer, "rlsh-peer-" + name);
            watcher.setDaemon(true);
            watcher.start();
        } else {
            watcher = null;
        }
    }

    private static void checkEventFd(String queue, Fd fd) throws LinkFailedException {
        String bad = EventFd.checkPeer(fd);
        if (bad != null)
                throw new LinkFailedException(queue + ": its eventfd (descriptor 2 of the queue's 5) is " + bad);
    }

    @Override public String name() { return name; }
    /** Which end of the sharedmem protocol this link plays. */
    public Role role() { return role; }
    /** The settings the link was opened with. */
    public Options options() { return options; }
    @Override public Layer layer() { return options.layer(); }
    @Override public int mtu() { return options.mtu(); }
    @Override public Offloads offloads() {
        if (options.vnetHdr()) return Offloads.ALL;
        return options.checksumOffload() ? Offloads.of(Offloads.CSUM) : Offloads.NONE;
    }
    @Override public int maxReceiveSize() {
        int ip = options.vnetHdr() ? MAX_IP : options.mtu();
        return options.layer() == Layer.L2 ? ip + ETH_HLEN : ip;
    }
    @Override public Fd readyFd() { return readyEvent.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isOpen(); }

    /** Why the link closed (null while open). */
    public String closeReason() { return closeReason; }

    // ---- calls in flight: memory is released only when no call is inside (LinkState) ----

    private void enterReceive() throws IOException {
        try {
            state.enterReceive();
        } catch (LinkClosedException e) {
            throw closedException(); // with the reason (a failure closes the link)
        }
    }

    private void enterTransmit() throws IOException {
        try {
            state.enterTransmit();
        } catch (LinkClosedException e) {
            throw closedException();
        }
    }

    private IOException closedException() {
        Throwable f = failure;
        if (f != null) return new LinkFailedException(name + ": stopped after a protocol error: " + f.getMessage(), f);
        return new LinkClosedException(name + ": " + (closeReason == null ? "closed" : closeReason));
    }

    private IOException fail(Throwable t) {
        if (shrinkable && !(t instanceof InternalError)) {
            // A skipped faulting load reads garbage; the fault it raises later explains t.
            try {
                Mapping.deliverFaults();
            } catch (InternalError f) {
                if (!Mapping.isFault(f)) throw f;
                t = f;
            }
        }
        if (failure == null) failure = t;
        counters.error();
        close(t.getMessage());
        if (t instanceof LinkFailedException lf) return lf;
        if (Mapping.isFault(t)) {
            return new LinkFailedException(name
                    + ": shared memory faulted (SIGBUS): the peer shrank a queue file under our mapping", t);
        }
        return new LinkFailedException(name + ": shared memory access failed (corrupt queue?): " + t, t);
    }

    /** A wait step touched memory that was gone (closed, or a fault): fails the link; other Errors go up. */
    private IOException failWait(Throwable e) {
        if (e instanceof InternalError f && !Mapping.isFault(f)) throw f;
        return fail(e);
    }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        enterReceive();
        int before = batch.count();
        try {
            drops[0] = 0;
            int n = in.receive(batch, drops);
            if (n > 0) n = framing.postReceive(batch, before);
            long bytes = 0;
            for (int i = before; i < before + n; i++) bytes += batch.length(i);
            if (n > 0) counters.received(n, bytes);
            if (drops[0] > 0) counters.rxDropped(drops[0]);
            if (shrinkable) Mapping.deliverFaults();
            return n;
        } catch (CorruptQueueException | IndexOutOfBoundsException | IllegalStateException e) {
            batch.setCount(before); // nothing half-read reaches the caller
            throw fail(e);
        } catch (InternalError e) {
            if (!Mapping.isFault(e)) throw e;
            batch.setCount(before);
            throw fail(e);
        } finally {
            state.exitReceive();
        }
    }

    /**
     * Virtio-net header decoding, Ethernet stripping and IP-version filtering; returns how many
     * packets remain (the dropped ones are counted and squeezed out).
     */

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        Objects.checkFromToIndex(from, to, batch.count());
        Offloads off = offloads();
        for (int i = from; i < to; i++) {
            if (!off.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i + " needs offloads this link lacks (" + off
                        + ")");
            }
        }
        boolean addEth = options.layer() == Layer.L3 && options.ethernet();
        boolean vnet = options.vnetHdr();
        int push = (addEth ? ETH_HLEN : 0) + (vnet ? VNET_HLEN : 0);
        if (push > 0) {
            for (int i = from; i < to; i++) {
                if (batch.dataStart(i) < push) {
                    throw new IllegalArgumentException(name + ": packet " + i + " has " + batch.dataStart(i)
                            + " bytes of headroom; this link prepends " + push);
                }
            }
        }
        enterTransmit();
        try {
            if (addEth) framing.pushEthernet(batch, from, to);
            if (vnet) {
                MemorySegment m = batch.memory();
                for (int i = from; i < to; i++) {
                    long at = batch.push(i, VNET_HLEN);
                    VirtioNetHdr.encode(m, at, VNET_HLEN, batch, i, 0);
                    if (batch.isGso(i)) counters.superpacket(1);
                }
            }
            txStats[0] = 0;
            txStats[1] = 0;
            int n;
            try {
                n = out.transmit(batch, from, to, maxFrame, txStats);
            } finally {
                if (push > 0) for (int i = from; i < to; i++) batch.push(i, -push);
            }
            counters.transmitted(n - txStats[0], txStats[1]);
            if (txStats[0] > 0) counters.txDropped(txStats[0]);
            if (shrinkable) Mapping.deliverFaults();
            return n;
        } catch (CorruptQueueException | IndexOutOfBoundsException | IllegalStateException e) {
            throw fail(e);
        } catch (InternalError e) {
            if (!Mapping.isFault(e)) throw e;
            throw fail(e);
        } catch (ClosedFdException e) {
            throw closedException();
        } finally {
            state.exitTransmit();
        }
    }

    @Override
    public boolean prepareToWait() throws IOException {
        enterReceive();
        boolean sleep = false;
        try {
            if (!state.beginWait()) return false;
            SharedDataLayout.STATE.setVolatile(readyState, 0L, SharedDataLayout.EVENTFD_ENABLED);
            VarHandle.fullFence();
            if (in.ready()) {
                SharedDataLayout.STATE.setVolatile(readyState, 0L, SharedDataLayout.EVENTFD_DISABLED);
                if (shrinkable) Mapping.deliverFaults();
                return false;
            }
            if (shrinkable) Mapping.deliverFaults();
            sleep = true;
            return true;
        } catch (IllegalStateException | InternalError e) {
            throw failWait(e);
        } finally {
            state.exitReceive();
            if (!sleep) state.endWait();
        }
    }

    @Override
    public void finishWait() throws IOException {
        try {
            enterReceive();
        } catch (IOException e) {
            state.endWait(); // closed while we slept: the wake-up descriptors are ours to release
            throw e;
        }
        try {
            SharedDataLayout.STATE.setVolatile(readyState, 0L, SharedDataLayout.EVENTFD_DISABLED);
            readyEvent.drain(); // a system call: also raises a pending fault of the store above here
        } catch (ClosedFdException e) {
            throw closedException();
        } catch (IllegalStateException | InternalError e) {
            throw failWait(e);
        } finally {
            state.exitReceive();
            state.endWait();
        }
    }

    /** Closes the link (idempotent, never throws); memory goes once in-flight calls return. */
    @Override
    public void close() {
        close("closed");
    }

    private void close(String reason) {
        synchronized (this) {
            if (closeReason == null) closeReason = reason;
        }
        if (peer != null && state.isOpen()) peer.shutdown(); // wakes the watcher
        // The mapped memory and the other queue's descriptors go after the calls in flight (or,
        // closed from inside one of them by fail(), when it returns); then readyEvent (and its
        // queue's descriptors, which close it too) once no thread can be asleep on it.
        boolean readyIsRx = readyEvent == rxEvent;
        state.close(txMem, rxMem, readyIsRx ? txEvent : rxEvent, readyIsRx ? txConfig : rxConfig, peer,
                released::countDown);
    }

    /** Waits until the link is closed and its memory released; true if it was within the timeout. */
    public boolean awaitReleased(long timeout, TimeUnit unit) throws InterruptedException {
        boolean r = released.await(timeout, unit);
        if (r && watcher != null) watcher.join(unit.toMillis(timeout) + 1);
        return r;
    }

    /**
     * Tells the peer we are done with the queues (one {@link ShmHandshake#DONE} byte on the
     * connection), so it can finish before it sees us hang up. No-op without a peer socket.
     */
    public void sayDone() throws IOException {
        if (peer == null) return;
        if (!isOpen()) throw closedException();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment b = a.allocate(1);
            b.set(ValueLayout.JAVA_BYTE, 0, ShmHandshake.DONE);
            peer.send(b, 1); // the socket's own use count keeps it open meanwhile
        } catch (ClosedFdException e) {
            throw closedException();
        }
    }

    /** True once the peer said it is done ({@link #sayDone()} on its side). */
    public boolean peerDone() { return peerDone; }

    private void watchPeer() {
        String why = null;
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment buf = a.allocate(64);
            while (isOpen()) {
                int ev = PollSet.pollOne(peer.fd(), PollfdLayout.POLLIN, -1);
                if (ev == 0) continue;
                if (!isOpen()) return;
                UnixSocket.Received r = peer.receive(buf, buf.byteSize(), 0);
                if (r.bytes() == 0) {
                    why = "peer hung up (" + peer.what() + ")";
                    break;
                }
                for (long i = 0; i < r.bytes(); i++) {
                    if (buf.get(ValueLayout.JAVA_BYTE, i) == ShmHandshake.DONE) peerDone = true;
                }
                // Anything else the peer says after setup is ignored: only the hang-up matters.
            }
        } catch (IOException e) {
            if (!isOpen()) return;
            why = "peer connection failed: " + e.getMessage();
        } catch (RuntimeException | Error e) {
            // Whatever the watcher hits (an Error included) ends this link with the reason, and
            // only this link; the thread then ends normally.
            if (!isOpen()) return;
            why = "peer watcher failed: " + e;
        }
        if (why == null || !isOpen()) return;
        close(why);
        synchronized (this) {
            peerGone = why;
        }
        reportPeerGone();
    }

    /**
     * Sets the callback run (once, on the watcher thread or right here if it already happened)
     * when the peer hangs up; the link is closed by then.
     */
    public void onPeerClosed(Consumer<String> callback) {
        synchronized (this) {
            onPeerClosed = callback;
        }
        reportPeerGone();
    }

    private void reportPeerGone() {
        Consumer<String> cb;
        String why;
        synchronized (this) {
            if (peerGone == null || onPeerClosed == null || peerGoneReported) return;
            peerGoneReported = true;
            cb = onPeerClosed;
            why = peerGone;
        }
        try {
            cb.accept(why);
        } catch (RuntimeException e) {
            System.getLogger("ringlink.shm").log(System.Logger.Level.WARNING, name + ": peer-closed callback threw", e);
        }
    }

    @Override
    public String toString() {
        return "ShmLink[" + name + ", " + role + (isOpen() ? "" : ", closed: " + closeReason) + "]";
    }
}
