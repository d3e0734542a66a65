package ringlink.sw;

import static ringlink.packet.Ethernet.ETH_HLEN;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import ringlink.packet.Ethernet;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;
import ringlink.sys.SysException;

/**
 * One polling thread: receives from its ports in batches, learns and looks up addresses, and
 * forwards runs of packets with the same destination in one {@code transmit} each (the transmit
 * side, offload fallback and back-pressure retry are its {@link Egress}; VLAN tags
 * {@link VlanTags}).
 *
 * <p>Idle handling is adaptive ({@link ringlink.link.IdleStrategy#adaptive}, the same budget a
 * {@link ringlink.link.LinkLoop} uses by default): after the last packet it busy-polls for a
 * budget that doubles when traffic resumed within it and halves (to a floor) when it ran out, then arms every port's
 * notification ({@code prepareToWait}) and sleeps in epoll until a port's ready descriptor or the
 * stop eventfd fires.
 *
 * <p>Nothing here allocates per packet: the batch, per-packet destination and VLAN arrays and
 * the segmentation scratch batch are made once (and again only when a port added at run time
 * needs bigger buffers).
 *
 * <p>Ports at run time: the set of queues this thread receives from ({@link #mine}) is changed
 * only by this thread, at the top of a round, from a task queue ({@link #adopt}, {@link #release});
 * the submitter wakes a sleeping thread through the wake-up eventfd and waits for the task's
 * future. So a queue is never received from, armed or disarmed by two threads, and its link is
 * closed only after this thread let go of it; the other ports see at most one round's delay.
 */
final class Poller implements Runnable {
    static final int FLOOD = -1, DROP = -2, FILTER = -3;
    /** How often a poller looks whether a port waiting for its link is back. */
    private static final long RECOVERY_CHECK_NANOS = 100_000_000L;

    private final Switch sw;
    /** The switch's ports and their lifecycle (the per-batch view of the ports, recovery). */
    private final PortRegistry ports;
    /** Port security: which sources may enter where (read per new source only when some port has it). */
    private final PortSecurity security;
    /** The queues this thread receives from; replaced (copy on write) by this thread only. */
    private RxQueue[] mine;
    private final Port mirror;
    private PacketBatch rx;
    /** Where the runs of {@link #rx} leave: this thread's transmit side. */
    private final Egress egress;
    private final int[] dest;
    private final int[] vids;
    private boolean[] prepared;
    /** Port changes for this thread to make at the top of its next round. */
    private final java.util.concurrent.ConcurrentLinkedQueue<Task> tasks =
            new java.util.concurrent.ConcurrentLinkedQueue<>();
    private volatile boolean pendingTasks;
    /** Receive queues this thread polls (for placing new ports; written by this thread). */
    volatile int portCount;
    /** Nanoseconds spent idle (spinning without work or asleep) since start; written by this thread. */
    volatile long idleNanos;
    /** When the current idle period began (System.nanoTime()), 0 while busy: so a reader counts a long sleep now. */
    volatile long idleFrom;
    /** When the thread started ({@link System#nanoTime()}), 0 before. */
    volatile long startNanos;
    /** The epoll set this thread sleeps in: its queues' ready descriptors (our dups) and the wake-up eventfd. */
    private final WaitSet waits;
    /** The busy-poll budget, shared with {@link ringlink.link.LinkLoop}'s default idle strategy. */
    private final ringlink.link.IdleStrategy.AdaptiveIdle idle;
    private long nextRecoveryCheck;
    private volatile boolean running = true;
    /** The CPU this thread pins itself to, or -1. */
    private final int cpu;
    private final java.util.concurrent.CompletableFuture<String> pinned =
            new java.util.concurrent.CompletableFuture<>();
    final Thread thread;

    /** A port change: add or release {@code port}; {@code done} completes once made. */
    record Task(Port port, boolean add, java.util.concurrent.CompletableFuture<Void> done) {}

