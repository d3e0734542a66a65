package ringlink.afpacket;

import static ringlink.sys.Endian.BE16;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.LinkFailedException;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.Epoll;
import ringlink.sys.Errno;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.PacketSockets;
import ringlink.sys.Sockets;
import ringlink.sys.SysException;
import ringlink.sys.Tpacket3HdrLayout;
import ringlink.sys.TpacketBlockDescLayout;
import ringlink.sys.TpacketStatsV3Layout;

/**
 * A {@link Link} over one AF_PACKET socket bound to an existing interface, with TPACKET_V3 mmap
 * rings in both directions: Ethernet frames (L2); with PACKET_VNET_HDR (the default) a
 * virtio-net header before each frame carries checksum offload and TCP/UDP superpackets both
 * ways ({@link #VNET_OFFLOADS}), and what the kernel wrote in it is checked like a TAP's
 * ({@link OffloadValidator}, source KERNEL, as on TAP) before the packet is handed on.
 *
 * <h2>Receive</h2>
 * The receive ring is block based: the kernel fills a block with packets (each a
 * {@code tpacket3_hdr} followed by the frame, chained by {@code tp_next_offset}) and hands the
 * whole block over by setting TP_STATUS_USER in its {@code block_status}, when it is full or
 * after {@link PacketConfig#timeoutMillis()}. {@link #receive} copies packets out of the current
 * block into the caller's batch and gives the block back (TP_STATUS_KERNEL) once all its packets
 * are copied, so a batch smaller than a block resumes mid-block on the next call. Every offset
 * and length the kernel wrote is checked to lie inside the block before anything is read: a
 * block that fails is a corrupt ring and stops the link ({@link LinkFailedException}).
 * A VLAN tag the kernel took out of the frame (TP_STATUS_VLAN_VALID) is put back in.
 *
 * <h2>Transmit</h2>
 * The transmit ring is TPACKET_V3 as well (the version is one per socket; a V3 TX ring has
 * fixed-size frames like V2's, with a {@code tpacket3_hdr}). A frame is copied into a free slot
 * (TP_STATUS_AVAILABLE), its status set to TP_STATUS_SEND_REQUEST, and one {@code sendto} with
 * MSG_DONTWAIT per call asks the kernel to send every requested slot. PACKET_LOSS is on, so a
 * slot the kernel cannot send comes back as TP_STATUS_WRONG_FORMAT (counted as a TX drop) instead
 * of blocking the ring. A slot still owned by the kernel means the ring is full: back-pressure.
 *
 * <h2>Waiting</h2>
 * {@link #readyFd()} is an epoll over the socket (readable when a block is ready) and a wake-up
 * eventfd that {@link #close()} signals; {@link LinkState} keeps both open while a thread may
 * sleep on them.
 *
 * <h2>Statistics</h2>
 * PACKET_STATISTICS (the kernel's drops for a full ring) is read by the receiving thread every
 * {@value #STATS_EVERY_BLOCKS} blocks and by {@link #statistics()}; the kernel resets it on every
 * read, so the totals are accumulated here and the drops also counted as {@code rxDrops}.
 */
public final class PacketLink implements Link {
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    static final int STATS_EVERY_BLOCKS = 16;
    /** Ethernet header plus one VLAN tag. */
    static final int L2_OVERHEAD = 18;
    /** Largest superpacket (GSO_MAX_SIZE) the kernel hands over or takes, before the L2 header. */
    static final int MAX_GSO_PACKET = 65536;
    /** What PACKET_VNET_HDR carries both ways (virtio_net_hdr_from_skb / _to_skb). */
    public static final Offloads VNET_OFFLOADS =
            Offloads.of(Offloads.CSUM | Offloads.TSO4 | Offloads.TSO6 | Offloads.USO
            | Offloads.TSO_ECN);
    private static final int MSG_DONTWAIT = 0x40;

