package ringlink.afpacket;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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

/**
 * Opening a {@link PacketLink}: the socket, its options, the TPACKET_V3 rings and their one
 * mapping, bind, promiscuous membership and fanout; what was opened is closed if a step fails.
 * Apart from the link so that the link's class is its data path and lifecycle.
 */
final class PacketSetup {
    private PacketSetup() {}

    /**
     * Opens a link: socket (bound to no protocol yet, so nothing queues before the rings exist),
     * TPACKET_V3, the options, both rings, one mapping for both, then bind to the interface with
     * ETH_P_ALL and the promiscuous membership.
     */
    static PacketLink open(PacketConfig c) throws IOException {
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
        int maxFrame = (c.vnetHdr() ? Math.max(PacketLink.MAX_GSO_PACKET, mtu) : mtu) + PacketLink.L2_OVERHEAD;
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
}
