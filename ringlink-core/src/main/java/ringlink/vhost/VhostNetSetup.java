package ringlink.vhost;

import java.io.IOException;
import ringlink.link.LinkException;
import ringlink.link.Offloads;
import ringlink.packet.PacketBatch;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Mapping;
import ringlink.sys.SysException;
import ringlink.tun.TunConfig;
import ringlink.tun.TunDevice;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestAllocator;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.SplitQueueDriver;
import ringlink.virtio.SplitRing;
import ringlink.virtio.VirtioException;
import ringlink.virtio.VirtioFeature;
import ringlink.virtio.net.NetDriverRx;
import ringlink.virtio.net.NetDriverTx;
import ringlink.virtio.net.NetHeader;

/**
 * Opening a {@link VhostNetLink}: feature negotiation, the TAP, the two anonymous mappings
 * (rings, buffers) registered with the kernel, the queues and their eventfds; everything opened
 * so far is closed in reverse if a later step fails. Apart from the link so that the link's
 * class is its data path and lifecycle.
 */
final class VhostNetSetup {
    private VhostNetSetup() {}

    /** See {@link VhostNetLink#open}. */
    static VhostNetLink open(VhostNetLink.Options opts) throws IOException {
        int n = opts.queueSize();
        if (n < 2 || n > 32768 || Integer.bitCount(n) != 1) {
            throw new IllegalArgumentException("queue size " + n + " must be a power of two in [2, 32768]");
        }
        if (!opts.wanted().containsAll(opts.required())) {
            throw new IllegalArgumentException("required features " + opts.required() + " must be wanted ("
                    + opts.wanted() + ")");
        }
        String name = "vhost-net:" + opts.tap();
        // Everything opened so far, closed in reverse if a later step fails.
        VhostDevice dev = null;
        TunDevice tap = null;
        Mapping ringMem = null, bufMem = null;
        EventFd rxKick = null, txKick = null, rxCall = null, err = null;
        Epoll ready = null;
        try {
            dev = VhostDevice.open(opts.device());
            FeatureSet offered = new FeatureSet(dev.getFeatures());
            FeatureSet missing = new FeatureSet(opts.required().bits() & ~offered.bits());
            if (missing.bits() != 0) {
                throw new LinkException(name + ": features do not match: " + missing + " required but "
                        + opts.device() + " offers only " + offered);
            }
            // Never bit 27 (VHOST_NET_F_VIRTIO_NET_HDR, shared with ANY_LAYOUT): the TAP carries the header.
            FeatureSet features = offered.and(opts.wanted()).and(VhostNetLink.SUPPORTED);
            dev.setFeatures(features.bits());
            int hdr = NetHeader.size(features);
            boolean mrg = features.has(VirtioFeature.NET_MRG_RXBUF);

            // The TAP keeps its own interface settings (not brought up here): vhost only needs the queue.
            tap = TunDevice.open(TunConfig.tap(opts.tap()).vnetHdrSize(hdr).offloads(opts.offloads())
                    .sndbuf(opts.tapSndbuf()).up(false));
            Offloads offloads = tap.offloads();
            if (!offloads.equals(opts.offloads())) {
                System.getLogger("ringlink.vhost").log(System.Logger.Level.INFO,
                        name + ": kernel accepts offloads " + offloads + " of " + opts.offloads());
            }
            int mtu = tap.mtu();
            boolean gso = offloads.has(Offloads.TSO4) || offloads.has(Offloads.TSO6) || offloads.has(Offloads.USO);
            // A superpacket is at most 64 KiB of IP plus the Ethernet header (+VLAN tag).
            int maxFrame = gso ? Math.max(65535 + 18, mtu + 18) : mtu + 18;
            int maxReceive = Math.min(maxFrame, PacketBatch.SUPERPACKET_BUFFER - PacketBatch.DEFAULT_HEADROOM);
            int rxBuf = opts.rxBufferSize() > 0 ? opts.rxBufferSize()
                    : mrg ? (gso ? 4096 : 2048) : hdr + maxReceive;
            if (!mrg && rxBuf < hdr + maxReceive) {
                throw new IllegalArgumentException(name + ": without MRG_RXBUF a receive buffer must hold "
                        + (hdr + maxReceive) + " bytes");
            }
            int txBuf = hdr + maxFrame;

            int maxIndirect = features.has(VirtioFeature.INDIRECT_DESC) ? 16 : 0;
            long ringBytes = 2 * (SplitRing.descTableSize(n) + SplitRing.availSize(n) + SplitRing.usedSize(n)
                    + 16L * maxIndirect * n + 256);
            ringMem = Mapping.anonymous(round(ringBytes), name + " rings");
            bufMem = Mapping.anonymous(round((long) n * rxBuf + (long) n * txBuf + 256), name + " buffers");
            GuestMemory.Region ringRegion = GuestMemory.Region.identity(ringMem.segment());
            GuestMemory.Region bufRegion = GuestMemory.Region.identity(bufMem.segment());
            GuestMemory mem = GuestMemory.of(ringRegion, bufRegion);
            GuestAllocator ringAlloc = new GuestAllocator(ringRegion);
            GuestAllocator bufAlloc = new GuestAllocator(bufRegion);
            SplitQueueDriver rxq =
                    new SplitQueueDriver(SplitRing.allocate(mem, ringAlloc, n), features, ringAlloc, maxIndirect);
            SplitQueueDriver txq =
                    new SplitQueueDriver(SplitRing.allocate(mem, ringAlloc, n), features, ringAlloc, maxIndirect);
            NetDriverRx rx = new NetDriverRx(rxq, bufAlloc, rxBuf, features);
            NetDriverTx tx = new NetDriverTx(txq, bufAlloc, txBuf, features);

            dev.setMemTable(mem.regions());
            rxKick = EventFd.create();
            txKick = EventFd.create();
            rxCall = EventFd.create();
            err = EventFd.create();
            ready = new Epoll(2);
            ready.add(rxCall.fd(), EpollEventLayout.EPOLLIN, VhostNetLink.RX);
            ready.add(err.fd(), EpollEventLayout.EPOLLIN, 2);
            setupQueue(dev, mem, VhostNetLink.RX, rxq, rxKick, rxCall, err);
            setupQueue(dev, mem, VhostNetLink.TX, txq, txKick, null, err);

            // Busy until the caller sleeps: no receive interrupts; never any transmit interrupts.
            rxq.disableNotifications();
            txq.disableNotifications();
            rx.refill();
            rxq.publish();

            dev.setBackend(VhostNetLink.RX, tap.fd());
            dev.setBackend(VhostNetLink.TX, tap.fd());
            // The kernel starts by reading what is already available; a kick makes sure it looks.
            rxKick.signal();
            return new VhostNetLink(name, dev, tap, features, offloads, mtu, maxReceive, ringMem, bufMem, rxq, txq, rx,
                    tx,
                    txBuf, rxKick, txKick, rxCall, err, ready, mem.regions());
        } catch (IOException | RuntimeException e) {
            if (dev != null) dev.close(); // first: the kernel lets go of the memory
            if (tap != null) tap.close();
            if (ready != null) ready.close();
            for (EventFd f : new EventFd[] {rxKick, txKick, rxCall, err}) if (f != null) f.close();
            if (ringMem != null) ringMem.close();
            if (bufMem != null) bufMem.close();
            if (e instanceof VirtioException ve) throw new LinkException(name + ": " + ve.getMessage(), ve);
            throw e;
        }
    }

    /** {@code bytes} rounded up to whole 4 KiB pages. */
    static long round(long bytes) {
        return (bytes + 4095) & ~4095L;
    }

    private static void setupQueue(VhostDevice dev, GuestMemory mem, int index, SplitQueueDriver q, EventFd kick,
                                   EventFd call, EventFd err) throws SysException {
        SplitRing r = q.ring();
        dev.setVringNum(index, r.size());
        dev.setVringBase(index, q.availIndex());
        dev.setVringAddr(index, mem.guestToUser(r.descAddress(), SplitRing.descTableSize(r.size())),
                mem.guestToUser(r.usedAddress(), SplitRing.usedSize(r.size())),
                mem.guestToUser(r.availAddress(), SplitRing.availSize(r.size())));
        dev.setVringKick(index, kick.fd());
        dev.setVringCall(index, call == null ? null : call.fd());
        dev.setVringErr(index, err.fd());
    }
}
