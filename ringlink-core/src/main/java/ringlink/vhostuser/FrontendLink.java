package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.*;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.locks.ReentrantLock;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.LinkFailedException;
import ringlink.link.Offloads;
import ringlink.link.LinkState;
import ringlink.packet.Framing;
import ringlink.packet.OffloadValidator;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.ClosedFdException;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.VirtqueueDriver;
import ringlink.virtio.VirtqueueException;

/**
 * One queue pair of a {@link VhostUserFrontend} as a {@link Link}: {@link #transmit} offers
 * packets on the device's TX queue, {@link #receive} collects what the device wrote into our RX
 * buffers. Every buffer is a fixed slot of the front-end's memory; receive buffers are re-offered
 * as soon as their packet is copied out, transmit buffers are reclaimed when the device returns
 * them. {@link #readyFd()} is the RX queue's call eventfd; this link closes it (through a
 * {@link LinkState}: close() signals it, and closes it only when no thread can be asleep on it).
 *
 * <p>What the device writes is hostile: used ids and lengths are checked by the ring driver, and
 * a {@code num_buffers} that is zero or larger than the ring fails the link.
 */
public final class FrontendLink implements Link {
    private final VhostUserFrontend owner;
    private final String name;
    private final VirtqueueDriver rxq, txq;
    private final EventFd rxCall, rxKick, txKick;
    /** Owns rxCall (readyFd): closes it only when no thread can be asleep on it. */
    /** Open/closed (a broken ring closes the link) and the hand-off of rxCall, our readyFd. */
    private final LinkState state;
    private final MemorySegment mem;
    private final long memBase;
    private final long rxBase, txBase;
    private final int rxBuf, txBuf, hdr;
    private final boolean mrg;
    private final Offloads offloads, fromDevice;
    private final int size;
    private final LinkCounters counters = new LinkCounters();
    /** The device's RX metadata (receiving thread): DATA_VALID kept, the rest checked and bounded. */
    private final OffloadValidator rxCheck = new OffloadValidator(Framing.ETHERNET, OffloadValidator.Source.DEVICE);
    private final ReentrantLock rxLock = new ReentrantLock(), txLock = new ReentrantLock();
    // RX: buffer slot of each offered id; collected-but-unprocessed entries as (slot, length), circular.
    private final int[] rxSlotOfId;
    private final int[] pIds, pLens;
    private int pHead, pN;
    private final int[] ids, lens;
    // TX: buffer slot of each offered id, free slot stack.
    private final int[] txSlotOfId;
    private final int[] txFree;
    private int txFreeN;
    private final int[] tIds, tLens;

    FrontendLink(VhostUserFrontend owner, int pair, FeatureSet f, VirtqueueDriver rxq, VirtqueueDriver txq,
            EventFd rxCall,
                 EventFd rxKick, EventFd txKick, GuestMemory memory, long rxBase, int rxBuf, long txBase, int txBuf,
                         int hdr) {
        this.owner = owner;
        this.name = owner.name() + (pair > 0 ? "#" + pair : "");
        this.rxq = rxq;
        this.txq = txq;
        this.rxCall = rxCall;
        this.state = new LinkState(name, rxCall);
        this.rxKick = rxKick;
        this.txKick = txKick;
        this.mem = memory.segment(0);
        this.memBase = memory.region(0).guestAddress();
        this.rxBase = rxBase;
        this.txBase = txBase;
        this.rxBuf = rxBuf;
        this.txBuf = txBuf;
        this.hdr = hdr;
        this.mrg = f.has(NET_MRG_RXBUF);
        this.size = rxq.size();
        int toDev = 0, fromDev = 0;
        if (f.has(NET_CSUM)) toDev |= Offloads.CSUM;
        if (f.has(NET_HOST_TSO4)) toDev |= Offloads.TSO4;
        if (f.has(NET_HOST_TSO6)) toDev |= Offloads.TSO6;
        if (f.has(NET_HOST_USO)) toDev |= Offloads.USO;
        if (f.has(NET_HOST_ECN)) toDev |= Offloads.TSO_ECN;
        if (f.has(NET_GUEST_CSUM)) fromDev |= Offloads.CSUM;
        if (f.has(NET_GUEST_TSO4)) fromDev |= Offloads.TSO4;
        if (f.has(NET_GUEST_TSO6)) fromDev |= Offloads.TSO6;
        if (f.has(NET_GUEST_USO4) && f.has(NET_GUEST_USO6)) fromDev |= Offloads.USO;
        if (f.has(NET_GUEST_ECN)) fromDev |= Offloads.TSO_ECN;
        this.offloads = Offloads.of(toDev & fromDev);
        this.fromDevice = Offloads.of(fromDev);
        this.rxSlotOfId = new int[size];
        this.pIds = new int[size];
        this.pLens = new int[size];
        this.ids = new int[size];
        this.lens = new int[size];
        this.txSlotOfId = new int[size];
        this.txFree = new int[size];
        for (int i = 0; i < size; i++) txFree[i] = size - 1 - i;
        this.txFreeN = size;
        this.tIds = new int[size];
        this.tLens = new int[size];
    }