    private final String name;
    private final PacketConfig config;
    private final Fd fd;
    private final Mapping ring;
    private final MemorySegment mem;
    private final Epoll epoll;
    private final EventFd wake;
    /** Open/failed/closed; unmaps the rings only after the calls in flight; the wake-up hand-off. */
    private final LinkState state;
    private final LinkCounters counters = new LinkCounters();
    private final int mtu;
    private final int maxRx;
    private final int maxTx;
    /** Bytes of virtio-net header before each frame: 10 with PACKET_VNET_HDR, else 0. */
    private final int hdr;
    private final Offloads offloads;
    private final OffloadValidator rxCheck =
            new OffloadValidator(ringlink.packet.Framing.ETHERNET, OffloadValidator.Source.KERNEL);
    // receive ring geometry and position (receiving thread only)
    private final long blockSize;
    private final int blocks;
    private int block;
    private int pktLeft;
    private long pktOff;
    private boolean inBlock;
    private int blocksSinceStats;
    // transmit ring geometry and position (transmitting thread only)
    private final long txBase;
    private final int txFrameSize;
    private final int txFrames;
    private final int txBlockSize;
    private final int txPerBlock;
    private int txHead;
    /**
     * Transmit thread: where slot {@code txHead} starts, its block's start and its index in the
     * block, advanced with the head so that finding a slot costs no division per packet
     * ({@link #slot} divides by the slots per block); 0 until the first transmit.
     */
    private long txSlot, txBlockStart;
    private int txInBlock;
    // kernel statistics, accumulated (getsockopt resets them)
    private final Object statsLock = new Object();
    private long kernelPackets, kernelDrops, kernelFreezes;
    private long dropsReported;
    private final MemorySegment statsBuf = Arena.ofAuto().allocate(TpacketStatsV3Layout.LAYOUT);
    /** Why the last received packet was dropped by the offload checks, or null. */
    private volatile String lastError;

    PacketLink(String name, PacketConfig config, Fd fd, Mapping ring, Epoll epoll, EventFd wake, int mtu,
                       int txFrameSize, int txBlockSize) {
        this.name = name;
        this.config = config;
        this.fd = fd;
        this.ring = ring;
        this.mem = ring.segment();
        this.epoll = epoll;
        this.wake = wake;
        this.state = new LinkState(name, wake, epoll);
        this.mtu = mtu;
        this.blockSize = config.blockSize();
        this.blocks = config.blocks();
        this.txBase = blockSize * blocks;
        this.txFrameSize = txFrameSize;
        this.txFrames = config.txFrames();
        this.txBlockSize = txBlockSize;
        this.txPerBlock = txBlockSize / txFrameSize;
        this.hdr = config.vnetHdr() ? VirtioNetHdr.SIZE : 0;
        this.offloads = config.vnetHdr() ? VNET_OFFLOADS : Offloads.NONE;
        this.maxTx = (int) (txFrameSize - Tpacket3HdrLayout.TX_DATA_OFFSET - hdr);
        this.maxRx = (config.vnetHdr() ? Math.max(MAX_GSO_PACKET, mtu) : mtu) + L2_OVERHEAD;
    }

    /**
     * Opens a link: socket (bound to no protocol yet, so nothing queues before the rings exist),
     * TPACKET_V3, the options, both rings, one mapping for both, then bind to the interface with
     * ETH_P_ALL and the promiscuous membership.
     */
    public static PacketLink open(PacketConfig c) throws IOException {
        return PacketSetup.open(c);
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.L2; }
    @Override public int mtu() { return mtu; }
    /** {@link #VNET_OFFLOADS} with vnethdr (the default), else none. */
    @Override public Offloads offloads() { return offloads; }
    @Override public int maxReceiveSize() { return maxRx; }
    @Override public Fd readyFd() { return epoll.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isUsable(); }

    /** The configuration in effect (tx-frames rounded to whole transmit blocks). */
    public PacketConfig config() { return config; }

    /** The socket (for tests and diagnostics). */
    public Fd socket() { return fd; }

    /** Why the last received packet failed the virtio-net header checks (null if none has). */
    public String lastError() { return lastError; }

    /** Test seam: the mapped rings (RX blocks first), to play a kernel that writes nonsense. */
    MemorySegment ringMemory() { return mem; }

    /** Test seam: the receive block the next {@link #receive} looks at, and its offset in {@link #ringMemory()}. */
    long currentBlockOffset() { return (long) block * blockSize; }

