package ringlink.vhostuser;

import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.virtio.DescriptorChain;
import ringlink.virtio.PackedQueueDevice;
import ringlink.virtio.SplitQueueDevice;
import ringlink.virtio.VirtqueueDevice;

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
    /** This queue's inflight-tracking region (INFLIGHT_SHMFD) of a split ring, or null. */
    java.lang.foreign.MemorySegment inflight;
    long inflightCounter;
    /** The inflight tracking of a packed ring (INFLIGHT_SHMFD), or null. */
    PackedInflight packedInflight;
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
    /** Chains popped from the ring but not used yet (RX path with short buffers): a circular list. */
    DescriptorChain[] held = new DescriptorChain[0];
    int heldHead, heldCount;

    Vring(int index) {
        this.index = index;
    }

    boolean started() { return dev != null; }

    /** used.idx as published on the split ring. */
    int usedIdx() {
        return Short.toUnsignedInt(splitRing.usedRing().get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, 2));
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

    /** Prepares the chain cache for a queue of {@code size}. */
    void resetHeld(int size) {
        if (held.length < size) {
            held = new DescriptorChain[size];
            for (int i = 0; i < size; i++) held[i] = new DescriptorChain();
        }
        heldHead = 0;
        heldCount = 0;
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
        packedInflight = null;
        heldCount = 0;
        heldHead = 0;
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