    static int hdrSize(FeatureSet f) {
        return f.has(VERSION_1) || f.has(NET_MRG_RXBUF) ? VirtioNetHdr.SIZE_MRG : VirtioNetHdr.SIZE;
    }

    /** Fills the RX ring with every buffer; notifications off (the data path polls until it sleeps). */
    void start() {
        rxLock.lock();
        try {
            for (int s = 0; s < size; s++) offerRx(s);
            rxq.disableNotifications();
            txq.disableNotifications();
            if (rxq.publish()) VhostUserFrontend.kick(rxKick);
        } finally {
            rxLock.unlock();
        }
    }

    private void offerRx(int slot) {
        int id = rxq.offer(rxBase + (long) slot * rxBuf, rxBuf, true);
        if (id < 0) throw new IllegalStateException("RX ring full while re-offering buffer " + slot);
        rxSlotOfId[id] = slot;
    }

    @Override public String name() { return name; }
    @Override public Layer layer() { return Layer.L2; }
    @Override public int mtu() { return 1500; }
    @Override public Offloads offloads() { return offloads; }

    @Override
    public int maxReceiveSize() {
        boolean gso = fromDevice.has(Offloads.TSO4) || fromDevice.has(Offloads.TSO6) || fromDevice.has(Offloads.USO);
        return gso ? 65535 + 14 + 4 : mrg ? 9216 : rxBuf - hdr;
    }

    @Override public Fd readyFd() { return rxCall.fd(); }
    @Override public LinkCounters counters() { return counters; }
    @Override public boolean isOpen() { return state.isOpen(); }

    @Override
    public int receive(PacketBatch batch) throws IOException {
        state.checkReceive();
        rxLock.lock();
        try {
            // close() frees the memory after taking this lock: re-check under it.
            state.check();
            // Collect whatever the device returned, behind what is still pending.
            int room = size - pN;
            if (room > 0) {
                int n = rxq.collect(ids, lens, room);
                for (int k = 0; k < n; k++) {
                    int at = (pHead + pN + k) % size;
                    // Translate now: the id is free for reuse as soon as it is collected.
                    pIds[at] = rxSlotOfId[ids[k]];
                    pLens[at] = lens[k];
                }
                pN += n;
            }
            int got = 0, drops = 0, reoffered = 0;
            long bytes = 0;
            int max = maxReceiveSize();
            while (pN > 0 && !batch.isFull()) {
                long a0 = rxBase + (long) pIds[pHead] * rxBuf - memBase;
                int len0 = pLens[pHead];
                int nb = 1;
                if (mrg) {
                    if (len0 < hdr) {
                        throw fail("used length " + len0 + " is shorter than the virtio-net header");
                    }
                    nb = VirtioNetHdr.numBuffers(mem, a0);
                    if (nb < 1 || nb > size) throw fail("num_buffers " + nb + " on a ring of " + size);
                    if (nb > pN) {
                        if (pN == size) throw fail("num_buffers " + nb + " exceeds the buffers in flight");
                        break; // rest of the packet not returned yet
                    }
                }
                long total = -hdr;
                for (int k = 0; k < nb; k++) total += pLens[(pHead + k) % size];
                if (total <= 0 || total > max) {
                    drops++;
                } else {
                    int i = batch.add();
                    if (batch.room(i) < total) {
                        batch.setCount(i);
                        drops++;
                    } else {
                        VirtioNetHdr.decode(mem, a0, batch, i);
                        long dst = batch.dataOffset(i);
                        for (int k = 0; k < nb; k++) {
                            int e = (pHead + k) % size;
                            long a = rxBase + (long) pIds[e] * rxBuf - memBase;
                            int skip = k == 0 ? hdr : 0;
                            int n = pLens[e] - skip;
                            if (n > 0) {
                                MemorySegment.copy(mem, a + skip, batch.memory(), dst, n);
                                dst += n;
                            }
                        }
                        batch.setLength(i, (int) total);
                        if (counters.admitReceived(batch, i, rxCheck, fromDevice)) {
                            got++;
                            bytes += total;
                        } else {
                            drops++;
                        }
                    }
                }
                for (int k = 0; k < nb; k++) {
                    offerRx(pIds[pHead]);
                    pHead = (pHead + 1) % size;
                    pN--;
                    reoffered++;
                }
            }
            if (reoffered > 0 && rxq.publish()) VhostUserFrontend.kick(rxKick);
            if (got > 0) counters.received(got, bytes);
            if (drops > 0) counters.rxDropped(drops);
            return got;
        } catch (VirtqueueException e) {
            throw fail(e.getMessage());
        } finally {
            rxLock.unlock();
        }
    }

