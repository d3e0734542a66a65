package ringlink.vhostuser;

import static ringlink.virtio.VirtioFeature.RING_PACKED;

import java.util.ArrayList;
import java.util.List;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.GuestMemory;
import ringlink.virtio.GuestMemoryException;
import ringlink.virtio.PackedQueueDevice;
import ringlink.virtio.PackedRing;
import ringlink.virtio.SplitQueueDevice;
import ringlink.virtio.SplitRing;
import ringlink.virtio.VirtqLayout;
import ringlink.virtio.VirtqueueException;

/**
 * The back-end's vrings as the control thread changes them: starting a ring from its
 * configuration (with inflight recovery), rebuilding running rings over new memory, and the
 * dirty-log state of each ring. Every change a data thread could observe is made under that
 * ring's {@link Vring#lock}; the methods say which locks they take or expect.
 */
final class Rings {
    private static final System.Logger LOG = System.getLogger("ringlink.vhostuser.backend");

    private final String name;
    private final Vring[] vrings;
    private final BackendLink[] links;

    Rings(String name, Vring[] vrings, BackendLink[] links) {
        this.name = name;
        this.vrings = vrings;
        this.links = links;
    }

    int count() { return vrings.length; }

    /** Vring {@code index} as request {@code r} names it; a bad index is the front-end's error. */
    Vring get(long index, Request r) throws VhostUserException {
        if (index < 0 || index >= vrings.length) {
            throw new VhostUserException.InvalidParam(r + " for vring " + index + ", but the device has "
                    + vrings.length);
        }
        return vrings[(int) index];
    }

    /** The link whose queue pair {@code v} belongs to. */
    BackendLink linkOf(Vring v) { return links[v.index / 2]; }

    /** Refuses {@code r} while a ring runs (state a running ring depends on, no safe way to swap it). */
    void requireNoneRunning(Request r) throws VhostUserException {
        for (Vring v : vrings) {
            if (v.started()) {
                throw new VhostUserException.InvalidOperation(r + " while vring " + v.index
                        + " is running (stop it with GET_VRING_BASE first)");
            }
        }
    }

    /** Refuses a SET_FEATURES that changes a bit in {@code layoutBits} while a ring runs. */
    void requireLayoutUnchanged(long changed, long layoutBits) throws VhostUserException {
        for (Vring v : vrings) {
            if (v.started() && (changed & layoutBits) != 0) {
                throw new VhostUserException.InvalidOperation("SET_FEATURES changes ring layout bits while vring "
                        + v.index + " is running");
            }
        }
    }

    /** Stops and forgets every ring, each under its lock, then tells the links (disconnect, RESET_DEVICE). */
    void resetAll() {
        for (Vring v : vrings) {
            v.lock.lock();
            try {
                v.reset();
            } finally {
                v.lock.unlock();
            }
        }
        for (BackendLink l : links) l.ringsChanged();
    }

    /** RESET_OWNER: every ring disabled (a volatile flag the data path reads per batch). */
    void disableAll() {
        for (Vring v : vrings) v.enabled = false;
    }

