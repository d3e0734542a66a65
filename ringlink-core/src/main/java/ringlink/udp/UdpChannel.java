package ringlink.udp;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import ringlink.packet.PacketBatch;
import ringlink.sys.Errno;
import ringlink.sys.IovecLayout;
import ringlink.sys.MmsghdrLayout;
import ringlink.sys.MsghdrLayout;
import ringlink.sys.Pointers;
import ringlink.sys.UdpSocket;

/**
 * Batched datagram I/O on one UDP socket: {@code recvmmsg(2)} and {@code sendmmsg(2)} between a
 * {@link PacketBatch} (one datagram per packet, its remote endpoint in {@code PacketBatch.peer})
 * and the kernel, with UDP GSO and GRO.
 *
 * <ul>
 *   <li><b>Transmit</b>: consecutive packets to the same peer with the same length (the last of
 *       a run may be shorter) leave as one message carrying a {@code UDP_SEGMENT} control message
 *       with that length: the kernel builds the run's datagrams from one traversal of its stack
 *       (or the NIC does). At most {@link UdpSocket#UDP_MAX_SEGMENTS} datagrams and 65507 payload
 *       bytes per run. The iovecs point into the batch: no copy. If the kernel refuses a run
 *       ({@code EIO}: the route's device cannot checksum; {@code EMSGSIZE} or {@code EINVAL}: a segment larger than
 *       the path MTU) the run is sent again as single datagrams; after {@code EIO} GSO stays off
 *       for the channel.</li>
 *   <li><b>Receive</b>: without GRO the kernel writes datagrams straight into the batch's buffers.
 *       With GRO ({@code UDP_GRO} on the socket) a message may be a run of coalesced datagrams
 *       with its segment size in a {@code UDP_GRO} control message; such messages land in the
 *       channel's staging buffers (64 KiB each) and are split back into one packet per datagram,
 *       carrying over to the next call when the batch fills; or, with a {@link Sink}, handed to
 *       the caller one datagram at a time where it lies (no batch: the tunnel decapsulates and
 *       coalesces from there, one user-space copy instead of two).</li>
 *   <li><b>Peers</b>: each received packet gets its source's id in the {@link PeerTable} (learned
 *       when allowed; datagrams from unknown sources are otherwise dropped and counted); each
 *       transmitted one goes to the sockaddr of its peer id.</li>
 * </ul>
 *
 * <p>One thread receives and one thread transmits (they may differ). Nothing is allocated per
 * packet. The native arrays are reachable only from this object and freed with it (an automatic
 * arena: a call in flight on another thread may still use them while the owner closes).
 */
public final class UdpChannel {
    /** Largest UDP payload of one IPv4 datagram (65535 − 20 − 8): the cap of one GSO run. */
    public static final int MAX_GSO_BYTES = 65507;
    /** Size of one GRO staging buffer: the largest coalesced message the kernel hands over. */
    static final int STAGING = 65536;
    private static final int NAME = 32, CTL = 64;
    private static final int TX_CMSG_SPACE = (int) MsghdrLayout.cmsgSpace(2);

    private final UdpSocket sock;
    private final PeerTable peers;
    private final int burst;
    private final boolean gro;
    private boolean gso;
    private final int maxIov;

    private final MemorySegment rxVec, rxIov, rxNames, rxCtl, staging;
    private final MemorySegment txVec, txIov, txCtl;
    private final int[] msgFirst, msgCount;

    // GRO split carried across calls
    private int pendN, pendMsg, pendOff;
    // the pending message openPending() opened: length, segment size, peer, staging offset
    private int msgLen, msgSeg, msgPeer;
    private long msgBase;
    private boolean learn;
    private int limit;
    private int fixedPort = -1;
    // a run the kernel refused whole: packets before this index go out one by one (this call)
    private int noGsoUntil = -1;

    // statistics: rx fields written by the receiving thread, tx fields by the transmitting one
    private long rxDatagrams, rxGroMessages, rxTruncated, rxUnknown, rxErrors, rxCalls;
    private long txDatagrams, txGsoMessages, txErrors, txUnroutable, gsoRefused, txCalls;
    private int lastTxErrno;

