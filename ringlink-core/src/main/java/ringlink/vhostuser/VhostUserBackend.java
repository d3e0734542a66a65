package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import ringlink.link.Offloads;
import ringlink.sys.UnixSocket;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.VirtioFeature;
import ringlink.virtio.VirtqueueDevice;
import ringlink.virtio.VirtqueueException;

/**
 * A vhost-user back-end: we are the virtio-net device, the front-end (QEMU, DPDK virtio-user,
 * {@link VhostUserFrontend}) is the driver. Each queue pair is a {@link ringlink.link.Link}
 * ({@link #link(int)}): what the guest transmits on its TX queue we receive, what we transmit
 * goes into the guest's RX queue.
 *
 * <p>One control thread reads the front-end's messages and applies them; data-path threads (one
 * per queue pair) call the links. A connection that breaks the protocol gets a clear
 * {@link VhostUserException}, is closed, and its rings stop; a listening back-end then accepts
 * the next front-end (reconnect), a connecting one reconnects. The links stay valid throughout:
 * while no front-end is connected they receive nothing and drop what they are given.
 *
 * <p>Offered virtio features: VERSION_1, EVENT_IDX, INDIRECT_DESC, IN_ORDER, NET_MRG_RXBUF,
 * NET_MTU, NET_MAC, NET_STATUS, VHOST_USER_F_PROTOCOL_FEATURES, VHOST_F_LOG_ALL, plus
 * RING_PACKED, NET_MQ and the checksum/TSO/USO/ECN offloads as {@link BackendConfig} says.
 * Protocol features: MQ, LOG_SHMFD, RARP, REPLY_ACK, MTU, BACKEND_REQ, CONFIG, RESET_DEVICE,
 * CONFIGURE_MEM_SLOTS, STATUS, INFLIGHT_SHMFD.
 *
 * <p>Live migration (VHOST_F_LOG_ALL with LOG_SHMFD): once the front-end has given a dirty log
 * (SET_LOG_BASE, a bitmap in shared memory) and acked VHOST_F_LOG_ALL, every guest page the
 * back-end writes is marked in it: the bytes of RX buffers, and the used ring (split, at the
 * ring's {@code log_guest_addr} when VHOST_VRING_F_LOG is set) or the descriptor ring and device
 * event area (packed). Logging off costs the data path one field read per call.
 */
