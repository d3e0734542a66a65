package ringlink.sw;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import ringlink.link.Link;
import ringlink.link.LinkCounters;
import ringlink.link.LinkDevice;

/**
 * A switch port at run time: its device (one link per queue), VLAN membership, transmit lock and
 * switch-side counters (for the port and, on a multi-queue port, per queue).
 */
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
    /** The device with every queue of this port. */
    final LinkDevice device;
    /** Queue 0: the port's link for everything that is not per queue (offloads, MTU, layer). */
    final Link link;
    /** Every queue's link ({@code queues[0] == link}). */
    final Link[] queues;
    /**
     * Per-queue switch counters of a multi-queue port (null for one queue, whose counters are the
     * port's): rx by the poller that owns the queue, tx under {@link #lock}.
     */
    final LinkCounters[] queueCounters;
    /** Queues the peer takes packets on, refreshed per transmit run (under {@link #lock}). */
    private final int[] enabled;
    final String name;
    /** Null when the switch is not VLAN-aware; changed at run time by {@link Switch#setPortVlan}. */
    volatile PortVlan vlan;
    /**
     * The port's switch counters: the tx side written under {@link #lock}; the rx side written by
     * the poller that owns the port's one queue. A multi-queue port's queues may be polled by
     * several threads, so its rx side stays zero and is counted per queue in
     * {@link #queueCounters} instead ({@link #rxCounters}).
     */
    final LinkCounters counters = new LinkCounters();
    /** Drops per {@link DropReason}: written by either side, but only on the (per-batch) drop path. */
    final java.util.concurrent.atomic.AtomicLongArray drops =
            new java.util.concurrent.atomic.AtomicLongArray(DropReason.values().length);
    /** Superpackets segmented and checksums finished in software for this port (under the lock). */
    volatile long segmented, checksummed;
    /** Superpackets (GSO) the switch took from this port (any poller of its queues adds, once a batch). */
    final java.util.concurrent.atomic.AtomicLong superIn = new java.util.concurrent.atomic.AtomicLong();
    /** Superpackets the switch handed to this port whole (its link took them with their offload; under the lock). */
    volatile long superOut;
    /** Packets that went out on a retry after the port was full at first (under the lock). */
    volatile long retried;
    /**
     * The last retry to this port took nothing: runs to it are dropped at once (no retry) until
     * a transmit takes a packet again, so a port that stays full does not cost a retry per run
     * (under the lock).
     */
    boolean stalled;
    volatile boolean up = true;
    /** Handed to the polling threads (by start() or addPort; under the switch's lock). */
    volatile boolean placed;
    /** Frames arriving here are copied to the switch's mirror port. */
    boolean mirrored;
    volatile String downReason;
    /** Down, but its link may come back ({@link Link#waitingForPeer()}): its poller watches for that. */
    volatile boolean recoverable;
    /** Most addresses this port may hold in the forwarding table; changed at run time by {@link Switch#setMacLimit}. */
    volatile int macLimit;
    /** Sorted source addresses allowed on this port (port security), or null for any. */
    final long[] allowed;
    /** Source addresses not learned because the port held {@link #macLimit} (any poller of its queues adds). */
    final java.util.concurrent.atomic.AtomicLong unlearned = new java.util.concurrent.atomic.AtomicLong();
    @SuppressWarnings("unused") // through LOCK
    private volatile int lock;

    Port(int index, Link link, PortVlan vlan) {
        this(index, LinkDevice.of(link), vlan, Switch.DEFAULT_MAC_LIMIT, null);
    }

    Port(int index, LinkDevice device, PortVlan vlan, int macLimit, long[] allowed) {
        this.index = index;
        this.macLimit = macLimit;
        this.allowed = allowed;
        this.device = device;
        int n = device.queueCount();
        this.queues = new Link[n];
        for (int i = 0; i < n; i++) queues[i] = device.queue(i);
        this.link = queues[0];
        this.queueCounters = n == 1 ? null : new LinkCounters[n];
        if (queueCounters != null) for (int i = 0; i < n; i++) queueCounters[i] = new LinkCounters();
        this.enabled = new int[n];
        this.name = n == 1 ? link.name() : device.name();
        this.vlan = vlan;
        // periodic JFR counters, however the link was opened
        for (Link l : queues) ringlink.link.LinkCountersEvent.register(l);
    }

    /**
     * The queue a packet with flow hash {@code hash} leaves by: one of the queues the peer has
     * enabled now, the same one for every packet of the flow while that set stays the same
     * (caller holds the lock and called {@link #refreshEnabled()} for this run). With none enabled
     * (no peer yet) queue 0, whose link counts the drop.
     */
    int txQueue(int hash, int nEnabled) {
        return nEnabled == 0 ? 0 : enabled[Integer.remainderUnsigned(hash, nEnabled)];
    }

    /** Reads which queues the peer takes packets on; returns how many (caller holds the lock). */
    int refreshEnabled() {
        int k = 0;
        for (int i = 0; i < queues.length; i++) if (device.transmitEnabled(i)) enabled[k++] = i;
        return k;
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

    /** The counters the receive side of {@code queue} writes (only the poller that owns that queue). */
    LinkCounters rxCounters(int queue) {
        return queueCounters == null ? counters : queueCounters[queue];
    }

    /** Counts packets dropped on arrival at {@code queue} (by the poller that owns it). */
    void rxDrop(int queue, DropReason r, long n) {
        if (n <= 0) return;
        rxCounters(queue).rxDropped(n);
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