    /**
     * A channel over {@code sock} (already bound, non-blocking) moving at most {@code burst}
     * messages per system call. {@code gro}: UDP_GRO is on for the socket (the caller set it);
     * {@code gso}: use UDP_SEGMENT on transmit.
     */
    public UdpChannel(UdpSocket sock, PeerTable peers, int burst, boolean gro, boolean gso) {
        if (burst < 1 || burst > 1024) throw new IllegalArgumentException("burst " + burst + " not in [1, 1024]");
        if (peers.ipv6() != sock.ipv6()) throw new IllegalArgumentException("peer table and socket families differ");
        this.sock = sock;
        this.peers = peers;
        this.burst = burst;
        this.gro = gro;
        this.gso = gso;
        this.maxIov = Math.min(IovecLayout.IOV_MAX, burst * UdpSocket.UDP_MAX_SEGMENTS);
        Arena arena = Arena.ofAuto();
        this.rxVec = arena.allocate(MmsghdrLayout.SIZE * burst, 8);
        this.rxIov = arena.allocate(IovecLayout.SIZE * burst, 8);
        this.rxNames = arena.allocate((long) NAME * burst, 8);
        this.rxCtl = arena.allocate((long) CTL * burst, 8);
        this.staging = gro ? arena.allocate((long) STAGING * burst, 64) : null;
        this.txVec = arena.allocate(MmsghdrLayout.SIZE * burst, 8);
        this.txIov = arena.allocate(IovecLayout.SIZE * maxIov, 8);
        this.txCtl = arena.allocate((long) TX_CMSG_SPACE * burst, 8);
        this.msgFirst = new int[burst];
        this.msgCount = new int[burst];
        for (int k = 0; k < burst; k++) {
            long m = k * MmsghdrLayout.SIZE;
            Pointers.store(rxVec, m + MsghdrLayout.OFF_MSG_NAME, rxNames, (long) k * NAME);
            Pointers.store(rxVec, m + MsghdrLayout.OFF_MSG_IOV, rxIov, k * IovecLayout.SIZE);
            rxVec.set(ValueLayout.JAVA_LONG, m + MsghdrLayout.OFF_MSG_IOVLEN, 1);
            Pointers.store(rxVec, m + MsghdrLayout.OFF_MSG_CONTROL, rxCtl, (long) k * CTL);
            if (gro) IovecLayout.set(rxIov, k, staging, (long) k * STAGING, STAGING);
            // the UDP_SEGMENT control message of transmit message k (its value is set per run)
            long c = (long) k * TX_CMSG_SPACE;
            txCtl.set(ValueLayout.JAVA_LONG, c + MsghdrLayout.OFF_CMSG_LEN, MsghdrLayout.cmsgLen(2));
            txCtl.set(ValueLayout.JAVA_INT, c + MsghdrLayout.OFF_CMSG_LEVEL, UdpSocket.SOL_UDP);
            txCtl.set(ValueLayout.JAVA_INT, c + MsghdrLayout.OFF_CMSG_TYPE, UdpSocket.UDP_SEGMENT);
        }
    }

    /**
     * Identifies received sources by address alone, as {@code address:port} (−1, the default:
     * by address and source port). A tunnel sets its destination port: peers send from
     * flow-hash source ports and are answered at the well-known port.
     */
    public void fixedPeerPort(int port) { this.fixedPort = port; }

    /** The socket the channel moves datagrams on. */
    public UdpSocket socket() { return sock; }
    /** The table mapping peer ids to addresses. */
    public PeerTable peers() { return peers; }
    /** True while transmit uses UDP_SEGMENT (false if off or the kernel refused it with EIO). */
    public boolean gsoEnabled() { return gso; }
    /** True if receive expects UDP_GRO coalesced datagrams (the caller turned UDP_GRO on for the socket). */
    public boolean groEnabled() { return gro; }

    // ------------------------------------------------------------------ receive

