package ringlink.sw;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import ringlink.link.Layer;
import ringlink.sys.CpuAffinity;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.LinkStats;

/**
 * An Ethernet learning switch between {@link Link}s of any transport.
 *
 * <ul>
 *   <li>Learning: source addresses are learned per (VLAN, MAC) with ageing; frames to known
 *       unicast addresses go to one port, broadcast/multicast/unknown ones are flooded to every
 *       other port (in the frame's VLAN), frames to the port they came from are filtered.</li>
 *   <li>VLANs (optional, {@link Builder#vlanAware}): access and trunk ports ({@link PortVlan});
 *       tags are removed on arrival and added per egress port.</li>
 *   <li>Offload translation: a packet keeps its offload metadata (a TSO superpacket stays one
 *       packet) to every port whose {@link Link#offloads()} accept it; for a port that does not,
 *       its checksum is finished or it is segmented in software ({@link Segmenter}).</li>
 *   <li>Batching end to end: each poll receives a batch; runs of packets with the same
 *       destination leave in one {@code transmit}. Nothing is allocated per packet.</li>
 *   <li>Threads: {@link Builder#threads} polling threads (default one per core, at most one per
 *       receive queue), receive queues assigned round-robin; each busy-polls adaptively, then
 *       sleeps in epoll on its queues' ready descriptors.</li>
 *   <li>Multi-queue ports ({@link Builder#port(LinkDevice)}): a port is a device with all its
 *       queues. Every receive queue is polled (the queues of one port spread over the threads);
 *       on transmit each packet goes to the queue its flow hash picks ({@code FlowHash}: addresses
 *       and ports, like the kernel and OVS's {@code tx-steering=hash}) among the queues the peer
 *       has enabled ({@link LinkDevice#transmitEnabled}), so a flow stays in one queue and in
 *       order. A port's transmits still take one lock (one thread transmits to a port at a
 *       time). {@link PortStats#queues()} has the counters per queue.</li>
 *   <li>Hostile ports: each port holds at most {@link Builder#macLimit} addresses (a flood of
 *       spoofed sources is the flooder's problem, see {@link MacTable}); optional port security
 *       ({@link Builder#portSecurity}); VLAN hopping with double tags or 802.1ad tags is dropped;
 *       anything a port's link throws ({@link Error}s included) stops that port only; a port
 *       whose link {@link Link#waitingForPeer() waits for its peer} comes back when it runs
 *       again.</li>
 * </ul>
 *
 * <p>The switch owns its ports: {@link #close()} stops the threads and closes every link
 * (which removes the kernel objects the links created).
 *
 * <p>Ports at run time: {@link #addPort} and {@link #removePort} change the ports of a running
 * switch without stopping the others. A port keeps its index for its life (a removed port's
 * index is reused by a later one). The polling threads pick up the change at the top of their
 * next round (they are woken if asleep), so other ports see at most one round's delay and lose
 * nothing; a removed port's links are closed only after every thread let go of them and no
 * transmit to it is in progress.
 */
