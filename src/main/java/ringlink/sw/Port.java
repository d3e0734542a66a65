package ringlink.sw;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import ringlink.link.Link;
import ringlink.link.LinkCounters;

/** A switch port at run time: its link, VLAN membership, transmit lock and switch-side counters. */
final class Port {
    private static final VarHandle LOCK;

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(Port.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final int index;
    final Link link;
    final String name;
    final PortVlan vlan; // null when the switch is not VLAN-aware
    /** rx side written by the owning poller; tx side written under {@link #lock}. */
    final LinkCounters counters = new LinkCounters();
    /** Drops per {@link DropReason}: written by either side, but only on the (per-batch) drop path. */
    final java.util.concurrent.atomic.AtomicLongArray drops = new java.util.concurrent.atomic.AtomicLongArray(DropReason.values().length);
    /** Superpackets segmented and checksums finished in software for this port (under the lock). */
    volatile long segmented, checksummed;
    volatile boolean up = true;
    /** The poller that receives from this port (null for the mirror). */
    volatile Poller owner;
    /** Frames arriving here are copied to the switch's mirror port. */
    boolean mirrored;
    volatile String downReason;
    /** Down, but its link may come back ({@link Link#waitingForPeer()}): its poller watches for that. */
    volatile boolean recoverable;
    /** Most addresses this port may hold in the forwarding table. */
    final int macLimit;
    /** Sorted source addresses allowed on this port (port security), or null for any. */
    final long[] allowed;
    /** Source addresses not learned because the port held {@link #macLimit} (owning poller writes). */
    volatile long unlearned;
    @SuppressWarnings("unused") // through LOCK
    private volatile int lock;

    Port(int index, Link link, PortVlan vlan) {
        this(index, link, vlan, Switch.DEFAULT_MAC_LIMIT, null);
    }

    Port(int index, Link link, PortVlan vlan, int macLimit, long[] allowed) {
        this.index = index;
        this.macLimit = macLimit;
        this.allowed = allowed;
        this.link = link;
        this.name = link.name();
        this.vlan = vlan;
    }

    /**
     * Takes the transmit lock: {@link Link#transmit} is single-threaded, and with several pollers
     * any of them may forward to this port. Held for one run of packets; spinning is cheaper than
     * parking for that long.
     */
    void lock() {
        while (!LOCK.compareAndSet(this, 0, 1)) Thread.onSpinWait();
    }

    void unlock() {
        LOCK.setRelease(this, 0);
    }

    /** True if port security lets frames from {@code src} in here (this port's own list only). */
    boolean allows(long src) {
        return allowed == null || java.util.Arrays.binarySearch(allowed, src) >= 0;
    }

    /** Counts packets dropped on arrival here (by the owning poller). */
    void rxDrop(DropReason r, long n) {
        if (n <= 0) return;
        counters.rxDropped(n);
        record(r, n);
    }

    /** Counts packets that could not leave through this port (caller holds the lock). */
    void txDrop(DropReason r, long n) {
        if (n <= 0) return;
        counters.txDropped(n);
        record(r, n);
    }

    private void record(DropReason r, long n) {
        drops.addAndGet(r.ordinal(), n);
        DropEvent e = new DropEvent();
        if (e.isEnabled()) {
            e.port = name;
            e.reason = r.name();
            e.packets = n;
            e.commit();
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
