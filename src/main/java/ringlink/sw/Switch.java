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
 *       port), ports assigned round-robin; each busy-polls adaptively, then sleeps in epoll on
 *       its ports' ready descriptors.</li>
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

    final MacTable table;
    /** Addresses configured on some port (sorted) and their ports: port security's ownership. */
    private final long[] securedMacs;
    private final int[] securedPorts;
    /** Ports down with a link that may come back (pollers look for it while this is non-zero). */
    final java.util.concurrent.atomic.AtomicInteger recovering = new java.util.concurrent.atomic.AtomicInteger();
    private final Port[] ports;
    /** Receives a copy of every frame arriving on a mirrored port; null if none. */
    final Port mirror;
    private final List<Poller> pollers = new ArrayList<>();
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
            Link l = b.links.get(i);
            PortVlan v = b.vlans.get(i);
            Integer limit = b.portMacLimits.get(i);
            long[] allowed = b.allowed.get(i);
            ports[i] = new Port(i, l, b.vlanAware ? (v == null ? PortVlan.DEFAULT : v) : null,
                    limit != null ? limit : b.macLimit, allowed);
        }
        for (int i : b.portMacLimits.keySet()) {
            if (i < 0 || i >= ports.length) throw new IllegalArgumentException("MAC limit for port " + i + ", which does not exist");
        }
        for (int i : b.allowed.keySet()) {
            if (i < 0 || i >= ports.length) throw new IllegalArgumentException("port security for port " + i + ", which does not exist");
        }
        // Every address some port is configured with, and that port: no other port may use it.
        java.util.TreeMap<Long, Integer> owned = new java.util.TreeMap<>();
        for (var e : b.allowed.entrySet()) {
            for (long mac : e.getValue()) {
                Integer was = owned.put(mac, e.getKey());
                if (was != null && was != e.getKey().intValue()) {
                    throw new IllegalArgumentException("address " + ringlink.packet.Ethernet.formatMac(mac) + " is allowed on ports " + was + " and " + e.getKey());
                }
            }
        }
        this.securedMacs = owned.keySet().stream().mapToLong(Long::longValue).toArray();
        this.securedPorts = owned.values().stream().mapToInt(Integer::intValue).toArray();
        this.mirror = b.mirror == null ? null : new Port(ports.length, b.mirror, null);
        for (int i : b.mirrored) {
            if (i < 0 || i >= ports.length) throw new IllegalArgumentException("mirrored port " + i + " does not exist");
            ports[i].mirrored = true;
        }
        if (mirror != null && b.mirrored.length == 0) for (Port p : ports) p.mirrored = true;
    }

    /** A builder: add ports, then {@link Builder#build()} and {@link #start()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Configures a {@link Switch}. */
    public static final class Builder {
        private final List<Link> links = new ArrayList<>();
        private final List<PortVlan> vlans = new ArrayList<>();
        private int threads = Runtime.getRuntime().availableProcessors();
        private int batchSize = DEFAULT_BATCH;
        private int macCapacity = 8192;
        private Duration ageing = Duration.ofSeconds(300);
        private Duration busyPoll = Duration.ofNanos(100_000);
        private boolean vlanAware;
        private LongSupplier clock = System::nanoTime;
        private Supplier<Segmenter> segmenter = SoftwareOffload::segmenter;
        private Consumer<String> log = m -> LOG.log(System.Logger.Level.INFO, m);
        private Link mirror;
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
            if (link.layer() != Layer.L2) {
                throw new IllegalArgumentException(link.name() + " carries IP packets (" + link.layer()
                        + "), but a switch port must carry Ethernet frames: use an L2 link (e.g. tap: instead of tun:)");
            }
            links.add(link);
            vlans.add(vlan);
            return this;
        }

        /** Polling threads (capped at the number of ports). */
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

        private static int checkLimit(int n) {
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
            if (macs.length == 0) throw new IllegalArgumentException("port security for port " + port + " needs at least one address");
            long[] sorted = macs.clone();
            for (long m : sorted) {
                if (m < 0 || m > 0xffff_ffff_ffffL || (m & (1L << 40)) != 0) {
                    throw new IllegalArgumentException("port security: " + ringlink.packet.Ethernet.formatMac(m & 0xffff_ffff_ffffL) + " is not a unicast MAC address");
                }
            }
            java.util.Arrays.sort(sorted);
            allowed.put(port, sorted);
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

        public Switch build() {
            if (links.isEmpty()) throw new IllegalArgumentException("a switch needs at least one port");
            return new Switch(this);
        }
    }

    /** Starts the polling threads. */
    public synchronized void start() throws IOException {
        if (started) throw new IllegalStateException("switch already started");
        if (closed) throw new IllegalStateException("switch is closed");
        started = true;
        int nThreads = Math.min(b.threads, ports.length);
        int maxPacket = 0, maxSegment = 0;
        for (Port p : ports) {
            maxPacket = Math.max(maxPacket, p.link.maxReceiveSize());
            maxSegment = Math.max(maxSegment, p.link.mtu() + 14 + 4);
        }
        if (mirror != null) maxSegment = Math.max(maxSegment, mirror.link.mtu() + 14 + 4);
        try {
            for (int t = 0; t < nThreads; t++) {
                List<Port> mine = new ArrayList<>();
                for (int i = t; i < ports.length; i += nThreads) mine.add(ports[i]);
                int cpu = b.cpus.length == 0 ? -1 : b.cpus[t % b.cpus.length];
                pollers.add(new Poller(this, t, mine.toArray(Port[]::new), ports, mirror, b.batchSize, maxPacket,
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
     * A poller over every port that is not started: for the JMH benchmark, which drives
     * {@code forward} on its own thread. The caller frees it.
     */
    Poller unstartedPoller() throws IOException {
        int maxPacket = 0;
        for (Port p : ports) maxPacket = Math.max(maxPacket, p.link.maxReceiveSize());
        return new Poller(this, 99, ports, ports, mirror, b.batchSize, maxPacket, 1518 + 4, b.segmenter.get(), 0, -1);
    }

    /** Port {@code i}'s run-time state (for the benchmark). */
    Port portState(int i) {
        return ports[i];
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
            Poller owner = p.owner;
            if (owner != null) owner.forget(p);
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
            p.downReason = mayReturn ? reason + " (waiting for the link to come back)" : reason; // before up: readers see a reason
            p.up = false;
            if (mayReturn && !closed && p.owner != null) { // (the mirror has no poller to watch for it)
                p.recoverable = true;
                recovering.incrementAndGet();
            }
            // Inside the lock, so a recovery of the port cannot interleave with this removal.
            Poller owner = p.owner;
            if (owner != null) owner.forget(p);
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
            if (cause instanceof Error || m == null) return cause.getClass().getSimpleName() + (m == null ? "" : ": " + m);
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
            Poller owner = p.owner;
            if (owner != null && !owner.watch(p)) return; // try again at the next check
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

    /** The number of ports. */
    public int portCount() {
        return ports.length;
    }

    /** Port {@code i}'s link. */
    public Link port(int i) {
        return ports[i].link;
    }

    /** True if port {@code i} is forwarding. */
    public boolean isUp(int i) {
        return ports[i].up;
    }

    /** Why port {@code i} is down, or null while it is up. */
    public String downReason(int i) {
        Port p = ports[i];
        return p.up ? null : p.downReason;
    }

    /** Counters of every port now. */
    public SwitchStats stats() {
        List<PortStats> out = new ArrayList<>(ports.length);
        for (Port p : ports) {
            Map<DropReason, Long> drops = new EnumMap<>(DropReason.class);
            for (DropReason r : DropReason.values()) {
                long n = p.drops.get(r.ordinal());
                if (n != 0) drops.put(r, n);
            }
            LinkStats fwd = p.counters.snapshot();
            out.add(new PortStats(p.name, p.up, p.link.counters().snapshot(), fwd, drops, p.segmented, p.checksummed,
                    table.size(p.index, nowMs()), p.unlearned, p.up ? null : p.downReason));
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
            boolean wasUp;
            synchronized (p) {
                wasUp = p.up;
                p.up = false;
                p.recoverable = false;
            }
            try {
                p.link.close();
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
