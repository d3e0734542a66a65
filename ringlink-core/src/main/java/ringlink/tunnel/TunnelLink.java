package ringlink.tunnel;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.Checksum;
import ringlink.packet.Ethernet;
import ringlink.packet.Framing;
import ringlink.packet.Geneve;
import ringlink.packet.Gro;
import ringlink.packet.Gso;
import ringlink.packet.IpProtocol;
import ringlink.packet.MalformedPacketException;
import ringlink.packet.PacketBatch;
import ringlink.packet.PacketHeaders;
import ringlink.packet.Vxlan;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.UdpSocket;
import ringlink.udp.PeerTable;
import ringlink.udp.UdpChannel;
import ringlink.udp.UdpSockets;

/**
 * An {@link Layer#L2} link whose Ethernet frames travel encapsulated in VXLAN (RFC 7348) or
 * Geneve (RFC 8926) over UDP, like the Linux {@code vxlan}/{@code geneve} devices, so a
 * {@code ringlink switch} port reaches other hosts' switches and kernels.
 *
 * <ul>
 *   <li><b>Endpoints</b>: one socket bound to {@code LOCAL:dstport} receives; {@code srcports}
 *       sockets bound to {@code LOCAL:0} (kernel-chosen source ports) send, the one picked by the
 *       inner flow hash, so one flow keeps one outer source port and the underlay's ECMP spreads
 *       flows (the kernel picks a port per flow hash the same way). Remotes are addressed at
 *       {@code dstport}.</li>
 *   <li><b>Forwarding</b>: a frame to a unicast MAC in the {@link RemoteFdb} goes to that remote;
 *       broadcast, multicast and unknown unicast go to every configured {@code remote} (head-end
 *       replication, the kernel's all-zeros FDB entries). Received frames teach the FDB which
 *       remote their source MAC lives behind (the outer source address, answered at
 *       {@code dstport}); static entries ({@code fdb=MAC@ADDR}) never move or age.</li>
 *   <li><b>Offloads</b> (unless {@code offload=none}): the link accepts TSO/USO superpackets and
 *       partial checksums; a superpacket is segmented once (ringlink.packet's {@link Gso}) into
 *       inner segments of its MSS, which leave as one {@code UDP_SEGMENT} message per run (they
 *       all have one size and one remote). Received datagrams are checked and decapsulated
 *       where they lie in the channel's UDP_GRO staging buffer and their TCP flows coalesced
 *       with {@link Gro} straight into the caller's batch (one user-space copy).</li>
 *   <li><b>Checks</b>: datagrams shorter than the header plus an Ethernet header, VXLAN flags
 *       other than exactly I (reserved bits included), Geneve version ≠ 0, protocol ≠ 0x6558,
 *       the OAM bit, a critical option (we understand none), options overrunning, a VNI other
 *       than ours, and inner frames larger than {@link #maxReceiveSize()} are dropped and counted
 *       ({@link #stats()}); non-critical options are skipped.</li>
 * </ul>
 *
 * <p>MTU: the inner Ethernet payload, by default 1500 minus the outer IP, UDP, tunnel and inner
 * Ethernet headers (1450 over IPv4, 1430 over IPv6, as the kernel's vxlan on a 1500-byte
 * underlay). One receiving and one transmitting thread; nothing allocated per packet.
 */
public final class TunnelLink implements Link {
    /** The encapsulation. */
    public enum Kind {
        /** VXLAN (RFC 7348), spec scheme {@code vxlan:}, UDP port 4789. */
        VXLAN("vxlan", Vxlan.PORT),
        /** Geneve (RFC 8926), spec scheme {@code geneve:}, UDP port 6081. */
        GENEVE("geneve", Geneve.PORT);

        final String scheme;
        final int port;

        Kind(String scheme, int port) {
            this.scheme = scheme;
            this.port = port;
        }

        /** The IANA port: 4789 or 6081. */
        public int defaultPort() { return port; }
    }