    /** Transmit ring slots. */
    public int txFrames() { return txFrames; }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        return state.receiveRing(this, batch, PacketLink::receiveEntered); // close() unmaps only after we left
    }

    private int receiveEntered(PacketBatch batch) throws IOException {
        int got = 0;
        long bytes = 0;
        int dropped = 0;
        while (!batch.isFull()) {
            if (!inBlock && !openBlock()) break;
            if (pktLeft == 0) {
                releaseBlock();
                continue;
            }
            long b = (long) block * blockSize;
            long h = b + pktOff;
            if (pktOff + Tpacket3HdrLayout.SIZE > blockSize) {
                throw corrupt("packet header at " + pktOff + " runs past the block end (" + blockSize + ")");
            }
            int next = mem.get(ValueLayout.JAVA_INT, h + Tpacket3HdrLayout.OFF_TP_NEXT_OFFSET);
            int snap = mem.get(ValueLayout.JAVA_INT, h + Tpacket3HdrLayout.OFF_TP_SNAPLEN);
            int wire = mem.get(ValueLayout.JAVA_INT, h + Tpacket3HdrLayout.OFF_TP_LEN);
            int status = mem.get(ValueLayout.JAVA_INT, h + Tpacket3HdrLayout.OFF_TP_STATUS);
            int mac = Short.toUnsignedInt(mem.get(ValueLayout.JAVA_SHORT, h + Tpacket3HdrLayout.OFF_TP_MAC));
            if (mac < Tpacket3HdrLayout.SIZE + hdr || snap < 0 || pktOff + mac + (long) snap > blockSize) {
                throw corrupt("packet at " + pktOff + " has tp_mac " + mac + " and tp_snaplen " + snap
                        + " outside the block of " + blockSize + " B");
            }
            if (pktLeft > 1 && (next < Tpacket3HdrLayout.SIZE || pktOff + next + Tpacket3HdrLayout.SIZE > blockSize)) {
                throw corrupt("packet at " + pktOff + " has tp_next_offset " + next + " outside the block");
            }
            boolean vlan = (status & PacketSockets.TP_STATUS_VLAN_VALID) != 0;
            int len = snap + (vlan ? 4 : 0);
            if (snap != wire || snap < 14 || len > maxRx) {
                // Truncated (bigger than a block or a GRO superpacket without vnet headers) or a runt.
                dropped++;
            } else {
                int i = batch.add();
                if (len > batch.room(i)) {
                    batch.setCount(i);
                    dropped++;
                } else {
                    long src = h + mac;
                    long dst = batch.dataOffset(i);
                    MemorySegment out = batch.memory();
                    if (vlan) {
                        int tci = mem.get(ValueLayout.JAVA_INT, h + Tpacket3HdrLayout.OFF_TP_VLAN_TCI) & 0xffff;
                        int tpid = (status & PacketSockets.TP_STATUS_VLAN_TPID_VALID) != 0
                                ? Short.toUnsignedInt(
                                        mem.get(ValueLayout.JAVA_SHORT, h + Tpacket3HdrLayout.OFF_TP_VLAN_TPID))
                                : 0x8100;
                        MemorySegment.copy(mem, src, out, dst, 12);
                        out.set(BE16, dst + 12, (short) tpid);
                        out.set(BE16, dst + 14, (short) tci);
                        MemorySegment.copy(mem, src + 12, out, dst + 16, snap - 12);
                    } else {
                        MemorySegment.copy(mem, src, out, dst, snap);
                    }
                    batch.setLength(i, len);
                    String bad = null;
                    if (hdr == 0) {
                        batch.clearOffload(i);
                    } else {
                        // The kernel wrote the virtio-net header just before the frame.
                        VirtioNetHdr.decode(mem, h + mac - hdr, batch, i);
                        if (vlan && (batch.needsCsum(i) || batch.isGso(i))) {
                            // Offsets counted from the frame the kernel had, without the tag we put back.
                            batch.setCsum(i, batch.csumStart(i) + 4, batch.csumOffset(i));
                            if (batch.hdrLen(i) > 0)
                                    batch.setGso(i, batch.gsoType(i), batch.hdrLen(i) + 4, batch.gsoSize(i));
                        }
                        OffloadValidator.Reason why =
                                rxCheck.check(batch, i, offloads.accepts(batch, i), offloads.has(Offloads.CSUM));
                        if (why != null) {
                            counters.invalid(why);
                            bad = rxCheck.lastProblem();
                        }
                    }
                    if (bad != null) {
                        batch.setCount(i);
                        dropped++;
                        counters.error();
                        lastError = bad;
                    } else {
                        if (batch.isGso(i)) counters.superpacket(1);
                        got++;
                        bytes += len;
                    }
                }
            }
            pktLeft--;
            pktOff += next;
            if (pktLeft == 0) releaseBlock();
        }
        if (got > 0) counters.received(got, bytes);
        if (dropped > 0) counters.rxDropped(dropped);
        return got;
    }


    /** Takes the current block if the kernel has handed it over; validates its header. */
    private boolean openBlock() throws IOException {
        long b = (long) block * blockSize;
        int st = (int) INT.getAcquire(mem, b + TpacketBlockDescLayout.OFF_BLOCK_STATUS);
        if ((st & PacketSockets.TP_STATUS_USER) == 0) return false;
        int num = mem.get(ValueLayout.JAVA_INT, b + TpacketBlockDescLayout.OFF_NUM_PKTS);
        int first = mem.get(ValueLayout.JAVA_INT, b + TpacketBlockDescLayout.OFF_OFFSET_TO_FIRST_PKT);
        int minPacket = (int) Tpacket3HdrLayout.SIZE;
        if (num < 0 || (long) num * minPacket > blockSize)
                throw corrupt("block " + block + " claims " + num + " packets");
        if (num > 0 && (first < TpacketBlockDescLayout.SIZE || first + Tpacket3HdrLayout.SIZE > blockSize)) {
            throw corrupt("block " + block + " has offset_to_first_pkt " + first + " outside the block of " + blockSize
                    + " B");
        }
        pktLeft = num;
        pktOff = first;
        inBlock = true;
        return true;
    }

    /** Gives the current block back to the kernel and moves to the next. */
    private void releaseBlock() throws IOException {
        long b = (long) block * blockSize;
        INT.setRelease(mem, b + TpacketBlockDescLayout.OFF_BLOCK_STATUS, PacketSockets.TP_STATUS_KERNEL);
        inBlock = false;
        pktLeft = 0;
        block = block + 1 == blocks ? 0 : block + 1;
        if (++blocksSinceStats >= STATS_EVERY_BLOCKS) {
            blocksSinceStats = 0;
            pollStatistics();
        }
    }

    /** True if the current receive block is the user's (something to receive). */
    private boolean rxReady() {
        if (inBlock) return true;
        long b = (long) block * blockSize;
        return ((int) INT.getAcquire(mem, b + TpacketBlockDescLayout.OFF_BLOCK_STATUS) & PacketSockets.TP_STATUS_USER)
                != 0;
    }

    private LinkFailedException corrupt(String what) {
        String why = "corrupt receive ring: " + what;
        state.recordFailure(why);
        return new LinkFailedException(name + ": " + why);
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        return state.transmitRing(this, batch, from, to, PacketLink::transmitEntered);
    }

    private int transmitEntered(PacketBatch batch, int from, int to) throws IOException {
        int taken = 0;
        int posted = 0;
        long bytes = 0;
        int dropped = 0;
        if (txSlot == 0) { // txBase > 0, so 0 is never a slot
            txSlot = slot(txHead);
            txInBlock = txHead % txPerBlock;
            txBlockStart = txSlot - (long) txInBlock * txFrameSize;
        }
        for (int i = from; i < to; i++) {
            long slot = txSlot;
            int st = (int) INT.getAcquire(mem, slot + Tpacket3HdrLayout.OFF_TP_STATUS);
            if (st == PacketSockets.TP_STATUS_WRONG_FORMAT) {
                // The kernel refused what we put here earlier (PACKET_LOSS): count it, reuse the slot.
                dropped++;
                counters.error();
            } else if (st != PacketSockets.TP_STATUS_AVAILABLE) {
                break; // still queued or being sent: the ring is full
            }
            if (!offloads.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i + " needs offloads this link lacks ("
                        + offloads + ")");
            }
            taken++;
            int len = batch.length(i);
            boolean gso = batch.isGso(i);
            if (len > (gso ? maxTx : Math.min(maxTx, mtu + L2_OVERHEAD)) || len < 14) {
                dropped++;
                if (st == PacketSockets.TP_STATUS_WRONG_FORMAT)
                        INT.setRelease(mem, slot + Tpacket3HdrLayout.OFF_TP_STATUS, 0);
                continue;
            }
            long data = slot + Tpacket3HdrLayout.TX_DATA_OFFSET;
            if (hdr > 0) VirtioNetHdr.encode(mem, data, hdr, batch, i, 0);
            MemorySegment.copy(batch.memory(), batch.dataOffset(i), mem, data + hdr, len);
            mem.set(ValueLayout.JAVA_INT, slot + Tpacket3HdrLayout.OFF_TP_NEXT_OFFSET, 0);
            mem.set(ValueLayout.JAVA_INT, slot + Tpacket3HdrLayout.OFF_TP_LEN, len + hdr);
            mem.set(ValueLayout.JAVA_INT, slot + Tpacket3HdrLayout.OFF_TP_SNAPLEN, len + hdr);
            if (gso) counters.superpacket(1);
            INT.setRelease(mem, slot + Tpacket3HdrLayout.OFF_TP_STATUS, PacketSockets.TP_STATUS_SEND_REQUEST);
            advanceTxHead();
            posted++;
            bytes += len;
        }
        if (posted > 0) kick();
        if (posted > 0) counters.transmitted(posted, bytes);
        if (dropped > 0) counters.txDropped(dropped);
        return taken;
    }

    /** Moves {@code txHead} (and its slot address) to the next slot, wrapping at the ring's end. */
    private void advanceTxHead() {
        if (++txHead == txFrames) {
            txHead = 0;
            txInBlock = 0;
            txBlockStart = txBase;
            txSlot = txBase;
        } else if (++txInBlock == txPerBlock) {
            txInBlock = 0;
            txBlockStart += txBlockSize;
            txSlot = txBlockStart;
        } else {
            txSlot += txFrameSize;
        }
    }

    /**
     * Where TX slot {@code k} starts: slots never straddle a block, and a block may end in a gap
     * (a 64 KiB superpacket slot in a page-rounded block), as the kernel's packet_lookup_frame counts.
     */
    private long slot(int k) {
        return txBase + (long) (k / txPerBlock) * txBlockSize + (long) (k % txPerBlock) * txFrameSize;
    }

    /** Asks the kernel to send every slot in TP_STATUS_SEND_REQUEST (without waiting for them). */
    private void kick() throws IOException {
        long r = Sockets.sendto(fd, MemorySegment.NULL, 0, MSG_DONTWAIT);
        // EAGAIN/ENOBUFS: the device queue is full; the slots stay requested and the next kick sends them.
        if (r < 0 && r != -Errno.EAGAIN && r != -Errno.ENOBUFS && r != -Errno.EBUSY && r != -Errno.ENETDOWN) {
            throw new SysException("sendto (TX ring kick)", (int) -r, name);
        }
    }

    /**
     * Kicks until every transmit slot is back with us (sent or refused), at most
     * {@code timeoutMillis}; returns true if they all are.
     */
    public boolean drainTx(long timeoutMillis) throws IOException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            boolean busy = false;
            for (int k = 0; k < txFrames && !busy; k++) {
                int st = (int) INT.getAcquire(mem, slot(k) + Tpacket3HdrLayout.OFF_TP_STATUS);
                busy = st == PacketSockets.TP_STATUS_SEND_REQUEST || st == PacketSockets.TP_STATUS_SENDING;
            }
            if (!busy) return true;
            if (System.nanoTime() > deadline) return false;
            kick();
            Thread.onSpinWait();
        }
    }

    @Override
    public boolean prepareToWait() throws IOException {
        return state.prepareToWait(this, PacketLink::rxReady); // close() unmaps the ring only after it
    }

    @Override
    public void finishWait() {
        // The eventfd is only signalled by close(): nothing to drain.
        state.endWait();
    }

    /** Reads PACKET_STATISTICS (which resets the kernel's counters) into the running totals. */
    private void pollStatistics() throws IOException {
        long drops = statistics().drops();
        // Only the receiving thread reaches here through releaseBlock; statistics() leaves rxDrops to it.
        if (drops > dropsReported) {
            counters.rxDropped(drops - dropsReported);
            dropsReported = drops;
        }
    }

    /**
     * The kernel's totals for this socket since it opened: packets it saw, packets it dropped
     * because the receive ring was full, and how often it froze the ring. Reads the kernel now.
     */
    public Statistics statistics() throws IOException {
        synchronized (statsLock) {
            // getsockopt resets the kernel's counters: add them up under the lock
            Sockets.getsockopt(fd, PacketSockets.SOL_PACKET, PacketSockets.PACKET_STATISTICS, statsBuf,
                    "PACKET_STATISTICS");
            kernelPackets +=
                    Integer.toUnsignedLong(statsBuf.get(ValueLayout.JAVA_INT, TpacketStatsV3Layout.OFF_TP_PACKETS));
            kernelDrops +=
                    Integer.toUnsignedLong(statsBuf.get(ValueLayout.JAVA_INT, TpacketStatsV3Layout.OFF_TP_DROPS));
            kernelFreezes += Integer.toUnsignedLong(
                    statsBuf.get(ValueLayout.JAVA_INT, TpacketStatsV3Layout.OFF_TP_FREEZE_Q_CNT));
            return new Statistics(kernelPackets, kernelDrops, kernelFreezes);
        }
    }

    /**
     * PACKET_STATISTICS totals.
     *
     * @param packets packets the kernel passed to the socket since it was opened ({@code tp_packets} summed)
     * @param drops packets the kernel dropped because the receive ring was full ({@code tp_drops} summed)
     * @param freezes times the kernel froze the receive ring ({@code tp_freeze_q_cnt} summed)
     */
    public record Statistics(long packets, long drops, long freezes) {}

    /**
     * Unmaps the rings once no receive or transmit is inside (first: the mapping holds a
     * reference to the socket, which is only freed once both are gone), closes the socket, then
     * wakes a sleeper.
     */
    @Override
    public void close() {
        state.close(ring, fd);
    }

    @Override
    public String toString() {
        return name;
    }
}
