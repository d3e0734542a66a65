package ringlink.afpacket;

import static ringlink.sys.Endian.BE16;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkCounters;
import ringlink.link.LinkException;
import ringlink.link.LinkFailedException;
import ringlink.link.Offloads;
import ringlink.link.WakeupGuard;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.Errno;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.Net;
import ringlink.sys.NetDevice;
import ringlink.sys.PacketMreqLayout;
import ringlink.sys.PacketSockets;
import ringlink.sys.SockaddrLlLayout;
import ringlink.sys.Sockets;
import ringlink.sys.SysException;
import ringlink.sys.Tpacket3HdrLayout;
import ringlink.sys.TpacketBlockDescLayout;
import ringlink.sys.TpacketReq3Layout;
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
 * eventfd that {@link #close()} signals; {@link WakeupGuard} keeps both open while a thread may
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
    private final WakeupGuard wakeGuard;
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
    // kernel statistics, accumulated (getsockopt resets them)
    private final Object statsLock = new Object();
    private long kernelPackets, kernelDrops, kernelFreezes;
    private long dropsReported;
    private final MemorySegment statsBuf = Arena.ofAuto().allocate(TpacketStatsV3Layout.LAYOUT);
    private volatile boolean closed;
    private volatile String failure;
    /** Why the last received packet was dropped by the offload checks, or null. */
    private volatile String lastError;

    private PacketLink(String name, PacketConfig config, Fd fd, Mapping ring, Epoll epoll, EventFd wake, int mtu,
                       int txFrameSize, int txBlockSize) {
        this.name = name;
        this.config = config;
        this.fd = fd;
        this.ring = ring;
        this.mem = ring.segment();
        this.epoll = epoll;
        this.wake = wake;
        this.wakeGuard = new WakeupGuard(wake, epoll);
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
        String name = "packet:" + c.ifname();
        int ifindex;
        int mtu;
        try {
            ifindex = Net.ifNameToIndex(c.ifname());
            mtu = NetDevice.mtu(c.ifname());
        } catch (SysException e) {
            throw new PacketException(name + ": no interface " + c.ifname() + " (" + e.getMessage() + ")", e);
        }
        if (mtu <= 0 || mtu > 65535) throw new PacketException(name + ": interface MTU " + mtu + " out of range", null);
        // One slot: header (aligned) + virtio-net header + frame with a VLAN tag (a superpacket with
        // vnethdr). Up to 64 KiB a power of two, so slots tile 64 KiB blocks; beyond, one slot per
        // page-rounded block.
        int hdr = c.vnetHdr() ? VirtioNetHdr.SIZE : 0;
        int maxFrame = (c.vnetHdr() ? Math.max(MAX_GSO_PACKET, mtu) : mtu) + L2_OVERHEAD;
        long need = Tpacket3HdrLayout.TX_DATA_OFFSET + hdr + maxFrame;
        int txFrameSize, txBlock;
        if (need <= 1 << 16) {
            txFrameSize = Math.max(2048, Integer.highestOneBit((int) need - 1) << 1);
            txBlock = Math.max(txFrameSize, 1 << 16);
        } else {
            txFrameSize = (int) Tpacket3HdrLayout.align(need);
            txBlock = (txFrameSize + 4095) & ~4095;
        }
        if ((long) maxFrame + hdr + Tpacket3HdrLayout.SIZE + TpacketBlockDescLayout.SIZE + 16 > c.blockSize()) {
            throw new IllegalArgumentException(name + ": block-size " + c.blockSize() + " cannot hold one frame of "
                    + maxFrame + " bytes" + (c.vnetHdr() ? " (a superpacket: use at least 131072 with vnethdr)" : ""));
        }
        Fd fd = Sockets.socket(Sockets.AF_PACKET, Sockets.SOCK_RAW, 0, name);
        Mapping ring = null;
        Epoll ep = null;
        EventFd wake = null;
        try (Arena a = Arena.ofConfined()) {
            opt(fd, PacketSockets.PACKET_VERSION, PacketSockets.TPACKET_V3, "PACKET_VERSION=TPACKET_V3");
            opt(fd, PacketSockets.PACKET_LOSS, 1, "PACKET_LOSS");
            if (!c.outgoing())
                    opt(fd, PacketSockets.PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING (kernel 4.20+)");
            if (c.qdiscBypass()) opt(fd, PacketSockets.PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
            // Before the rings: the kernel refuses it (EBUSY) once a ring exists.
            if (c.vnetHdr()) opt(fd, PacketSockets.PACKET_VNET_HDR, 1, "PACKET_VNET_HDR");
            MemorySegment req = a.allocate(TpacketReq3Layout.LAYOUT);
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_BLOCK_SIZE, c.blockSize());
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_BLOCK_NR, c.blocks());
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_FRAME_SIZE, 2048);
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_FRAME_NR, c.blocks() * (c.blockSize() / 2048));
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_RETIRE_BLK_TOV, c.timeoutMillis());
            ring(fd, PacketSockets.PACKET_RX_RING, req, "PACKET_RX_RING");
            // TX: fixed slots; the last three fields must be 0.
            int perBlock = txBlock / txFrameSize;
            int txBlocks = Math.max(1, c.txFrames() / perBlock);
            req.fill((byte) 0);
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_BLOCK_SIZE, txBlock);
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_BLOCK_NR, txBlocks);
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_FRAME_SIZE, txFrameSize);
            req.set(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_FRAME_NR, txBlocks * perBlock);
            ring(fd, PacketSockets.PACKET_TX_RING, req, "PACKET_TX_RING");
            int txFrames = txBlocks * perBlock;
            if (txFrames != c.txFrames()) {
                c = new PacketConfig(c.ifname(), c.promisc(), c.outgoing(), c.qdiscBypass(), c.blockSize(), c.blocks(),
                        c.timeoutMillis(), txFrames, c.vnetHdr(), c.fanout());
            }
            long len = (long) c.blockSize() * c.blocks() + (long) txBlock * txBlocks;
            ring = Mapping.map(fd, len, Mapping.PROT_READ | Mapping.PROT_WRITE,
                    Mapping.MAP_SHARED | Mapping.MAP_POPULATE, 0,
                    "AF_PACKET rings");

            MemorySegment sa = a.allocate(SockaddrLlLayout.LAYOUT);
            sa.set(ValueLayout.JAVA_SHORT, SockaddrLlLayout.OFF_SLL_FAMILY, (short) Sockets.AF_PACKET);
            sa.set(ValueLayout.JAVA_SHORT, SockaddrLlLayout.OFF_SLL_PROTOCOL,
                    (short) PacketSockets.htons(PacketSockets.ETH_P_ALL));
            sa.set(ValueLayout.JAVA_INT, SockaddrLlLayout.OFF_SLL_IFINDEX, ifindex);
            try {
                Sockets.bind(fd, sa, (int) SockaddrLlLayout.SIZE);
            } catch (SysException e) {
                String hint = e.is(Errno.ENETDOWN) ? " (interface is down)" : "";
                throw new PacketException(name + ": cannot bind to " + c.ifname() + ": " + e.getMessage() + hint, e);
            }
            if (c.promisc()) {
                MemorySegment mr = a.allocate(PacketMreqLayout.LAYOUT);
                mr.set(ValueLayout.JAVA_INT, PacketMreqLayout.OFF_MR_IFINDEX, ifindex);
                mr.set(ValueLayout.JAVA_SHORT, PacketMreqLayout.OFF_MR_TYPE,
                        (short) PacketMreqLayout.PACKET_MR_PROMISC);
                try {
                    Sockets.setsockopt(fd, PacketSockets.SOL_PACKET, PacketSockets.PACKET_ADD_MEMBERSHIP, mr,
                            "PACKET_ADD_MEMBERSHIP(PROMISC)");
                } catch (SysException e) {
                    throw new PacketException(name + ": cannot make " + c.ifname() + " promiscuous: " + e.getMessage(),
                            e);
                }
            }
            if (c.fanout() >= 0) {
                // After bind (the kernel wants a running, bound socket); hash mode keeps a flow on one link.
                try {
                    Sockets.setsockopt(fd, PacketSockets.SOL_PACKET, PacketSockets.PACKET_FANOUT,
                            c.fanout() | (PacketSockets.PACKET_FANOUT_HASH << 16),
                                    "PACKET_FANOUT(" + c.fanout() + ", hash)");
                } catch (SysException e) {
                    throw new PacketException(name + ": cannot join fanout group " + c.fanout() + " on " + c.ifname()
                            + ": " + e.getMessage()
                                    + (e.is(Errno.EINVAL) ? " (group in use with another mode or interface?)" : ""), e);
                }
            }
            wake = EventFd.create();
            ep = new Epoll(2);
            ep.add(wake.fd(), EpollEventLayout.EPOLLIN, 1);
            ep.add(fd, EpollEventLayout.EPOLLIN, 0);
            return new PacketLink(name, c, fd, ring, ep, wake, mtu, txFrameSize, txBlock);
        } catch (IOException | RuntimeException e) {
            if (ep != null) ep.close();
            if (wake != null) wake.close();
            if (ring != null) ring.close();
            fd.close();
            throw e;
        }
    }

    private static void opt(Fd fd, int option, int value, String what) throws IOException {
        try {
            Sockets.setsockopt(fd, PacketSockets.SOL_PACKET, option, value, what);
        } catch (SysException e) {
            throw new PacketException(fd.name() + ": the kernel refused " + what + ": " + e.getMessage(), e);
        }
    }

    private static void ring(Fd fd, int option, MemorySegment req, String what) throws IOException {
        try {
            Sockets.setsockopt(fd, PacketSockets.SOL_PACKET, option, req, what);
        } catch (SysException e) {
            throw new PacketException(fd.name() + ": the kernel refused " + what + " (block "
                    + req.get(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_BLOCK_SIZE) + " B x "
                    + req.get(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_BLOCK_NR) + ", frame "
                    + req.get(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_FRAME_SIZE) + " B x "
                    + req.get(ValueLayout.JAVA_INT, TpacketReq3Layout.OFF_TP_FRAME_NR) + "): " + e.getMessage(), e);
        }
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.L2; }
    @Override public int mtu() { return mtu; }
    /** {@link #VNET_OFFLOADS} with vnethdr (the default), else none. */
    @Override public Offloads offloads() { return offloads; }
    @Override public int maxReceiveSize() { return maxRx; }
    @Override public Fd readyFd() { return epoll.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return !closed && failure == null; }

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
        if (closed) wakeGuard.pollerAwake(); // the receiving thread is the poller: it is not asleep now
        check();
        try {
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
                if (pktLeft > 1
                        && (next < Tpacket3HdrLayout.SIZE || pktOff + next + Tpacket3HdrLayout.SIZE > blockSize)) {
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
        } catch (IllegalStateException | IndexOutOfBoundsException e) {
            throw fail(e);
        }
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
        failure = "corrupt receive ring: " + what;
        return new LinkFailedException(name + ": " + failure);
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        check();
        try {
            int taken = 0;
            int posted = 0;
            long bytes = 0;
            int dropped = 0;
            for (int i = from; i < to; i++) {
                long slot = slot(txHead);
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
                txHead = txHead + 1 == txFrames ? 0 : txHead + 1;
                posted++;
                bytes += len;
            }
            if (posted > 0) kick();
            if (posted > 0) counters.transmitted(posted, bytes);
            if (dropped > 0) counters.txDropped(dropped);
            return taken;
        } catch (IllegalStateException | IndexOutOfBoundsException e) {
            throw fail(e);
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
        if (closed || !wakeGuard.beginWait()) return false;
        boolean sleep = false;
        try {
            sleep = !rxReady();
            return sleep;
        } catch (IllegalStateException e) {
            // close() from another thread unmapped the ring under us (it does not wait for the
            // receiving thread): closed, do not sleep; the next receive throws LinkClosedException.
            if (closed) return false;
            throw e;
        } finally {
            if (!sleep) wakeGuard.endWait();
        }
    }

    @Override
    public void finishWait() {
        // The eventfd is only signalled by close(): nothing to drain.
        wakeGuard.endWait();
    }

    /** Reads PACKET_STATISTICS (which resets the kernel's counters) into the running totals. */
    private void pollStatistics() throws IOException {
        long drops;
        synchronized (statsLock) {
            Sockets.getsockopt(fd, PacketSockets.SOL_PACKET, PacketSockets.PACKET_STATISTICS, statsBuf,
                    "PACKET_STATISTICS");
            kernelPackets +=
                    Integer.toUnsignedLong(statsBuf.get(ValueLayout.JAVA_INT, TpacketStatsV3Layout.OFF_TP_PACKETS));
            kernelDrops +=
                    Integer.toUnsignedLong(statsBuf.get(ValueLayout.JAVA_INT, TpacketStatsV3Layout.OFF_TP_DROPS));
            kernelFreezes += Integer.toUnsignedLong(
                    statsBuf.get(ValueLayout.JAVA_INT, TpacketStatsV3Layout.OFF_TP_FREEZE_Q_CNT));
            drops = kernelDrops;
        }
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

    private void check() throws LinkException {
        if (closed) throw new LinkClosedException(name + ": closed");
        String f = failure;
        if (f != null) throw new LinkFailedException(name + ": stopped earlier: " + f);
    }

    private LinkException fail(RuntimeException e) {
        if (closed) return new LinkClosedException(name + ": closed");
        failure = e.getMessage();
        return new LinkFailedException(name + ": " + e.getMessage(), e);
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        // Unmap first: the mapping holds a reference to the socket, which is only freed once both are gone.
        ring.close();
        fd.close();
        wakeGuard.close();
    }

    @Override
    public String toString() {
        return name;
    }
}
