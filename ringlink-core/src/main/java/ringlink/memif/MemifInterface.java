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
    private final MemorySegment msg = arena.allocate(MemifMsgLayout.SIZE, 8);
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
                    if (conn != null && e instanceof HandshakeException h) sendDisconnect(conn, h.reason);
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

    /** Thrown by the handshake: {@code reason} is what the peer is told in DISCONNECT. */
    static final class HandshakeException extends MemifException {
        final String reason;

        HandshakeException(String reason, String detail) {
            super(detail);
            this.reason = reason;
        }
    }

    private MemifException refuse(String reason, String detail) {
        HandshakeException e = new HandshakeException(reason, name + ": " + detail);
        return e;
    }

    // The received message: type and the one descriptor it may carry.
    private int rxType;
    private Fd rxFd;

    /** Receives one message (exactly 128 bytes, at most one fd) within {@code deadline} (nanoTime). */
    private void receive(UnixSocket conn, long deadline) throws IOException {
        rxFd = null;
        while (true) {
            if (closed) throw new IOException(name + ": closed");
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) throw refuse("Timeout", "no message from the peer within " + config.timeoutMillis() + " ms");
            if (PollSet.pollOne(conn.fd(), PollfdLayout.POLLIN, (int) Math.min(left, 200)) > 0) break;
        }
        msg.fill((byte) 0);
        UnixSocket.Received r;
        try {
            r = conn.receive(msg, MemifMsgLayout.SIZE, 1);
        } catch (SysException e) {
            throw refuse("Invalid message", "bad message from the peer: " + e.getMessage());
        }
        if (r.closed()) throw refuse("", "the peer closed the connection");
        if (r.bytes() != MemifMsgLayout.SIZE) {
            for (Fd f : r.fds()) f.close();
            throw refuse("Invalid message size",
                    "message of " + r.bytes() + " bytes (memif messages are " + MemifMsgLayout.SIZE + ")");
        }
        rxType = msg.get(ValueLayout.JAVA_SHORT, OFF_TYPE) & 0xffff;
        rxFd = r.fds().length > 0 ? r.fds()[0] : null;
        if (rxType == MEMIF_MSG_TYPE_DISCONNECT) {
            closeRxFd();
            String why = string(OFF_BODY + MemifMsgDisconnectLayout.OFF_STRING, MemifMsgDisconnectLayout.STRING_SIZE);
            int code = msg.get(ValueLayout.JAVA_INT_UNALIGNED, OFF_BODY + MemifMsgDisconnectLayout.OFF_CODE);
            throw refuse("", "the peer disconnected: " + why + (code != 0 ? " (code " + code + ")" : ""));
        }
    }

    private void closeRxFd() {
        if (rxFd != null) rxFd.close();
        rxFd = null;
    }

    private void expect(UnixSocket conn, long deadline, int type) throws IOException {
        receive(conn, deadline);
        if (rxType != type) {
            closeRxFd();
            throw refuse("Unexpected message", "expected " + typeName(type) + ", got " + typeName(rxType));
        }
        closeRxFd();
    }

    private String string(long off, int max) {
        int n = 0;
        while (n < max && msg.get(ValueLayout.JAVA_BYTE, off + n) != 0) n++;
        byte[] b = new byte[n];
        MemorySegment.copy(msg, ValueLayout.JAVA_BYTE, off, b, 0, n);
        return new String(b, StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", "?");
    }

    private void putString(long off, byte[] s, int max) {
        MemorySegment.copy(s, 0, msg, ValueLayout.JAVA_BYTE, off, Math.min(s.length, max - 1));
    }

    private void begin(int type) {
        msg.fill((byte) 0);
        msg.set(ValueLayout.JAVA_SHORT, OFF_TYPE, (short) type);
    }

    private void send(UnixSocket conn, Fd... fds) throws IOException {
        conn.send(msg, MemifMsgLayout.SIZE, fds);
    }

    private void sendDisconnect(UnixSocket conn, String reason) {
        if (reason == null || reason.isEmpty()) return;
        try {
            begin(MEMIF_MSG_TYPE_DISCONNECT);
            putString(OFF_BODY + MemifMsgDisconnectLayout.OFF_STRING, reason.getBytes(StandardCharsets.UTF_8),
                    MemifMsgDisconnectLayout.STRING_SIZE);
            send(conn);
        } catch (IOException | RuntimeException ignored) {
            // the peer is gone already
        }
    }

    // ---- server ----

    private Session serverHandshake(UnixSocket conn) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.timeoutMillis());
        int pairs = config.queuePairs();
        begin(MEMIF_MSG_TYPE_HELLO);
        long b = OFF_BODY;
        putString(b + MemifMsgHelloLayout.OFF_NAME, OUR_NAME, MEMIF_NAME_SZ);
        msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MIN_VERSION, (short) MEMIF_VERSION);
        msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_VERSION, (short) MEMIF_VERSION);
        msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_REGION, (short) (MAX_REGIONS - 1));
        msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_M2S_RING, (short) (pairs - 1));
        msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_S2M_RING, (short) (pairs - 1));
        msg.set(ValueLayout.JAVA_BYTE, b + MemifMsgHelloLayout.OFF_MAX_LOG2_RING_SIZE, (byte) config.log2RingSize());
        send(conn);

        receive(conn, deadline);
        if (rxType != MEMIF_MSG_TYPE_INIT) {
            closeRxFd();
            throw refuse("Unexpected message", "expected INIT, got " + typeName(rxType));
        }
        closeRxFd();
        int version = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgInitLayout.OFF_VERSION) & 0xffff;
        if (version != MEMIF_VERSION) throw refuse("Incompatible memif version",
                "client speaks memif version 0x" + Integer.toHexString(version));
        int id = msg.get(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgInitLayout.OFF_ID);
        if (id != config.id()) throw refuse("ID not found",
                "client asked for interface id " + Integer.toUnsignedString(id) + ", ours is " + config.id());
        int mode = msg.get(ValueLayout.JAVA_BYTE, b + MemifMsgInitLayout.OFF_MODE) & 0xff;
        int ourMode = config.ip() ? MEMIF_INTERFACE_MODE_IP : MEMIF_INTERFACE_MODE_ETHERNET;
        if (mode != ourMode) throw refuse("Mode mismatch", "client wants mode " + mode + ", ours is " + ourMode);
        if (!config.secret().isEmpty()) {
            String s = string(b + MemifMsgInitLayout.OFF_SECRET, MemifMsgInitLayout.SECRET_SIZE);
            if (s.isEmpty()) throw refuse("Secret required", "client sent no secret");
            if (!java.security.MessageDigest.isEqual(s.getBytes(StandardCharsets.UTF_8),
                    config.secret().getBytes(StandardCharsets.UTF_8))) {
                throw refuse("Incorrect secret", "client sent the wrong secret");
            }
        }
        peerName = string(b + MemifMsgInitLayout.OFF_NAME, MEMIF_NAME_SZ);
        begin(MEMIF_MSG_TYPE_ACK);
        send(conn);

        List<Mapping> maps = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        int[] s2mRegion = new int[pairs], m2sRegion = new int[pairs];
        long[] s2mOffset = new long[pairs], m2sOffset = new long[pairs];
        EventFd[] s2mInt = new EventFd[pairs], m2sInt = new EventFd[pairs];
        int log2 = -1;
        boolean ok = false;
        try {
            while (true) {
                receive(conn, deadline);
                switch (rxType) {
                    case MEMIF_MSG_TYPE_ADD_REGION -> {
                        Fd fd = rxFd;
                        rxFd = null;
                        try {
                            if (fd == null) throw refuse("Missing region fd", "ADD_REGION without a file descriptor");
                            int index = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_INDEX)
                                    & 0xffff;
                            long size = msg.get(ValueLayout.JAVA_LONG_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_SIZE);
                            if (index != maps.size() || index >= MAX_REGIONS) {
                                throw refuse("Invalid region index", "ADD_REGION index " + index + ", expected "
                                        + maps.size() + " (at most " + MAX_REGIONS + " regions)");
                            }
                            if (size <= 0 || size > MAX_REGION_SIZE) throw refuse("Invalid region size",
                                    "region " + index + " of " + Long.toUnsignedString(size) + " bytes");
                            String bad = MemFd.checkPeer(fd, size, config.allowUnsealed());
                            if (bad != null) throw refuse("Invalid region", "region " + index + ": " + bad);
                            maps.add(Mapping.map(fd, size, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED,
                                    0, "memif region " + index));
                            sizes.add(size);
                        } finally {
                            if (fd != null) fd.close(); // the mapping keeps the memory
                        }
                    }
                    case MEMIF_MSG_TYPE_ADD_RING -> {
                        Fd fd = rxFd;
                        rxFd = null;
                        EventFd ev = null;
                        try {
                            if (fd == null) throw refuse("Missing interrupt fd", "ADD_RING without an eventfd");
                            String bad = EventFd.checkPeer(fd);
                            if (bad != null) throw refuse("Invalid interrupt fd", "ring interrupt: " + bad);
                            ev = EventFd.adoptPeer(fd); // the peer holds it too: calls that cannot block
                            fd = null; // ev owns it now
                            int flags = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_FLAGS)
                                    & 0xffff;
                            int index = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_INDEX)
                                    & 0xffff;
                            int region = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_REGION)
                                    & 0xffff;
                            long offset = msg.get(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_OFFSET)
                                    & 0xffffffffL;
                            int l2 =
                                    msg.get(ValueLayout.JAVA_BYTE, b + MemifMsgAddRingLayout.OFF_LOG2_RING_SIZE) & 0xff;
                            int priv = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED,
                                    b + MemifMsgAddRingLayout.OFF_PRIVATE_HDR_SIZE) & 0xffff;
                            boolean s2m = (flags & MemifMsgAddRingLayout.MEMIF_MSG_ADD_RING_FLAG_S2M) != 0;
                            String what = (s2m ? "S2M" : "M2S") + " ring " + index;
                            if (index >= pairs)
                                    throw refuse("Invalid ring index", what + ": we have " + pairs + " queue pairs");
                            if ((s2m ? s2mInt : m2sInt)[index] != null)
                                    throw refuse("Invalid ring index", what + " added twice");
                            if (region >= maps.size()) throw refuse("Invalid ring region",
                                    what + " in region " + region + ", which was not added");
                            if (l2 < 1 || l2 > config.log2RingSize() || (log2 >= 0 && l2 != log2)) {
                                throw refuse("Invalid ring size", what + ": log2 size " + l2 + " (ours at most "
                                        + config.log2RingSize() + ", all rings alike)");
                            }
                            if (priv != 0) throw refuse("Invalid ring",
                                    what + ": private header size " + priv + " (only 0 is supported)");
                            if ((offset & 3) != 0 || offset + MemifRingLayout.ringBytes(l2) > sizes.get(region)) {
                                throw refuse("Invalid ring offset", what + " at offset " + offset
                                        + " does not fit region " + region + " of " + sizes.get(region) + " bytes");
                            }
                            log2 = l2;
                            if (s2m) {
                                s2mRegion[index] = region;
                                s2mOffset[index] = offset;
                                s2mInt[index] = ev;
                            } else {
                                m2sRegion[index] = region;
                                m2sOffset[index] = offset;
                                m2sInt[index] = ev;
                            }
                            ev = null;
                        } finally {
                            if (ev != null) ev.close();
                            if (fd != null) fd.close();
                        }
                    }
                    case MEMIF_MSG_TYPE_CONNECT -> {
                        closeRxFd();
                        int n = 0;
                        while (n < pairs && s2mInt[n] != null && m2sInt[n] != null) n++;
                        for (int q = n; q < pairs; q++) {
                            if (s2mInt[q] != null || m2sInt[q] != null)
                                    throw refuse("Invalid rings", "rings are not paired 0.." + (n - 1));
                        }
                        if (n == 0) throw refuse("No rings", "CONNECT before a ring pair was added");
                        Session s = new Session(true, maps.toArray(new Mapping[0]),
                                sizes.stream().mapToLong(Long::longValue).toArray(), n, log2,
                                trim(s2mRegion, n), trim(s2mOffset, n), trim(s2mInt, n), trim(m2sRegion, n),
                                        trim(m2sOffset, n), trim(m2sInt, n), 0, 0);
                        for (int q = 0; q < n; q++) {
                            checkCookie(s, s.s2mRegion[q], s.s2mOffset[q], "S2M ring " + q);
                            checkCookie(s, s.m2sRegion[q], s.m2sOffset[q], "M2S ring " + q);
                            // We poll our receive rings until a link goes to sleep.
                            s.regions[s.s2mRegion[q]].set(ValueLayout.JAVA_SHORT,
                                    s.s2mOffset[q] + MemifRingLayout.OFF_FLAGS,
                                    (short) MemifRingLayout.MEMIF_RING_FLAG_MASK_INT);
                        }
                        begin(MEMIF_MSG_TYPE_CONNECTED);
                        putString(OFF_BODY + MemifMsgConnectedLayout.OFF_IF_NAME, name.getBytes(StandardCharsets.UTF_8),
                                MEMIF_NAME_SZ);
                        send(conn);
                        ok = true;
                        return s;
                    }
                    default -> {
                        closeRxFd();
                        throw refuse("Unexpected message", "unexpected " + typeName(rxType) + " during set-up");
                    }
                }
                begin(MEMIF_MSG_TYPE_ACK);
                send(conn);
            }
        } finally {
            closeRxFd();
            if (!ok) {
                for (Mapping m : maps) m.close();
                for (EventFd e : s2mInt) if (e != null) e.close();
                for (EventFd e : m2sInt) if (e != null) e.close();
            }
        }
    }

    private void checkCookie(Session s, int region, long offset, String what) throws MemifException {
        int cookie = s.regions[region].get(ValueLayout.JAVA_INT, offset + MemifRingLayout.OFF_COOKIE);
        if (cookie != MEMIF_COOKIE)
                throw refuse("Wrong ring", what + ": cookie 0x" + Integer.toHexString(cookie) + " is not memif's");
    }

    private static int[] trim(int[] a, int n) { return java.util.Arrays.copyOf(a, n); }
    private static long[] trim(long[] a, int n) { return java.util.Arrays.copyOf(a, n); }
    private static EventFd[] trim(EventFd[] a, int n) { return java.util.Arrays.copyOf(a, n); }

    // ---- client ----

    private Session clientHandshake(UnixSocket conn) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.timeoutMillis());
        long b = OFF_BODY;
        receive(conn, deadline);
        if (rxType != MEMIF_MSG_TYPE_HELLO) {
            closeRxFd();
            throw refuse("Unexpected message", "expected HELLO, got " + typeName(rxType));
        }
        closeRxFd();
        int minV = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MIN_VERSION) & 0xffff;
        int maxV = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_VERSION) & 0xffff;
        if (minV > MEMIF_VERSION || maxV < MEMIF_VERSION) {
            throw refuse("Incompatible memif version",
                    "server speaks memif versions 0x" + Integer.toHexString(minV) + "..0x" + Integer.toHexString(maxV));
        }
        int maxM2s = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_M2S_RING) & 0xffff;
        int maxS2m = msg.get(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgHelloLayout.OFF_MAX_S2M_RING) & 0xffff;
        int maxLog2 = msg.get(ValueLayout.JAVA_BYTE, b + MemifMsgHelloLayout.OFF_MAX_LOG2_RING_SIZE) & 0xff;
        peerName = string(b + MemifMsgHelloLayout.OFF_NAME, MEMIF_NAME_SZ);
        int pairs = Math.min(config.queuePairs(), Math.min(maxM2s, maxS2m) + 1);
        int log2 = Math.min(config.log2RingSize(), maxLog2);
        if (log2 < 1) throw refuse("Invalid ring size", "server allows rings of log2 size " + maxLog2);

        // One region: 2 * pairs rings (S2M 0..pairs-1, then M2S), then a buffer per slot.
        int ringSize = 1 << log2;
        long ringBytes = MemifRingLayout.ringBytes(log2);
        long bufferStart = (2L * pairs * ringBytes + 63) & ~63L;
        long size = bufferStart + 2L * pairs * ringSize * config.bufferSize();
        if (size > MAX_REGION_SIZE) throw refuse("",
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

            begin(MEMIF_MSG_TYPE_INIT);
            msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgInitLayout.OFF_VERSION, (short) MEMIF_VERSION);
            msg.set(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgInitLayout.OFF_ID, config.id());
            msg.set(ValueLayout.JAVA_BYTE, b + MemifMsgInitLayout.OFF_MODE,
                    (byte) (config.ip() ? MEMIF_INTERFACE_MODE_IP : MEMIF_INTERFACE_MODE_ETHERNET));
            byte[] secret = config.secret().getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(secret, 0, msg, ValueLayout.JAVA_BYTE, b + MemifMsgInitLayout.OFF_SECRET, secret.length);
            putString(b + MemifMsgInitLayout.OFF_NAME, OUR_NAME, MEMIF_NAME_SZ);
            send(conn);
            expect(conn, deadline, MEMIF_MSG_TYPE_ACK);

            begin(MEMIF_MSG_TYPE_ADD_REGION);
            msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_INDEX, (short) 0);
            msg.set(ValueLayout.JAVA_LONG_UNALIGNED, b + MemifMsgAddRegionLayout.OFF_SIZE, size);
            send(conn, mem);
            expect(conn, deadline, MEMIF_MSG_TYPE_ACK);

            for (int dir = 0; dir < 2; dir++) {
                for (int q = 0; q < pairs; q++) {
                    begin(MEMIF_MSG_TYPE_ADD_RING);
                    msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_FLAGS,
                            (short) (dir == 0 ? MemifMsgAddRingLayout.MEMIF_MSG_ADD_RING_FLAG_S2M : 0));
                    msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_INDEX, (short) q);
                    msg.set(ValueLayout.JAVA_SHORT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_REGION, (short) 0);
                    msg.set(ValueLayout.JAVA_INT_UNALIGNED, b + MemifMsgAddRingLayout.OFF_OFFSET,
                            (int) (dir == 0 ? s2mOffset[q] : m2sOffset[q]));
                    msg.set(ValueLayout.JAVA_BYTE, b + MemifMsgAddRingLayout.OFF_LOG2_RING_SIZE, (byte) log2);
                    send(conn, (dir == 0 ? s2mInt[q] : m2sInt[q]).fd());
                    expect(conn, deadline, MEMIF_MSG_TYPE_ACK);
                }
            }

            begin(MEMIF_MSG_TYPE_CONNECT);
            putString(b + MemifMsgConnectLayout.OFF_IF_NAME, name.getBytes(StandardCharsets.UTF_8), MEMIF_NAME_SZ);
            send(conn);
            expect(conn, deadline, MEMIF_MSG_TYPE_CONNECTED);

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
                    sendDisconnect(conn, "Interface closed");
                    return "closed";
                }
                String broken = s.broken;
                if (broken != null) {
                    sendDisconnect(conn, "Bad descriptor or ring index");
                    return "the peer broke the rings: " + broken;
                }
                if (ps.poll(500) == 0) continue;
                if ((ps.revents(iCtl) & PollfdLayout.POLLIN) != 0) control.drain();
                if (iListen >= 0 && (ps.revents(iListen) & PollfdLayout.POLLIN) != 0) {
                    UnixSocket extra = listener.accept(0);
                    if (extra != null) {
                        sendDisconnect(extra, "Already connected");
                        extra.close();
                    }
                }
                if ((ps.revents(iConn) & (PollfdLayout.POLLIN | PollfdLayout.POLLHUP | PollfdLayout.POLLERR)) != 0) {
                    try {
                        receive(conn, System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
                    } catch (MemifException e) {
                        return e.getMessage();
                    }
                    closeRxFd();
                    if (rxType != MEMIF_MSG_TYPE_ACK) {
                        sendDisconnect(conn, "Unexpected message");
                        return "unexpected " + typeName(rxType) + " while connected";
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
