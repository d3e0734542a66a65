package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import ringlink.link.Offloads;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.UnixSocket;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.GuestMemoryException;
import ringlink.virtio.PackedQueueDevice;
import ringlink.virtio.PackedRing;
import ringlink.virtio.SplitQueueDevice;
import ringlink.virtio.SplitRing;
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
    private volatile Connection conn;
    private volatile VhostUserException lastError;
    /** Test seam: run on the control thread for each message before it is handled (null: none). */
    volatile java.util.function.Consumer<Message> onMessage;
    private volatile int sessions;

    // Session state, touched by the control thread only (rings under their locks).
    private long ackedFeatures;
    private boolean featuresSet;
    private long ackedProtocol;
    private boolean protocolSet;
    private boolean owner;
    private MemoryTable table = MemoryTable.empty();
    private List<MemoryTable.Region> slotRegions = new ArrayList<>();
    private int status;
    private int guestMtu;
    private Connection backendChannel;
    private Inflight inflight;
    private DirtyLog dirtyLog;        // the log of the last SET_LOG_BASE, or null
    private Fd logEventFd;            // SET_LOG_FD's eventfd (kept, not signalled), or null
    private volatile int logBases;    // SET_LOG_BASE messages applied (all sessions)
    private volatile DirtyLog lastLog; // for tests: the log most recently installed
    private volatile FeatureSet features = FeatureSet.NONE;
    private volatile FeatureSet lastNegotiated = FeatureSet.NONE;

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
            for (int k = 0; k < links.length; k++) links[k] = new BackendLink(this, k, vrings[2 * k], vrings[2 * k + 1]);
        } catch (IOException e) {
            for (BackendLink l : links) if (l != null) l.free();
            throw e;
        }
        this.offeredFeatures = offered(config);
        this.offeredProtocol = ProtocolFeature.bit(ProtocolFeature.MQ) | ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)
                | ProtocolFeature.bit(ProtocolFeature.MTU) | ProtocolFeature.bit(ProtocolFeature.RARP)
                | ProtocolFeature.bit(ProtocolFeature.BACKEND_REQ) | ProtocolFeature.bit(ProtocolFeature.CONFIG)
                | ProtocolFeature.bit(ProtocolFeature.RESET_DEVICE) | ProtocolFeature.bit(ProtocolFeature.CONFIGURE_MEM_SLOTS)
                | ProtocolFeature.bit(ProtocolFeature.STATUS) | ProtocolFeature.bit(ProtocolFeature.INFLIGHT_SHMFD)
                | ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD);
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
        FeatureSet f = FeatureSet.of(VERSION_1, EVENT_IDX, INDIRECT_DESC, IN_ORDER, NET_MRG_RXBUF, NET_MTU, NET_MAC, NET_STATUS,
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
            Message reply = handle(r, m);
            if (reply == null && m.needsReply() && replyAck()) reply = Message.reply(m.requestCode(), Message.ofU64(0));
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
    public FeatureSet features() { return features; }

    /** The features of the most recent SET_FEATURES, kept after the front-end leaves. */
    public FeatureSet lastNegotiated() { return lastNegotiated; }

    /** The protocol features negotiated. */
    public long protocolFeatures() { return ackedProtocol; }

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
            boolean ok = true;
            for (int k = 0; k < pairs * 2; k++) {
                Vring v = vrings[k];
                if (!v.started() || !v.enabled) ok = false;
            }
            if (ok) return true;
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
                    if (e.isDisconnect()) LOG.log(System.Logger.Level.INFO, name + ": front-end left: " + e.getMessage());
                    else LOG.log(System.Logger.Level.WARNING, name + ": closing connection: " + e.getMessage());
                }
                return;
            }
            try {
                java.util.function.Consumer<Message> hook = onMessage;
                if (hook != null) hook.accept(m);
                Request r = MessageCodec.validateRequest(m);
                Message reply = handle(r, m);
                if (reply != null) {
                    try {
                        c.send(reply);
                    } finally {
                        reply.closeFds(); // descriptors we handed out (GET_INFLIGHT_FD) are the peer's now
                    }
                } else if (m.needsReply() && replyAck()) {
                    c.send(Message.reply(m.requestCode(), Message.ofU64(0)));
                }
            } catch (VhostUserException e) {
                lastError = e;
                LOG.log(System.Logger.Level.WARNING, name + ": closing connection: " + e.getMessage());
                if (m.needsReply() && replyAck()) {
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
                    lastError = new VhostUserException.InvalidParam(m + ": " + VirtqueueException.memoryFault(e, "control thread").getMessage(), e);
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

    /** Ends a connection: stops every ring, closes its descriptors, unmaps memory. */
    private void endSession(Connection c) {
        for (Vring v : vrings) {
            v.lock.lock();
            try {
                v.reset();
            } finally {
                v.lock.unlock();
            }
        }
        for (BackendLink l : links) l.ringsChanged();
        table.close();
        table = MemoryTable.empty();
        if (inflight != null) inflight.close();
        inflight = null;
        // The rings were reset above (their log references cleared) under their locks.
        if (dirtyLog != null) dirtyLog.close();
        dirtyLog = null;
        if (logEventFd != null) logEventFd.close();
        logEventFd = null;
        slotRegions = new ArrayList<>();
        ackedFeatures = 0;
        featuresSet = false;
        features = FeatureSet.NONE;
        ackedProtocol = 0;
        protocolSet = false;
        owner = false;
        status = 0;
        if (backendChannel != null) backendChannel.close();
        backendChannel = null;
        if (c != null) c.close();
        conn = null;
    }

    private boolean replyAck() {
        return (ackedProtocol & ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)) != 0;
    }

    /**
     * True once VHOST_USER_F_PROTOCOL_FEATURES is in effect: acked by SET_FEATURES, or (as QEMU
     * does before SET_FEATURES) protocol features were already exchanged with
     * SET_PROTOCOL_FEATURES, which is only legal when we offered the bit.
     */
    private boolean protocolNegotiated() {
        return (ackedFeatures & ProtocolFeature.F_PROTOCOL_FEATURES) != 0 || protocolSet;
    }

    private void requireProtocol(long bit, Request r) throws VhostUserException {
        if ((ackedProtocol & bit) == 0) {
            throw new VhostUserException.InvalidOperation(r + " needs protocol feature "
                    + ProtocolFeature.describe(bit) + ", which was not negotiated");
        }
    }

    /**
     * Takes the message's descriptor as a doorbell of the front-end: only a plain eventfd is
     * accepted (a pipe, socket, file or semaphore eventfd could block or never drain the thread
     * that reads or writes it: {@link EventFd#checkPeer}); anything else is closed and refused.
     */
    private static Fd peerEventFd(Message m, Request r, String what) throws VhostUserException {
        Fd fd = m.takeFd(0);
        String bad = EventFd.checkPeer(fd);
        if (bad != null) {
            fd.close();
            throw new VhostUserException.IncorrectFds(r + " for " + what + ": the descriptor is " + bad);
        }
        return fd;
    }

    private static String describeTarget(Fd fd) {
        try {
            return fd.target();
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private Vring vring(long index, Request r) throws VhostUserException {
        if (index < 0 || index >= vrings.length) {
            throw new VhostUserException.InvalidParam(r + " for vring " + index + ", but the device has " + vrings.length);
        }
        return vrings[(int) index];
    }

    /** Applies one validated request; returns its reply, or null if it has none. */
    Message handle(Request r, Message m) throws VhostUserException {
        int code = m.requestCode();
        switch (r) {
            case GET_FEATURES -> {
                return Message.reply(code, Message.ofU64(offeredFeatures));
            }
            case SET_FEATURES -> {
                long f = m.u64(0);
                if ((f & ~offeredFeatures) != 0) {
                    throw new VhostUserException.FeatureMismatch("SET_FEATURES acks 0x" + Long.toHexString(f & ~offeredFeatures)
                            + ", which was not offered (" + new FeatureSet(f & ~offeredFeatures) + ")");
                }
                // Bits a running ring's device or header size was built with (IN_ORDER: how a
                // packed device completes); the others (offloads, LOG_ALL) apply on the fly.
                long layout = RING_PACKED.mask() | EVENT_IDX.mask() | VERSION_1.mask() | NET_MRG_RXBUF.mask() | INDIRECT_DESC.mask()
                        | IN_ORDER.mask();
                for (Vring v : vrings) {
                    if (v.started() && ((f ^ ackedFeatures) & layout) != 0) {
                        throw new VhostUserException.InvalidOperation("SET_FEATURES changes ring layout bits while vring "
                                + v.index + " is running");
                    }
                }
                // The enabled state of rings is not touched here: it is decided when a ring starts.
                ackedFeatures = f;
                featuresSet = true;
                features = new FeatureSet(f);
                lastNegotiated = features;
                for (BackendLink l : links) l.featuresChanged(features);
                configureLogs(); // VHOST_F_LOG_ALL turns logging on or off for the running rings
                return null;
            }
            case GET_PROTOCOL_FEATURES -> {
                return Message.reply(code, Message.ofU64(offeredProtocol));
            }
            case SET_PROTOCOL_FEATURES -> {
                long p = m.u64(0);
                if ((p & ~offeredProtocol) != 0) {
                    throw new VhostUserException.FeatureMismatch("SET_PROTOCOL_FEATURES acks "
                            + ProtocolFeature.describe(p & ~offeredProtocol) + ", which was not offered");
                }
                ackedProtocol = p;
                protocolSet = true;
                return null;
            }
            case SET_OWNER -> {
                if (owner) throw new VhostUserException.InvalidOperation("SET_OWNER twice on one connection");
                owner = true;
                return null;
            }
            case RESET_OWNER -> {
                // Deprecated; the spec recommends treating it as "disable every ring", nothing more.
                for (Vring v : vrings) v.enabled = false;
                return null;
            }
            case RESET_DEVICE -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.RESET_DEVICE), r);
                for (Vring v : vrings) {
                    v.lock.lock();
                    try {
                        v.reset();
                    } finally {
                        v.lock.unlock();
                    }
                }
                for (BackendLink l : links) l.ringsChanged();
                status = 0;
                return null;
            }
            case SET_MEM_TABLE -> {
                MemoryTable t = MemoryTable.fromMessage(m);
                slotRegions = new ArrayList<>(t.regions());
                replaceMemory(t);
                return null;
            }
            case GET_MAX_MEM_SLOTS -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.CONFIGURE_MEM_SLOTS), r);
                return Message.reply(code, Message.ofU64(MAX_MEM_SLOTS));
            }
            case ADD_MEM_REG -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.CONFIGURE_MEM_SLOTS), r);
                if (slotRegions.size() >= MAX_MEM_SLOTS) {
                    throw new VhostUserException.InvalidParam("ADD_MEM_REG beyond " + MAX_MEM_SLOTS + " memory slots");
                }
                if (MemoryTable.duplicateOf(slotRegions, m.u64(8), m.u64(16), m.u64(24), m.u64(32)) != null) {
                    // QEMU 7.2 with several queue pairs: each pair's vhost device adds the same regions.
                    m.takeFd(0).close();
                    return null;
                }
                MemoryTable.Region reg = MemoryTable.map(m.u64(8), m.u64(16), m.u64(24), m.u64(32), m.takeFd(0));
                List<MemoryTable.Region> all = new ArrayList<>(slotRegions);
                all.add(reg);
                MemoryTable t;
                try {
                    t = MemoryTable.build(all);
                } catch (VhostUserException e) {
                    reg.mapping().close();
                    throw e;
                }
                replaceMemoryKeeping(t, all);
                return null;
            }
            case REM_MEM_REG -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.CONFIGURE_MEM_SLOTS), r);
                long gpa = m.u64(8), size = m.u64(16), uaddr = m.u64(24);
                MemoryTable.Region found = null;
                for (MemoryTable.Region x : slotRegions) {
                    if (x.guestAddress() == gpa && x.size() == size && x.userAddress() == uaddr) found = x;
                }
                if (found == null) {
                    // QEMU 7.2 with several queue pairs sends REM_MEM_REG once per pair (each pair's
                    // device keeps its own copy of the table), so the first removes the region and
                    // the others name one that is gone: nothing to do, as for a repeated ADD_MEM_REG.
                    LOG.log(System.Logger.Level.DEBUG, name + ": REM_MEM_REG of [0x" + Long.toHexString(gpa) + ", +0x"
                            + Long.toHexString(size) + "), which is not mapped (a repeat): ignored");
                    return null;
                }
                List<MemoryTable.Region> rest = new ArrayList<>(slotRegions);
                rest.remove(found);
                MemoryTable t = MemoryTable.build(rest);
                try {
                    replaceMemoryKeeping(t, rest);
                } finally {
                    found.mapping().close();
                }
                return null;
            }
            case SET_VRING_NUM -> {
                Vring v = vring(Integer.toUnsignedLong(m.u32(0)), r);
                int num = m.u32(4);
                if (v.started()) throw new VhostUserException.InvalidOperation("SET_VRING_NUM on running vring " + v.index);
                if (num < 1 || num > 32768 || (!packedAcked() && Integer.bitCount(num) != 1)) {
                    throw new VhostUserException.InvalidParam("SET_VRING_NUM " + Integer.toUnsignedString(num) + " for vring "
                            + v.index + " (must be " + (packedAcked() ? "in [1, 32768]" : "a power of two in [1, 32768]") + ")");
                }
                v.num = num;
                return null;
            }
            case SET_VRING_ADDR -> {
                Vring v = vring(Integer.toUnsignedLong(m.u32(0)), r);
                int flags = m.u32(4);
                if ((flags & ~1) != 0) throw new VhostUserException.InvalidParam("SET_VRING_ADDR flags 0x" + Integer.toHexString(flags));
                v.lock.lock();
                try {
                    if (v.started() && (v.descUser != m.u64(8) || v.usedUser != m.u64(16) || v.availUser != m.u64(24))) {
                        throw new VhostUserException.InvalidOperation("SET_VRING_ADDR moves running vring " + v.index);
                    }
                    v.descUser = m.u64(8);
                    v.usedUser = m.u64(16);
                    v.availUser = m.u64(24);
                    v.logGuest = m.u64(32);
                    v.addrFlags = flags;
                    v.addrSet = true;
                    // QEMU turns used-ring logging on and off (VHOST_VRING_F_LOG) on a running ring.
                    configureLog(v);
                } finally {
                    v.lock.unlock();
                }
                return null;
            }
            case SET_VRING_BASE -> {
                Vring v = vring(Integer.toUnsignedLong(m.u32(0)), r);
                if (v.started()) throw new VhostUserException.InvalidOperation("SET_VRING_BASE on running vring " + v.index);
                v.base = m.u32(4);
                v.baseSet = true;
                return null;
            }
            case GET_VRING_BASE -> {
                Vring v = vring(Integer.toUnsignedLong(m.u32(0)), r);
                int base;
                v.lock.lock();
                try {
                    // Stops the ring: no more processing until SET_VRING_KICK starts it again.
                    v.stop();
                    base = v.base;
                    if (v.kick != null) v.kick.close();
                    v.kick = null;
                } finally {
                    v.lock.unlock();
                }
                links[v.index / 2].ringsChanged();
                return Message.reply(code, Message.state(v.index, base));
            }
            case SET_VRING_KICK -> {
                Vring v = vring(m.u64(0) & MessageCodec.VRING_IDX_MASK, r);
                boolean noFd = (m.u64(0) & MessageCodec.VRING_NOFD_MASK) != 0;
                EventFd fd = noFd ? null : EventFd.adoptPeer(peerEventFd(m, r, "vring " + v.index));
                v.lock.lock();
                try {
                    if (v.kick != null) v.kick.close();
                    v.kick = fd;
                    v.kickPolled = noFd;
                    if (!v.started()) start(v);
                } finally {
                    v.lock.unlock();
                }
                links[v.index / 2].ringsChanged();
                return null;
            }
            case SET_VRING_CALL -> {
                Vring v = vring(m.u64(0) & MessageCodec.VRING_IDX_MASK, r);
                boolean noFd = (m.u64(0) & MessageCodec.VRING_NOFD_MASK) != 0;
                Fd fd = noFd ? null : peerEventFd(m, r, "vring " + v.index);
                v.lock.lock();
                try {
                    if (v.call != null) v.call.close();
                    v.call = fd == null ? null : EventFd.adoptPeer(fd);
                } finally {
                    v.lock.unlock();
                }
                return null;
            }
            case SET_VRING_ERR -> {
                Vring v = vring(m.u64(0) & MessageCodec.VRING_IDX_MASK, r);
                boolean noFd = (m.u64(0) & MessageCodec.VRING_NOFD_MASK) != 0;
                Fd fd = noFd ? null : peerEventFd(m, r, "vring " + v.index);
                v.lock.lock();
                try {
                    if (v.err != null) v.err.close();
                    v.err = fd;
                } finally {
                    v.lock.unlock();
                }
                return null;
            }
            case GET_QUEUE_NUM -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.MQ), r);
                return Message.reply(code, Message.ofU64(config.queuePairs()));
            }
            case SET_VRING_ENABLE -> {
                // The spec says "only when PROTOCOL_FEATURES has been negotiated", but DPDK virtio-user
                // sends it on a server-mode reconnect before negotiating again. We always offer the bit,
                // so like DPDK's own vhost library we accept it and let the negotiation decide later
                // whether rings start enabled.
                Vring v = vring(Integer.toUnsignedLong(m.u32(0)), r);
                int on = m.u32(4);
                if (on != 0 && on != 1) throw new VhostUserException.InvalidParam("SET_VRING_ENABLE num " + on + " (0 or 1)");
                v.enabled = on == 1;
                links[v.index / 2].ringsChanged();
                return null;
            }
            case SEND_RARP -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.RARP), r);
                return null; // the guest's MAC; nothing to announce from a software switch port
            }
            case NET_SET_MTU -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.MTU), r);
                long mtu = m.u64(0);
                if (mtu < 68 || mtu > 65535) throw new VhostUserException.InvalidParam("NET_SET_MTU " + mtu + " (68..65535)");
                guestMtu = (int) mtu;
                return null;
            }
            case SET_BACKEND_REQ_FD -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.BACKEND_REQ), r);
                if (backendChannel != null) backendChannel.close();
                Fd ch = m.takeFd(0);
                String kind = describeTarget(ch);
                if (!kind.startsWith("socket:")) {
                    ch.close();
                    throw new VhostUserException.IncorrectFds(r + ": the descriptor is not a socket but " + kind);
                }
                backendChannel = new Connection(UnixSocket.adopt(ch));
                return null;
            }
            case GET_CONFIG -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.CONFIG), r);
                int off = m.u32(0), size = m.u32(4);
                byte[] space = configSpace();
                byte[] out = new byte[12 + size];
                System.arraycopy(m.payload(), 0, out, 0, 12);
                if (off < 0 || off > space.length || size > space.length - off) {
                    // The spec's way to say "error": an empty payload.
                    return Message.reply(code, new byte[0]);
                }
                System.arraycopy(space, off, out, 12, size);
                return Message.reply(code, out);
            }
            case SET_CONFIG -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.CONFIG), r);
                throw new VhostUserException.InvalidOperation("SET_CONFIG: the virtio-net config space is read-only");
            }
            case SET_STATUS -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.STATUS), r);
                long s = m.u64(0);
                if (s < 0 || s > 0xff) throw new VhostUserException.InvalidParam("SET_STATUS 0x" + Long.toHexString(s) + " is not a u8");
                status = (int) s;
                return null;
            }
            case GET_STATUS -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.STATUS), r);
                return Message.reply(code, Message.ofU64(status));
            }
            case SET_LOG_BASE -> {
                // Without LOG_SHMFD the log would be a pointer into the front-end's address space.
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD), r);
                DirtyLog l = DirtyLog.adopt(m.fdCount() > 0 ? m.takeFd(0) : null, m.u64(0), m.u64(8));
                DirtyLog old = dirtyLog;
                dirtyLog = l;
                lastLog = l;
                logBases++;
                configureLogs(); // running rings move to the new log before the old one is unmapped
                if (old != null) old.close();
                // With LOG_SHMFD the front-end waits for this reply (vhost-user.rst, "Communication").
                return Message.reply(code, Message.ofU64(0));
            }
            case SET_LOG_FD -> {
                // Optional ("may be used to inform the front-end that the log has been modified");
                // QEMU reads the log itself when it syncs, so the eventfd is only kept.
                Fd fd = peerEventFd(m, r, "log");
                if (logEventFd != null) logEventFd.close();
                logEventFd = fd;
                return null;
            }
            case IOTLB_MSG -> throw new VhostUserException.InvalidOperation(r + ": VIRTIO_F_ACCESS_PLATFORM is not offered");
            case SET_VRING_ENDIAN -> throw new VhostUserException.InvalidOperation(r + ": only VERSION_1 (little-endian) rings are supported");
            case VRING_KICK -> throw new VhostUserException.InvalidOperation(r + ": in-band notifications are not offered");
            case GET_INFLIGHT_FD -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.INFLIGHT_SHMFD), r);
                requireNoRunningRing(r);
                int nq = m.u16(16), qs = m.u16(18);
                if (nq < 1 || nq > vrings.length || qs < 1 || qs > 32768) {
                    throw new VhostUserException.InvalidParam("GET_INFLIGHT_FD for " + nq + " queues of " + qs
                            + " (at most " + vrings.length + " queues of 32768)");
                }
                Fd[] fd = new Fd[1];
                Inflight f = Inflight.create(nq, qs, packedAcked(), fd);
                setInflight(f);
                byte[] out = new byte[24];
                var s = java.lang.foreign.MemorySegment.ofArray(out);
                s.set(Message.U64, 0, f.size());
                s.set(Message.U64, 8, 0L);
                s.set(Message.U16, 16, (short) nq);
                s.set(Message.U16, 18, (short) qs);
                return Message.reply(code, out, fd[0]);
            }
            case SET_INFLIGHT_FD -> {
                requireProtocol(ProtocolFeature.bit(ProtocolFeature.INFLIGHT_SHMFD), r);
                requireNoRunningRing(r);
                int nq = m.u16(16), qs = m.u16(18);
                if (nq < 1 || nq > vrings.length || qs < 1 || qs > 32768) {
                    throw new VhostUserException.InvalidParam("SET_INFLIGHT_FD for " + nq + " queues of " + qs);
                }
                setInflight(Inflight.adopt(m.takeFd(0), m.u64(0), m.u64(8), nq, qs, packedAcked()));
                return null;
            }
            default -> throw new VhostUserException.InvalidOperation(r + " is not supported by a virtio-net back-end");
        }
    }

    /**
     * Installs a new inflight buffer. No ring is running ({@link #requireNoRunningRing}): a
     * running ring would need its tracking moved into a buffer that lacks the chains it holds,
     * sized for another queue size (the check {@link #start} makes), so the message is refused
     * instead; QEMU sends both before it starts the rings.
     */
    private void setInflight(Inflight f) {
        Inflight old = inflight;
        inflight = f;
        if (old != null) old.close();
    }

    /** Refuses {@code r} while a ring runs (state a running ring depends on, no safe way to swap it). */
    private void requireNoRunningRing(Request r) throws VhostUserException {
        for (Vring v : vrings) {
            if (v.started()) {
                throw new VhostUserException.InvalidOperation(r + " while vring " + v.index
                        + " is running (stop it with GET_VRING_BASE first)");
            }
        }
    }

    /** True while the data path must log: VHOST_F_LOG_ALL acked and a log given. */
    private boolean logging() {
        return dirtyLog != null && (ackedFeatures & VHOST_LOG_ALL.mask()) != 0;
    }

    /** Applies the logging state to every ring. */
    private void configureLogs() {
        for (Vring v : vrings) {
            v.lock.lock();
            try {
                configureLog(v);
            } finally {
                v.lock.unlock();
            }
        }
    }

    /**
     * Sets {@code v}'s log and the ring areas it marks per batch (caller holds its lock). The
     * used ring (split) or device event area (packed) is logged at {@code log_guest_addr}, as the
     * spec says, and only with VHOST_VRING_F_LOG; a packed ring's used descriptors are written
     * into its descriptor ring, logged at that ring's guest address.
     */
    private void configureLog(Vring v) {
        DirtyLog l = logging() && v.started() ? dirtyLog : null;
        if (l == null) {
            v.log = null;
            return;
        }
        boolean ringLog = (v.addrFlags & 1) != 0;
        v.logUsedGpa = v.logGuest;
        if (v.packed) {
            v.logUsedLen = ringLog ? PackedRing.EVENT_SIZE : 0;
            v.logDescGpa = v.descGpa;
            v.logDescLen = 16L * v.num;
        } else {
            v.logUsedLen = ringLog ? SplitRing.usedSize(v.num) : 0;
            v.logDescGpa = 0;
            v.logDescLen = 0;
        }
        v.log = l;
        // Writes made while logging was off (start() parks notifications) are covered now.
        v.logRing(l);
    }

    /** SET_LOG_BASE messages applied so far (tests). */
    int logBases() { return logBases; }

    /** The most recently installed dirty log, or null (tests; it may be closed). */
    DirtyLog lastLog() { return lastLog; }

    private boolean packedAcked() {
        return (ackedFeatures & RING_PACKED.mask()) != 0;
    }

    /** virtio-net config space: mac[6], status u16, max_virtqueue_pairs u16, mtu u16. */
    private byte[] configSpace() {
        byte[] b = new byte[12];
        System.arraycopy(config.mac(), 0, b, 0, 6);
        b[6] = 1; // VIRTIO_NET_S_LINK_UP
        b[8] = (byte) config.queuePairs();
        b[9] = (byte) (config.queuePairs() >> 8);
        b[10] = (byte) config.mtu();
        b[11] = (byte) (config.mtu() >> 8);
        return b;
    }

    /** SET_MEM_TABLE: rebuilds running rings over the new memory, then unmaps the old one. */
    private void replaceMemory(MemoryTable t) throws VhostUserException {
        MemoryTable old = table;
        try {
            swapMemory(t);
        } finally {
            old.close();
        }
    }

    /** ADD/REM_MEM_REG: like {@link #replaceMemory} but the kept regions stay mapped. */
    private void replaceMemoryKeeping(MemoryTable t, List<MemoryTable.Region> regions) throws VhostUserException {
        slotRegions = new ArrayList<>(regions); // the table is installed even when a ring no longer fits it
        swapMemory(t);
    }

    /**
     * Installs {@code t}: running rings are stopped and started again over it, with every check
     * of a first start. A running ring the new table no longer holds (memory removed under it)
     * is a protocol error: the connection ends with that reason (the old table is not used again).
     */
    private void swapMemory(MemoryTable t) throws VhostUserException {
        List<Vring> running = new ArrayList<>();
        VhostUserException broken = null;
        for (Vring v : vrings) v.lock.lock();
        try {
            for (Vring v : vrings) {
                if (v.started()) {
                    v.stop();
                    running.add(v);
                }
            }
            table = t;
            for (Vring v : running) {
                try {
                    start(v);
                } catch (VhostUserException e) {
                    v.stop();
                    if (broken == null) {
                        broken = new VhostUserException.InvalidParam("new memory table no longer holds running vring " + v.index
                                + ": " + e.getMessage(), e);
                    }
                }
            }
        } finally {
            for (Vring v : vrings) v.lock.unlock();
        }
        for (BackendLink l : links) l.ringsChanged();
        if (broken != null) throw broken;
    }

    /** Starts {@code v} from its configuration (caller holds its lock). */
    private void start(Vring v) throws VhostUserException {
        if (v.num == 0) throw new VhostUserException.InvalidOperation("vring " + v.index + " started before SET_VRING_NUM");
        if (!v.addrSet) throw new VhostUserException.InvalidOperation("vring " + v.index + " started before SET_VRING_ADDR");
        GuestMemory mem = table.memory();
        if (mem == null) throw new VhostUserException.InvalidOperation("vring " + v.index + " started before SET_MEM_TABLE");
        FeatureSet f = new FeatureSet(ackedFeatures);
        boolean packed = f.has(RING_PACKED);
        try {
            long d, a, u;
            if (packed) {
                d = mem.userToGuest(v.descUser, 16L * v.num);
                v.descGpa = d;
                a = mem.userToGuest(v.availUser, PackedRing.EVENT_SIZE);
                u = mem.userToGuest(v.usedUser, PackedRing.EVENT_SIZE);
                int b = v.base;
                int availPos = b & 0x7fff;
                boolean availWrap = (b & 0x8000) != 0;
                int usedPos = availPos;
                boolean usedWrap = availWrap;
                if ((b >>> 16) != 0) {
                    usedPos = (b >>> 16) & 0x7fff;
                    usedWrap = (b & 0x8000_0000) != 0;
                }
                if (!v.baseSet) {
                    availWrap = true;
                    usedWrap = true;
                }
                if (availPos >= v.num || usedPos >= v.num) {
                    throw new VhostUserException.InvalidParam("SET_VRING_BASE 0x" + Integer.toHexString(b) + " is outside vring "
                            + v.index + " of " + v.num);
                }
                PackedRing ring = PackedRing.map(mem, v.num, d, a, u);
                java.lang.foreign.MemorySegment region = inflight != null && inflight.queueSize == v.num ? inflight.queue(v.index) : null;
                PackedInflight track = null;
                if (region != null && !inflight.packed) {
                    // Sized and laid out for split rings (set up before RING_PACKED was acked).
                    throw new VhostUserException.InvalidParam("vring " + v.index + " is packed but the inflight buffer was set up"
                            + " for split rings (GET/SET_INFLIGHT_FD before SET_FEATURES)");
                }
                if (region != null) {
                    // A fresh region starts at the used position SET_VRING_BASE gave; a used one
                    // knows better (spec "When reconnecting"): its recovered used position, where
                    // the chains still in flight have been put back on the ring.
                    track = PackedInflight.recover(region, v.num, ring.descRing(), usedPos, usedWrap);
                    if (track.resubmitted > 0) {
                        LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " resubmits " + track.resubmitted
                                + " inflight chains from ring position " + track.resumePos);
                    }
                    if (track.resumePos != availPos || track.resumeWrap != availWrap) {
                        LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " base 0x" + Integer.toHexString(b)
                                + " differs from the inflight region's used position " + track.resumePos + " (wrap "
                                + track.resumeWrap + "); resuming there");
                    }
                    availPos = usedPos = track.resumePos;
                    availWrap = usedWrap = track.resumeWrap;
                }
                v.dev = new PackedQueueDevice(ring, mem, f, availPos, availWrap, usedPos, usedWrap);
                v.packedInflight = track;
            } else {
                d = mem.userToGuest(v.descUser, SplitRing.descTableSize(v.num));
                a = mem.userToGuest(v.availUser, SplitRing.availSize(v.num));
                u = mem.userToGuest(v.usedUser, SplitRing.usedSize(v.num));
                SplitRing ring = SplitRing.map(mem, v.num, d, a, u);
                v.splitRing = ring;
                int base = v.base & 0xffff;
                java.lang.foreign.MemorySegment region = inflight != null && inflight.queueSize == v.num ? inflight.queue(v.index) : null;
                if (region != null) {
                    int usedIdx = v.usedIdx();
                    int pending = Inflight.recover(region, v.num, usedIdx);
                    if (pending > 0) {
                        // Chains a previous back-end took but never completed. We complete in order, so
                        // they are exactly the available entries from used.idx on: resume there.
                        LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " resumes " + pending
                                + " inflight chains from used index " + usedIdx);
                        base = usedIdx;
                        for (int i = 0; i < v.num; i++) {
                            region.set(java.lang.foreign.ValueLayout.JAVA_BYTE, Inflight.OFF_DESC + (long) Inflight.DESC_SIZE * i, (byte) 0);
                        }
                    }
                    v.inflightCounter = Inflight.maxCounter(region, v.num) + 1;
                }
                int usedNow = v.usedIdx();
                if (base != usedNow) {
                    // Like DPDK's vhost library: a base that disagrees with the used ring (DPDK
                    // virtio-user resends 0 after a server-mode reconnect) resumes at used.idx. We
                    // complete in order, so that is exactly the first chain not yet completed.
                    LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " base " + base + " differs from used.idx "
                            + usedNow + "; resuming at used.idx");
                    base = usedNow;
                }
                v.dev = new SplitQueueDevice(ring, mem, f, base);
                v.inflight = region;
            }
        } catch (GuestMemoryException | VirtqueueException e) {
            throw new VhostUserException.InvalidParam("vring " + v.index + ": " + e.getMessage(), e);
        }
        v.packed = packed;
        v.resetHeld(v.num);
        // Busy data paths need no kicks; the link turns them on only before it sleeps.
        v.dev.disableNotifications();
        configureLog(v);
        if (!protocolNegotiated()) v.enabled = true;
    }

    /** Called by a link whose ring the guest broke: the whole connection goes (the spec has no per-ring reset). */
    void ringFailed(Vring v, VirtqueueException e) {
        lastError = new VhostUserException.InvalidParam("vring " + v.index + ": " + e.getMessage(), e);
        LOG.log(System.Logger.Level.WARNING, name + ": vring " + v.index + " failed, closing the connection: " + e.getMessage());
        Connection c = conn;
        if (c != null) c.close();
    }

    /** Called by a link whose write to the front-end's call eventfd blocked (and was released). */
    void callBlocked(Vring v) {
        Connection c = conn;
        if (c == null || c.isClosed()) return;
        lastError = new VhostUserException.IncorrectFds("vring " + v.index + ": a write to the front-end's call eventfd blocked"
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
    GuestMemory guestMemory() { return table.memory(); }

    static boolean has(FeatureSet f, VirtioFeature x) { return f.has(x); }

    VirtqueueDevice deviceOf(Vring v) { return v.dev; }
}
