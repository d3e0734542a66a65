package ringlink.tunnel;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import ringlink.packet.Ethernet;
import ringlink.packet.Geneve;
import ringlink.packet.Gro;
import ringlink.packet.MalformedPacketException;
import ringlink.packet.PacketBatch;
import ringlink.packet.Vxlan;
import ringlink.udp.UdpChannel;

/**
 * The receive side of a {@link TunnelLink}: reads datagrams from the receiving channel, checks
 * and strips their tunnel header ({@link #decap}), learns inner sources into the FDB and hands
 * the inner frames to the caller's batch, coalesced by {@link Gro} with offloads on. Its drop
 * counters are the tunnel layer's receive statistics. Receiving thread only; nothing allocated
 * per packet.
 */
final class TunnelReceiver {
    private final boolean vxlan;
    private final int vni;
    private final UdpChannel rxCh;
    private final PacketBatch rxRaw;
    private final Gro gro;
    private final RemoteFdb fdb;
    private final boolean learning;
    private final int maxReceive;

    // drop counters (written by the receiving thread, read by TunnelLink.stats())
    long badShort, badFlags, badVni, badOptions, criticalOptions, oam, tooBig;

    // receive-call state of the staging path
    private final UdpChannel.Sink rxSink = this::acceptDatagram;
    private PacketBatch rxOut;
    private int rxLimit;
    private long lastSrc;
    private int lastPeer;

    /**
     * {@code rxRaw} holds datagrams without UDP_GRO (its capacity bounds a call); {@code gro}
     * null for no coalescing; inner frames larger than {@code maxReceive} are dropped.
     */
    TunnelReceiver(TunnelLink.Kind kind, int vni, UdpChannel rxCh, PacketBatch rxRaw, Gro gro, RemoteFdb fdb,
                   boolean learning, int maxReceive) {
        this.vxlan = kind == TunnelLink.Kind.VXLAN;
        this.vni = vni;
        this.rxCh = rxCh;
        this.rxRaw = rxRaw;
        this.gro = gro;
        this.fdb = fdb;
        this.learning = learning;
        this.maxReceive = maxReceive;
    }

    /** Datagrams one call reads at most. */
    int capacity() { return rxRaw.capacity(); }

    /** The tunnel layer's receive drops so far. */
    long drops() { return badShort + badFlags + badVni + badOptions + criticalOptions + oam + tooBig; }

    /** Appends the inner frames of up to {@code room} received datagrams to {@code batch}. */
    void receive(PacketBatch batch, int room) throws IOException {
        if (rxCh.groEnabled()) {
            // straight from the channel's UDP_GRO staging buffers into the caller's batch: the
            // header checks and Gro see each datagram where the kernel put it (one user-space
            // copy, not one into rxRaw and one more into the batch)
            rxOut = batch;
            rxLimit = batch.capacity();
            lastSrc = -1;
            lastPeer = -1;
            if (gro != null) gro.begin();
            try {
                rxCh.receive(rxSink, true, room, rxRaw.bufferSize() - rxRaw.headroom());
            } finally {
                if (gro != null) gro.end(batch);
                rxOut = null;
            }
        } else {
            receiveCopied(batch, room);
        }
    }

    /**
     * The {@link UdpChannel.Sink} of the staging path: checks one datagram's tunnel header and
     * inner frame size (the same checks and counters as {@link #receiveCopied}), learns its
     * inner source, and copies the inner frame into {@link #rxOut}, coalesced by {@link Gro}
     * with offloads on. False (not taken) when the batch has no free slot.
     */
    private boolean acceptDatagram(MemorySegment m, long off, int len, int peer) {
        PacketBatch out = rxOut;
        if (out.count() >= rxLimit) return false;
        int hlen = decap(m, off, len);
        if (hlen < 0) return true;
        int frame = len - hlen;
        if (frame > maxReceive || frame > out.bufferSize() - out.headroom()) {
            tooBig++;
            return true;
        }
        long f = off + hlen;
        if (learning) learn(Ethernet.source(m, f), peer);
        if (gro != null) {
            gro.add(m, f, frame, out);
        } else {
            int j = out.add();
            MemorySegment.copy(m, f, out.memory(), out.dataOffset(j), frame);
            out.setLength(j, frame);
        }
        return true;
    }

    /**
     * A run of datagrams from one inner source behind one remote (a TCP stream) is learned once
     * per receive call: the FDB keeps whole seconds, and each learn is a clock read and a probe.
     */
    private void learn(long src, int peer) {
        if ((src & 0x0100_0000_0000L) == 0 && (src != lastSrc || peer != lastPeer)) {
            fdb.learn(src, peer);
            lastSrc = src;
            lastPeer = peer;
        }
    }

    /**
     * Without UDP_GRO the kernel writes datagrams straight into {@link #rxRaw}'s slots (no
     * staging copy): decapsulate there, then one copy into the caller's batch ({@link Gro}
     * coalescing it with offloads on).
     */
    private void receiveCopied(PacketBatch batch, int room) throws IOException {
        rxRaw.clear();
        int n = rxCh.receive(rxRaw, true, room);
        int w = 0;
        MemorySegment m = rxRaw.memory();
        lastSrc = -1;
        lastPeer = -1;
        for (int k = 0; k < n; k++) {
            long off = rxRaw.dataOffset(k);
            int len = rxRaw.length(k);
            int hlen = decap(m, off, len);
            if (hlen < 0) continue;
            int frame = len - hlen;
            if (frame > maxReceive || frame > batch.bufferSize() - batch.headroom()) {
                tooBig++;
                continue;
            }
            if (w != k) rxRaw.copyPacket(k, w);
            rxRaw.push(w, -hlen);
            if (learning) learn(Ethernet.source(m, rxRaw.dataOffset(w)), rxRaw.peer(w));
            w++;
        }
        rxRaw.setCount(w);
        if (w > 0) {
            if (gro != null) {
                gro.coalesce(rxRaw, batch);
            } else {
                for (int k = 0; k < w; k++) batch.append(rxRaw, k);
            }
        }
    }

    /** Checks the tunnel header of the datagram; returns its length, or −1 (counted) to drop it. */
    private int decap(MemorySegment m, long off, int len) {
        if (vxlan) {
            if (len < Vxlan.HLEN + Ethernet.ETH_HLEN) {
                badShort++;
                return -1;
            }
            if (!Vxlan.validFlags(m, off)) {
                badFlags++;
                return -1;
            }
            if (Vxlan.vni(m, off) != vni) {
                badVni++;
                return -1;
            }
            return Vxlan.HLEN;
        }
        if (len < Geneve.HLEN) {
            badShort++;
            return -1;
        }
        if (Geneve.version(m, off) != Geneve.VERSION || Geneve.protocol(m, off) != Geneve.PROTO_TEB) {
            badFlags++;
            return -1;
        }
        int hlen = Geneve.headerLength(m, off);
        if (len < hlen + Ethernet.ETH_HLEN) {
            badShort++;
            return -1;
        }
        if (Geneve.oam(m, off)) { // control traffic: never forwarded to tenants (RFC 8926 3.4)
            oam++;
            return -1;
        }
        if (Geneve.vni(m, off) != vni) {
            badVni++;
            return -1;
        }
        try {
            if (Geneve.hasCriticalOption(m, off, len)) {
                criticalOptions++;
                return -1;
            }
        } catch (MalformedPacketException e) {
            badOptions++;
            return -1;
        }
        return hlen;
    }
}