    /** True if the first {@code pairs} queue pairs are all started and enabled. */
    boolean ready(int pairs) {
        for (int k = 0; k < pairs * 2; k++) {
            Vring v = vrings[k];
            if (!v.started() || !v.enabled) return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- memory

    /** SET_MEM_TABLE: rebuilds running rings over the new memory, then unmaps the old one. */
    void replaceMemory(Session s, MemoryTable t) throws VhostUserException {
        MemoryTable old = s.table;
        try {
            swapMemory(s, t);
        } finally {
            old.close();
        }
    }

    /** ADD/REM_MEM_REG: like {@link #replaceMemory} but the kept regions stay mapped. */
    void replaceMemoryKeeping(Session s, MemoryTable t, List<MemoryTable.Region> regions) throws VhostUserException {
        s.slotRegions = new ArrayList<>(regions); // the table is installed even when a ring no longer fits it
        swapMemory(s, t);
    }

    /**
     * Installs {@code t} under every ring's lock: running rings are stopped and started again
     * over it, with every check of a first start. A running ring the new table no longer holds
     * (memory removed under it) is a protocol error: the connection ends with that reason (the
     * old table is not used again).
     */
    private void swapMemory(Session s, MemoryTable t) throws VhostUserException {
        List<Vring> running = new ArrayList<>();
        VhostUserException broken = null;
        for (Vring v : vrings) v.lock.lock();
        try {
            for (Vring v : vrings) {
                if (v.started()) {
                    v.stop();
                    running.add(v);
                }
            }
            s.table = t;
            for (Vring v : running) {
                try {
                    start(s, v);
                } catch (VhostUserException e) {
                    v.stop();
                    if (broken == null) {
                        broken = new VhostUserException.InvalidParam("new memory table no longer holds running vring "
                                + v.index
                                + ": " + e.getMessage(), e);
                    }
                }
            }
        } finally {
            for (Vring v : vrings) v.lock.unlock();
        }
        for (BackendLink l : links) l.ringsChanged();
        if (broken != null) throw broken;
    }

    // ---------------------------------------------------------------- dirty log

    /** Applies the session's logging state to every ring, each under its lock. */
    void configureLogs(Session s) {
        for (Vring v : vrings) {
            v.lock.lock();
            try {
                configureLog(s, v);
            } finally {
                v.lock.unlock();
            }
        }
    }

    /**
     * Sets {@code v}'s log and the ring areas it marks per batch (caller holds its lock). The
     * used ring (split) or device event area (packed) is logged at {@code log_guest_addr}, as the
     * spec says, and only with VHOST_VRING_F_LOG; a packed ring's used descriptors are written
     * into its descriptor ring, logged at that ring's guest address.
     */
    void configureLog(Session s, Vring v) {
        DirtyLog l = s.logging() && v.started() ? s.dirtyLog : null;
        if (l == null) {
            v.log = null;
            return;
        }
        boolean ringLog = (v.addrFlags & Payload.VringAddr.F_LOG) != 0;
        v.logUsedGpa = v.logGuest;
        if (v.packed) {
            v.logUsedLen = ringLog ? PackedRing.EVENT_SIZE : 0;
            v.logDescGpa = v.descGpa;
            v.logDescLen = (long) VirtqLayout.DESC_SIZE * v.num;
        } else {
            v.logUsedLen = ringLog ? SplitRing.usedSize(v.num) : 0;
            v.logDescGpa = 0;
            v.logDescLen = 0;
        }
        v.log = l;
        // Writes made while logging was off (start() parks notifications) are covered now.
        v.logRing(l);
    }

    // ---------------------------------------------------------------- start

    /** Starts {@code v} from its configuration (caller holds its lock). */
    void start(Session s, Vring v) throws VhostUserException {
        if (v.num == 0)
                throw new VhostUserException.InvalidOperation("vring " + v.index + " started before SET_VRING_NUM");
        if (!v.addrSet)
                throw new VhostUserException.InvalidOperation("vring " + v.index + " started before SET_VRING_ADDR");
        GuestMemory mem = s.table.memory();
        if (mem == null)
                throw new VhostUserException.InvalidOperation("vring " + v.index + " started before SET_MEM_TABLE");
        FeatureSet f = new FeatureSet(s.ackedFeatures);
        boolean packed = f.has(RING_PACKED);
        try {
            if (packed) startPacked(s, v, mem, f);
            else startSplit(s, v, mem, f);
        } catch (GuestMemoryException | VirtqueueException e) {
            throw new VhostUserException.InvalidParam("vring " + v.index + ": " + e.getMessage(), e);
        }
        v.packed = packed;
        v.resetHeld(v.num);
        // Busy data paths need no kicks; the link turns them on only before it sleeps.
        v.dev.disableNotifications();
        configureLog(s, v);
        if (!s.protocolNegotiated()) v.enabled = true;
    }

    /** {@code v}'s region of the session's inflight buffer, or null (none, or sized for another queue size). */
    private static java.lang.foreign.MemorySegment inflightRegion(Session s, Vring v) {
        Inflight buffer = s.inflight;
        return buffer != null && buffer.queueSize == v.num ? buffer.queue(v.index) : null;
    }

    /**
     * A packed ring resumes where SET_VRING_BASE said (avail position and wrap in bits 0..15,
     * the used ones in 16..31 when given), unless its inflight region knows better.
     */
    private void startPacked(Session s, Vring v, GuestMemory mem, FeatureSet f)
            throws VhostUserException, GuestMemoryException, VirtqueueException {
        long d = mem.userToGuest(v.descUser, (long) VirtqLayout.DESC_SIZE * v.num);
        v.descGpa = d;
        long a = mem.userToGuest(v.availUser, PackedRing.EVENT_SIZE);
        long u = mem.userToGuest(v.usedUser, PackedRing.EVENT_SIZE);
        int b = v.base;
        int availPos = b & 0x7fff;
        boolean availWrap = (b & 0x8000) != 0;
        int usedPos = availPos;
        boolean usedWrap = availWrap;
        if ((b >>> 16) != 0) {
            usedPos = (b >>> 16) & 0x7fff;
            usedWrap = (b & 0x8000_0000) != 0;
        }
        if (!v.baseSet) {
            availWrap = true;
            usedWrap = true;
        }
        if (availPos >= v.num || usedPos >= v.num) {
            throw new VhostUserException.InvalidParam("SET_VRING_BASE 0x" + Integer.toHexString(b)
                    + " is outside vring "
                    + v.index + " of " + v.num);
        }
        PackedRing ring = PackedRing.map(mem, v.num, d, a, u);
        Inflight buffer = s.inflight;
        java.lang.foreign.MemorySegment region = inflightRegion(s, v);
        PackedInflight track = null;
        if (region != null && !buffer.packed) {
            // Sized and laid out for split rings (set up before RING_PACKED was acked).
            throw new VhostUserException.InvalidParam("vring " + v.index
                    + " is packed but the inflight buffer was set up"
                    + " for split rings (GET/SET_INFLIGHT_FD before SET_FEATURES)");
        }
        if (region != null) {
            // A fresh region starts at the used position SET_VRING_BASE gave; a used one
            // knows better (spec "When reconnecting"): its recovered used position, where
            // the chains still in flight have been put back on the ring.
            track = PackedInflight.recover(region, v.num, ring.descRing(), usedPos, usedWrap);
            if (track.resubmitted > 0) {
                LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " resubmits " + track.resubmitted
                        + " inflight chains from ring position " + track.resumePos);
            }
            if (track.resumePos != availPos || track.resumeWrap != availWrap) {
                LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " base 0x" + Integer.toHexString(b)
                        + " differs from the inflight region's used position " + track.resumePos + " (wrap "
                        + track.resumeWrap + "); resuming there");
            }
            availPos = usedPos = track.resumePos;
            availWrap = usedWrap = track.resumeWrap;
        }
        PackedQueueDevice dev = new PackedQueueDevice(ring, mem, f, availPos, availWrap, usedPos, usedWrap);
        v.dev = dev;
        v.inflight = track == null ? null : track.attach(dev);
    }

