package ringlink.vhostuser;

import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.PackedQueueDevice;
import ringlink.virtio.SplitQueueDevice;
import ringlink.virtio.VirtqueueDevice;
import ringlink.virtio.VirtqueueException;

/**
 * The back-end's state of one vring, as the front-end configured it, and the running device
 * queue once it is started.
 *
 * <p>States (vhost-user.rst "Ring states"): <em>stopped</em> ({@link #dev} null) until
 * SET_VRING_KICK starts it and again after GET_VRING_BASE; <em>started</em> and either
 * <em>enabled</em> or <em>disabled</em>. Started rings begin disabled when
 * VHOST_USER_F_PROTOCOL_FEATURES was negotiated (SET_VRING_ENABLE turns them on) and enabled
 * otherwise.
 *
 * <p>The data path holds {@link #lock} for one batch; the control thread holds it to change
 * anything the data path reads, so a ring is never reconfigured or unmapped under a batch.
 */
final class Vring {
    final int index;
    final RingLock lock = new RingLock();

    int num;
    boolean addrSet;
    long descUser, availUser, usedUser, logGuest;
    int addrFlags;
    int base;
    boolean baseSet;

    /** The front-end's kick eventfd (checked, peer-shared: reading it never blocks), or null. */
    EventFd kick;
    boolean kickPolled;
    EventFd call;
    Fd err;

    volatile boolean enabled;
    VirtqueueDevice dev;
    /** The split ring under {@link #dev} (for its used index), or null for packed. */
    ringlink.virtio.SplitRing splitRing;
    /** This ring's inflight tracking (INFLIGHT_SHMFD; split or packed, chosen at start), or null. */
    InflightTracker inflight;
    boolean packed;
    /**
     * The dirty log the data path marks its guest-memory writes in, or null when logging is off
     * (VHOST_F_LOG_ALL not acked, or no SET_LOG_BASE yet): the one field the hot path reads.
     */
    DirtyLog log;
    /**
     * Guest physical ranges of the ring memory the device writes, logged once per batch while
     * {@link #log} is set: the used ring (split) or device event area (packed) at
     * {@code log_guest_addr} if VHOST_VRING_F_LOG is set (length 0 otherwise), and for packed
     * rings the descriptor ring, where used descriptors are written.
     */
    long logUsedGpa, logUsedLen, logDescGpa, logDescLen;
    /** Guest physical address of the descriptor ring of the running ring (set by start). */
    long descGpa;
    /**
     * Chains popped from the ring but not used yet (RX path with short buffers): a circular list
     * of {@code min(queue size, MAX_HELD_CHAINS)} chains.
     */
    DescriptorChain[] held = new DescriptorChain[0];
    int heldHead, heldCount;
    /** Descriptors walked by the held chains together ({@link DescriptorChain#elementCount()}). */
    int heldElements;

    /**
     * Most receive chains a ring holds at once, so most one packet may span (MRG_RXBUF): Linux
     * vhost-net's limit too (get_rx_bufs: at most UIO_MAXIOV = 1024 heads per packet); DPDK's vhost
     * allows 256 buffer vectors per packet (BUF_VECTOR_MAX). It keeps the chain cache O(1) in the
     * queue size: 1024 chains, not 32768, whatever SET_VRING_NUM says.
     */
    static final int MAX_HELD_CHAINS = 1024;

    /**
     * The transmit path stops taking buffers ahead of the packets once the held chains walked
     * this many descriptors: with {@link ringlink.virtio.VirtqueueDevice#MAX_CHAIN_ELEMENTS} per
     * packet's gather it bounds the segments held at once (≈ 6k, ≈ 170 KiB of arrays).
     */
    static final int HELD_PREFETCH_ELEMENTS = 4096;

    Vring(int index) {
        this.index = index;
    }

    boolean started() { return dev != null; }

    /** used.idx as published on the split ring. */
    int usedIdx() {
        return usedIdx(splitRing);
    }

    /** used.idx as published on split ring {@code r} (the one field of the used ring read back). */
    static int usedIdx(ringlink.virtio.SplitRing r) {
        return Short.toUnsignedInt(r.usedRing().get(Message.U16, ringlink.virtio.SplitRing.USED_IDX));
    }

