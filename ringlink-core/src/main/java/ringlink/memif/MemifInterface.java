package ringlink.memif;

import static ringlink.memif.MemifMsgLayout.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.SysException;
import ringlink.sys.UnixSocket;

/**
 * A memif interface (FD.io VPP / DPDK {@code net_memif}): the control protocol over a
 * {@code SOCK_SEQPACKET} Unix socket and, once connected, one {@link MemifLink} per queue pair.
 *
 * <p>A <b>server</b> (memif "master") listens on the socket, sends HELLO to each client, checks
 * its INIT (version, interface id, mode, secret), maps the regions it sends (ADD_REGION with the
 * memfd), records its rings (ADD_RING with an interrupt eventfd each), answers every message
 * with ACK and CONNECT with CONNECTED. One client at a time; when it goes (DISCONNECT or the
 * socket closes) the server waits for the next. A <b>client</b> ("slave") connects (retrying),
 * creates the memory (one sealed memfd: the rings, then its buffers) and the eventfds, sends the
 * set-up messages one at a time, each after the previous was acknowledged, and reconnects when
 * the server goes away.
 *
 * <p>Everything the peer sends is checked before use (message size and type, region index and
 * size against the file's real size and seals, ring index, size, offset and cookie, that
 * eventfds are eventfds); a bad peer gets a DISCONNECT naming the reason and only its connection
 * ends. {@link #lastError()} keeps the last reason.
 *
 * <p>One control thread per interface runs the protocol; the links' data paths never block on it.
 *
 * <p>The control messages on the wire (buffer, receive with deadline, send) are
 * {@link MemifMessages}; the handshakes, the order and checks of the protocol, stay here.
 */
