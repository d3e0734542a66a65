package ringlink.shm;

import static ringlink.sys.Endian.BE16;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import ringlink.link.WakeupGuard;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkCounters;
import ringlink.link.LinkFailedException;
import ringlink.link.Offloads;
import ringlink.packet.Ethernet;
import ringlink.packet.Framing;
import ringlink.packet.OffloadValidator;
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

    private static final int CLOSED = 0x8000_0000;
    private static final int ETH_HLEN = 14;
    private static final int VNET_HLEN = VirtioNetHdr.SIZE;
    /** The largest IP packet, hence the largest superpacket with a virtio-net header. */
    private static final int MAX_IP = 65535;
    private static final VarHandle USERS;

    static {
        try {
            USERS = MethodHandles.lookup().findVarHandle(ShmLink.class, "users", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Role role;
    private final Options options;
    private final QueueConfig txConfig, rxConfig;
    private final QueueConfig.Mapped txMem, rxMem;
    private final EventFd txEvent, rxEvent;
    private final EventFd readyEvent;
    /** Closes readyEvent (and its queue's descriptors) only when no thread can be asleep on it. */
    private final WakeupGuard wakeGuard;
    private final MemorySegment readyState;
    private final Queues.Inbound in;
    private final Queues.Outbound out;
    private final UnixSocket peer;
    private Consumer<String> onPeerClosed; // guarded by this
    private String peerGone;               // guarded by this; the hang-up reason once it happened
    private boolean peerGoneReported;      // guarded by this
    private final Thread watcher;
    private final LinkCounters counters = new LinkCounters();
    /** The peer's offload metadata (receiving thread). */
    private final OffloadValidator rxCheck;
    private final CountDownLatch released = new CountDownLatch(1);
    private final long[] drops = new long[1];
    private final long[] txStats = new long[2];
    private final int maxFrame;
    private final MemorySegment ethHeader = java.lang.foreign.Arena.ofAuto().allocate(ETH_HLEN);
    @SuppressWarnings("unused") // through USERS
    private volatile int users;
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
        this.rxCheck =
                new OffloadValidator(options.layer() == Layer.L2 || options.ethernet() ? Framing.ETHERNET : Framing.IP,
                OffloadValidator.Source.DRIVER);
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
        this.wakeGuard = new WakeupGuard(readyEvent, readyEvent == rxEvent ? rxConfig : txConfig);
        // We poll until told to sleep: the peer need not signal until prepareToWait says so.
        SharedDataLayout.STATE.setVolatile(readyState, 0L, SharedDataLayout.EVENTFD_DISABLED);
        MemorySegment.copy(options.peerMac(), 0, ethHeader, ValueLayout.JAVA_BYTE, 0, 6);
        MemorySegment.copy(options.mac(), 0, ethHeader, ValueLayout.JAVA_BYTE, 6, 6);
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
    @Override public boolean isOpen() { return ((int) USERS.getVolatile(this) & CLOSED) == 0; }

    /** Why the link closed (null while open). */
    public String closeReason() { return closeReason; }

    // ---- use counting: memory is released only when no call is inside ----

    private void enter() throws IOException {
        while (true) {
            int u = (int) USERS.getVolatile(this);
            if ((u & CLOSED) != 0) throw closedException();
            if (USERS.compareAndSet(this, u, u + 1)) return;
        }
    }

    private void exit() {
        if ((int) USERS.getAndAdd(this, -1) - 1 == CLOSED) release();
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

    @Override
    public int receive(PacketBatch batch) throws IOException {
        if (!isOpen()) wakeGuard.pollerAwake(); // the receiving thread is the poller: it is not asleep now
        enter();
        int before = batch.count();
        try {
            drops[0] = 0;
            int n = in.receive(batch, drops);
            if (n > 0) n = postReceive(batch, before);
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
            exit();
        }
    }

    /**
     * Virtio-net header decoding, Ethernet stripping and IP-version filtering; returns how many
     * packets remain (the dropped ones are counted and squeezed out).
     */
    private int postReceive(PacketBatch batch, int from) {
        boolean csumValid = options.checksumOffload();
        boolean vnet = options.vnetHdr();
        boolean l3 = options.layer() == Layer.L3;
        if (!vnet && !l3) {
            if (csumValid) for (int i = from; i < batch.count(); i++) batch.setFlags(i, VirtioNetHdr.F_DATA_VALID);
            return batch.count() - from;
        }
        int w = from;
        MemorySegment m = batch.memory();
        for (int i = from; i < batch.count(); i++) {
            boolean keep = true;
            if (vnet) {
                keep = batch.length(i) >= VNET_HLEN;
                if (keep) {
                    VirtioNetHdr.decode(m, batch.dataOffset(i), batch, i);
                    batch.push(i, -VNET_HLEN);
                    // Metadata from the peer, checked like every peer's (flags a sender may not
                    // set cleared, superpackets bounded and matched against their headers);
                    // any type a link may carry is taken (no UFO, no unknown types).
                    OffloadValidator.Reason why = rxCheck.check(batch, i, Offloads.ALL.accepts(batch, i), true);
                    if (why != null) {
                        counters.invalid(why);
                        counters.error();
                        keep = false;
                    }
                }
            }
            if (keep && l3) {
                if (options.ethernet()) {
                    keep = batch.length(i) > ETH_HLEN;
                    if (keep) {
                        int type = Short.toUnsignedInt(m.get(BE16, batch.dataOffset(i) + Ethernet.OFF_PROTO));
                        keep = type == 0x0800 || type == 0x86dd;
                        if (keep) batch.push(i, -ETH_HLEN);
                    }
                } else {
                    int v = batch.length(i) > 0 ? (m.get(ValueLayout.JAVA_BYTE, batch.dataOffset(i)) >> 4) & 0xf : 0;
                    keep = v == 4 || v == 6;
                }
            }
            if (!keep) {
                drops[0]++;
                continue;
            }
            if (csumValid) batch.setFlags(i, batch.flags(i) | VirtioNetHdr.F_DATA_VALID);
            if (batch.isGso(i)) counters.superpacket(1);
            if (w != i) batch.copyPacket(i, w);
            w++;
        }
        batch.setCount(w);
        return w - from;
    }

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
        enter();
        try {
            if (addEth) pushEthernet(batch, from, to);
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
            exit();
        }
    }

    private void pushEthernet(PacketBatch batch, int from, int to) {
        MemorySegment m = batch.memory();
        for (int i = from; i < to; i++) {
            int v = batch.length(i) > 0 ? (m.get(ValueLayout.JAVA_BYTE, batch.dataOffset(i)) >> 4) & 0xf : 0;
            long at = batch.push(i, ETH_HLEN);
            MemorySegment.copy(ethHeader, 0, m, at, 12);
            m.set(ValueLayout.JAVA_BYTE, at + 12, (byte) (v == 6 ? 0x86 : 0x08));
            m.set(ValueLayout.JAVA_BYTE, at + 13, (byte) (v == 6 ? 0xdd : 0x00));
        }
    }

    @Override
    public boolean prepareToWait() throws IOException {
        enter();
        boolean sleep = false;
        try {
            if (!wakeGuard.beginWait()) return false;
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
        } catch (IllegalStateException e) {
            throw fail(e);
        } catch (InternalError e) {
            if (!Mapping.isFault(e)) throw e;
            throw fail(e);
        } finally {
            exit();
            if (!sleep) wakeGuard.endWait();
        }
    }

    @Override
    public void finishWait() throws IOException {
        try {
            enter();
        } catch (IOException e) {
            wakeGuard.endWait(); // closed while we slept: the wake-up descriptors are ours to release
            throw e;
        }
        try {
            SharedDataLayout.STATE.setVolatile(readyState, 0L, SharedDataLayout.EVENTFD_DISABLED);
            readyEvent.drain(); // a system call: also raises a pending fault of the store above here
        } catch (ClosedFdException e) {
            throw closedException();
        } catch (IllegalStateException e) {
            throw fail(e);
        } catch (InternalError e) {
            if (!Mapping.isFault(e)) throw e;
            throw fail(e);
        } finally {
            exit();
            wakeGuard.endWait();
        }
    }

    /** Closes the link (idempotent, never throws); memory goes once in-flight calls return. */
    @Override
    public void close() {
        close("closed");
    }

    private void close(String reason) {
        while (true) {
            int u = (int) USERS.getVolatile(this);
            if ((u & CLOSED) != 0) return;
            if (closeReason == null) closeReason = reason;
            if (USERS.compareAndSet(this, u, u | CLOSED)) {
                // Wakes a thread asleep on readyFd; readyEvent (and its queue's descriptors, which
                // close it too) are closed by the guard once no thread can be asleep on it. The
                // mapped memory goes in release(), after the in-flight calls.
                wakeGuard.close();
                if (peer != null) peer.shutdown(); // wakes the watcher
                if (u == 0) release();
                return;
            }
        }
    }

    private void release() {
        try {
            txMem.close();
            rxMem.close();
            boolean readyIsRx = readyEvent == rxEvent;
            (readyIsRx ? txEvent : rxEvent).close();
            (readyIsRx ? txConfig : rxConfig).close();
            // readyEvent and its queue's descriptors: the wake-up guard's, see close()
            if (peer != null) peer.close();
        } finally {
            released.countDown();
        }
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
        enter();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment b = a.allocate(1);
            b.set(ValueLayout.JAVA_BYTE, 0, ShmHandshake.DONE);
            peer.send(b, 1);
        } finally {
            exit();
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
