package ringlink.udp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.PacketBatch;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.UdpSocket;

/**
 * A {@link Layer#DATAGRAM} link over one UDP socket: each packet is one datagram's payload, its
 * remote endpoint in {@link PacketBatch#peer} (an id in {@link #peers()}; 0 = the first
 * {@code remote}). Batched with {@code recvmmsg}/{@code sendmmsg}, UDP GSO on transmit and GRO
 * on receive ({@link UdpChannel}). No offloads in the virtio-net sense ({@link Offloads#NONE}).
 *
 * <p>Receive accepts datagrams from the configured remotes only, unless {@code accept=any} (or
 * no remote is configured): then sources are learned into the peer table up to its capacity,
 * and datagrams from further sources are dropped and counted.
 *
 * <p>{@link #readyFd()} is an epoll descriptor over the socket and a shutdown eventfd, so
 * {@link #close()} wakes a sleeper ({@link LinkState}).
 */
public final class UdpLink implements Link {
    /**
     * What a udp link is opened with (see {@link UdpLinkProvider} for the spec form).
     *
     * @param local the address and port to bind (port 0: any)
     * @param remotes the configured remote endpoints (peer ids 0, 1, ... in this order); copied
     * @param acceptAny receive from any source (learning it into the peer table), not only from {@code remotes}
     * @param mtu the largest datagram payload in bytes, in [1, 65507]
     * @param burst datagrams per {@code recvmmsg}/{@code sendmmsg} call
     * @param rcvbuf the socket's receive buffer in bytes (SO_RCVBUF), 0 for the kernel's default
     * @param sndbuf the socket's send buffer in bytes (SO_SNDBUF), 0 for the kernel's default
     * @param reusePort set SO_REUSEPORT before binding
     * @param gso send runs of equal-size datagrams as one UDP_SEGMENT message
     * @param gro turn UDP_GRO on for the socket and split coalesced receives
     * @param peers the peer table's capacity (at least the number of remotes)
     */
    public record Options(InetSocketAddress local, List<InetSocketAddress> remotes, boolean acceptAny, int mtu,
                          int burst, int rcvbuf, int sndbuf, boolean reusePort, boolean gso, boolean gro, int peers) {
        /** Copies the remotes and checks the MTU ([1, 65507]). */
        public Options {
            remotes = List.copyOf(remotes);
            if (mtu < 1 || mtu > UdpChannel.MAX_GSO_BYTES)
                    throw new IllegalArgumentException("mtu " + mtu + " not in [1, 65507]");
        }

        /** Defaults: batches of 64, GSO and GRO on, accept the remotes only (any if there are none), 1024 peers. */
        public static Options of(InetSocketAddress local, List<InetSocketAddress> remotes) {
            return new Options(local, remotes, remotes.isEmpty(), 1500, 64, 0, 0, false, true, true, 1024);
        }
    }

    private final String name;
    private final Options o;
    private final UdpSocket sock;
    private final PeerTable peers;
    private final UdpChannel ch;
    private final LinkCounters counters = new LinkCounters();
    private final Epoll ready;
    private final LinkState state;
    private final InetSocketAddress bound;
    // last channel statistics folded into the counters
    // The channel's running totals as last added to the counters (indices below), see delta().
    private static final int RX_DROP = 0, TX_DROP = 1, GRO = 2, GSO = 3;
    private final long[] seen = new long[4];

    private UdpLink(String name, Options o, UdpSocket sock, PeerTable peers, Epoll ready,
            EventFd shutdown) throws IOException {
        this.name = name;
        this.o = o;
        this.sock = sock;
        this.peers = peers;
        this.ch = new UdpChannel(sock, peers, o.burst(), o.gro() && UdpSockets.groOn(sock), o.gso());
        this.ready = ready;
        this.state = new LinkState(name, shutdown, ready);
        this.bound = sock.localAddress();
    }