public final class Switch implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("ringlink.sw");

    /**
     * Packets per receive batch unless {@link Builder#batchSize} says otherwise: 32, the burst
     * OVS-DPDK and DPDK's vhost library use. In the vhost-user loop benchmark at 64 B, 32
     * forwarded 8% more than 64 on average and steadily (64 was bimodal: some runs up to 17% above
     * 32's mean, more of them 7-30% below; docs/parts/cli.md, round 3); a smaller batch also hands
     * the ring's buffers back to the front-end sooner and keeps a batch of full-size frames
     * (32 x 1.5 KB) within L1 between the receive and the transmit copy.
     */
    public static final int DEFAULT_BATCH = 32;

    /**
     * Addresses one port may hold in the forwarding table unless {@link Builder#macLimit} says
     * otherwise: 1024, an eighth of the default 8192 slots, so a port flooding spoofed sources
     * takes at most that much and the table keeps learning for the others; far more than a VM or
     * a container needs, enough for a TAP bridged to a small LAN.
     */
    public static final int DEFAULT_MAC_LIMIT = 1024;

    /**
     * How long a full port gets without taking a packet before the rest of a run is dropped,
     * unless {@link Builder#txRetry} says otherwise: 1 ms. 20 µs (the first design: about the
     * time a busy consumer thread takes to drain a burst) was too short when the consumer is
     * another process that must first be scheduled: in the demo's shm step TCP then still lost
     * thousands of segments in 5 s; a time slice of a loaded CPU is a few hundred µs to a few ms.
     * The retry parks while it waits and a port that took nothing in its last retry gets none
     * until it takes a packet again (docs/ARCHITECTURE.md, "Back-pressure"), so the longer wait
     * costs the other ports one timeout when a port stops draining, not one per run.
     */
    public static final Duration DEFAULT_TX_RETRY = Duration.ofNanos(1_000_000);

    /** Most ports a switch can have at once: the forwarding table keeps a port in 16 bits. */
    public static final int MAX_PORTS = MacTable.MAX_PORTS;
    /** How long {@link #addPort}/{@link #removePort} wait for a polling thread to take the change. */
    static final long PORT_CHANGE_TIMEOUT_MS = 10_000;

    final MacTable table;
    /** Addresses configured on some port (sorted) and their ports: port security's ownership. */
    private final long[] securedMacs;
    private final int[] securedPorts;
    /** Ports down with a link that may come back (pollers look for it while this is non-zero). */
    final java.util.concurrent.atomic.AtomicInteger recovering = new java.util.concurrent.atomic.AtomicInteger();
    /**
     * The ports by index; null where a port was removed. Replaced whole (copy on write, under the
     * switch's lock) when ports come and go, so a polling thread reads one consistent array per batch.
     */
    private volatile Port[] ports;
    private final boolean mirrorAll;
    /** Receives a copy of every frame arriving on a mirrored port; null if none. */
    final Port mirror;
    /** Copy on write: pollers added at run time (addPort) while others iterate (portDown, recovery). */
    private final List<Poller> pollers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final LongSupplier clock;
    private final long startNanos;
    private final Consumer<String> log;
    private final Builder b;
    private volatile boolean started, closed;

    private Switch(Builder b) {
        this.b = b;
        this.clock = b.clock;
        this.startNanos = clock.getAsLong();
        this.log = b.log;
        // Counts for every possible port index (256 KiB), so ports added later are limited too.
        this.table = new MacTable(b.macCapacity, b.ageing.toMillis(), MacTable.MAX_PORTS);
        this.ports = new Port[b.links.size()];
        for (int i = 0; i < ports.length; i++) {
            LinkDevice l = b.links.get(i);
            PortVlan v = b.vlans.get(i);
            Integer limit = b.portMacLimits.get(i);
            long[] allowed = b.allowed.get(i);
            ports[i] = new Port(i, l, b.vlanAware ? (v == null ? PortVlan.DEFAULT : v) : null,
                    limit != null ? limit : b.macLimit, allowed);
        }
        for (int i : b.portMacLimits.keySet()) {
            if (i < 0 || i >= ports.length)
                    throw new IllegalArgumentException("MAC limit for port " + i + ", which does not exist");
        }
        for (int i : b.allowed.keySet()) {
            if (i < 0 || i >= ports.length)
                    throw new IllegalArgumentException("port security for port " + i + ", which does not exist");
        }
        // Every address some port is configured with, and that port: no other port may use it.
        java.util.TreeMap<Long, Integer> owned = new java.util.TreeMap<>();
        for (var e : b.allowed.entrySet()) {
            for (long mac : e.getValue()) {
                Integer was = owned.put(mac, e.getKey());
                if (was != null && was != e.getKey().intValue()) {
                    throw new IllegalArgumentException("address " + ringlink.packet.Ethernet.formatMac(mac)
                            + " is allowed on ports " + was + " and " + e.getKey());
                }
            }
        }
        this.securedMacs = owned.keySet().stream().mapToLong(Long::longValue).toArray();
        this.securedPorts = owned.values().stream().mapToInt(Integer::intValue).toArray();
        this.mirror = b.mirror == null ? null : new Port(ports.length, b.mirror, null);
        for (int i : b.mirrored) {
            if (i < 0 || i >= ports.length)
                    throw new IllegalArgumentException("mirrored port " + i + " does not exist");
            ports[i].mirrored = true;
        }
        this.mirrorAll = mirror != null && b.mirrored.length == 0;
        if (mirrorAll) for (Port p : ports) p.mirrored = true;
    }

    /** The per-packet hook, or null (Builder.filter). */
    PacketFilter filter() {
        return b.filter;
    }

    /** The ports by index, null where removed (one volatile read: the polling threads' view). */
    Port[] slots() {
        return ports;
    }

    /** A builder: add ports, then {@link Builder#build()} and {@link #start()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Configures a {@link Switch}. */
    public static final class Builder {
        private final List<LinkDevice> links = new ArrayList<>();
        private final List<PortVlan> vlans = new ArrayList<>();
        private int threads = Runtime.getRuntime().availableProcessors();
        private int batchSize = DEFAULT_BATCH;
        private int macCapacity = 8192;
        private Duration ageing = Duration.ofSeconds(300);
        private Duration busyPoll = Duration.ofNanos(100_000);
        private Duration txRetry = DEFAULT_TX_RETRY;
        private boolean vlanAware;
        private LongSupplier clock = System::nanoTime;
        private Supplier<Segmenter> segmenter = SoftwareOffload::segmenter;
        private Consumer<String> log = m -> LOG.log(System.Logger.Level.INFO, m);
        private Link mirror;
        private PacketFilter filter;
        private int[] mirrored = new int[0];
        private int[] cpus = new int[0];
        private int macLimit = DEFAULT_MAC_LIMIT;
        private final Map<Integer, Integer> portMacLimits = new java.util.HashMap<>();
        private final Map<Integer, long[]> allowed = new java.util.HashMap<>();

        /** Adds a port (an {@link Layer#L2} link; the switch now owns it). */
        public Builder port(Link link) {
            return port(link, null);
        }

        /** Adds a port with VLAN membership (used when {@link #vlanAware} is on; null = access VLAN 1). */
        public Builder port(Link link, PortVlan vlan) {
            Objects.requireNonNull(link, "link");
            return port(LinkDevice.of(link), vlan);
        }

        /**
         * Adds a port of every queue of {@code device} (the switch now owns it): each receive queue
         * is polled, each flow leaves by one of its enabled queues.
         */
        public Builder port(LinkDevice device) {
            return port(device, null);
        }

        /** {@link #port(LinkDevice)} with VLAN membership (as {@link #port(Link, PortVlan)}). */
        public Builder port(LinkDevice device, PortVlan vlan) {
            Objects.requireNonNull(device, "device");
            for (int q = 0; q < device.queueCount(); q++) checkL2(device.queue(q));
            links.add(device);
            vlans.add(vlan);
            return this;
        }

        /** Polling threads (capped at the number of receive queues of all ports). */
        public Builder threads(int n) {
            if (n < 1 || n > 1024) throw new IllegalArgumentException("threads " + n + " not in [1, 1024]");
            threads = n;
            return this;
        }

        /** Packets per receive batch (default {@value Switch#DEFAULT_BATCH}). */
        public Builder batchSize(int n) {
            if (n < 1 || n > 4096) throw new IllegalArgumentException("batch size " + n + " not in [1, 4096]");
            batchSize = n;
            return this;
        }

        /** How long an address stays learned without being seen (default 300 s). */
        public Builder ageing(Duration d) {
            if (d.toMillis() <= 0) throw new IllegalArgumentException("ageing must be positive: " + d);
            ageing = d;
            return this;
        }

        /** Forwarding table slots (default 8192: about 4000 addresses). */
        public Builder macCapacity(int n) {
            macCapacity = n;
            return this;
        }

        /**
         * Most addresses each port may hold in the forwarding table (default
         * {@value Switch#DEFAULT_MAC_LIMIT}). A port at its limit learns no new source address:
         * its frames are still forwarded (replies to them are flooded) and counted in
         * {@link PortStats#unlearned()}, until addresses it holds age out.
         */
        public Builder macLimit(int perPort) {
            macLimit = checkLimit(perPort);
            return this;
        }

        /** The MAC limit of port {@code port} (in the order added), overriding {@link #macLimit(int)}. */
        public Builder macLimit(int port, int limit) {
            portMacLimits.put(port, checkLimit(limit));
            return this;
        }

        static int checkLimit(int n) {
            if (n < 1 || n > (1 << 26)) throw new IllegalArgumentException("MAC limit " + n + " not in [1, 2^26]");
            return n;
        }

        /**
         * Port security for port {@code port} (in the order added): only frames whose source is
         * one of {@code macs} (48-bit values) are taken in; others are dropped and counted
         * ({@link DropReason#PORT_SECURITY}). The addresses also belong to that port alone: a
         * frame using one as its source on any other port is dropped the same way, so no port
         * can claim a secured station's address.
         */
        public Builder portSecurity(int port, long... macs) {
            if (macs.length == 0) throw new IllegalArgumentException("port security for port " + port
                    + " needs at least one address");
            long[] sorted = macs.clone();
            for (long m : sorted) {
                if (m < 0 || m > 0xffff_ffff_ffffL || (m & (1L << 40)) != 0) {
                    throw new IllegalArgumentException("port security: " + ringlink.packet.Ethernet.formatMac(m
                            & 0xffff_ffff_ffffL) + " is not a unicast MAC address");
                }
            }
            java.util.Arrays.sort(sorted);
            allowed.put(port, sorted);
            return this;
        }

        /**
         * How long a port whose queue is full gets without taking a packet before the rest of a
         * run is dropped (BACKPRESSURE); default {@link Switch#DEFAULT_TX_RETRY}, zero drops at
         * once. The retry is bounded (at most four times this per run), and a port whose last
         * retry took nothing gets no retry until it takes a packet again, so a port that stays
         * full delays the others by one timeout and never stalls them.
         */
        public Builder txRetry(Duration d) {
            if (d.isNegative() || d.toMillis() > 10)
                    throw new IllegalArgumentException("tx retry " + d + " not in [0, 10 ms]");
            txRetry = d;
            return this;
        }

        /** Longest busy-poll before sleeping (default 100 µs; 0 sleeps at once). */
        public Builder busyPoll(Duration d) {
            if (d.isNegative()) throw new IllegalArgumentException("busy-poll must not be negative");
            busyPoll = d;
            return this;
        }

        /**
         * Pins polling thread {@code t} to CPU {@code cpus[t % cpus.length]} (default: none, the
         * scheduler places them). A busy-polling thread that shares a CPU with the peer it
         * polls (a guest's vCPU, a testpmd lcore) halves both; pinning keeps them apart, as
         * DPDK applications do with their poll-mode threads. {@link #start()} fails if the
         * kernel refuses a CPU.
         */
        public Builder cpus(int... cpus) {
            for (int c : cpus) CpuAffinity.checkCpu(c);
            this.cpus = cpus.clone();
            return this;
        }

        /** Turns on 802.1Q VLAN handling (per-port membership from {@link #port(Link, PortVlan)}). */
        public Builder vlanAware(boolean on) {
            vlanAware = on;
            return this;
        }

        /** Software segmentation, one instance per polling thread. */
        public Builder segmenter(Supplier<Segmenter> s) {
            segmenter = Objects.requireNonNull(s);
            return this;
        }

        /** The clock for ageing, in nanoseconds (tests make time pass without waiting). */
        public Builder clock(LongSupplier nanos) {
            clock = Objects.requireNonNull(nanos);
            return this;
        }

        /** Where port up/down and problems are reported (default: System.Logger "ringlink.sw"). */
        public Builder log(Consumer<String> sink) {
            log = Objects.requireNonNull(sink);
            return this;
        }

        /**
         * A mirror (SPAN) port: every frame arriving on the given ports (all ports if none are
         * given) is also sent to {@code link}, as it is inside the switch (VLAN tags removed when
         * VLAN-aware). What the mirror link receives is ignored. The switch owns the link.
         */
        public Builder mirror(Link link, int... ports) {
            mirror = Objects.requireNonNull(link);
            mirrored = ports.clone();
            return this;
        }

        /**
         * A per-packet hook: every frame arriving on any port passes {@code f} first, and is
         * dropped (counted as {@link DropReason#FILTERED}) when it returns false. Called on the
         * polling threads, concurrently: see {@link PacketFilter}. Default: none (no cost).
         */
        public Builder filter(PacketFilter f) {
            filter = Objects.requireNonNull(f);
            return this;
        }

        /** Builds the switch; with no ports, they come later through {@link Switch#addPort}. */
        public Switch build() {
            return new Switch(this);
        }
    }

    /** Starts the polling threads. */
    public synchronized void start() throws IOException {
        if (started) throw new IllegalStateException("switch already started");
        if (closed) throw new IllegalStateException("switch is closed");
        started = true;
        Port[] ports = java.util.Arrays.stream(this.ports).filter(Objects::nonNull).toArray(Port[]::new);
        for (Port p : ports) p.placed = true;
        List<Poller.RxQueue> queues = rxQueues(ports);
        int nThreads = Math.min(b.threads, queues.size());
        int maxPacket = 0, maxSegment = 0;
        for (Port p : ports) {
            for (Link l : p.queues) maxPacket = Math.max(maxPacket, l.maxReceiveSize());
            maxSegment = Math.max(maxSegment, p.link.mtu() + 14 + 4);
        }
        if (mirror != null) maxSegment = Math.max(maxSegment, mirror.link.mtu() + 14 + 4);
        try {
            for (int t = 0; t < nThreads; t++) {
                List<Poller.RxQueue> mine = new ArrayList<>();
                for (int i = t; i < queues.size(); i += nThreads) mine.add(queues.get(i));
                int cpu = b.cpus.length == 0 ? -1 : b.cpus[t % b.cpus.length];
                pollers.add(new Poller(this, t, mine.toArray(Poller.RxQueue[]::new), mirror, b.batchSize, maxPacket,
                        Math.min(maxSegment, maxPacket), b.segmenter.get(), b.busyPoll.toNanos(), cpu));
            }
        } catch (IOException | RuntimeException e) {
            for (Poller p : pollers) p.free();
            pollers.clear();
            throw e;
        }
        for (Port p : ports) {
            PortUpEvent e = new PortUpEvent();
            if (e.isEnabled()) {
                e.port = p.name;
                e.offloads = p.link.offloads().toString();
                e.mtu = p.link.mtu();
                e.commit();
            }
        }
        for (Poller p : pollers) p.thread.start();
        // A thread the kernel would not pin must not run elsewhere unnoticed: fail the start.
        String pinProblem = null;
        for (Poller p : pollers) {
            String e = p.awaitPinned();
            if (e != null && pinProblem == null) pinProblem = e;
        }
        if (pinProblem != null) {
            close();
            throw new IllegalArgumentException(pinProblem);
        }
    }

    /**
     * Every receive queue of every port, port by port: dealt round-robin to the pollers, so the
     * queues of one multi-queue port land on different threads.
     */
    private static List<Poller.RxQueue> rxQueues(Port[] ports) {
        List<Poller.RxQueue> out = new ArrayList<>();
        for (Port p : ports) for (int q = 0; q < p.queues.length; q++) out.add(new Poller.RxQueue(p, q));
        return out;
    }

    /** How many polling threads run (after {@link #start()}). */
    public int pollerCount() {
        return pollers.size();
    }

    /**
     * A poller over every port that is not started: for the JMH benchmark, which drives
     * {@code forward} on its own thread. The caller frees it.
     */
    Poller unstartedPoller() throws IOException {
        int maxPacket = 0;
        for (Port p : ports) maxPacket = Math.max(maxPacket, p.link.maxReceiveSize());
        return new Poller(this, 99, rxQueues(ports).toArray(Poller.RxQueue[]::new), mirror, b.batchSize, maxPacket,
                1518 + 4, b.segmenter.get(), 0, -1);
    }

    /** Port {@code i}'s run-time state (for the benchmark). */
    Port portState(int i) {
        return ports[i];
    }

    long retryNanos() {
        return b.txRetry.toNanos();
    }

    /** Packets port {@code i} took on a retry after it was full at first ({@link Builder#txRetry}). */
    public long retried(int i) {
        return slot(i).retried;
    }

    /** Superpackets (GSO) the switch took from port {@code i}: what its link delivered whole. */
    public long superpacketsIn(int i) {
        return slot(i).superIn.get();
    }

    /**
     * Superpackets the switch handed to port {@code i} whole (the port accepts the offload); those
     * it segmented for the port instead are {@link PortStats#segmented()}.
     */
    public long superpacketsOut(int i) {
        return slot(i).superOut;
    }

    /** Milliseconds since the switch was built (the forwarding table's time). */
    int nowMs() {
        return (int) ((clock.getAsLong() - startNanos) / 1_000_000);
    }

    void log(String m) {
        log.accept(m);
    }

    /** True if frames from {@code src} may enter at {@code in} (port security; only called when some port has it). */
    boolean sourceAllowed(Port in, long src) {
        if (in.allowed != null) return in.allows(src);
        int k = java.util.Arrays.binarySearch(securedMacs, src);
        return k < 0 || securedPorts[k] == in.index;
    }

    /** True if any port has port security (the poller checks sources only then). */
    boolean secured() {
        return securedMacs.length > 0;
    }

    /**
     * A port failed or its peer went away: it stops forwarding; the rest go on. Any
     * {@link Throwable} from serving the port lands here (an {@link Error} too: the port stops,
     * the poller does not). If the link is still open and {@link Link#waitingForPeer() waits for
     * its peer}, the port comes back up when the link does.
     */
    void portDown(Port p, Throwable cause) {
        try {
            down(p, cause);
        } catch (Throwable again) {
            // Even reporting failed (no memory left for a message): stop the port all the same,
            // so the poller goes on with the others.
            synchronized (p) {
                if (p.up) {
                    p.downReason = "error while serving the port";
                    p.up = false;
                }
            }
            for (Poller pl : pollers) pl.forget(p);
        }
    }

    private void down(Port p, Throwable cause) {
        String reason = reason(cause);
        boolean mayReturn = false;
        try {
            mayReturn = p.link.isOpen() && p.link.waitingForPeer();
        } catch (Throwable t) {
            // a link that cannot even say so does not come back
        }
        synchronized (p) {
            if (!p.up) return;
            // before up: readers see a reason
            p.downReason = mayReturn ? reason + " (waiting for the link to come back)" : reason;
            p.up = false;
            if (mayReturn && !closed && p != mirror) { // (the mirror has no poller to watch for it)
                p.recoverable = true;
                recovering.incrementAndGet();
            }
            // Inside the lock, so a recovery of the port cannot interleave with this removal.
            for (Poller pl : pollers) pl.forget(p);
        }
        table.forgetPort(p.index);
        PortDownEvent e = new PortDownEvent();
        if (e.isEnabled()) {
            e.port = p.name;
            e.reason = p.downReason;
            e.commit();
        }
        if (!closed) log.accept("port " + p.name + " down: " + p.downReason);
    }

    /** Why a port stopped: the message, with the class for an {@link Error} or a message-less exception. */
    static String reason(Throwable cause) {
        try {
            String m = cause.getMessage();
            if (cause instanceof Error || m == null)
                    return cause.getClass().getSimpleName() + (m == null ? "" : ": " + m);
            return m;
        } catch (Throwable t) {
            return "error while serving the port"; // e.g. no memory left even for the message
        }
    }

    /**
     * A port that went down with a link waiting for its peer: up again if the link moves packets
     * again (the front-end reconnected), or down for good if it closed. Called by its poller.
     */
    void checkRecovery(Port p) {
        if (p.up || !p.recoverable) return;
        boolean back;
        try {
            if (!p.link.isOpen()) {
                synchronized (p) {
                    if (p.recoverable) {
                        p.recoverable = false;
                        recovering.decrementAndGet();
                    }
                }
                return;
            }
            back = !p.link.waitingForPeer();
        } catch (Throwable t) {
            return;
        }
        if (!back) return;
        synchronized (p) {
            if (p.up || !p.recoverable || closed) return;
            for (Poller pl : pollers) {
                if (!pl.watch(p)) return; // try again at the next check (watch skips what it has)
            }
            p.recoverable = false;
            recovering.decrementAndGet();
            p.downReason = null;
            p.up = true;
        }
        PortUpEvent e = new PortUpEvent();
        if (e.isEnabled()) {
            e.port = p.name;
            e.offloads = p.link.offloads().toString();
            e.mtu = p.link.mtu();
            e.commit();
        }
        log.accept("port " + p.name + " up again");
    }

    private volatile long lastTransmitWarning;

    /** A transmit failed without stopping the link: reported at most once a second. */
    void transmitProblem(Port q, Exception e) {
        long now = System.nanoTime();
        if (now - lastTransmitWarning > 1_000_000_000L || lastTransmitWarning == 0) {
            lastTransmitWarning = now;
            log.accept("port " + q.name + ": transmit failed, packets dropped: " + e);
        }
    }

    private volatile boolean offloadWarned;

    void offloadProblem(Port q, RuntimeException e) {
        if (!offloadWarned) {
            offloadWarned = true;
            log.accept("port " + q.name + ": superpacket dropped: " + e.getMessage() + " (reported once)");
        }
    }

    /**
     * Adds a port to a switch that may be running; returns its index. Traffic between the other
     * ports goes on: the port's polling thread (the one with fewest queues, or a new one while the
     * switch has fewer than {@link Builder#threads}) takes it at the top of its next round. The
     * switch owns the link from this call on: if the port cannot be added, the link is closed and
     * the exception thrown. The port gets the switch's MAC limit ({@link Builder#macLimit(int)}).
     *
     * @param vlan its VLAN membership on a VLAN-aware switch (null: access VLAN 1); ignored otherwise
     * @throws IllegalArgumentException a port of that name exists, the link is not L2, or the
     *     switch has {@link #MAX_PORTS} ports
     * @throws IllegalStateException the switch is closed
     */
    public int addPort(Link link, PortVlan vlan) throws IOException {
        Objects.requireNonNull(link, "link");
        return addPort(LinkDevice.of(link), vlan);
    }

    /** {@link #addPort(Link, PortVlan)} for a device with all its queues (each receive queue polled). */
    public int addPort(LinkDevice device, PortVlan vlan) throws IOException {
        return addPort(device, vlan, b.macLimit);
    }

    /**
     * {@link #addPort(LinkDevice, PortVlan)} with its own MAC limit (most addresses it may hold in
     * the forwarding table, in [1, 2^26]) instead of the switch's.
     */
    public int addPort(LinkDevice device, PortVlan vlan, int macLimit) throws IOException {
        Port p;
        try {
            Objects.requireNonNull(device, "device");
            Builder.checkLimit(macLimit);
            for (int q = 0; q < device.queueCount(); q++) checkL2(device.queue(q));
            p = publish(device, vlan, macLimit);
        } catch (RuntimeException e) {
            if (device != null) device.close();
            throw e;
        }
        try {
            synchronized (this) {
                // placed: a start() between publish and here already gave it a thread
                if (started && !p.placed) place(p);
            }
        } catch (IOException | RuntimeException e) {
            unpublish(p);
            p.device.close();
            throw e;
        }
        PortUpEvent e = new PortUpEvent();
        if (e.isEnabled()) {
            e.port = p.name;
            e.offloads = p.link.offloads().toString();
            e.mtu = p.link.mtu();
            e.commit();
        }
        log.accept("port " + p.name + " added as port " + p.index);
        return p.index;
    }

    private static void checkL2(Link link) {
        if (link.layer() != Layer.L2) {
            String what = link.layer() == Layer.L3 ? "IP packets" : "datagrams without an Ethernet header";
            throw new IllegalArgumentException(link.name() + " carries " + what + " (" + link.layer()
                    + "), but a switch port must carry Ethernet frames: use an L2 link (e.g. tap: instead of tun:,"
                    + " vxlan: or geneve: over UDP instead of udp:)");
        }
    }

    /** Puts a new port in the first free index; other threads may transmit to it from now on. */
    private synchronized Port publish(LinkDevice device, PortVlan vlan, int macLimit) {
        if (closed) throw new IllegalStateException("switch is closed");
        Port[] cur = ports;
        String name = device.queueCount() == 1 ? device.queue(0).name() : device.name();
        int idx = cur.length;
        for (int i = 0; i < cur.length; i++) {
            if (cur[i] == null) {
                if (idx == cur.length) idx = i;
            } else if (cur[i].name.equals(name)) {
                throw new IllegalArgumentException("a port named " + name + " exists (port " + i + ")");
            }
        }
        if (idx >= MAX_PORTS)
                throw new IllegalArgumentException("the switch has " + MAX_PORTS + " ports, the most it can have");
        Port p = new Port(idx, device, b.vlanAware ? (vlan == null ? PortVlan.DEFAULT : vlan) : null, macLimit, null);
        p.mirrored = mirrorAll;
        Port[] n = java.util.Arrays.copyOf(cur, Math.max(cur.length, idx + 1));
        n[idx] = p;
        ports = n;
        return p;
    }

    private synchronized void unpublish(Port p) {
        Port[] n = ports.clone();
        if (n[p.index] == p) n[p.index] = null;
        ports = n;
    }

    /** Hands a new port to a polling thread of the running switch and waits until it polls it. */
    private void place(Port p) throws IOException {
        if (closed) throw new IllegalStateException("switch is closed");
        p.placed = true;
        Poller target = null;
        for (Poller q : pollers) {
            if (q.thread.isAlive() && (target == null || q.portCount < target.portCount)) target = q;
        }
        if (target == null || (target.portCount > 0 && pollers.size() < b.threads)) {
            int cpu = b.cpus.length == 0 ? -1 : b.cpus[pollers.size() % b.cpus.length];
            int maxPacket = 0;
            for (Link l : p.queues) maxPacket = Math.max(maxPacket, l.maxReceiveSize());
            Poller n = new Poller(this, pollers.size(), rxQueues(new Port[] {p}).toArray(Poller.RxQueue[]::new), mirror,
                    b.batchSize, maxPacket, Math.min(p.link.mtu() + 14 + 4, maxPacket), b.segmenter.get(),
                    b.busyPoll.toNanos(), cpu);
            n.thread.start();
            String problem = n.awaitPinned();
            if (problem != null) {
                n.requestStop();
                try {
                    n.thread.join(PORT_CHANGE_TIMEOUT_MS);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                n.free();
                throw new IllegalArgumentException(problem);
            }
            pollers.add(n);
            return;
        }
        await(target.submit(p, true), target, "add " + p.name);
    }

    /** Waits for a polling thread to make a port change; if the thread is gone, makes it here. */
    private void await(java.util.concurrent.CompletableFuture<Void> done, Poller owner,
            String what) throws IOException {
        long deadline = System.nanoTime() + PORT_CHANGE_TIMEOUT_MS * 1_000_000;
        while (true) {
            try {
                done.get(50, java.util.concurrent.TimeUnit.MILLISECONDS);
                return;
            } catch (java.util.concurrent.TimeoutException e) {
                // The thread ended (stopped, or died of an error): nobody else will run its tasks,
                // and no other thread touches its ports, so they can be run here.
                if (!owner.thread.isAlive() && owner.startNanos != 0) owner.runTasks();
                else if (System.nanoTime() > deadline) throw new IOException(owner.thread.getName() + " did not " + what
                        + " within " + PORT_CHANGE_TIMEOUT_MS + " ms");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting to " + what);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof IOException io) throw io;
                if (e.getCause() instanceof RuntimeException r) throw r;
                throw new IOException(e.getCause());
            }
        }
    }

    /**
     * Removes port {@code index} from a switch that may be running and closes its links. In order:
     * no more transmits to it (waiting for one in progress), every polling thread that receives
     * from one of its queues lets go of them (at the top of its next round), the addresses learned
     * on it are forgotten, its index is freed, its device is closed. The other ports go on meanwhile.
     *
     * @throws IllegalArgumentException no such port
     */
    public void removePort(int index) throws IOException {
        Port p;
        synchronized (this) {
            if (closed) throw new IllegalStateException("switch is closed");
            Port[] cur = ports;
            if (index < 0 || index >= cur.length || cur[index] == null)
                    throw new IllegalArgumentException("no port " + index);
            p = cur[index];
            p.lock(); // a transmit to it in progress ends first; later ones see it down
            synchronized (p) {
                p.up = false;
                if (p.recoverable) {
                    p.recoverable = false;
                    recovering.decrementAndGet();
                }
                if (p.downReason == null) p.downReason = "removed";
            }
            p.unlock();
            if (started) {
                List<java.util.concurrent.CompletableFuture<Void>> done = new ArrayList<>();
                for (Poller pl : pollers) done.add(pl.submit(p, false));
                for (int k = 0; k < done.size(); k++) await(done.get(k), pollers.get(k), "release " + p.name);
            }
            table.forgetPort(index);
            unpublish(p);
        }
        try {
            p.device.close();
        } catch (RuntimeException e) {
            log.accept("closing " + p.name + ": " + e);
        }
        PortDownEvent e = new PortDownEvent();
        if (e.isEnabled()) {
            e.port = p.name;
            e.reason = "removed";
            e.commit();
        }
        log.accept("port " + p.name + " removed");
    }

    /** Removes the port named {@code name} (see {@link #removePort(int)}). */
    public void removePort(String name) throws IOException {
        int i = indexOf(name);
        if (i < 0) throw new IllegalArgumentException("no port named " + name);
        removePort(i);
    }

    /** The index of the port named {@code name}, or -1. */
    public int indexOf(String name) {
        Port[] cur = ports;
        for (int i = 0; i < cur.length; i++) if (cur[i] != null && cur[i].name.equals(name)) return i;
        return -1;
    }

    /**
     * Changes port {@code index}'s VLAN membership on a running VLAN-aware switch. Addresses
     * learned on it are forgotten (they belonged to its old VLANs); the next batch uses the new one.
     */
    public void setPortVlan(int index, PortVlan vlan) {
        Objects.requireNonNull(vlan, "vlan");
        if (!b.vlanAware) throw new IllegalStateException("the switch is not VLAN-aware (--vlan-aware)");
        Port p = slot(index);
        p.vlan = vlan;
        table.forgetPort(index);
    }

    /** Port {@code index}'s VLAN membership, or null when the switch is not VLAN-aware. */
    public PortVlan portVlan(int index) {
        return slot(index).vlan;
    }

    /**
     * Changes port {@code index}'s MAC limit (most addresses it may hold in the forwarding table,
     * in [1, 2^26]) on a running switch; the next batch from it uses the new limit. Raising it
     * lets the port learn again at once. Lowering it below what the port holds now forgets the
     * port's addresses (as a VLAN change does), so it holds at most the new limit from its next
     * frames on instead of keeping the excess until it ages out; replies to the forgotten
     * addresses are flooded until they are learned again.
     *
     * @throws IllegalArgumentException no such port, or the limit is out of range
     */
    public void setMacLimit(int index, int limit) {
        Builder.checkLimit(limit);
        Port p = slot(index);
        p.macLimit = limit;
        if (table.held(index) > limit) table.forgetPort(index);
    }

    /** Port {@code index}'s MAC limit now. */
    public int macLimit(int index) {
        return slot(index).macLimit;
    }

    /** True if the switch handles 802.1Q VLANs. */
    public boolean isVlanAware() {
        return b.vlanAware;
    }

    /** Forgets every learned address (what {@code fdb/flush} does). */
    public void flushAddresses() {
        for (Port p : ports) if (p != null) table.forgetPort(p.index);
    }

    /**
     * Every learned address now, for tools ({@code fdb/show}): a scan of the table, not for the
     * data path.
     */
    public List<MacTable.Entry> addresses() {
        return table.entries(nowMs());
    }

    /** The polling threads' load now (for metrics). */
    public List<PollerStats> pollerStats() {
        List<Poller> ps;
        synchronized (this) {
            ps = List.copyOf(pollers);
        }
        long now = System.nanoTime();
        List<PollerStats> out = new ArrayList<>(ps.size());
        for (Poller p : ps) {
            long start = p.startNanos;
            long wall = start == 0 ? 0 : now - start;
            long idleFrom = p.idleFrom, idle = p.idleNanos;
            if (idleFrom != 0 && idleFrom - start >= 0) idle += now - idleFrom; // idle right now, not yet added
            out.add(new PollerStats(p.thread.getName(), p.portCount, Math.max(0, Math.min(wall, wall - idle)), wall,
                    p.thread.isAlive()));
        }
        return out;
    }

    private Port slot(int index) {
        Port[] cur = ports;
        if (index < 0 || index >= cur.length || cur[index] == null)
                throw new IllegalArgumentException("no port " + index);
        return cur[index];
    }

    /**
     * Port slots: one more than the highest index in use. A removed port's index reads as
     * {@link #hasPort false} until a new port takes it.
     */
    public int portCount() {
        return ports.length;
    }

    /** True if a port has index {@code i} (false for a removed one). */
    public boolean hasPort(int i) {
        Port[] cur = ports;
        return i >= 0 && i < cur.length && cur[i] != null;
    }

    /** Port {@code i}'s link (its queue 0 on a multi-queue port; {@link #device} has them all). */
    public Link port(int i) {
        return slot(i).link;
    }

    /** Port {@code i}'s device, with every queue. */
    public LinkDevice device(int i) {
        return slot(i).device;
    }

    /** True if port {@code i} is forwarding. */
    public boolean isUp(int i) {
        return slot(i).up;
    }

    /** Why port {@code i} is down, or null while it is up. */
    public String downReason(int i) {
        Port p = slot(i);
        return p.up ? null : p.downReason;
    }

    /**
     * Counters of every port now (removed ports are left out). A multi-queue port's received
     * counts are the sums of its queues'. The counters are read one after another while the
     * pollers run, not frozen together.
     */
    public SwitchStats stats() {
        Port[] ports = this.ports;
        List<PortStats> out = new ArrayList<>(ports.length);
        for (Port p : ports) {
            if (p == null) continue;
            Map<DropReason, Long> drops = new EnumMap<>(DropReason.class);
            for (DropReason r : DropReason.values()) {
                long n = p.drops.get(r.ordinal());
                if (n != 0) drops.put(r, n);
            }
            LinkStats fwd = p.counters.snapshot();
            LinkStats link = p.link.counters().snapshot();
            List<QueueStats> queues = new ArrayList<>(p.queues.length);
            if (p.queues.length == 1) {
                queues.add(new QueueStats(0, p.device.transmitEnabled(0), link, fwd));
            } else {
                // The port's rx side is counted per queue (each queue has one receiving thread);
                // its tx side both per queue and for the port, under the port's lock.
                LinkStats rx = null;
                for (int q = 0; q < p.queues.length; q++) {
                    LinkStats ql = p.queues[q].counters().snapshot();
                    if (q > 0) link = link.plus(ql);
                    LinkStats qf = p.queueCounters[q].snapshot();
                    rx = rx == null ? qf : rx.plus(qf);
                    queues.add(new QueueStats(q, p.device.transmitEnabled(q), ql, qf));
                }
                fwd = new LinkStats(rx.rxPackets(), rx.rxBytes(), fwd.txPackets(), fwd.txBytes(),
                        rx.rxDrops(), fwd.txDrops(), fwd.errors(), fwd.superpackets());
            }
            out.add(new PortStats(p.name, p.up, link, fwd, drops, p.segmented, p.checksummed,
                    table.size(p.index, nowMs()), p.unlearned.get(), p.up ? null : p.downReason, List.copyOf(queues)));
        }
        return new SwitchStats(System.nanoTime(), out, table.size(nowMs()));
    }

    /** The port {@code mac} (48 bits) in {@code vid} is learned on, or -1; for tests and tools. */
    public int lookup(long mac, int vid) {
        return table.lookup(MacTable.key(mac, vid), nowMs());
    }

    /**
     * Stops the threads and closes every port. Idempotent; safe to call from a shutdown hook
     * while the threads run.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        List<Poller> pollers;
        synchronized (this) {
            pollers = List.copyOf(this.pollers);
        }
        for (Poller p : pollers) p.requestStop();
        for (Poller p : pollers) {
            try {
                p.thread.join(5000);
                if (p.thread.isAlive()) log.accept(p.thread.getName() + " did not stop within 5 s");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (mirror != null) {
            mirror.up = false;
            mirror.link.close();
        }
        for (Port p : ports) {
            if (p == null) continue;
            boolean wasUp;
            synchronized (p) {
                wasUp = p.up;
                p.up = false;
                p.recoverable = false;
            }
            try {
                p.device.close();
            } catch (RuntimeException e) {
                log.accept("closing " + p.name + ": " + e);
            }
            if (wasUp) {
                PortDownEvent e = new PortDownEvent();
                if (e.isEnabled()) {
                    e.port = p.name;
                    e.reason = "switch closed";
                    e.commit();
                }
            }
        }
        for (Poller p : pollers) {
            if (!p.thread.isAlive()) p.free();
        }
    }
}