    /**
     * What a tunnel link is opened with (the spec parameters of {@link TunnelLinkProvider}).
     *
     * @param kind VXLAN or Geneve
     * @param local the underlay address to bind
     * @param remotes the remote tunnel endpoints: the flood list for broadcast, multicast and unknown unicast; copied
     * @param vni the network identifier sent and required on receive (24 bits)
     * @param dstPort the UDP port remotes are addressed at
     * @param localPort the UDP port the receiving socket binds
     * @param mtu the inner Ethernet payload's MTU, 0 for 1500 minus the encapsulation overhead
     * @param srcPorts the number of transmit sockets (outer source ports) flows are spread over by hash, in [1, 64]
     * @param offload accept TSO/USO superpackets and partial checksums, and coalesce received TCP flows
     * @param learning learn inner source MACs into the FDB from received frames
     * @param peers the peer table's capacity (at least the remotes plus the static FDB entries)
     * @param fdbSize the FDB's capacity in entries
     * @param ageingMillis how long a learned FDB entry lives without traffic, in milliseconds
     * @param staticFdb fixed FDB entries: inner MAC (low 48 bits) to remote address; copied
     * @param rcvbuf the receiving socket's buffer in bytes (SO_RCVBUF), 0 for the kernel's default
     * @param sndbuf each transmit socket's buffer in bytes (SO_SNDBUF), 0 for the kernel's default
     * @param burst datagrams per {@code recvmmsg}/{@code sendmmsg} call
     */
    public record Options(Kind kind, InetAddress local, List<InetAddress> remotes, int vni, int dstPort, int localPort,
                          int mtu, int srcPorts, boolean offload, boolean learning, int peers, int fdbSize,
                          long ageingMillis, Map<Long, InetAddress> staticFdb, int rcvbuf, int sndbuf, int burst) {
        /** Copies the remotes and the static FDB, and checks the VNI (24 bits) and the source-port count ([1, 64]). */
        public Options {
            remotes = List.copyOf(remotes);
            staticFdb = Map.copyOf(staticFdb);
            if (vni < 0 || vni > Vxlan.VNI_MAX)
                    throw new IllegalArgumentException("vni " + vni + " not in [0, 16777215]");
            if (srcPorts < 1 || srcPorts > 64)
                    throw new IllegalArgumentException("srcports " + srcPorts + " not in [1, 64]");
        }

        /** Defaults for {@code kind} between {@code local} and {@code remotes}. */
        public static Options of(Kind kind, InetAddress local, List<InetAddress> remotes, int vni) {
            return new Options(kind, local, remotes, vni, kind.port, kind.port, 0, 4, true, true, 1024, 4096,
                    300_000, Map.of(), 4 << 20, 4 << 20, 64);
        }
    }

    private static final int MAX_ENCAP = Geneve.HLEN; // we send no options

    private final String name;
    private final Options o;
    private final Kind kind;
    private final int mtu, maxFrame, overhead;
    private final Offloads offloads;
    private final PeerTable peers;
    private final int floodCount;
    private final RemoteFdb fdb;
    private final UdpSocket rxSock;
    private final UdpChannel rxCh;
    private final UdpSocket[] txSocks;
    private final UdpChannel[] txCh;
    private final TunnelReceiver rx;
    private final PacketBatch[] txBatch;
    private final Gso gso = new Gso();
    private final PacketHeaders hashHeaders = new PacketHeaders();
    private final LinkCounters counters = new LinkCounters();
    private final Epoll ready;
    private final LinkState state;

    // statistics (rx fields: receiving thread; tx fields: transmitting thread)
    private long unknownSource;
    private long floods, replicas, txMalformed, txBlocked, segmented;
    private long seenRxDrop;

