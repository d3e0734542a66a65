package ringlink.sw;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.sys.CpuAffinity;

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
 *       packet) to every port whose {@link Link#transmitOffloads()} accept it; for a port that does not,
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

    final MacTable table;
    /** Which sources may enter where; fixed at build time. */
    final PortSecurity security;
    /** The ports, the polling threads and their lifecycle. */
    final PortRegistry ports;
    private final LongSupplier clock;
    private final long startNanos;
    private final Consumer<String> log;
    private final Builder b;

    private Switch(Builder b) {
        this.b = b;
        this.clock = b.clock;
        this.startNanos = clock.getAsLong();
        this.log = b.log;
        // Counts for every possible port index (256 KiB), so ports added later are limited too.
        this.table = new MacTable(b.macCapacity, b.ageing.toMillis(), MacTable.MAX_PORTS);
        this.ports = new PortRegistry(this, b);
        this.security = new PortSecurity(b.allowed);
    }

    /** The per-packet hook, or null (Builder.filter). */
    PacketFilter filter() {
        return b.filter;
    }

    /** A builder: add ports, then {@link Builder#build()} and {@link #start()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Configures a {@link Switch}. */
    public static final class Builder {
        // Package-private: PortRegistry reads the configuration when it places ports and threads.
        final List<LinkDevice> links = new ArrayList<>();
        final List<PortVlan> vlans = new ArrayList<>();
        int threads = Runtime.getRuntime().availableProcessors();
        int batchSize = DEFAULT_BATCH;
        int macCapacity = 8192;
        Duration ageing = Duration.ofSeconds(300);
        Duration busyPoll = Duration.ofNanos(100_000);
        Duration txRetry = DEFAULT_TX_RETRY;
        boolean vlanAware;
        LongSupplier clock = System::nanoTime;
        Supplier<Segmenter> segmenter = SoftwareOffload::segmenter;
        Consumer<String> log = m -> LOG.log(System.Logger.Level.INFO, m);
        Link mirror;
        PacketFilter filter;
        int[] mirrored = new int[0];
        int[] cpus = new int[0];
        int macLimit = DEFAULT_MAC_LIMIT;
        final Map<Integer, Integer> portMacLimits = new java.util.HashMap<>();
        final Map<Integer, long[]> allowed = new java.util.HashMap<>();

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
    public void start() throws IOException {
        ports.start();
    }

    /** How many polling threads run (after {@link #start()}). */
    public int pollerCount() {
        return ports.pollerCount();
    }

    /**
     * A poller over every port that is not started: for the JMH benchmark, which drives
     * {@code forward} on its own thread. The caller frees it.
     */
    Poller unstartedPoller() throws IOException {
        return ports.unstartedPoller();
    }

    /** Port {@code i}'s run-time state (for the benchmark). */
    Port portState(int i) {
        return ports.slots()[i];
    }

    long retryNanos() {
        return b.txRetry.toNanos();
    }

    /** Packets port {@code i} took on a retry after it was full at first ({@link Builder#txRetry}). */
    public long retried(int i) {
        return ports.slot(i).retried;
    }

    /** Superpackets (GSO) the switch took from port {@code i}: what its link delivered whole. */
    public long superpacketsIn(int i) {
        return ports.slot(i).superIn.get();
    }

    /**
     * Superpackets the switch handed to port {@code i} whole (the port accepts the offload); those
     * it segmented for the port instead are {@link PortStats#segmented()}.
     */
    public long superpacketsOut(int i) {
        return ports.slot(i).superOut;
    }

    /** Milliseconds since the switch was built (the forwarding table's time). */
    int nowMs() {
        return (int) ((clock.getAsLong() - startNanos) / 1_000_000);
    }

    void log(String m) {
        log.accept(m);
    }

    /** A port failed or its peer went away ({@link PortRegistry#portDown}); for the pollers. */
    void portDown(Port p, Throwable cause) {
        ports.portDown(p, cause);
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
        return ports.add(device, vlan, macLimit);
    }

    static void checkL2(Link link) {
        if (link.layer() != Layer.L2) {
            String what = link.layer() == Layer.L3 ? "IP packets" : "datagrams without an Ethernet header";
            throw new IllegalArgumentException(link.name() + " carries " + what + " (" + link.layer()
                    + "), but a switch port must carry Ethernet frames: use an L2 link (e.g. tap: instead of tun:,"
                    + " vxlan: or geneve: over UDP instead of udp:)");
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
        ports.remove(index);
    }

    /** Removes the port named {@code name} (see {@link #removePort(int)}). */
    public void removePort(String name) throws IOException {
        int i = indexOf(name);
        if (i < 0) throw new IllegalArgumentException("no port named " + name);
        removePort(i);
    }

    /** The index of the port named {@code name}, or -1. */
    public int indexOf(String name) {
        return ports.indexOf(name);
    }

    /**
     * Changes port {@code index}'s VLAN membership on a running VLAN-aware switch. Addresses
     * learned on it are forgotten (they belonged to its old VLANs); the next batch uses the new one.
     */
    public void setPortVlan(int index, PortVlan vlan) {
        Objects.requireNonNull(vlan, "vlan");
        if (!b.vlanAware) throw new IllegalStateException("the switch is not VLAN-aware (--vlan-aware)");
        Port p = ports.slot(index);
        p.vlan = vlan;
        table.forgetPort(index);
    }

    /** Port {@code index}'s VLAN membership, or null when the switch is not VLAN-aware. */
    public PortVlan portVlan(int index) {
        return ports.slot(index).vlan;
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
        Port p = ports.slot(index);
        p.macLimit = limit;
        if (table.held(index) > limit) table.forgetPort(index);
    }

    /** Port {@code index}'s MAC limit now. */
    public int macLimit(int index) {
        return ports.slot(index).macLimit;
    }

    /** True if the switch handles 802.1Q VLANs. */
    public boolean isVlanAware() {
        return b.vlanAware;
    }

    /** Forgets every learned address (what {@code fdb/flush} does). */
    public void flushAddresses() {
        for (Port p : ports.slots()) if (p != null) table.forgetPort(p.index);
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
        return StatsReader.pollers(ports.pollers());
    }

    /**
     * Port slots: one more than the highest index in use. A removed port's index reads as
     * {@link #hasPort false} until a new port takes it.
     */
    public int portCount() {
        return ports.slots().length;
    }

    /** True if a port has index {@code i} (false for a removed one). */
    public boolean hasPort(int i) {
        Port[] cur = ports.slots();
        return i >= 0 && i < cur.length && cur[i] != null;
    }

    /** Port {@code i}'s link (its queue 0 on a multi-queue port; {@link #device} has them all). */
    public Link port(int i) {
        return ports.slot(i).link;
    }

    /** Port {@code i}'s device, with every queue. */
    public LinkDevice device(int i) {
        return ports.slot(i).device;
    }

    /** True if port {@code i} is forwarding. */
    public boolean isUp(int i) {
        return ports.slot(i).up;
    }

    /** Why port {@code i} is down, or null while it is up. */
    public String downReason(int i) {
        Port p = ports.slot(i);
        return p.up ? null : p.downReason;
    }

    /**
     * Counters of every port now (removed ports are left out). A multi-queue port's received
     * counts are the sums of its queues'. The counters are read one after another while the
     * pollers run, not frozen together.
     */
    public SwitchStats stats() {
        return StatsReader.stats(ports.slots(), table, nowMs());
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
        ports.close();
    }
}