    /**
     * Marks the ring memory the device writes (used entries, flags, event fields) dirty; called
     * by the data path after a batch and on notification changes, only while {@link #log} is set.
     * The whole area is marked, not just the entries of the batch: for a default-sized ring that
     * is one or two pages, and an extra page marked only costs QEMU one extra page copy.
     */
    void logRing(DirtyLog l) {
        l.mark(logUsedGpa, logUsedLen);
        l.mark(logDescGpa, logDescLen);
    }

    /**
     * Pops the guest's next RX chain onto the end of the held ring (marked taken in the inflight
     * tracking, if any); false if the guest has none available. Caller holds the lock.
     */
    boolean holdOne(VirtqueueDevice dev) throws VirtqueueException {
        int slot = heldHead + heldCount;
        DescriptorChain c = held[slot >= held.length ? slot - held.length : slot];
        InflightTracker track = inflight;
        int pos = track != null ? track.cursor() : 0;
        if (!dev.pop(c)) return false;
        if (track != null) track.taken(pos, c);
        heldCount++;
        heldElements += c.elementCount();
        if (c.writableBytes() == 0) {
            // Holds nothing: gathering for a mergeable packet would take such chains until every
            // slot is held. QEMU and Linux vhost-net refuse them too.
            throw new VirtqueueException(VirtqueueException.Reason.NO_WRITABLE_BUFFER,
                    "receive chain " + c.id() + " has no device-writable byte (" + c.elementCount() + " descriptors)");
        }
        return true;
    }

    /** The first held chain, {@code c}, was pushed: it leaves the held ring. Caller holds the lock. */
    void releaseHead(DescriptorChain c) {
        heldHead = heldHead + 1 == held.length ? 0 : heldHead + 1; // no division on the hot path
        heldCount--;
        heldElements -= c.elementCount();
    }

    /** Prepares the chain cache for a queue of {@code size}. */
    void resetHeld(int size) {
        int n = Math.min(size, MAX_HELD_CHAINS);
        if (held.length != n) {
            // Exactly n: the length is the cap the transmit path checks against.
            DescriptorChain[] h = java.util.Arrays.copyOf(held, n);
            for (int i = 0; i < n; i++) if (h[i] == null) h[i] = new DescriptorChain();
            held = h;
        }
        heldHead = 0;
        heldCount = 0;
        heldElements = 0;
    }

    /**
     * The ring position the front-end gets back from GET_VRING_BASE (and the one to resume at):
     * chains popped but never used are handed back, since the driver still owns them.
     */
    int baseForResume() {
        if (dev instanceof SplitQueueDevice s) {
            return (s.lastAvailIndex() - heldCount) & 0xffff;
        }
        if (dev instanceof PackedQueueDevice p) {
            int pos = p.availPosition();
            boolean wrap = p.availWrapCounter();
            for (int k = 0; k < heldCount; k++) {
                pos -= held[(heldHead + k) % held.length].descriptorCount();
            }
            while (pos < 0) {
                pos += p.size();
                wrap = !wrap;
            }
            int usedPos = p.usedPosition();
            boolean usedWrap = p.usedWrapCounter();
            return (pos & 0x7fff) | (wrap ? 1 << 15 : 0) | ((usedPos & 0x7fff) << 16) | (usedWrap ? 1 << 31 : 0);
        }
        return base;
    }

    /** Stops the ring (caller holds the lock): keeps the resume position in {@link #base}. */
    void stop() {
        if (dev != null) {
            base = baseForResume();
            dev = null;
        }
        splitRing = null;
        log = null;
        inflight = null;
        heldCount = 0;
        heldHead = 0;
        heldElements = 0;
    }

    /** Closes the descriptors this ring holds. */
    void closeFds() {
        if (kick != null) kick.close();
        kick = null;
        if (call != null) call.close();
        call = null;
        if (err != null) err.close();
        err = null;
    }

    /** Forgets all configuration (connection gone or device reset). Caller holds the lock. */
    void reset() {
        stop();
        closeFds();
        num = 0;
        addrSet = false;
        base = 0;
        baseSet = false;
        kickPolled = false;
        enabled = false;
    }
}