    private TunnelLink(String name, Options o, PeerTable peers, UdpSocket rxSock, UdpSocket[] txSocks, Epoll ready,
                       EventFd shutdown) {
        this.name = name;
        this.o = o;
        this.kind = o.kind();
        boolean v6 = rxSock.ipv6();
        this.overhead = (v6 ? 40 : 20) + 8 + Vxlan.HLEN + Ethernet.ETH_HLEN;
        this.mtu = o.mtu() > 0 ? o.mtu() : 1500 - overhead;
        this.maxFrame = mtu + Ethernet.ETH_HLEN + Ethernet.VLAN_HLEN;
        this.offloads = o.offload() ? Offloads.ALL : Offloads.NONE;
        this.peers = peers;
        this.floodCount = o.remotes().size();
        this.fdb = new RemoteFdb(o.fdbSize(), o.ageingMillis(), System::nanoTime);
        this.rxSock = rxSock;
        this.txSocks = txSocks;
        // datagrams up to 64 KiB are read (a peer with a bigger MTU); frames > maxFrame are dropped
        int rxBuf = PacketBatch.DEFAULT_HEADROOM + Math.max(2048, maxFrame + Geneve.HLEN + Geneve.MAX_OPT_BYTES);
        this.rxCh = new UdpChannel(rxSock, peers, o.burst(), UdpSockets.groOn(rxSock), false);
        rxCh.fixedPeerPort(o.dstPort());
        this.txCh = new UdpChannel[txSocks.length];
        this.txBatch = new PacketBatch[txSocks.length];
        int txBuf = PacketBatch.DEFAULT_HEADROOM + MAX_ENCAP + maxFrame;
        for (int c = 0; c < txSocks.length; c++) {
            txCh[c] = new UdpChannel(txSocks[c], peers, o.burst(), false, true);
            txBatch[c] = new PacketBatch(o.burst(), txBuf);
        }
        this.rx = new TunnelReceiver(kind, o.vni(), rxCh, new PacketBatch(o.burst(), rxBuf),
                o.offload() ? new Gro(Framing.ETHERNET, true, false, Gro.DEFAULT_MAX_FLOWS) : null,
                fdb, o.learning(), maxReceiveSize());
        this.ready = ready;
        this.state = new LinkState(name, shutdown, ready);
        for (var e : o.staticFdb().entrySet())
                fdb.addStatic(e.getKey(), peers.add(new InetSocketAddress(e.getValue(), o.dstPort())));
    }

    /** Opens the sockets in the caller's network namespace. */
    public static TunnelLink open(String name, Options o) throws IOException {
        boolean v6 = o.local() instanceof Inet6Address;
        for (InetAddress r : o.remotes()) {
            if ((r instanceof Inet6Address) != v6) throw new IllegalArgumentException(name + ": remote "
                    + r.getHostAddress() + " is not of the local address's family");
        }
        UdpSocket rx = null;
        UdpSocket[] tx = new UdpSocket[o.srcPorts()];
        EventFd sd = null;
        Epoll ep = null;
        try {
            rx = UdpSockets.open(new InetSocketAddress(o.local(), o.localPort()), false, o.rcvbuf(), 0, true, name);
            for (int c = 0; c < tx.length; c++) {
                tx[c] = UdpSockets.open(new InetSocketAddress(o.local(), 0), false, 4096, o.sndbuf(), false,
                        name + " tx" + c);
            }
            PeerTable peers = new PeerTable(v6, Math.max(o.peers(), o.remotes().size() + o.staticFdb().size()));
            for (InetAddress r : o.remotes()) peers.add(new InetSocketAddress(r, o.dstPort()));
            sd = EventFd.create();
            ep = new Epoll(2);
            ep.add(rx.fd(), EpollEventLayout.EPOLLIN, 0);
            ep.add(sd.fd(), EpollEventLayout.EPOLLIN, 1);
            return new TunnelLink(name, o, peers, rx, tx, ep, sd);
        } catch (IOException | RuntimeException e) {
            if (ep != null) ep.close();
            if (sd != null) sd.close();
            if (rx != null) rx.close();
            for (UdpSocket s : tx) if (s != null) s.close();
            throw e;
        }
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.L2; }
    @Override public int mtu() { return mtu; }
    @Override public Offloads offloads() { return offloads; }
    @Override public int maxReceiveSize() {
            return offloads.has(Offloads.TSO4) ? 65535 + Ethernet.ETH_HLEN + Ethernet.VLAN_HLEN : maxFrame; }
    @Override public Fd readyFd() { return ready.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isOpen(); }
    @Override public boolean prepareToWait() { return state.beginWait(); }
    @Override public void finishWait() { state.endWait(); }