    private LinkFailedException fail(String why) {
        counters.error();
        state.markClosed();
        return new LinkFailedException(name + ": the back-end broke the ring: " + why);
    }

    private void reclaimTx() {
        int n = txq.collect(tIds, tLens, size);
        for (int k = 0; k < n; k++) txFree[txFreeN++] = txSlotOfId[tIds[k]];
    }

    @Override
    public int transmit(PacketBatch batch, int from, int to) throws IOException {
        state.check();
        for (int i = from; i < to; i++) {
            if (!offloads.accepts(batch, i)) {
                throw new IllegalArgumentException(name + ": packet " + i + " needs offloads this link lacks ("
                        + offloads + ")");
            }
        }
        txLock.lock();
        try {
            state.check();
            reclaimTx();
            int i = from, sent = 0, drops = 0;
            long bytes = 0;
            for (; i < to; i++) {
                int len = batch.length(i);
                if (len + hdr > txBuf) {
                    drops++;
                    continue;
                }
                if (txFreeN == 0) break;
                int slot = txFree[txFreeN - 1];
                long a = txBase + (long) slot * txBuf;
                long off = a - memBase;
                VirtioNetHdr.encode(mem, off, hdr, batch, i, 0);
                MemorySegment.copy(batch.memory(), batch.dataOffset(i), mem, off + hdr, len);
                int id = txq.offer(a, hdr + len, false);
                if (id < 0) break;
                txFreeN--;
                txSlotOfId[id] = slot;
                sent++;
                bytes += len;
                if (batch.isGso(i)) counters.superpacket(1);
            }
            if (sent > 0 && txq.publish()) VhostUserFrontend.kick(txKick);
            if (sent > 0) counters.transmitted(sent, bytes);
            if (drops > 0) counters.txDropped(drops);
            return i - from;
        } catch (VirtqueueException e) {
            throw fail(e.getMessage());
        } finally {
            txLock.unlock();
        }
    }

    @Override
    public boolean prepareToWait() throws IOException {
        if (!state.isOpen() || !state.beginWait()) return false;
        boolean sleep = false;
        rxLock.lock();
        try {
            if (!state.isOpen()) return false; // free() unmaps the rings after taking this lock
            sleep = pN == 0 && !rxq.enableNotifications();
            return sleep;
        } catch (VirtqueueException e) {
            throw fail(e.getMessage());
        } finally {
            rxLock.unlock();
            if (!sleep) state.endWait();
        }
    }

    @Override
    public void finishWait() throws IOException {
        try {
            if (!state.isOpen()) return; // awaitReadable then returns true and the next receive throws
            try {
                rxCall.drain(); // still open: the guard keeps it until our endWait
            } catch (ClosedFdException ignored) {
                // a finishWait without prepareToWait after close: nothing to drain
            }
            rxLock.lock();
            try {
                if (state.isOpen() && !rxq.isFailed()) rxq.disableNotifications();
            } finally {
                rxLock.unlock();
            }
        } finally {
            state.endWait(); // closed while we slept: rxCall is ours to release
        }
    }

    /**
     * A packed ring's resume point for SET_VRING_BASE (position, wrap counter in bit 15): the
     * driver's used position, read under the queue's lock so it is not torn by a batch.
     */
    int packedResumeBase(boolean rxQueue) {
        ReentrantLock l = rxQueue ? rxLock : txLock;
        l.lock();
        try {
            ringlink.virtio.PackedQueueDriver d = (ringlink.virtio.PackedQueueDriver) (rxQueue ? rxq : txq);
            return d.usedPosition() | (d.usedWrapCounter() ? 1 << 15 : 0);
        } finally {
            l.unlock();
        }
    }

    /** Closes the whole front-end (every queue pair). */
    @Override
    public void close() {
        owner.close(); // idempotent; also after a LinkFailedException, which set closed already
    }

    /**
     * From the front-end's close: marks the link closed, wakes a thread asleep on readyFd (rxCall
     * closes once none can be asleep on it), and waits for in-flight calls (the memory goes next).
     */
    void free() {
        state.close();
        rxLock.lock();
        txLock.lock();
        txLock.unlock();
        rxLock.unlock();
    }
}