public final class VhostUserBackend implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("ringlink.vhostuser.backend");

    /** Most regions ADD_MEM_REG may build up (GET_MAX_MEM_SLOTS). */
    static final int MAX_MEM_SLOTS = 32;

    private final String name;
    private final BackendConfig config;
    final Vring[] vrings;
    private final BackendLink[] links;
    private final long offeredFeatures;
    private final long offeredProtocol;
    private final UnixSocket listener; // server mode, else null
    private final Path connectPath;    // client mode, else null
    private final Path socketPath;     // removed on close if we created it
    private final Thread thread;
    private final CountDownLatch firstSession = new CountDownLatch(1);

    private volatile boolean closed;
    /**
     * Set for good once a front-end gave us a file (memory region, dirty log, inflight buffer)
     * that can shrink under our mapping (not sealed with F_SEAL_SHRINK, and not sealable): from
     * then on the data path ends each call with {@link ringlink.sys.Mapping#deliverFaults}, so a
     * truncation's fault is raised in the link's own try block (issue #15).
     */
    volatile boolean shrinkable;
    private volatile Connection conn;
    private volatile VhostUserException lastError;
    /** Test seam: run on the control thread for each message before it is handled (null: none). */
    volatile java.util.function.Consumer<Message> onMessage;
    private volatile int sessions;

    /** The current connection's state; replaced by a fresh one when the connection ends. */
    private volatile Session session = new Session();
    /** NET_SET_MTU's value; kept across connections (the guest's MTU does not change with them). */
    private int guestMtu;
    private volatile int logBases;    // SET_LOG_BASE messages applied (all sessions)
    private volatile DirtyLog lastLog; // for tests: the log most recently installed
    private volatile FeatureSet lastNegotiated = FeatureSet.NONE;
    private final Rings rings;
    private final BackendRequests requests;

    private VhostUserBackend(String name, BackendConfig config, UnixSocket listener, Path connectPath, Path socketPath,
                             Connection given) throws IOException {
        this(name, config, listener, connectPath, socketPath, given, true);
    }

    private VhostUserBackend(String name, BackendConfig config, UnixSocket listener, Path connectPath, Path socketPath,
                             Connection given, boolean startThread) throws IOException {
        this.name = name;
        this.config = config;
        this.listener = listener;
        this.connectPath = connectPath;
        this.socketPath = socketPath;
        int n = config.queuePairs() * 2;
        this.vrings = new Vring[n];
        for (int i = 0; i < n; i++) vrings[i] = new Vring(i);
        this.links = new BackendLink[config.queuePairs()];
        try {
            for (int k = 0; k < links.length; k++)
                    links[k] = new BackendLink(this, k, vrings[2 * k], vrings[2 * k + 1]);
        } catch (IOException e) {
            for (BackendLink l : links) if (l != null) l.free();
            throw e;
        }
        this.offeredFeatures = offered(config);
        this.offeredProtocol = ProtocolFeature.bit(ProtocolFeature.MQ) | ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)
                | ProtocolFeature.bit(ProtocolFeature.MTU) | ProtocolFeature.bit(ProtocolFeature.RARP)
                | ProtocolFeature.bit(ProtocolFeature.BACKEND_REQ) | ProtocolFeature.bit(ProtocolFeature.CONFIG)
                | ProtocolFeature.bit(ProtocolFeature.RESET_DEVICE)
                        | ProtocolFeature.bit(ProtocolFeature.CONFIGURE_MEM_SLOTS)
                | ProtocolFeature.bit(ProtocolFeature.STATUS) | ProtocolFeature.bit(ProtocolFeature.INFLIGHT_SHMFD)
                | ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD);
        this.rings = new Rings(name, vrings, links);
        this.requests = new BackendRequests(this, rings);
        this.conn = given;
        if (startThread) {
            this.thread = new Thread(this::run, "ringlink-vhost-user[" + name + "]");
            thread.setDaemon(true);
            thread.start();
        } else {
            this.thread = null;
        }
    }

    private static long offered(BackendConfig c) {
        // IN_ORDER: both data paths already use buffers in the order they were made available
        // (receive pushes what it popped, in order; transmit keeps popped RX chains in a FIFO), so
        // offering it only lets the front-end use its in-order paths and lets the packed device
        // return a receive batch as one used descriptor (PackedQueueDevice).
        // VHOST_LOG_ALL (with protocol feature LOG_SHMFD): we mark the guest pages we write in
        // the front-end's dirty log, so QEMU can live-migrate a guest using this back-end.
        FeatureSet f = FeatureSet.of(VERSION_1, EVENT_IDX, INDIRECT_DESC, IN_ORDER, NET_MRG_RXBUF, NET_MTU, NET_MAC,
                NET_STATUS,
                VHOST_USER_PROTOCOL_FEATURES, VHOST_LOG_ALL);
        if (c.packed()) f = f.with(RING_PACKED);
        if (c.queuePairs() > 1) f = f.with(NET_MQ);
        Offloads o = c.offloads();
        if (o.has(Offloads.CSUM)) f = f.with(NET_CSUM, NET_GUEST_CSUM);
        if (o.has(Offloads.TSO4)) f = f.with(NET_HOST_TSO4, NET_GUEST_TSO4);
        if (o.has(Offloads.TSO6)) f = f.with(NET_HOST_TSO6, NET_GUEST_TSO6);
        if (o.has(Offloads.USO)) f = f.with(NET_HOST_USO, NET_GUEST_USO4, NET_GUEST_USO6);
        if (o.has(Offloads.TSO_ECN)) f = f.with(NET_HOST_ECN, NET_GUEST_ECN);
        return f.bits();
    }

    /** A back-end listening on {@code path} (front-end in client mode, e.g. DPDK virtio-user's default). */
    public static VhostUserBackend listen(Path path, BackendConfig config) throws IOException {
        UnixSocket l;
        try {
            l = UnixSocket.listen(path, UnixSocket.SOCK_STREAM, 4);
        } catch (ringlink.sys.SysException e) {
            throw new VhostUserException.SocketConnect("listen on " + path + ": " + e.getMessage(), e);
        }
        try {
            return new VhostUserBackend("vhost-user:" + path, config, l, null, path, null);
        } catch (IOException | RuntimeException e) {
            l.close();
            throw e;
        }
    }

    /**
     * A back-end that connects to a front-end listening on {@code path} (QEMU {@code server=on}),
     * retrying until it is there and reconnecting after the front-end goes away.
     */
    public static VhostUserBackend connect(Path path, BackendConfig config) throws IOException {
        return new VhostUserBackend("vhost-user:" + path, config, null, path, null, null);
    }

    /** A back-end serving one already connected socket (socketpair); it ends with that connection. */
    public static VhostUserBackend serve(Connection connection, BackendConfig config) throws IOException {
        return new VhostUserBackend("vhost-user:" + connection.what(), config, null, null, null, connection);
    }

    /**
     * A back-end without a connection or control thread: requests are applied with
     * {@link #apply(Message)} by the caller (the fuzz harness and unit tests of the state machine).
     */
    static VhostUserBackend detached(BackendConfig config) throws IOException {
        return new VhostUserBackend("vhost-user:detached", config, null, null, null, null, false);
    }

    /**
     * Validates and applies one request as the control thread would; returns the reply (REPLY_ACK
     * included) or null. On an error the session state is reset, as when a connection closes.
     */
    Message apply(Message m) throws VhostUserException {
        try {
            Request r = MessageCodec.validateRequest(m);
            Message reply = requests.handle(session, r, m);
            if (reply == null && m.needsReply() && session.replyAck())
                    reply = Message.reply(m.requestCode(), Message.ofU64(0));
            return reply;
        } catch (VhostUserException e) {
            lastError = e;
            endSession(null);
            throw e;
        } finally {
            m.closeFds();
        }
    }

    /** Ends the detached session (unmaps memory, closes ring fds). */
    void resetSession() {
        endSession(null);
    }

    /** The back-end's name (its spec), used in messages. */
    public String name() { return name; }

    /** What this back-end offers. */
    public BackendConfig config() { return config; }

    /** The link of queue pair {@code pair} (RX queue 2·pair, TX queue 2·pair+1). */
    public BackendLink link(int pair) { return links[pair]; }

    /** The features the front-end acknowledged (SET_FEATURES). */
    public FeatureSet features() { return session.features; }

    /** The features of the most recent SET_FEATURES, kept after the front-end leaves. */
    public FeatureSet lastNegotiated() { return lastNegotiated; }

    /** The protocol features negotiated. */
    public long protocolFeatures() { return session.ackedProtocol; }

    /** The error that ended the last connection, or null. */
    public VhostUserException lastError() { return lastError; }

    /** How many front-end connections have been served (reconnects included). */
    public int sessions() { return sessions; }

    /** True while a front-end is connected. */
    public boolean connected() { return conn != null; }

    /** Waits until every queue pair of the first {@code pairs} is started and enabled. */
    public boolean awaitReady(int pairs, long timeoutMillis) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (System.nanoTime() < end) {
            if (rings.ready(pairs)) return true;
            Thread.sleep(10);
        }
        return false;
    }

    // ---------------------------------------------------------------- control thread

    private void run() {
        long backoff = 10;
        while (!closed) {
            Connection c = conn;
            try {
                if (c == null) {
                    if (listener != null) {
                        UnixSocket s = listener.accept(200);
                        if (s == null) continue;
                        c = new Connection(s);
                    } else if (connectPath != null) {
                        try {
                            c = Connection.connect(connectPath);
                            backoff = 10;
                        } catch (VhostUserException.SocketConnect e) {
                            Thread.sleep(backoff);
                            backoff = Math.min(backoff * 2, 1000);
                            continue;
                        }
                    } else {
                        return; // served connection ended
                    }
                    conn = c;
                }
                sessions++;
                firstSession.countDown();
                serve(c);
            } catch (InterruptedException e) {
                return;
            } catch (IOException e) {
                if (!closed) LOG.log(System.Logger.Level.WARNING, name + ": " + e.getMessage());
            } catch (RuntimeException | Error e) {
                // Anything else thrown while serving one connection (accept, a hook, endSession of
                // a previous one) ends that connection only; the thread goes on with the next.
                if (!closed) {
                    lastError = new VhostUserException.InvalidMessage("control thread: " + e, e);
                    LOG.log(System.Logger.Level.ERROR, name + ": control thread error, closing the connection", e);
                }
                if (c != null) c.close();
            } finally {
                if (c != null) {
                    try {
                        endSession(c);
                    } catch (RuntimeException | Error e) {
                        // Clean-up of a broken session failed half-way: the thread must still go on.
                        LOG.log(System.Logger.Level.ERROR, name + ": ending the session failed", e);
                        c.close();
                        conn = null;
                    }
                }
                if (listener == null && connectPath == null) closed = true;
            }
        }
    }

    private void serve(Connection c) {
        // A listening back-end serves one front-end at a time: a new connection must begin its
        // first message within the bound, or it is dropped and the next one is accepted.
        boolean first = listener != null;
        while (!closed) {
            Message m;
            try {
                m = c.receive(first ? Connection.firstMessageTimeoutMillis() : -1);
                first = false;
            } catch (VhostUserException e) {
                // A connection we closed ourselves (ring failure, disconnect()) keeps the reason we had.
                if (!closed && !c.isClosed()) {
                    lastError = e;
                    if (e.isDisconnect())
                            LOG.log(System.Logger.Level.INFO, name + ": front-end left: " + e.getMessage());
                    else LOG.log(System.Logger.Level.WARNING, name + ": closing connection: " + e.getMessage());
                }
                return;
            }
            try {
                java.util.function.Consumer<Message> hook = onMessage;
                if (hook != null) hook.accept(m);
                Request r = MessageCodec.validateRequest(m);
                Session s = session;
                Message reply = requests.handle(s, r, m);
                // a fault while handling m is raised here, not later
                if (shrinkable) ringlink.sys.Mapping.deliverFaults();
                if (reply != null) {
                    try {
                        c.send(reply);
                    } finally {
                        reply.closeFds(); // descriptors we handed out (GET_INFLIGHT_FD) are the peer's now
                    }
                } else if (m.needsReply() && s.replyAck()) {
                    c.send(Message.reply(m.requestCode(), Message.ofU64(0)));
                }
            } catch (VhostUserException e) {
                lastError = e;
                LOG.log(System.Logger.Level.WARNING, name + ": closing connection: " + e.getMessage());
                if (m.needsReply() && session.replyAck()) {
                    try {
                        c.send(Message.reply(m.requestCode(), Message.ofU64(1)));
                    } catch (VhostUserException ignored) {
                        // the connection is being closed anyway
                    }
                }
                return;
            } catch (InternalError e) {
                // A file the front-end shrank under our mapping (rings, inflight, log): SIGBUS.
                if (VirtqueueException.isMemoryFault(e)) {
                    lastError = new VhostUserException.InvalidParam(m + ": "
                            + VirtqueueException.memoryFault(e, "control thread").getMessage(), e);
                    LOG.log(System.Logger.Level.WARNING, name + ": closing connection: " + lastError.getMessage());
                } else {
                    internalError(m, e);
                }
                return;
            } catch (RuntimeException | Error e) {
                internalError(m, e);
                return;
            } finally {
                m.closeFds();
            }
        }
    }

    /**
     * A bug of ours, or an Error while handling one message (OutOfMemoryError for a huge
     * mapping's bookkeeping, InternalError, StackOverflowError), must not take the back-end
     * down: report it and end this session; the caller keeps serving the next front-end.
     */
    private void internalError(Message m, Throwable e) {
        lastError = new VhostUserException.InvalidMessage("internal error on " + m + ": " + e, e);
        LOG.log(System.Logger.Level.ERROR, name + ": internal error handling " + m + ", closing the connection", e);
    }

    /**
     * Ends a connection: stops and forgets every ring (under its lock), then drops the session
     * with everything the front-end handed over (memory, inflight buffer, log, descriptors).
     */
    private void endSession(Connection c) {
        rings.resetAll();
        Session old = session;
        session = new Session();
        old.close();
        if (c != null) c.close();
        conn = null;
    }

    long offeredFeatures() { return offeredFeatures; }

    long offeredProtocol() { return offeredProtocol; }

    /** SET_FEATURES was applied: the links take the header size and offloads from {@code f}. */
    void negotiated(FeatureSet f) {
        lastNegotiated = f;
        for (BackendLink l : links) l.featuresChanged(f);
    }

    /** SET_LOG_BASE installed {@code l}. */
    void logInstalled(DirtyLog l) {
        lastLog = l;
        logBases++;
    }

    void guestMtu(int mtu) { guestMtu = mtu; }

    /** SET_LOG_BASE messages applied so far (tests). */
    int logBases() { return logBases; }

    /** The most recently installed dirty log, or null (tests; it may be closed). */
    DirtyLog lastLog() { return lastLog; }

    /** Called by a link whose ring the guest broke: the whole connection goes (the spec has no per-ring reset). */
    void ringFailed(Vring v, VirtqueueException e) {
        lastError = new VhostUserException.InvalidParam("vring " + v.index + ": " + e.getMessage(), e);
        LOG.log(System.Logger.Level.WARNING,
                name + ": vring " + v.index + " failed, closing the connection: " + e.getMessage());
        Connection c = conn;
        if (c != null) c.close();
    }

    /** Called by a link whose write to the front-end's call eventfd blocked (and was released). */
    void callBlocked(Vring v) {
        Connection c = conn;
        if (c == null || c.isClosed()) return;
        lastError = new VhostUserException.IncorrectFds("vring " + v.index
                + ": a write to the front-end's call eventfd blocked"
                + " (O_NONBLOCK cleared, counter held full); released by the eventfd watchdog, closing the connection");
        LOG.log(System.Logger.Level.WARNING, name + ": " + lastError.getMessage());
        c.close();
    }

    /** Waits until a front-end has connected (at least once). */
    public boolean awaitConnection(long timeoutMillis) throws InterruptedException {
        return firstSession.await(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    /** Drops the current front-end (it may reconnect). */
    public void disconnect() {
        Connection c = conn;
        if (c != null) c.close();
    }

    /** True until {@link #close()}. */
    public boolean isOpen() { return !closed; }

    /** Closes the connection, stops the control thread, frees the links and removes the socket file. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Connection c = conn;
        if (c != null) c.close();
        if (listener != null) listener.close();
        if (thread != null) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            endSession(null);
        }
        for (BackendLink l : links) l.free();
        if (socketPath != null) {
            try {
                Files.deleteIfExists(socketPath);
            } catch (IOException ignored) {
                // best effort: a stale socket file is replaced by the next listen
            }
        }
    }

    int mtu() { return guestMtu > 0 ? guestMtu : config.mtu(); }

    /** The current front-end memory (tests that play a hostile device write through it), or null. */
    GuestMemory guestMemory() { return session.table.memory(); }

    static boolean has(FeatureSet f, VirtioFeature x) { return f.has(x); }

    VirtqueueDevice deviceOf(Vring v) { return v.dev; }
}