    /** Through the link state: close() closes the socket only after the call left. */
    @Override
    public int receive(PacketBatch batch) throws IOException {
        return state.receive(this, batch, TunnelLink::receiveEntered);
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        return state.transmit(this, batch, from, to, TunnelLink::transmitEntered);
    }

    /** The remote endpoints: configured remotes (ids 0..n-1, the flood list), static-entry endpoints, learned ones. */
    public PeerTable peers() { return peers; }
    /** Inner MAC → remote. */
    public RemoteFdb fdb() { return fdb; }
    /** The options the link was opened with. */
    public Options options() { return o; }

    /**
     * One entry of the remote FDB as tools show it ({@code ringlink ctl tunnel/show}).
     *
     * @param mac the inner MAC address (low 48 bits)
     * @param remote the remote tunnel endpoint it lives behind (address and the port it is sent to)
     * @param isStatic configured with {@code fdb=MAC@ADDR} (never ages, never moved), not learned
     * @param ageSeconds seconds since a frame from {@code mac} last arrived (0 for static entries)
     */
    public record RemoteEntry(long mac, InetSocketAddress remote, boolean isStatic, long ageSeconds) {}

    /**
     * A snapshot of the remote FDB, sorted by MAC: which remote endpoint each inner MAC lives
     * behind, static or learned, and its age. For the control path (allocates; a scan of the
     * table); safe while the link forwards.
     */
    public List<RemoteEntry> remoteEntries() {
        List<RemoteEntry> out = new java.util.ArrayList<>();
        fdb.forEachWithAge((mac, peer, st, age) -> {
            InetSocketAddress a = peer >= 0 && peer < peers.size() ? peers.address(peer) : null;
            if (a != null) out.add(new RemoteEntry(mac, a, st, age));
        });
        out.sort(java.util.Comparator.comparingLong(RemoteEntry::mac));
        return out;
    }

    /** The remote endpoints frames to broadcast, multicast and unknown MACs are sent to (the {@code remote} list). */
    public List<InetSocketAddress> floodList() {
        List<InetSocketAddress> out = new java.util.ArrayList<>(floodCount);
        for (int r = 0; r < floodCount; r++) out.add(peers.address(r));
        return out;
    }

    /** The local source ports the transmit sockets got (the flow hash picks one). */
    public int[] sourcePorts() throws IOException {
        int[] p = new int[txSocks.length];
        for (int c = 0; c < p.length; c++) p[c] = txSocks[c].localAddress().getPort();
        return p;
    }
    /** The receiving channel (UDP_GRO runs, errors). */
    public UdpChannel rxChannel() { return rxCh; }
    /** Transmit channel {@code c} (UDP_SEGMENT runs). */
    public UdpChannel txChannel(int c) { return txCh[c]; }

    /**
     * Drop and event counters of the tunnel layer.
     *
     * @param badShort received datagrams too short for the tunnel and inner Ethernet headers
     * @param badFlags received headers with wrong flags (VXLAN) or a wrong version or protocol (Geneve)
     * @param badVni received frames for another VNI
     * @param badOptions received Geneve options that overrun the header
     * @param criticalOptions received Geneve frames with a critical option
     * @param oam received Geneve OAM frames (never forwarded)
     * @param tooBig received inner frames larger than the link's receive size or the batch's buffers
     * @param unknownSource datagrams from unknown sources or truncated, dropped by the receiving channel
     * @param floods frames sent to every remote (broadcast, multicast, unknown unicast)
     * @param replicas extra copies sent for floods (one per remote after the first)
     * @param txMalformed frames to transmit that were malformed or could not be segmented
     * @param txBlocked datagrams dropped because a send buffer stayed full after a few retries
     * @param segmented superpackets segmented in software before sending
     * @param fdbEntries FDB entries in use
     * @param gsoRuns UDP_SEGMENT messages sent with more than one datagram
     * @param groRuns UDP_GRO coalesced messages received
     */
    public record Stats(long badShort, long badFlags, long badVni, long badOptions, long criticalOptions, long oam,
                        long tooBig, long unknownSource, long floods, long replicas, long txMalformed, long txBlocked,
                        long segmented, long fdbEntries, long gsoRuns, long groRuns) {}