    Poller(Switch sw, int id, RxQueue[] mine, Port mirror, int batchSize, int maxPacket, int maxSegment,
           Segmenter segmenter, long maxSpinNanos, int cpu) throws IOException {
        this.cpu = cpu;
        this.sw = sw;
        this.ports = sw.ports;
        this.security = sw.security;
        this.mine = mine;
        this.portCount = mine.length;
        this.mirror = mirror;
        // Buffers a whole number of cache lines long: with the batch memory and the headroom
        // 64-byte aligned, every packet then starts on a line, so the copies in and out of the
        // batch do not split their vector loads/stores over two lines (1518 + 64 would start
        // packet k 46 * k mod 64 bytes into a line) and a 60-byte frame occupies one line, not two.
        this.rx = new PacketBatch(batchSize, lines(maxPacket + PacketBatch.DEFAULT_HEADROOM));
        this.egress = new Egress(sw, rx, new PacketBatch(batchSize, lines(maxSegment + PacketBatch.DEFAULT_HEADROOM)),
                batchSize, segmenter, sw.retryNanos());
        this.dest = new int[batchSize];
        this.vids = new int[batchSize];
        this.prepared = new boolean[mine.length];
        this.idle = new ringlink.link.IdleStrategy.AdaptiveIdle(maxSpinNanos);
        this.waits = new WaitSet(mine);
        this.thread = new Thread(this, "ringlink-switch-" + id);
        thread.setDaemon(true);
    }

    private static int lines(int bytes) {
        return Math.addExact(bytes, 63) & ~63;
    }

    /**
     * Stops waiting on a port that went down: its ready descriptor may stay readable for good
     * (a closed peer), and a level-triggered epoll would then never let the thread sleep.
     */
    void forget(Port p) {
        for (RxQueue q : mine) if (q.port == p) waits.unregister(q);
    }