    /**
     * Appends received datagrams to {@code batch} (one packet each, its source in
     * {@code peer}) until it is full or nothing more is ready; returns how many were appended.
     * Sources not in the peer table are added when {@code learn} (and there is room), otherwise
     * their datagrams are dropped and counted ({@link #rxUnknown()}).
     */
    public int receive(PacketBatch batch, boolean learn) throws IOException {
        return receive(batch, learn, batch.capacity());
    }

    /** Like {@link #receive(PacketBatch, boolean)}, appending at most {@code max} packets. */
    public int receive(PacketBatch batch, boolean learn, int max) throws IOException {
        int start = batch.count();
        this.limit = (int) Math.min(batch.capacity(), (long) start + Math.max(0, max));
        this.learn = learn;
        if (gro) {
            drainPending(batch);
            while (pendN == 0 && batch.count() < limit) {
                int n = recvStaged(Math.min(burst, limit - batch.count()));
                if (n <= 0) break;
                drainPending(batch);
                if (n < burst) break; // the socket is (nearly) empty: do not spend a call finding out
            }
        } else {
            while (batch.count() < limit) {
                int first = batch.count();
                int want = Math.min(burst, limit - first);
                int room = batch.bufferSize() - batch.headroom();
                for (int k = 0; k < want; k++) {
                    IovecLayout.set(rxIov, k, batch.memory(), batch.bufferOffset(first + k) + batch.headroom(), room);
                }
                int n = recv(want);
                if (n <= 0) break;
                for (int k = 0; k < n; k++) {
                    long m = k * MmsghdrLayout.SIZE;
                    int len = rxVec.get(ValueLayout.JAVA_INT, m + MmsghdrLayout.OFF_MSG_LEN);
                    int flags = rxVec.get(ValueLayout.JAVA_INT, m + MsghdrLayout.OFF_MSG_FLAGS);
                    if ((flags & MsghdrLayout.MSG_TRUNC) != 0) {
                        rxTruncated++;
                        continue;
                    }
                    int peer = peers.lookup(rxNames, (long) k * NAME, learn, fixedPort);
                    if (peer < 0) {
                        rxUnknown++;
                        continue;
                    }
                    int i = batch.add();
                    if (i != first + k) { // an earlier one was dropped: close the gap
                        MemorySegment.copy(batch.memory(), batch.bufferOffset(first + k) + batch.headroom(),
                                batch.memory(), batch.dataOffset(i), len);
                    }
                    batch.setLength(i, len);
                    batch.setPeer(i, peer);
                    rxDatagrams++;
                }
                if (n < want) break;
            }
        }
        return batch.count() - start;
    }

    /**
     * Takes received datagrams one at a time where they lie, in the channel's staging buffers
     * (see {@link #receive(Sink, boolean, int, int)}).
     */
    @FunctionalInterface
    public interface Sink {
        /**
         * Offers the datagram at {@code m[off, off + len)} from peer id {@code peer}. The bytes
         * are valid only during the call (the next {@code recvmmsg} overwrites them); the sink
         * may read and modify them.
         *
         * @return true if the datagram was taken (used or dropped by the sink); false if the
         *     sink is full: the datagram is offered again first by the next receive call
         */
        boolean accept(MemorySegment m, long off, int len, int peer);
    }

    /**
     * Receives like {@link #receive(PacketBatch, boolean, int)} but hands each datagram (UDP_GRO
     * runs split) to {@code sink} in place in the staging buffer instead of copying it into a
     * batch: for a caller that copies it on anyway (a tunnel decapsulating and coalescing into
     * its caller's batch), one user-space copy less. Stops when the sink refuses one (it is kept
     * for the next call) or, after at most {@code maxMessages} messages read by one call,
     * nothing more is ready. Datagrams longer than {@code maxLen} are dropped and counted as
     * truncated, as those that do not fit a batch's buffers are; unknown sources are handled as
     * by the batch form. Only for a channel with GRO ({@link #groEnabled()}): without it the
     * kernel writes into the caller's buffers and there is no staging copy to save.
     *
     * @return the number of datagrams the sink took
     * @throws IllegalStateException if the channel has no GRO staging buffers
     */
    public int receive(Sink sink, boolean learn, int maxMessages, int maxLen) throws IOException {
        if (!gro) throw new IllegalStateException("receive into a sink needs a channel with UDP_GRO");
        this.learn = learn;
        int want = Math.min(burst, Math.max(0, maxMessages));
        int taken = 0;
        while (true) {
            int r = drainPending(sink, maxLen);
            if (r < 0) return taken + (-r - 1); // the sink is full
            taken += r;
            if (want == 0) return taken;
            if (recvStaged(want) <= 0) return taken;
            want = 0; // one recvmmsg per call: the caller's batch bounds what the sink can take
        }
    }