    /**
     * A snapshot of the tunnel layer's drop and event counters, with the FDB size and the GSO/GRO message counts of its
     * channels.
     */
    public Stats stats() {
        long runs = 0;
        for (UdpChannel c : txCh) runs += c.txGsoMessages();
        return new Stats(rx.badShort, rx.badFlags, rx.badVni, rx.badOptions, rx.criticalOptions, rx.oam, rx.tooBig,
                unknownSource, floods, replicas, txMalformed, txBlocked, segmented, fdb.size(), runs,
                rxCh.rxGroMessages());
    }

    // ---------------------------------------------------------------- receive

    private int receiveEntered(PacketBatch batch) throws IOException {
        int room = Math.min(batch.capacity() - batch.count(), rx.capacity());
        if (room <= 0) return 0;
        int start = batch.count();
        rx.receive(batch, room);
        unknownSource = rxCh.rxUnknown() + rxCh.rxTruncated();
        if (batch.count() > start) {
            long bytes = 0;
            long sup = 0;
            for (int i = start; i < batch.count(); i++) {
                bytes += batch.length(i);
                if (batch.isGso(i)) sup++;
                batch.setPeer(i, 0);
            }
            counters.received(batch.count() - start, bytes);
            if (sup > 0) counters.superpacket(sup);
        }
        long d = rx.drops() + unknownSource;
        if (d != seenRxDrop) {
            counters.rxDropped(d - seenRxDrop);
            seenRxDrop = d;
        }
        return batch.count() - start;
    }

    // ---------------------------------------------------------------- transmit