    /**
     * A split ring resumes at SET_VRING_BASE's index, at used.idx when the inflight region has
     * chains in flight, and at used.idx when the two disagree (DPDK's leniency, below).
     */
    private void startSplit(Session s, Vring v, GuestMemory mem, FeatureSet f)
            throws VhostUserException, GuestMemoryException, VirtqueueException {
        long d = mem.userToGuest(v.descUser, SplitRing.descTableSize(v.num));
        long a = mem.userToGuest(v.availUser, SplitRing.availSize(v.num));
        long u = mem.userToGuest(v.usedUser, SplitRing.usedSize(v.num));
        SplitRing ring = SplitRing.map(mem, v.num, d, a, u);
        v.splitRing = ring;
        int base = v.base & 0xffff;
        java.lang.foreign.MemorySegment region = inflightRegion(s, v);
        SplitInflight track = region == null ? null : new SplitInflight(region, v.num);
        if (track != null) {
            int usedIdx = v.usedIdx();
            int pending = track.recover(usedIdx);
            if (pending > 0) {
                // Chains a previous back-end took but never completed. We complete in order, so
                // they are exactly the available entries from used.idx on: resume there.
                LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " resumes " + pending
                        + " inflight chains from used index " + usedIdx);
                base = usedIdx;
                track.clearInflight();
            }
            track.attach(ring);
        }
        int usedNow = v.usedIdx();
        if (base != usedNow) {
            // Like DPDK's vhost library: a base that disagrees with the used ring (DPDK
            // virtio-user resends 0 after a server-mode reconnect) resumes at used.idx. We
            // complete in order, so that is exactly the first chain not yet completed.
            LOG.log(System.Logger.Level.INFO, name + ": vring " + v.index + " base " + base + " differs from used.idx "
                    + usedNow + "; resuming at used.idx");
            base = usedNow;
        }
        v.dev = new SplitQueueDevice(ring, mem, f, base);
        v.inflight = track;
    }
}