    /**
     * Hands the staged messages to {@code sink}; returns how many it took, or −(taken + 1) if it
     * refused one (that one stays pending).
     */
    private int drainPending(Sink sink, int maxLen) {
        int taken = 0;
        while (pendMsg < pendN) {
            if (!openPending()) continue;
            int len = msgLen, seg = msgSeg, peer = msgPeer;
            long base = msgBase;
            while (pendOff < len || len == 0) {
                int piece = Math.min(seg, len - pendOff);
                if (piece > maxLen) {
                    rxTruncated++;
                } else {
                    if (!sink.accept(staging, base + pendOff, piece, peer)) return -(taken + 1);
                    taken++;
                    rxDatagrams++;
                }
                pendOff += piece;
                if (len == 0) break;
            }
            if (seg < len) rxGroMessages++; // counted once the run is used up (a refusal resumes it)
            pendMsg++;
            pendOff = 0;
        }
        pendN = 0;
        pendMsg = 0;
        return taken;
    }

    /**
     * Opens staged message {@code pendMsg} for both drains: its length, UDP_GRO segment size,
     * peer and staging offset into the {@code msg*} fields; false if it cannot be delivered
     * (truncated or from an unknown source), then its remaining datagrams are counted and it is
     * skipped.
     */
    private boolean openPending() {
        int k = pendMsg;
        long m = k * MmsghdrLayout.SIZE;
        int len = rxVec.get(ValueLayout.JAVA_INT, m + MmsghdrLayout.OFF_MSG_LEN);
        int flags = rxVec.get(ValueLayout.JAVA_INT, m + MsghdrLayout.OFF_MSG_FLAGS);
        int peer = peers.lookup(rxNames, (long) k * NAME, learn, fixedPort);
        int seg = groSize(k, m);
        if (seg <= 0 || seg > len) seg = len;
        if ((flags & MsghdrLayout.MSG_TRUNC) != 0 || peer < 0) {
            int datagrams = len == 0 ? 1 : (len + seg - 1) / seg - pendOff / Math.max(seg, 1);
            if (peer < 0) rxUnknown += datagrams;
            else rxTruncated += datagrams;
            pendMsg++;
            pendOff = 0;
            return false;
        }
        msgLen = len;
        msgSeg = seg;
        msgPeer = peer;
        msgBase = (long) k * STAGING;
        return true;
    }

    /** recvmmsg of up to {@code n} messages into the staging buffers, which become pending; 0 if none. */
    private int recvStaged(int n) throws IOException {
        int r = recv(n);
        if (r > 0) {
            pendN = r;
            pendMsg = 0;
            pendOff = 0;
        }
        return r;
    }

    /** recvmmsg of up to {@code n} messages with fresh name/control lengths; 0 if none. */
    private int recv(int n) throws IOException {
        for (int k = 0; k < n; k++) {
            long m = k * MmsghdrLayout.SIZE;
            rxVec.set(ValueLayout.JAVA_INT, m + MsghdrLayout.OFF_MSG_NAMELEN, NAME);
            rxVec.set(ValueLayout.JAVA_LONG, m + MsghdrLayout.OFF_MSG_CONTROLLEN, CTL);
            rxVec.set(ValueLayout.JAVA_INT, m + MsghdrLayout.OFF_MSG_FLAGS, 0);
        }
        rxCalls++;
        int r = sock.recvmmsg(rxVec, n);
        if (r < 0) {
            if (r != -Errno.EAGAIN) rxErrors++; // an ICMP-reported error, now cleared: keep going
            return 0;
        }
        return r;
    }