public final class MemifInterface implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("ringlink.memif");
    /** Most regions a client may add (DPDK's limit for zero-copy clients is its memseg lists plus one). */
    static final int MAX_REGIONS = 64;
    /** Largest region: descriptor offsets and lengths are 32-bit. */
    static final long MAX_REGION_SIZE = 1L << 32;
    private static final byte[] OUR_NAME = "ringlink".getBytes(StandardCharsets.UTF_8);

    private final MemifConfig config;
    private final String name;
    private final MemifLink[] links;
    private final UnixSocket listener; // server only
    private final EventFd control = EventFd.create();
    private final Arena arena = Arena.ofShared();
    /** The control channel's message buffer and what it last received (control thread). */
    private final MemifMessages io;
    private final Thread thread;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Object connectLock = new Object();
    private volatile boolean closed;
    private volatile Session current;
    private volatile String lastError;
    private volatile String peerName = "";
    private volatile int connections;

    private MemifInterface(MemifConfig config) throws IOException {
        this.config = config;
        this.name = "memif:" + config.socket() + (config.id() != 0 ? "/" + config.id() : "");
        this.io = new MemifMessages(this, name, config.timeoutMillis(), arena);
        UnixSocket l = null;
        List<MemifLink> made = new ArrayList<>();
        try {
            if (config.server()) {
                l = config.isAbstract()
                        ? UnixSocket.listenAbstract(config.socket().substring(1), UnixSocket.SOCK_SEQPACKET, 4)
                        : UnixSocket.listen(Path.of(config.socket()), UnixSocket.SOCK_SEQPACKET, 4);
            }
            for (int q = 0; q < config.queuePairs(); q++) {
                made.add(new MemifLink(this, q, name + (config.queuePairs() > 1 ? "#" + q : ""), config));
            }
        } catch (IOException | RuntimeException e) {
            for (MemifLink k : made) k.closeLink();
            if (l != null) l.close();
            control.close();
            arena.close();
            throw e;
        }
        this.listener = l;
        this.links = made.toArray(new MemifLink[0]);
        this.thread = new Thread(this::run, "rl-memif-" + config.socket());
        thread.setDaemon(true);
    }

    /**
     * Opens the interface: a server starts listening now (the socket exists when this returns), a
     * client starts connecting in the background. Use {@link #awaitConnected} to wait for a peer.
     */
    public static MemifInterface open(MemifConfig config) throws IOException {
        MemifInterface i = new MemifInterface(config);
        i.thread.start();
        return i;
    }

    /** The configuration the interface was opened with. */
    public MemifConfig config() { return config; }
    /**
     * The interface's name: {@code memif:} and the socket, with {@code /id} when the id is not 0; its links add
     * {@code #q} when there are several queue pairs.
     */
    public String name() { return name; }

    /** Queue pair {@code q}'s link ({@code 0 <= q < queuePairs}). */
    public MemifLink link(int q) { return links[q]; }

    /** True while a peer is connected. */
    public boolean isConnected() { return current != null; }

    /** How many connections completed so far (reconnects count). */
    public int connections() { return connections; }

    /** Queue pairs of the current connection (0 if none). */
    public int activePairs() {
        Session s = current;
        return s == null ? 0 : s.pairs;
    }

    /** The last reason a connection failed or ended (ours or the peer's DISCONNECT), or null. */
    public String lastError() { return lastError; }

    /** The peer's name (from HELLO or INIT). */
    public String peerName() { return peerName; }

    /** Waits until a peer is connected; true if it happened within the timeout. */
    public boolean awaitConnected(long timeout, TimeUnit unit) throws InterruptedException {
        long end = System.nanoTime() + unit.toNanos(timeout);
        synchronized (connectLock) {
            while (current == null && !closed) {
                long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
                if (left <= 0) return false;
                connectLock.wait(left);
            }
        }
        return current != null;
    }

    /** Waits until more than {@code n} connections have completed (a reconnect after n). */
    public boolean awaitConnections(int n, long timeout, TimeUnit unit) throws InterruptedException {
        long end = System.nanoTime() + unit.toNanos(timeout);
        synchronized (connectLock) {
            while ((connections <= n || current == null) && !closed) {
                long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
                if (left <= 0) return false;
                connectLock.wait(left);
            }
        }
        return current != null && connections > n;
    }

    /** A data path found the rings broken: the control thread drops the connection. */
    void dataPathFailed() {
        try {
            control.signal();
        } catch (IOException ignored) {
            // closed: nothing to drop
        }
    }

    // ---- control thread ----

    private void run() {
        try {
            while (!closed) {
                UnixSocket conn = null;
                try {
                    conn = config.server() ? acceptOne() : connectOne();
                    if (conn == null) continue;
                    Session s = config.server() ? serverHandshake(conn) : clientHandshake(conn);
                    try {
                        attach(s);
                        String why = watch(conn, s);
                        lastError = why;
                        LOG.log(System.Logger.Level.INFO, name + ": disconnected: " + why);
                    } finally {
                        detach(s);
                    }
                } catch (MemifException e) {
                    lastError = e.getMessage();
                    LOG.log(System.Logger.Level.WARNING, name + ": " + e.getMessage());
                    if (conn != null && e instanceof HandshakeException h) io.sendDisconnect(conn, h.reason);
                    pause();
                } catch (IOException | RuntimeException e) {
                    if (!closed) {
                        lastError = e.toString();
                        LOG.log(System.Logger.Level.DEBUG, name + ": " + e);
                        pause();
                    }
                } finally {
                    if (conn != null) conn.close();
                }
            }
        } finally {
            stopped.countDown();
        }
    }

    /** A short pause before the next connection attempt (bounded: the peer may be restarting). */
    private void pause() {
        if (closed) return;
        try {
            PollSet.pollOne(control.fd(), PollfdLayout.POLLIN, 100);
            control.drain();
        } catch (IOException ignored) {
            // closed
        }
    }

    private UnixSocket acceptOne() throws IOException {
        while (!closed) {
            UnixSocket c = listener.accept(200);
            if (c != null) return c;
        }
        return null;
    }

    private UnixSocket connectOne() throws IOException {
        while (!closed) {
            try {
                return config.isAbstract()
                        ? UnixSocket.connectAbstract(config.socket().substring(1), UnixSocket.SOCK_SEQPACKET)
                        : UnixSocket.connect(Path.of(config.socket()), UnixSocket.SOCK_SEQPACKET);
            } catch (SysException e) {
                // no server yet (ENOENT, ECONNREFUSED): retry until closed
                pause();
            }
        }
        return null;
    }

    /** True once close() began (the control thread's waits end). */
    boolean isClosing() {
        return closed;
    }

    /** Thrown by the handshake: {@code reason} is what the peer is told in DISCONNECT. */
    static final class HandshakeException extends MemifException {
        final String reason;

        HandshakeException(String reason, String detail) {
            super(detail);
            this.reason = reason;
        }
    }

    // ---- server ----

    private Session serverHandshake(UnixSocket conn) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.timeoutMillis());
        int pairs = config.queuePairs();
        io.begin(MEMIF_MSG_TYPE_HELLO);
        long b = OFF_BODY;
        io.putString(b + MemifMsgHelloLayout.OFF_NAME, OUR_NAME, MEMIF_NAME_SZ);
        io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MIN_VERSION, (short) MEMIF_VERSION);
        io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_VERSION, (short) MEMIF_VERSION);
        io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_REGION, (short) (MAX_REGIONS - 1));
        io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_M2S_RING, (short) (pairs - 1));
        io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_S2M_RING, (short) (pairs - 1));
        io.msg.set(ValueLayout.JAVA_BYTE, b + MemifMsgHelloLayout.OFF_MAX_LOG2_RING_SIZE, (byte) config.log2RingSize());
        io.send(conn);

        io.receive(conn, deadline);
        if (io.rxType != MEMIF_MSG_TYPE_INIT) {
            io.closeRxFd();
            throw io.refuse("Unexpected message", "expected INIT, got " + typeName(io.rxType));
        }
        io.closeRxFd();
        int version = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgInitLayout.OFF_VERSION) & 0xffff;
        if (version != MEMIF_VERSION) throw io.refuse("Incompatible memif version",
                "client speaks memif version 0x" + Integer.toHexString(version));
        int id = io.msg.get(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgInitLayout.OFF_ID);
        if (id != config.id()) throw io.refuse("ID not found",
                "client asked for interface id " + Integer.toUnsignedString(id) + ", ours is " + config.id());
        int mode = io.msg.get(ValueLayout.JAVA_BYTE, b + MemifMsgInitLayout.OFF_MODE) & 0xff;
        int ourMode = config.ip() ? MEMIF_INTERFACE_MODE_IP : MEMIF_INTERFACE_MODE_ETHERNET;
        if (mode != ourMode) throw io.refuse("Mode mismatch", "client wants mode " + mode + ", ours is " + ourMode);
        if (!config.secret().isEmpty()) {
            String s = io.string(b + MemifMsgInitLayout.OFF_SECRET, MemifMsgInitLayout.SECRET_SIZE);
            if (s.isEmpty()) throw io.refuse("Secret required", "client sent no secret");
            if (!java.security.MessageDigest.isEqual(s.getBytes(StandardCharsets.UTF_8),
                    config.secret().getBytes(StandardCharsets.UTF_8))) {
                throw io.refuse("Incorrect secret", "client sent the wrong secret");
            }
        }
        peerName = io.string(b + MemifMsgInitLayout.OFF_NAME, MEMIF_NAME_SZ);
        io.begin(MEMIF_MSG_TYPE_ACK);
        io.send(conn);

        ServerOffer offer = new ServerOffer(io, config);
        boolean ok = false;
        try {
            while (true) {
                io.receive(conn, deadline);
                switch (io.rxType) {
                    case MEMIF_MSG_TYPE_ADD_REGION -> offer.addRegion();
                    case MEMIF_MSG_TYPE_ADD_RING -> offer.addRing();
                    case MEMIF_MSG_TYPE_CONNECT -> {
                        Session s = offer.connect();
                        io.begin(MEMIF_MSG_TYPE_CONNECTED);
                        io.putString(OFF_BODY + MemifMsgConnectedLayout.OFF_IF_NAME,
                                name.getBytes(StandardCharsets.UTF_8), MEMIF_NAME_SZ);
                        io.send(conn);
                        ok = true;
                        return s;
                    }
                    default -> {
                        io.closeRxFd();
                        throw io.refuse("Unexpected message", "unexpected " + typeName(io.rxType) + " during set-up");
                    }
                }
                io.begin(MEMIF_MSG_TYPE_ACK);
                io.send(conn);
            }
        } finally {
            io.closeRxFd();
            if (!ok) offer.close();
        }
    }

    // ---- client ----

    private Session clientHandshake(UnixSocket conn) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.timeoutMillis());
        long b = OFF_BODY;
        io.receive(conn, deadline);
        if (io.rxType != MEMIF_MSG_TYPE_HELLO) {
            io.closeRxFd();
            throw io.refuse("Unexpected message", "expected HELLO, got " + typeName(io.rxType));
        }
        io.closeRxFd();
        int minV = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MIN_VERSION) & 0xffff;
        int maxV = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_VERSION) & 0xffff;
        if (minV > MEMIF_VERSION || maxV < MEMIF_VERSION) {
            throw io.refuse("Incompatible memif version",
                    "server speaks memif versions 0x" + Integer.toHexString(minV) + "..0x" + Integer.toHexString(maxV));
        }
        int maxM2s = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_M2S_RING) & 0xffff;
        int maxS2m = io.msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_S2M_RING) & 0xffff;
        int maxLog2 = io.msg.get(ValueLayout.JAVA_BYTE, b + MemifMsgHelloLayout.OFF_MAX_LOG2_RING_SIZE) & 0xff;
        peerName = io.string(b + MemifMsgHelloLayout.OFF_NAME, MEMIF_NAME_SZ);
        int pairs = Math.min(config.queuePairs(), Math.min(maxM2s, maxS2m) + 1);
        int log2 = Math.min(config.log2RingSize(), maxLog2);
        if (log2 < 1) throw io.refuse("Invalid ring size", "server allows rings of log2 size " + maxLog2);

        // One region: 2 * pairs rings (S2M 0..pairs-1, then M2S), then a buffer per slot.
        int ringSize = 1 << log2;
        long ringBytes = MemifRingLayout.ringBytes(log2);
        long bufferStart = (2L * pairs * ringBytes + 63) & ~63L;
        long size = bufferStart + 2L * pairs * ringSize * config.bufferSize();
        if (size > MAX_REGION_SIZE) throw io.refuse("",
                "memory of " + size + " bytes exceeds memif's 32-bit offsets; use fewer or smaller rings or buffers");
        Fd mem = MemFd.create("memif_region_0", size); // sealed against any size change
        Mapping map = null;
        EventFd[] s2mInt = new EventFd[pairs], m2sInt = new EventFd[pairs];
        boolean ok = false;
        try {
            map = Mapping.map(mem, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                    "memif region 0");
            MemorySegment m = map.segment();
            int[] s2mRegion = new int[pairs], m2sRegion = new int[pairs];
            long[] s2mOffset = new long[pairs], m2sOffset = new long[pairs];
            for (int q = 0; q < pairs; q++) {
                s2mOffset[q] = q * ringBytes;
                m2sOffset[q] = (pairs + q) * ringBytes;
                s2mInt[q] = EventFd.createShared();
                m2sInt[q] = EventFd.createShared();
            }
            Session s = new Session(false, new Mapping[] {map}, new long[] {size}, pairs, log2,
                    s2mRegion, s2mOffset, s2mInt, m2sRegion, m2sOffset, m2sInt, bufferStart, config.bufferSize());
            for (int r = 0; r < 2 * pairs; r++) {
                long ring = r * ringBytes;
                m.set(ValueLayout.JAVA_INT, ring + MemifRingLayout.OFF_COOKIE, MEMIF_COOKIE);
                // Our receive (M2S) rings start polled; the S2M rings are the server's to flag.
                m.set(ValueLayout.JAVA_SHORT, ring + MemifRingLayout.OFF_FLAGS,
                        (short) (r >= pairs ? MemifRingLayout.MEMIF_RING_FLAG_MASK_INT : 0));
                for (int slot = 0; slot < ringSize; slot++) {
                    long d = ring + MemifRingLayout.OFF_DESC + slot * MemifDescLayout.SIZE;
                    m.set(ValueLayout.JAVA_SHORT, d + MemifDescLayout.OFF_REGION, (short) 0);
                    m.set(ValueLayout.JAVA_INT, d + MemifDescLayout.OFF_LENGTH, config.bufferSize());
                    m.set(ValueLayout.JAVA_INT, d + MemifDescLayout.OFF_OFFSET, (int) s.clientBuffer(r, slot));
                }
            }

            io.begin(MEMIF_MSG_TYPE_INIT);
            io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgInitLayout.OFF_VERSION, (short) MEMIF_VERSION);
            io.msg.set(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgInitLayout.OFF_ID, config.id());
            io.msg.set(ValueLayout.JAVA_BYTE, b + MemifMsgInitLayout.OFF_MODE,
                    (byte) (config.ip() ? MEMIF_INTERFACE_MODE_IP : MEMIF_INTERFACE_MODE_ETHERNET));
            byte[] secret = config.secret().getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(secret, 0, io.msg, ValueLayout.JAVA_BYTE, b + MemifMsgInitLayout.OFF_SECRET,
                    secret.length);
            io.putString(b + MemifMsgInitLayout.OFF_NAME, OUR_NAME, MEMIF_NAME_SZ);
            io.send(conn);
            io.expect(conn, deadline, MEMIF_MSG_TYPE_ACK);

            io.begin(MEMIF_MSG_TYPE_ADD_REGION);
            io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_INDEX, (short) 0);
            io.msg.set(ValueLayout.JAVA_LONG_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_SIZE, size);
            io.send(conn, mem);
            io.expect(conn, deadline, MEMIF_MSG_TYPE_ACK);

            for (int dir = 0; dir < 2; dir++) {
                for (int q = 0; q < pairs; q++) {
                    io.begin(MEMIF_MSG_TYPE_ADD_RING);
                    io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_FLAGS,
                            (short) (dir == 0 ? MemifMsgAddRingLayout.MEMIF_MSG_ADD_RING_FLAG_S2M : 0));
                    io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_INDEX, (short) q);
                    io.msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_REGION, (short) 0);
                    io.msg.set(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_OFFSET,
                            (int) (dir == 0 ? s2mOffset[q] : m2sOffset[q]));
                    io.msg.set(ValueLayout.JAVA_BYTE, b + MemifMsgAddRingLayout.OFF_LOG2_RING_SIZE, (byte) log2);
                    io.send(conn, (dir == 0 ? s2mInt[q] : m2sInt[q]).fd());
                    io.expect(conn, deadline, MEMIF_MSG_TYPE_ACK);
                }
            }

            io.begin(MEMIF_MSG_TYPE_CONNECT);
            io.putString(b + MemifMsgConnectLayout.OFF_IF_NAME, name.getBytes(StandardCharsets.UTF_8), MEMIF_NAME_SZ);
            io.send(conn);
            io.expect(conn, deadline, MEMIF_MSG_TYPE_CONNECTED);

            // The server reset the indexes when it took CONNECT: post every receive buffer now.
            for (int q = 0; q < pairs; q++) {
                Session.setRelease16(m, m2sOffset[q] + MemifRingLayout.OFF_HEAD, ringSize);
            }
            ok = true;
            return s;
        } finally {
            mem.close(); // the server has its own copy; our mapping keeps the memory
            if (!ok) {
                if (map != null) map.close();
                for (EventFd e : s2mInt) if (e != null) e.close();
                for (EventFd e : m2sInt) if (e != null) e.close();
            }
        }
    }

    // ---- connected ----

    private void attach(Session s) throws IOException {
        for (MemifLink k : links) k.attach(s);
        synchronized (connectLock) {
            current = s;
            connections++;
            connectLock.notifyAll();
        }
        LOG.log(System.Logger.Level.INFO, name + ": connected to " + peerName + " with " + s.pairs
                + " queue pair(s) of " + s.ringSize + " slots");
    }

    private void detach(Session s) {
        synchronized (connectLock) {
            current = null;
            connectLock.notifyAll();
        }
        for (MemifLink k : links) k.detach();
        s.close();
    }

    /**
     * Connected: waits for the peer to leave (DISCONNECT or the socket closing), the data path to
     * report broken rings, or close(). A server turns away further clients meanwhile. Returns why
     * the connection ended.
     */
    private String watch(UnixSocket conn, Session s) throws IOException {
        try (PollSet ps = new PollSet(3)) {
            int iConn = ps.add(conn.fd(), PollfdLayout.POLLIN);
            int iCtl = ps.add(control.fd(), PollfdLayout.POLLIN);
            int iListen = listener != null ? ps.add(listener.fd(), PollfdLayout.POLLIN) : -1;
            while (true) {
                if (closed) {
                    io.sendDisconnect(conn, "Interface closed");
                    return "closed";
                }
                String broken = s.broken;
                if (broken != null) {
                    io.sendDisconnect(conn, "Bad descriptor or ring index");
                    return "the peer broke the rings: " + broken;
                }
                if (ps.poll(500) == 0) continue;
                if ((ps.revents(iCtl) & PollfdLayout.POLLIN) != 0) control.drain();
                if (iListen >= 0 && (ps.revents(iListen) & PollfdLayout.POLLIN) != 0) {
                    UnixSocket extra = listener.accept(0);
                    if (extra != null) {
                        io.sendDisconnect(extra, "Already connected");
                        extra.close();
                    }
                }
                if ((ps.revents(iConn) & (PollfdLayout.POLLIN | PollfdLayout.POLLHUP | PollfdLayout.POLLERR)) != 0) {
                    try {
                        io.receive(conn, System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
                    } catch (MemifException e) {
                        return e.getMessage();
                    }
                    io.closeRxFd();
                    if (io.rxType != MEMIF_MSG_TYPE_ACK) {
                        io.sendDisconnect(conn, "Unexpected message");
                        return "unexpected " + typeName(io.rxType) + " while connected";
                    }
                }
            }
        }
    }

    /**
     * Closes the interface: tells a connected peer (DISCONNECT), unmaps the memory, closes every
     * link (waking threads asleep on them) and, for a filesystem socket we listen on, removes it.
     * Idempotent.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        for (MemifLink k : links) k.markClosed();
        try {
            control.signal();
        } catch (IOException ignored) {
            // nothing to wake
        }
        try {
            if (!stopped.await(5, TimeUnit.SECONDS))
                    LOG.log(System.Logger.Level.WARNING, name + ": control thread did not stop");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (connectLock) {
            connectLock.notifyAll();
        }
        for (MemifLink k : links) k.closeLink();
        if (listener != null) {
            listener.close();
            if (!config.isAbstract()) {
                try {
                    java.nio.file.Files.deleteIfExists(Path.of(config.socket()));
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
        control.close();
        synchronized (this) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "MemifInterface[" + name + (config.server() ? ", server" : ", client")
                + (isConnected() ? ", connected" : "") + "]";
    }
}