    /** Opens the socket, binds it and registers the remotes (ids 0, 1, ... in order). */
    public static UdpLink open(String name, Options o) throws IOException {
        UdpSocket s = UdpSockets.open(o.local(), o.reusePort(), o.rcvbuf(), o.sndbuf(), o.gro(), name);
        PeerTable peers = null;
        EventFd sd = null;
        Epoll ep = null;
        try {
            peers = new PeerTable(s.ipv6(), Math.max(o.peers(), o.remotes().size()));
            for (InetSocketAddress r : o.remotes()) peers.add(r);
            sd = EventFd.create();
            ep = new Epoll(2);
            ep.add(s.fd(), EpollEventLayout.EPOLLIN, 0);
            ep.add(sd.fd(), EpollEventLayout.EPOLLIN, 1);
            return new UdpLink(name, o, s, peers, ep, sd);
        } catch (IOException | RuntimeException e) {
            if (ep != null) ep.close();
            if (sd != null) sd.close();
            s.close();
            throw e;
        }
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.DATAGRAM; }
    /** The largest datagram payload this link sends or receives. */
    @Override public int mtu() { return o.mtu(); }
    @Override public Offloads offloads() { return Offloads.NONE; }
    @Override public int maxReceiveSize() { return o.mtu(); }
    @Override public Fd readyFd() { return ready.fd(); }
    @Override public LinkCounters counters() { return counters; }

    /** Through the link state: close() closes the socket only after the call left. */
    @Override
    public int receive(PacketBatch batch) throws IOException {
        return state.receive(this, batch, UdpLink::receiveEntered);
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        return state.transmit(this, batch, from, to, UdpLink::transmitEntered);
    }

    @Override public boolean isOpen() { return state.isOpen(); }
    @Override public boolean prepareToWait() { return state.beginWait(); }
    @Override public void finishWait() { state.endWait(); }

    /** The remote endpoints by id: configured ones, then learned sources. */
    public PeerTable peers() { return peers; }
    /** The channel (statistics: GSO/GRO runs, errors). */
    public UdpChannel channel() { return ch; }
    /** The address the socket is bound to (with the kernel's port when 0 was asked). */
    public InetSocketAddress localAddress() { return bound; }

    private int receiveEntered(PacketBatch batch) throws IOException {
        int start = batch.count();
        int n = ch.receive(batch, o.acceptAny());
        if (n > 0) {
            long bytes = 0;
            for (int i = start; i < start + n; i++) bytes += batch.length(i);
            counters.received(n, bytes);
        }
        long d = delta(RX_DROP, ch.rxTruncated() + ch.rxUnknown());
        if (d != 0) counters.rxDropped(d);
        long g = delta(GRO, ch.rxGroMessages());
        if (g != 0) counters.superpacket(g);
        return n;
    }

    /**
     * Sleeps until the socket's send buffer has room (POLLOUT), at most {@code timeout}; true
     * also when the link is closed (the next transmit throws). A close() during the wait is
     * noticed at the timeout: bound it. Allocates nothing (a per-thread pollfd).
     */
    @Override
    public boolean awaitWritable(java.time.Duration timeout) throws IOException {
        if (timeout.isNegative()) throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        if (!state.isOpen()) return true;
        long nanos = timeout.compareTo(java.time.Duration.ofDays(1)) > 0 ? java.time.Duration.ofDays(1).toNanos()
                : timeout.toNanos();
        try {
            return ringlink.sys.PollSet.awaitOne(sock.fd(), ringlink.sys.PollfdLayout.POLLOUT, nanos) != 0
                    || !state.isOpen();
        } catch (ringlink.sys.ClosedFdException e) {
            return true;
        }
    }

    private int transmitEntered(PacketBatch batch, int from, int to) throws IOException {
        for (int i = from; i < to; i++) {
            if (batch.flags(i) != 0 || batch.isGso(i)) {
                throw new IllegalArgumentException(name + ": packet " + i
                        + " carries offload metadata; a udp link has none");
            }
        }
        int n = ch.send(batch, from, to);
        if (n > 0) {
            long bytes = 0;
            for (int i = from; i < from + n; i++) bytes += batch.length(i);
            long d = delta(TX_DROP, ch.txErrors() + ch.txUnroutable());
            counters.transmitted(n - d, bytes);
            if (d != 0) counters.txDropped(d);
        }
        long s = delta(GSO, ch.txGsoMessages());
        if (s != 0) counters.superpacket(s);
        return n;
    }

    /** How far the channel's running total {@code k} moved since the last call (one thread per direction). */
    private long delta(int k, long total) {
        long d = total - seen[k];
        seen[k] = total;
        return d;
    }

    @Override
    public void close() {
        state.close(sock);
    }

    @Override
    public String toString() {
        return name + " [" + UdpSocket.format(bound) + ", " + peers.size() + " peers"
                + (ch.gsoEnabled() ? ", gso" : "") + (ch.groEnabled() ? ", gro" : "") + "]";
    }
}