    /** Splits the staged messages into {@code batch} until it is full or they are used up. */
    private void drainPending(PacketBatch batch) {
        while (pendMsg < pendN) {
            if (!openPending()) continue;
            int len = msgLen, seg = msgSeg, peer = msgPeer;
            if (pendOff == 0 && seg < len) rxGroMessages++;
            long base = msgBase;
            while (pendOff < len || len == 0) {
                if (batch.count() >= limit) return;
                int piece = Math.min(seg, len - pendOff);
                int i = batch.add();
                if (piece > batch.room(i)) { // larger than the caller's buffers: drop it
                    batch.setCount(i);
                    rxTruncated++;
                } else {
                    MemorySegment.copy(staging, base + pendOff, batch.memory(), batch.dataOffset(i), piece);
                    batch.setLength(i, piece);
                    batch.setPeer(i, peer);
                    rxDatagrams++;
                }
                pendOff += piece;
                if (len == 0) break;
            }
            pendMsg++;
            pendOff = 0;
        }
        pendN = 0;
        pendMsg = 0;
    }

    /** The UDP_GRO segment size in message {@code k}'s control data, or 0 if it has none. */
    private int groSize(int k, long m) {
        long ctlLen = rxVec.get(ValueLayout.JAVA_LONG, m + MsghdrLayout.OFF_MSG_CONTROLLEN);
        long base = (long) k * CTL;
        long off = 0;
        while (off + MsghdrLayout.CMSGHDR_SIZE <= ctlLen && off + MsghdrLayout.CMSGHDR_SIZE <= CTL) {
            long cl = rxCtl.get(ValueLayout.JAVA_LONG, base + off + MsghdrLayout.OFF_CMSG_LEN);
            if (cl < MsghdrLayout.CMSGHDR_SIZE || off + cl > ctlLen) break;
            int level = rxCtl.get(ValueLayout.JAVA_INT, base + off + MsghdrLayout.OFF_CMSG_LEVEL);
            int type = rxCtl.get(ValueLayout.JAVA_INT, base + off + MsghdrLayout.OFF_CMSG_TYPE);
            if (level == UdpSocket.SOL_UDP && type == UdpSocket.UDP_GRO && cl >= MsghdrLayout.CMSGHDR_SIZE + 4) {
                return rxCtl.get(ValueLayout.JAVA_INT, base + off + MsghdrLayout.CMSGHDR_SIZE);
            }
            off += MsghdrLayout.cmsgAlign(cl);
        }
        return 0;
    }

    // ------------------------------------------------------------------ transmit

