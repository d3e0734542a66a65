package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import ringlink.link.Offloads;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.sys.SysException;
import ringlink.sys.UnixSocket;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestAllocator;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.PackedQueueDriver;
import ringlink.virtio.PackedRing;
import ringlink.virtio.SplitQueueDriver;
import ringlink.virtio.SplitRing;
import ringlink.virtio.VirtqueueDriver;

/**
 * A vhost-user front-end: we are the virtio-net driver (like QEMU or DPDK virtio-user) and the
 * back-end is the device. We allocate one memfd holding every ring and buffer, negotiate, hand
 * the back-end the memory table, the rings and a kick/call eventfd pair per ring, and expose each
 * queue pair as a {@link ringlink.link.Link} ({@link #link(int)}).
 *
 * <p>Guest addresses are our own virtual addresses (guest address = user address), which is what
 * DPDK's virtio-user does too, so a back-end translates ring and buffer addresses the same way.
 */
public final class VhostUserFrontend implements AutoCloseable {
    private final String name;
    private final FrontendConfig config;
    private volatile Connection conn;
    private final Path connectPath; // connect mode: where to reconnect
    private Thread watcher;
    private volatile int sessions = 1;
    private final Path socketPath; // listening mode: removed on close
    private final Fd memFd;
    private final Mapping mapping;
    private final GuestMemory memory;
    private final FrontendLink[] links;
    private final EventFd[] kicks, calls;
    private final VirtqueueDriver[] queues;
    private long features;
    private Fd inflightFd;
    private long inflightSize, inflightOffset;
    private long protocol;
    private volatile boolean closed;

    private VhostUserFrontend(String name, FrontendConfig config, Connection conn, Path socketPath) throws IOException {
        this(name, config, conn, socketPath, null);
    }