    /** Watches every queue of a port that comes back up again; false if one could not be added. */
    boolean watch(Port p) {
        try {
            for (RxQueue q : mine) if (q.port == p) waits.register(q);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Hands this thread a port change and wakes it; the future completes when it is made (at the
     * top of the thread's next round), exceptionally if it failed.
     */
    java.util.concurrent.CompletableFuture<Void> submit(Port p, boolean add) {
        Task t = new Task(p, add, new java.util.concurrent.CompletableFuture<>());
        tasks.add(t);
        pendingTasks = true;
        wake();
        return t.done();
    }

    /** Makes the queued port changes (this thread; also after it stopped, by whoever joined it). */
    void runTasks() {
        pendingTasks = false; // before polling: a task queued after this sets it again
        Task t;
        while ((t = tasks.poll()) != null) {
            try {
                if (t.add()) adopt(t.port());
                else release(t.port());
                t.done().complete(null);
            } catch (IOException | RuntimeException e) {
                t.done().completeExceptionally(e);
            }
        }
    }

    /** Starts receiving from every queue of {@code p}: buffers big enough for it, its descriptors in the epoll set. */
    private void adopt(Port p) throws IOException {
        int maxReceive = 0;
        for (ringlink.link.Link l : p.queues) maxReceive = Math.max(maxReceive, l.maxReceiveSize());
        int need = lines(maxReceive + PacketBatch.DEFAULT_HEADROOM);
        if (need > rx.bufferSize()) {
            // Once per port added, never per packet: this port receives bigger packets than the
            // ones this thread started with (e.g. a TSO TAP on a switch of vhost-user ports).
            PacketBatch bigger = new PacketBatch(rx.capacity(), need);
            rx.close();
            rx = bigger;
            egress.rx = bigger;
        }
        egress.fitScratch(lines(Math.min(p.link.mtu() + 14 + 4, maxReceive) + PacketBatch.DEFAULT_HEADROOM));
        RxQueue[] added = new RxQueue[p.queues.length];
        try {
            for (int q = 0; q < added.length; q++) {
                added[q] = new RxQueue(p, q);
                waits.register(added[q]);
            }
        } catch (IOException | RuntimeException e) {
            for (RxQueue q : added) if (q != null) waits.unregister(q);
            throw e;
        }
        RxQueue[] n = java.util.Arrays.copyOf(mine, mine.length + added.length);
        System.arraycopy(added, 0, n, mine.length, added.length);
        mine = n;
        prepared = new boolean[n.length];
        portCount = n.length;
    }

    /** Stops receiving from every queue of {@code p} here; after this no call of this thread touches its links. */
    private void release(Port p) {
        forget(p);
        RxQueue[] n = java.util.Arrays.stream(mine).filter(q -> q.port != p).toArray(RxQueue[]::new);
        if (n.length == mine.length) return;
        mine = n;
        prepared = new boolean[n.length];
        portCount = n.length;
    }

    /** Wakes the thread if it sleeps in epoll (it then starts a new round). */
    void wake() {
        waits.signal();
    }

    void requestStop() {
        running = false;
        waits.signal();
    }

    /** Frees native resources; after the thread ended. */
    void free() {
        waits.free(mine);
        rx.close();
        egress.free();
    }

    /** Waits until the thread pinned itself: null, or why it could not (it then has stopped). */
    String awaitPinned() {
        try {
            return pinned.get(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return thread.getName() + " did not start within 10 s";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted while starting " + thread.getName();
        } catch (java.util.concurrent.ExecutionException e) {
            return String.valueOf(e.getCause());
        }
    }

    @Override
    public void run() {
        if (cpu >= 0) {
            try {
                CpuAffinity.pinCurrentThread(cpu);
            } catch (SysException | RuntimeException e) {
                pinned.complete(thread.getName() + ": " + e.getMessage());
                return;
            }
        }
        pinned.complete(null);
        startNanos = System.nanoTime();
        long idleSince = 0;
        while (running) {
            if (pendingTasks) runTasks();
            int work = 0;
            for (RxQueue q : mine) {
                Port p = q.port;
                if (!p.up) continue;
                rx.clear();
                try {
                    int n = q.link.receive(rx);
                    if (n > 0) {
                        work += n;
                        forward(p, q.queue, n);
                    }
                } catch (Throwable e) {
                    // Whatever serving this port raised (OutOfMemoryError, an InternalError from
                    // a fault in mapped memory, StackOverflowError, a bug): that port stops,
                    // this thread and the other ports go on.
                    sw.portDown(p, e);
                }
            }
            if (ports.recovering.get() > 0) recoveries();
            if (work > 0) {
                if (idleSince != 0) {
                    long idled = System.nanoTime() - idleSince;
                    idle.busy(idled); // came back within the budget: spin longer next time
                    idleNanos = idleNanos + idled; // single writer: this thread
                    idleFrom = 0;
                }
                idleSince = 0;
                continue;
            }
            long now = System.nanoTime();
            if (idleSince == 0) {
                idleSince = now;
                idleFrom = now;
                continue;
            }
            if (idle.idle(now - idleSince) == 0) continue; // spun (onSpinWait) within the budget; else halved it: sleep
            try {
                sleep();
            } catch (Throwable e) {
                sw.log(thread.getName() + ": " + PortRegistry.reason(e));
            }
            idleNanos = idleNanos + (System.nanoTime() - idleSince);
            idleFrom = 0;
            idleSince = 0;
        }
    }

    /** Every {@link #RECOVERY_CHECK_NANOS}: brings back ports whose link recovered. */
    private void recoveries() {
        long now = System.nanoTime();
        if (now - nextRecoveryCheck < 0) return;
        nextRecoveryCheck = now + RECOVERY_CHECK_NANOS;
        for (RxQueue q : mine) {
            Port p = q.port;
            try {
                if (!p.up && p.recoverable) ports.checkRecovery(p);
            } catch (Throwable e) {
                // tried again at the next check
            }
        }
    }

    private void sleep() {
        boolean sleep = true;
        int live = 0;
        for (int k = 0; k < mine.length; k++) {
            prepared[k] = false;
            Port p = mine[k].port;
            if (!p.up) continue;
            live++;
            try {
                if (!mine[k].link.prepareToWait()) {
                    sleep = false;
                    break;
                }
                prepared[k] = true;
            } catch (Throwable e) {
                sw.portDown(p, e);
            }
        }
        try {
            // With every port down the thread still waits (for stop or a new port), not spins.
            if (sleep && running && !pendingTasks) waits.await(live == 0 && ports.recovering.get() == 0 ? 1000 : 100);
        } catch (IOException e) {
            if (running) sw.log("epoll: " + e.getMessage());
        }
        for (int k = 0; k < mine.length; k++) {
            if (!prepared[k]) continue;
            try {
                mine[k].link.finishWait();
            } catch (Throwable e) {
                sw.portDown(mine[k].port, e);
            }
        }
        waits.drain();
    }

    /** The receive batch (the benchmark fills it instead of a link). */
    PacketBatch receiveBatch() {
        return rx;
    }

    /** {@link #forward(Port, int, int)} from queue 0 (the benchmark). */
    void forward(Port in, int n) {
        forward(in, 0, n);
    }

    /** Decides each packet's destination, then sends runs of equal (destination, VLAN). */
    void forward(Port in, int queue, int n) {
        MemorySegment m = rx.memory();
        Port[] all = ports.slots(); // ports added since the last batch included; removed ones are null
        int nowMs = sw.nowMs();
        MacTable table = sw.table;
        PortVlan inVlan = in.vlan; // one membership for the whole batch, also if port/set changes it
        boolean vlanAware = inVlan != null;
        int malformed = 0, vlanDrops = 0, secDrops = 0, filtered = 0;
        PacketFilter filter = sw.filter();
        boolean secured = security.any();
        int limit = in.macLimit;
        long unlearned = 0;
        long bytes = 0;
        int superIn = 0;
        // A batch is mostly one flow: a source just learned and a destination just looked up
        // (same VLAN, same batch time) need no second trip to the table.
        long lastSrc = 0, lastDst = 0;
        int lastDest = 0;
        for (int i = 0; i < n; i++) {
            int len = rx.length(i);
            bytes += len;
            if (rx.isGso(i)) superIn++;
            long off = rx.dataOffset(i);
            vids[i] = 0;
            if (len < ETH_HLEN) {
                dest[i] = DROP;
                malformed++;
                continue;
            }
            if (filter != null && !accepted(filter, in.index, i)) {
                dest[i] = DROP;
                filtered++;
                continue;
            }
            long dst = Ethernet.destination(m, off);
            long src = Ethernet.source(m, off);
            if ((src & (1L << 40)) != 0) { // a multicast source address is never valid
                dest[i] = DROP;
                malformed++;
                continue;
            }
            int vid = 0;
            if (vlanAware) {
                vid = VlanTags.ingressVlan(rx, inVlan, i, m, off, len);
                bytes += rx.length(i) - len; // a removed tag no longer counts, as before
                if (vid < 0) {
                    dest[i] = DROP;
                    vlanDrops++;
                    continue;
                }
            }
            vids[i] = vid;
            long srcKey = MacTable.key(src, vid); // never 0, so the first packet always learns
            if (srcKey != lastSrc) {
                if (secured && !security.sourceAllowed(in, src)) {
                    dest[i] = DROP;
                    secDrops++;
                    continue;
                }
                if (table.learn(srcKey, in.index, nowMs, limit) == MacTable.LIMITED) unlearned++;
                lastSrc = srcKey;
                lastDst = 0; // that may have moved the destination: look it up again
            }
            if ((dst & (1L << 40)) != 0) {
                dest[i] = FLOOD;
            } else {
                long dstKey = MacTable.key(dst, vid);
                if (dstKey != lastDst) {
                    int p = table.lookup(dstKey, nowMs);
                    lastDest = p < 0 ? FLOOD : p == in.index ? FILTER : p;
                    lastDst = dstKey;
                }
                dest[i] = lastDest;
            }
        }
        if (in.mirrored && mirror.up) mirror(n);
        if (malformed > 0) in.rxDrop(queue, DropReason.MALFORMED, malformed);
        if (vlanDrops > 0) in.rxDrop(queue, DropReason.VLAN, vlanDrops);
        if (secDrops > 0) in.rxDrop(queue, DropReason.PORT_SECURITY, secDrops);
        if (filtered > 0) in.rxDrop(queue, DropReason.FILTERED, filtered);
        if (unlearned > 0) in.unlearned.addAndGet(unlearned); // rare: only while the port is at its limit
        in.rxCounters(queue).received(n, bytes); // this thread owns the queue: a single writer
        if (superIn > 0) in.superIn.addAndGet(superIn); // once a batch, and only with TSO traffic

        int i = 0;
        while (i < n) {
            int d = dest[i];
            int v = vids[i];
            int j = i + 1;
            while (j < n && dest[j] == d && vids[j] == v) j++;
            if (d >= 0 && d < all.length && all[d] != null) {
                egress.sendTo(all[d], i, j, v);
            } else if (d >= 0 || d == FLOOD) { // d >= 0 here: learned on a port removed since
                for (Port q : all) {
                    if (q == null || q == in || !q.up) continue;
                    PortVlan qv = q.vlan;
                    if (qv == null || qv.member(v)) egress.sendTo(q, i, j, v);
                }
            }
            i = j;
        }
    }

    /** The user's per-packet hook; one that throws drops the frame, never the port. */
    private boolean accepted(PacketFilter f, int port, int i) {
        try {
            return f.accept(port, rx, i);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Copies the batch to the mirror port, in runs of one VLAN (dropped frames included: a mirror shows what arrived).
     */
    private void mirror(int n) {
        int i = 0;
        while (i < n) {
            int j = i + 1;
            while (j < n && vids[j] == vids[i]) j++;
            egress.sendTo(mirror, i, j, vids[i]);
            i = j;
        }
    }
}