    private int transmitEntered(PacketBatch batch, int from, int to) throws IOException {
        for (int i = from; i < to; i++) {
            if (!offloads.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i
                        + " carries an offload the link did not offer (" + offloads + ")");
            }
        }
        MemorySegment m = batch.memory();
        long bytes = 0;
        int ok = 0;
        for (int i = from; i < to; i++) {
            int len = batch.length(i);
            if (len < Ethernet.ETH_HLEN || (!batch.isGso(i) && len > maxFrame)) {
                counters.txDropped(1);
                txMalformed++;
                continue;
            }
            long off = batch.dataOffset(i);
            int c = txSocks.length == 1 ? 0 : Math.floorMod(flowHash(m, off, len), txSocks.length);
            int peer = Ethernet.isMulticast(m, off) ? -1 : fdb.lookup(Ethernet.destination(m, off));
            boolean sent;
            if (peer >= 0) {
                sent = emit(batch, i, peer, c);
            } else {
                floods++;
                sent = floodCount > 0;
                for (int r = 0; r < floodCount && sent; r++) {
                    sent = emit(batch, i, r, c);
                    if (r > 0) replicas++;
                }
            }
            if (sent) {
                ok++;
                bytes += len;
            } else {
                counters.txDropped(1);
            }
        }
        for (int c = 0; c < txSocks.length; c++) flush(c);
        counters.transmitted(ok, bytes);
        return to - from;
    }

    /** Encapsulates frame {@code i} (segmenting a superpacket) into transmit batch {@code c} for {@code peer}. */
    private boolean emit(PacketBatch b, int i, int peer, int c) throws IOException {
        PacketBatch t = txBatch[c];
        if (b.isGso(i)) {
            int total;
            try {
                total = gso.validate(b, i, Framing.ETHERNET);
            } catch (MalformedPacketException e) {
                txMalformed++;
                return false;
            }
            segmented++;
            int next = 0;
            while (next < total) {
                if (t.isFull()) flush(c);
                int s = t.count();
                try {
                    next = gso.segment(b, i, Framing.ETHERNET, t, next);
                } catch (MalformedPacketException | IllegalArgumentException e) {
                    t.setCount(s);
                    txMalformed++;
                    return false;
                }
                for (int j = s; j < t.count(); j++) encap(t, j, peer);
            }
            return true;
        }
        if (t.isFull()) flush(c);
        int j = t.append(b, i);
        if (t.needsCsum(j)) {
            try {
                Checksum.complete(t, j);
            } catch (RuntimeException e) {
                t.setCount(j);
                txMalformed++;
                return false;
            }
        }
        t.clearOffload(j);
        encap(t, j, peer);
        return true;
    }

    private void encap(PacketBatch t, int j, int peer) {
        long h = t.push(j, Vxlan.HLEN);
        if (kind == Kind.VXLAN) Vxlan.write(t.memory(), h, o.vni());
        else Geneve.write(t.memory(), h, o.vni());
        t.setPeer(j, peer);
    }

    private void flush(int c) throws IOException {
        PacketBatch t = txBatch[c];
        int n = t.count();
        if (n == 0) return;
        int sent = 0;
        // a full socket buffer: a few retries, then drop and count (the switch drops a batch a
        // port cannot take at once; holding it would stall every other port)
        for (int tries = 0; sent < n && tries < 3; tries++) sent += txCh[c].send(t, sent, n);
        if (sent < n) txBlocked += n - sent;
        t.clear();
    }

    /**
     * The inner flow hash: Ethernet addresses, and for IP the addresses and (TCP/UDP, not for
     * fragments) the ports, so all segments of one flow pick the same source port.
     */
    private int flowHash(MemorySegment m, long off, int len) {
        long h = m.get(ValueLayout.JAVA_LONG_UNALIGNED, off)
                ^ m.get(ValueLayout.JAVA_INT_UNALIGNED, off + 8) * 0x9E3779B97F4A7C15L;
        try {
            if (hashHeaders.parse(m, off, len, Framing.ETHERNET)) {
                long ip = off + hashHeaders.l3Offset;
                if (hashHeaders.ipVersion == 4) {
                    h = h * 31 + m.get(ValueLayout.JAVA_LONG_UNALIGNED, ip + 12);
                } else {
                    h = h * 31 + m.get(ValueLayout.JAVA_LONG_UNALIGNED, ip + 8)
                            + m.get(ValueLayout.JAVA_LONG_UNALIGNED, ip + 16) * 7
                            + m.get(ValueLayout.JAVA_LONG_UNALIGNED, ip + 24) * 13
                                    + m.get(ValueLayout.JAVA_LONG_UNALIGNED, ip + 32) * 17;
                }
                int p = hashHeaders.l4Protocol;
                if (!hashHeaders.fragment && (p == IpProtocol.IPPROTO_TCP || p == IpProtocol.IPPROTO_UDP)) {
                    h = h * 31 + m.get(ValueLayout.JAVA_INT_UNALIGNED, off + hashHeaders.l4Offset);
                }
            }
        } catch (MalformedPacketException e) {
            // hash what we have
        }
        h *= 0xC2B2AE3D27D4EB4FL;
        return (int) (h ^ h >>> 32);
    }

    @Override
    public void close() {
        AutoCloseable[] socks = new AutoCloseable[txSocks.length + 1];
        socks[0] = rxSock;
        System.arraycopy(txSocks, 0, socks, 1, txSocks.length);
        state.close(socks);
    }

    @Override
    public String toString() {
        return name + " [vni " + o.vni() + ", " + floodCount + " remotes, mtu " + mtu + ", " + offloads + "]";
    }
}
