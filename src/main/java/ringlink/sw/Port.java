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
    /** Null when the switch is not VLAN-aware; changed at run time by {@link Switch#setPortVlan}. */
    volatile PortVlan vlan;
    /** rx side written by the owning poller; tx side written under {@link #lock}. */
    final LinkCounters counters = new LinkCounters();
    /** Drops per {@link DropReason}: written by either side, but only on the (per-batch) drop path. */
    final java.util.concurrent.atomic.AtomicLongArray drops = new java.util.concurrent.atomic.AtomicLongArray(DropReason.values().length);
    /** Superpackets segmented and checksums finished in software for this port (under the lock). */
    volatile long segmented, checksummed;
    /** Packets that went out on a retry after the port was full at first (under the lock). */
    volatile long retried;
    volatile boolean up = true;
    /** The poller that receives from this port (null for the mirror). */
    volatile Poller owner;
    /** Frames arriving here are copied to the switch's mirror port. */
    boolean mirrored;
    volatile String downReason;
    @SuppressWarnings("unused") // through LOCK
    private volatile int lock;

    Port(int index, Link link, PortVlan vlan) {
        this.index = index;
        this.link = link;
        this.name = link.name();
        this.vlan = vlan;
        ringlink.link.LinkCountersEvent.register(link); // periodic JFR counters, however the link was opened
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