    private VhostUserFrontend(String name, FrontendConfig config, Connection conn, Path socketPath, Path connectPath)
            throws IOException {
        this.connectPath = connectPath;
        this.name = name;
        this.config = config;
        this.conn = conn;
        this.socketPath = socketPath;
        int nq = config.queuePairs() * 2;
        int qs = config.queueSize();
        this.kicks = new EventFd[nq];
        this.calls = new EventFd[nq];
        this.queues = new VirtqueueDriver[nq];
        this.links = new FrontendLink[config.queuePairs()];
        Fd fd = null;
        Mapping map = null;
        try {
            negotiate();
            FeatureSet f = new FeatureSet(features);
            boolean gsoIn = f.has(NET_GUEST_TSO4) || f.has(NET_GUEST_TSO6) || f.has(NET_GUEST_USO4);
            boolean gsoOut = f.has(NET_HOST_TSO4) || f.has(NET_HOST_TSO6) || f.has(NET_HOST_USO);
            int hdr = FrontendLink.hdrSize(f);
            int rxBuf = f.has(NET_MRG_RXBUF) || !gsoIn ? 2048 : 65536 + 256;
            int txBuf = gsoOut ? 65536 + 256 : 2048;
            long perPair = 2L * (16L * qs + 8L * qs + 4096 + 128) + (long) qs * (rxBuf + txBuf);
            long size = (perPair * config.queuePairs() + 4096 + 0x1fffff) & ~0x1fffffL;
            fd = MemFd.create("ringlink-vhost-user", size);
            map = Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                    "vhost-user front-end memory");
            GuestMemory.Region region = GuestMemory.Region.identity(map.segment());
            GuestMemory mem = GuestMemory.of(region);
            GuestAllocator alloc = new GuestAllocator(region);
            for (int q = 0; q < nq; q++) {
                if (config.packed()) {
                    queues[q] = new PackedQueueDriver(PackedRing.allocate(mem, alloc, qs), f);
                } else {
                    queues[q] = new SplitQueueDriver(SplitRing.allocate(mem, alloc, qs), f);
                }
                // Shared with the back-end, which may clear O_NONBLOCK on them or fill their
                // counters: their signal/drain are the kind that cannot block (EventFd).
                kicks[q] = EventFd.createShared();
                calls[q] = EventFd.createShared();
            }
            for (int k = 0; k < links.length; k++) {
                long rxBase = alloc.allocate((long) qs * rxBuf, 64);
                long txBase = alloc.allocate((long) qs * txBuf, 64);
                links[k] = new FrontendLink(this, k, f, queues[2 * k], queues[2 * k + 1], calls[2 * k], kicks[2 * k],
                        kicks[2 * k + 1], mem, rxBase, rxBuf, txBase, txBuf, hdr);
            }
            this.memFd = fd;
            this.mapping = map;
            this.memory = mem;
            setUp();
            for (FrontendLink l : links) l.start();
        } catch (IOException | RuntimeException e) {
            for (EventFd x : kicks) if (x != null) x.close();
            for (EventFd x : calls) if (x != null) x.close();
            if (map != null) map.close();
            if (fd != null) fd.close();
            conn.close();
            throw e;
        }
    }

    /** Connects to a back-end listening on {@code path} (DPDK net_vhost's default, our listening back-end). */
    public static VhostUserFrontend connect(Path path, FrontendConfig config) throws IOException {
        return new VhostUserFrontend("vhost-user:" + path, config, Connection.connect(path), null, path);
    }

    /**
     * Like {@link #connect} and, when the back-end goes away (restart, crash), reconnects to the
     * same path and resumes every ring where the back-end had got to, while the links stay up:
     * packets transmitted meanwhile wait in the TX ring and are delivered after the reconnect.
     *
     * <p>Each new back-end gets the same memory, rings and eventfds, the inflight buffer (with
     * {@link FrontendConfig#inflight()}) and SET_VRING_BASE at the driver's used position: for a
     * split ring used.idx, for a packed ring the used position with its wrap counter in bit 15.
     * Every chain after that point is taken again; our back-ends complete in order, so none
     * before it is repeated.
     *
     * <p>Packed rings need {@link FrontendConfig#inflight()}: a packed ring has no used index in
     * shared memory, so the driver's used position can lag what the back-end published, and a
     * back-end that died between writing used descriptors and publishing them has overwritten
     * the slots it would re-read. The inflight buffer holds the committed used position and
     * copies of the chains in flight, from which the next back-end recovers.
     *
     * @throws IllegalArgumentException for packed rings without inflight tracking
     */
    public static VhostUserFrontend connectReconnecting(Path path, FrontendConfig config) throws IOException {
        if (config.packed() && !config.inflight()) {
            throw new IllegalArgumentException(
                    "reconnect with packed rings needs inflight tracking (FrontendConfig.withInflight(true))");
        }
        VhostUserFrontend fe = connect(path, config);
        fe.startWatcher();
        return fe;
    }

    /** How many back-end connections this front-end has had (1 + reconnects). */
    public int sessions() { return sessions; }

    private void startWatcher() {
        watcher = new Thread(() -> {
            long backoff = 10;
            while (!closed) {
                try {
                    Connection c = conn;
                    if (!c.isClosed()) {
                        // events 0: poll reports only POLLHUP/POLLERR, i.e. the back-end went away
                        int rev = ringlink.sys.PollSet.pollOne(c.socket().fd(), 0, 200);
                        if (rev == 0 || closed) continue;
                        c.close();
                    }
                    resume(Connection.connect(connectPath));
                    sessions++;
                    backoff = 10;
                } catch (IOException | RuntimeException | Error e) {
                    // Any Throwable while (re)connecting one back-end (an Error included) ends that
                    // attempt only: the watcher keeps watching and retrying.
                    if (!closed && !(e instanceof VhostUserException.SocketConnect)) {
                        System.getLogger("ringlink.vhostuser.frontend").log(System.Logger.Level.WARNING,
                                name + ": reconnect failed, retrying: " + e, e instanceof IOException ? null : e);
                    }
                    try {
                        Thread.sleep(backoff);
                    } catch (InterruptedException ie) {
                        return;
                    }
                    backoff = Math.min(backoff * 2, 500);
                }
            }
        }, "ringlink-vhost-user-frontend[" + name + "]");
        watcher.setDaemon(true);
        watcher.start();
    }

    /** Handshake with a new back-end over the existing rings, resuming at each ring's used index. */
    private synchronized void resume(Connection c) throws IOException {
        conn = c;
        try {
            long before = features;
            negotiate();
            if (features != before) {
                throw new VhostUserException.FeatureMismatch("the restarted back-end negotiates 0x"
                        + Long.toHexString(features)
                        + ", before it was 0x" + Long.toHexString(before));
            }
            setUp();
        } catch (IOException | RuntimeException | Error e) {
            c.close(); // half set up: the watcher reconnects
            throw e;
        }
    }

    /**
     * Listens on {@code path} and waits up to {@code timeoutMillis} for a back-end to connect
     * (QEMU's {@code server=on}; DPDK net_vhost with {@code client=1}).
     */
    public static VhostUserFrontend listen(Path path, FrontendConfig config, int timeoutMillis) throws IOException {
        try (UnixSocket l = UnixSocket.listen(path, UnixSocket.SOCK_STREAM, 1)) {
            UnixSocket s = l.accept(timeoutMillis);
            if (s == null) {
                Files.deleteIfExists(path);
                throw new VhostUserException.SocketConnect("no back-end connected to " + path + " within "
                        + timeoutMillis + " ms", null);
            }
            return new VhostUserFrontend("vhost-user:" + path, config, new Connection(s), path);
        }
    }

    /** A front-end over an already connected socket (socketpair). */
    public static VhostUserFrontend over(Connection connection, FrontendConfig config) throws IOException {
        return new VhostUserFrontend("vhost-user:" + connection.what(), config, connection, null);
    }

    /** The front-end's name (its socket), used in messages. */
    public String name() { return name; }

    /** The link of queue pair {@code pair}. */
    public FrontendLink link(int pair) { return links[pair]; }

    /** The negotiated virtio features. */
    public FeatureSet features() { return new FeatureSet(features); }

    /** The negotiated protocol features. */
    public long protocolFeatures() { return protocol; }

    private boolean replyAck() { return (protocol & ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)) != 0; }

    /** Sends a request without a reply of its own; with REPLY_ACK waits for the back-end's verdict. */
    private void send(Request r, byte[] payload, Fd... fds) throws VhostUserException {
        boolean ack = replyAck();
        Message m = new Message(r.code, MessageCodec.VERSION | (ack ? MessageCodec.FLAG_NEED_REPLY : 0), payload, fds);
        conn.send(m);
        if (ack) {
            Message rep = conn.receive(Connection.replyTimeoutMillis());
            try {
                MessageCodec.validateReply(rep, r.code, 8);
                if (rep.size() != 8) throw new VhostUserException.InvalidMessage("REPLY_ACK to " + r + " of "
                        + rep.size() + " bytes");
                long status = Payload.u64(rep);
                if (status != 0) {
                    throw new VhostUserException.InvalidOperation("back-end rejected " + r + " (reply " + status + ")");
                }
            } finally {
                rep.closeFds();
            }
        }
    }

    /** Sends a request that has a reply and returns it (its size checked against {@code min..max}). */
    private Message call(Request r, byte[] payload, int min, int max) throws VhostUserException {
        conn.send(Message.request(r, payload));
        Message rep = conn.receive(Connection.replyTimeoutMillis());
        MessageCodec.validateReply(rep, r.code, max);
        if (rep.size() < min) {
            rep.closeFds();
            throw new VhostUserException.InvalidMessage("reply to " + r + " of " + rep.size()
                    + " bytes, expected at least " + min);
        }
        return rep;
    }

    private void negotiate() throws VhostUserException {
        protocol = 0; // a new connection starts without REPLY_ACK
        send(Request.SET_OWNER, new byte[0]);
        long offered = Payload.u64(call(Request.GET_FEATURES, new byte[0], 8, 8));
        // IN_ORDER where offered: our drivers complete a batch from one used entry (DPDK's vhost
        // and our back-end return a transmit batch that way).
        FeatureSet want = FeatureSet.of(VERSION_1, EVENT_IDX, IN_ORDER);
        if (config.mrgRxbuf()) want = want.with(NET_MRG_RXBUF);
        if (config.packed()) want = want.with(RING_PACKED);
        if (config.queuePairs() > 1) want = want.with(NET_MQ);
        Offloads o = config.offloads();
        if (o.has(Offloads.CSUM)) want = want.with(NET_CSUM, NET_GUEST_CSUM);
        if (o.has(Offloads.TSO4)) want = want.with(NET_HOST_TSO4, NET_GUEST_TSO4);
        if (o.has(Offloads.TSO6)) want = want.with(NET_HOST_TSO6, NET_GUEST_TSO6);
        if (o.has(Offloads.USO)) want = want.with(NET_HOST_USO, NET_GUEST_USO4, NET_GUEST_USO6);
        if (o.has(Offloads.TSO_ECN)) want = want.with(NET_HOST_ECN, NET_GUEST_ECN);
        if (config.packed() && (offered & RING_PACKED.mask()) == 0) {
            throw new VhostUserException.FeatureMismatch(
                    "packed rings requested but the back-end does not offer VIRTIO_F_RING_PACKED");
        }
        if (config.queuePairs() > 1 && (offered & NET_MQ.mask()) == 0) {
            throw new VhostUserException.FeatureMismatch(config.queuePairs()
                    + " queue pairs requested but the back-end does not offer MQ");
        }
        long f = want.bits() & offered;
        if ((offered & ProtocolFeature.F_PROTOCOL_FEATURES) != 0) {
            f |= ProtocolFeature.F_PROTOCOL_FEATURES;
            long theirs = Payload.u64(call(Request.GET_PROTOCOL_FEATURES, new byte[0], 8, 8));
            long ours = ProtocolFeature.bit(ProtocolFeature.MQ) | ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)
                    | (config.inflight() ? ProtocolFeature.bit(ProtocolFeature.INFLIGHT_SHMFD) : 0);
            long p = ours & theirs;
            send(Request.SET_PROTOCOL_FEATURES, Message.ofU64(p));
            protocol = p;
            if (config.queuePairs() > 1) {
                if ((p & ProtocolFeature.bit(ProtocolFeature.MQ)) == 0) {
                    throw new VhostUserException.FeatureMismatch("multiple queues need protocol feature MQ");
                }
                long max = Payload.u64(call(Request.GET_QUEUE_NUM, new byte[0], 8, 8));
                if (max < config.queuePairs()) {
                    throw new VhostUserException.FeatureMismatch("back-end supports " + max + " queue pairs, asked for "
                            + config.queuePairs());
                }
            }
        } else if (config.queuePairs() > 1) {
            throw new VhostUserException.FeatureMismatch("multiple queues need VHOST_USER_F_PROTOCOL_FEATURES");
        }
        send(Request.SET_FEATURES, Message.ofU64(f));
        features = f;
    }

    private void setUp() throws VhostUserException {
        sendMemTable();
        if (config.inflight()) setUpInflight();
        setUpRings();
    }

    /**
     * SET_MEM_TABLE with our one region (guest address = user address = our mapping). Sent
     * again by tests: the back-end then rebuilds its running rings and unmaps the old mapping
     * while its data threads may be mid-batch.
     */
    void sendMemTable() throws VhostUserException {
        byte[] mt = Payload.encodeMemoryTable(
                new Payload.MemoryRegion(mapping.address(), mapping.length(), mapping.address(), 0));
        send(Request.SET_MEM_TABLE, mt, memFd);
    }

    private void setUpRings() throws VhostUserException {
        for (int q = 0; q < queues.length; q++) {
            send(Request.SET_VRING_CALL, Message.ofU64(q), calls[q].fd());
            send(Request.SET_VRING_NUM, new Payload.VringState(q, config.queueSize()).encode());
            send(Request.SET_VRING_BASE, new Payload.VringState(q, resumeBase(q)).encode());
            long d, av, u;
            if (queues[q] instanceof SplitQueueDriver sd) {
                d = sd.ring().descAddress();
                av = sd.ring().availAddress();
                u = sd.ring().usedAddress();
            } else {
                PackedRing pr = ((PackedQueueDriver) queues[q]).ring();
                d = pr.descAddress();
                av = pr.driverEventAddress();
                u = pr.deviceEventAddress();
            }
            var addr = new Payload.VringAddr(q, 0, memory.guestToUser(d, 1), memory.guestToUser(u, 1),
                    memory.guestToUser(av, 1), 0);
            send(Request.SET_VRING_ADDR, addr.encode());
            send(Request.SET_VRING_KICK, Message.ofU64(q), kicks[q].fd());
        }
        if ((features & ProtocolFeature.F_PROTOCOL_FEATURES) != 0) {
            for (int q = 0; q < queues.length; q++)
                    send(Request.SET_VRING_ENABLE, new Payload.VringState(q, 1).encode());
        }
    }

    /**
     * INFLIGHT_SHMFD: the first back-end allocates the buffer (GET_INFLIGHT_FD); it is handed to
     * that back-end and every later one with SET_INFLIGHT_FD, which is how a restarted back-end
     * learns what its predecessor had in flight.
     */
    private void setUpInflight() throws VhostUserException {
        if ((protocol & ProtocolFeature.bit(ProtocolFeature.INFLIGHT_SHMFD)) == 0) {
            throw new VhostUserException.FeatureMismatch(
                    "inflight tracking requested but the back-end does not offer INFLIGHT_SHMFD");
        }
        if (inflightFd == null) {
            byte[] q = new Payload.InflightArea(0, 0, queues.length, config.queueSize()).encode();
            conn.send(Message.request(Request.GET_INFLIGHT_FD, q));
            Message rep = conn.receive(Connection.replyTimeoutMillis());
            MessageCodec.validateReply(rep, Request.GET_INFLIGHT_FD.code, 24);
            if (rep.size() < 20 || rep.fdCount() != 1) {
                rep.closeFds();
                throw new VhostUserException.InvalidMessage("GET_INFLIGHT_FD reply of " + rep.size() + " bytes with "
                        + rep.fdCount() + " fds");
            }
            inflightFd = rep.takeFd(0);
            Payload.InflightArea got = Payload.InflightArea.decode(rep);
            inflightSize = got.mmapSize();
            inflightOffset = got.mmapOffset();
        }
        byte[] p = new Payload.InflightArea(inflightSize, inflightOffset, queues.length, config.queueSize()).encode();
        send(Request.SET_INFLIGHT_FD, p, inflightFd);
    }

    /** The inflight buffer's fd (null unless {@link FrontendConfig#inflight()}); for tests. */
    Fd inflightFd() { return inflightFd; }

    long inflightSize() { return inflightSize; }

    /**
     * Where the device resumes: 0 (split) / position 0 with wrap counter 1 (packed) on a fresh
     * ring; on a reconnect, the split ring's used index, since our back-ends (and DPDK's) complete
     * in order: every chain after it is re-read, none before it repeated. For a packed ring the
     * driver's used position and wrap counter (bit 15); the back-end's inflight region, which
     * knows what was published but not yet collected, takes precedence over it.
     */
    private int resumeBase(int q) {
        if (queues[q] instanceof SplitQueueDriver sd) {
            return Vring.usedIdx(sd.ring());
        }
        return links[q / 2].packedResumeBase(q % 2 == 0);
    }

    /**
     * Asks the back-end for a ring's position (GET_VRING_BASE), which also stops that ring.
     * For tests of ring-state semantics.
     */
    public int getVringBase(int index) throws VhostUserException {
        Message rep = call(Request.GET_VRING_BASE, new Payload.VringState(index, 0).encode(), 8, 8);
        return Payload.VringState.decode(rep).num();
    }

    /** Sends a raw message (tests of the back-end's validation). */
    public void sendRaw(Message m) throws VhostUserException {
        conn.send(m);
    }

    /** The kick eventfd of vring {@code q} (tests re-start rings with it). */
    EventFd kickFd(int q) { return kicks[q]; }

    /** The control connection. */
    public Connection connection() { return conn; }

    /** True until {@link #close} was called. */
    public boolean isOpen() { return !closed; }

    /** Closes the connection (the back-end stops our rings), then frees rings, buffers and eventfds. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        conn.close();
        if (watcher != null) {
            try {
                watcher.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (FrontendLink l : links) if (l != null) l.free();
        for (EventFd x : kicks) if (x != null) x.close();
        // The RX calls (even queues) are the links' readyFds: their LinkStates close them.
        for (int q = 1; q < calls.length; q += 2) if (calls[q] != null) calls[q].close();
        mapping.close();
        memFd.close();
        if (inflightFd != null) inflightFd.close();
        if (socketPath != null) {
            try {
                Files.deleteIfExists(socketPath);
            } catch (IOException ignored) {
                // best effort
            }
        }
    }

    static void kick(EventFd k) {
        try {
            k.signal();
        } catch (SysException | ringlink.sys.ClosedFdException ignored) {
            // closing
        }
    }
}