    /**
     * Sends packets {@code [from, to)} of {@code batch}, each to the peer id in its
     * {@code peer}; returns how many were taken (sent, or dropped and counted: unknown peer id,
     * or an error the kernel reported for that message). Fewer than {@code to - from} means the
     * socket buffer is full (back-pressure).
     */
    public int send(PacketBatch batch, int from, int to) throws IOException {
        int taken = from;
        int known = peers.size();
        noGsoUntil = -1; // a refused run is resent singly within this call
        while (taken < to) {
            int m = 0, iov = 0, i = taken;
            while (i < to && m < burst && iov < maxIov) {
                int p = batch.peer(i);
                if (p < 0 || p >= known) {
                    if (m > 0) break;
                    txUnroutable++;
                    i++;
                    taken++;
                    continue;
                }
                int len = batch.length(i);
                int run = 1;
                long total = len;
                if (gso && len > 0 && i >= noGsoUntil) {
                    while (i + run < to && run < UdpSocket.UDP_MAX_SEGMENTS && iov + run < maxIov) {
                        int j = i + run;
                        int lj = batch.length(j);
                        if (batch.peer(j) != p || lj > len || lj == 0 || total + lj > MAX_GSO_BYTES) break;
                        run++;
                        total += lj;
                        if (lj < len) break; // a shorter datagram ends a run
                    }
                }
                for (int r = 0; r < run; r++) {
                    IovecLayout.set(txIov, iov + r, batch.memory(), batch.dataOffset(i + r), batch.length(i + r));
                }
                long mh = m * MmsghdrLayout.SIZE;
                txVec.set(ValueLayout.JAVA_LONG, mh + MsghdrLayout.OFF_MSG_NAME, peers.sockaddrAddress(p));
                txVec.set(ValueLayout.JAVA_INT, mh + MsghdrLayout.OFF_MSG_NAMELEN, peers.sockaddrSize());
                Pointers.store(txVec, mh + MsghdrLayout.OFF_MSG_IOV, txIov, iov * IovecLayout.SIZE);
                txVec.set(ValueLayout.JAVA_LONG, mh + MsghdrLayout.OFF_MSG_IOVLEN, run);
                if (run > 1) {
                    long c = (long) m * TX_CMSG_SPACE;
                    txCtl.set(ValueLayout.JAVA_SHORT, c + MsghdrLayout.CMSGHDR_SIZE, (short) len);
                    Pointers.store(txVec, mh + MsghdrLayout.OFF_MSG_CONTROL, txCtl, c);
                    txVec.set(ValueLayout.JAVA_LONG, mh + MsghdrLayout.OFF_MSG_CONTROLLEN, TX_CMSG_SPACE);
                } else {
                    txVec.set(ValueLayout.JAVA_LONG, mh + MsghdrLayout.OFF_MSG_CONTROL, 0L);
                    txVec.set(ValueLayout.JAVA_LONG, mh + MsghdrLayout.OFF_MSG_CONTROLLEN, 0L);
                }
                txVec.set(ValueLayout.JAVA_INT, mh + MsghdrLayout.OFF_MSG_FLAGS, 0);
                msgFirst[m] = i;
                msgCount[m] = run;
                m++;
                iov += run;
                i += run;
            }
            if (m == 0) continue; // only unroutable packets: dropped above
            txCalls++;
            int r = sock.sendmmsg(txVec, m);
            if (r > 0) {
                for (int k = 0; k < r; k++) {
                    taken += msgCount[k];
                    txDatagrams += msgCount[k];
                    if (msgCount[k] > 1) txGsoMessages++;
                }
                continue;
            }
            int e = -r;
            if (e == Errno.EAGAIN || e == Errno.ENOBUFS) break; // full: the caller retries
            if (msgCount[0] > 1 && (e == Errno.EIO || e == Errno.EINVAL || e == Errno.EMSGSIZE)) {
                gsoRefused++;
                if (e == Errno.EIO) gso = false; // the route cannot checksum: no GSO at all
                noGsoUntil = msgFirst[0] + msgCount[0];
                continue;
            }
            txErrors += msgCount[0];
            lastTxErrno = e;
            taken += msgCount[0];
        }
        return taken - from;
    }

    // ------------------------------------------------------------------ statistics

    /** Datagrams received (after GRO split). */
    public long rxDatagrams() { return rxDatagrams; }
    /** Received messages that carried a UDP_GRO run of several datagrams. */
    public long rxGroMessages() { return rxGroMessages; }
    /** Datagrams dropped because they did not fit the buffers. */
    public long rxTruncated() { return rxTruncated; }
    /** Datagrams dropped because their source was not a known peer. */
    public long rxUnknown() { return rxUnknown; }
    /** recvmmsg calls that returned a socket error (e.g. ICMP port unreachable). */
    public long rxErrors() { return rxErrors; }
    /** {@code recvmmsg} calls made (including those that found nothing). */
    public long rxCalls() { return rxCalls; }
    /** {@code sendmmsg} calls made (including refused and retried ones). */
    public long txCalls() { return txCalls; }
    /** Datagrams sent. */
    public long txDatagrams() { return txDatagrams; }
    /** Messages sent as a UDP_SEGMENT run of several datagrams. */
    public long txGsoMessages() { return txGsoMessages; }
    /** Datagrams dropped because the kernel refused their message. */
    public long txErrors() { return txErrors; }
    /** Packets dropped because their peer id named no peer. */
    public long txUnroutable() { return txUnroutable; }
    /** GSO runs the kernel refused and that were resent one datagram at a time. */
    public long gsoRefused() { return gsoRefused; }
    /** errno of the last refused message (0 if none). */
    public int lastTxErrno() { return lastTxErrno; }
}
