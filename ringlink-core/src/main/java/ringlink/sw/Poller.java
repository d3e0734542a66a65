package ringlink.sw;

import static ringlink.packet.Ethernet.ETH_HLEN;
import static ringlink.packet.Ethernet.ETH_P_8021Q;
import static ringlink.packet.Ethernet.VLAN_HLEN;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkFailedException;
import ringlink.packet.Ethernet;
import ringlink.packet.OffloadFallback;
import ringlink.packet.PacketBatch;
import ringlink.packet.VirtioNetHdr;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.Epoll;
import ringlink.sys.CpuAffinity;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.SysException;

/**
 * One polling thread: receives from its ports in batches, learns and looks up addresses, and
 * forwards runs of packets with the same destination in one {@code transmit} each.
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
    /**
     * One receive queue this poller polls: queue {@code queue} of {@code port}. A multi-queue
     * port's queues are spread over the pollers like ports are.
     */
    static final class RxQueue {
        final Port port;
        final int queue;
        final ringlink.link.Link link;
        /**
         * Our dup of the queue link's readyFd, the number registered in {@link #epoll} (null when
         * not registered): a link may close its readyFd before the port goes down here (a peer
         * hung up), and when a peer still holds that file (a vhost-user call eventfd, a shm queue
         * eventfd) the entry of a closed number stays armed and can no longer be removed. The dup
         * is removed from the set, then closed. Guarded by this object.
         */
        Fd registered;

        RxQueue(Port port, int queue) {
            this.port = port;
            this.queue = queue;
            this.link = port.queues[queue];
        }
    }

    static final int FLOOD = -1, DROP = -2, FILTER = -3;
    /** How often a poller looks whether a port waiting for its link is back. */
    private static final long RECOVERY_CHECK_NANOS = 100_000_000L;
    private static final long STOP_TAG = -1;

    private final Switch sw;
    /** The queues this thread receives from; replaced (copy on write) by this thread only. */
    private RxQueue[] mine;
    private final Port mirror;
    private PacketBatch rx;
    private PacketBatch scratch;
    private final int[] dest;
    private final int[] vids;
    /** The transmit queue of each packet of a run to a multi-queue port. */
    private final int[] txq;
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
    /** The software checksum/segmentation for ports without an offload (one per thread: it keeps scratch). */
    private final OffloadFallback fallback;
    private final Epoll epoll;
    private final EventFd stop;
    /** How long a full port gets to make room before the rest of a run is dropped (0: drop at once). */
    private final long retryNanos;
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
        this.mine = mine;
        this.portCount = mine.length;
        this.mirror = mirror;
        // Buffers a whole number of cache lines long: with the batch memory and the headroom
        // 64-byte aligned, every packet then starts on a line, so the copies in and out of the
        // batch do not split their vector loads/stores over two lines (1518 + 64 would start
        // packet k 46 * k mod 64 bytes into a line) and a 60-byte frame occupies one line, not two.
        this.rx = new PacketBatch(batchSize, lines(maxPacket + PacketBatch.DEFAULT_HEADROOM));
        this.scratch = new PacketBatch(batchSize, lines(maxSegment + PacketBatch.DEFAULT_HEADROOM));
        this.dest = new int[batchSize];
        this.vids = new int[batchSize];
        this.txq = new int[batchSize];
        this.prepared = new boolean[mine.length];
        this.fallback = new OffloadFallback(segmenter::segment);
        this.retryNanos = sw.retryNanos();
        this.idle = new ringlink.link.IdleStrategy.AdaptiveIdle(maxSpinNanos);
        this.stop = EventFd.create();
        this.epoll = new Epoll(mine.length + 1);
        epoll.add(stop.fd(), EpollEventLayout.EPOLLIN, STOP_TAG);
        try {
            for (RxQueue q : mine) register(q);
        } catch (IOException | RuntimeException e) {
            epoll.close();
            stop.close();
            for (RxQueue q : mine) if (q.registered != null) q.registered.close();
            throw e;
        }
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
        for (RxQueue q : mine) if (q.port == p) unregister(q);
    }

    /** Removes our dup of a queue's ready descriptor from the epoll set, then closes it. */
    private void unregister(RxQueue q) {
        Fd d;
        synchronized (q) {
            d = q.registered;
            q.registered = null;
        }
        if (d == null) return;
        try {
            epoll.remove(d);
        } catch (IOException | RuntimeException ignored) {
            // the set is closed (free): its entries went with it
        }
        d.close();
    }

    /**
     * Registers our dup of a queue's ready descriptor (the number in the epoll set is ours, so it
     * can always be removed before it is closed); a queue already registered is left alone.
     */
    private void register(RxQueue q) throws IOException {
        synchronized (q) {
            if (q.registered != null) return;
            Fd d = q.link.readyFd().dup();
            try {
                epoll.add(d, EpollEventLayout.EPOLLIN, q.port.index);
            } catch (IOException | RuntimeException e) {
                d.close();
                throw e;
            }
            q.registered = d;
        }
    }

    /** Watches every queue of a port that comes back up again; false if one could not be added. */
    boolean watch(Port p) {
        try {
            for (RxQueue q : mine) if (q.port == p) register(q);
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
        }
        int seg = lines(Math.min(p.link.mtu() + 14 + 4, maxReceive) + PacketBatch.DEFAULT_HEADROOM);
        if (seg > scratch.bufferSize()) {
            PacketBatch bigger = new PacketBatch(scratch.capacity(), seg);
            scratch.close();
            scratch = bigger;
        }
        RxQueue[] added = new RxQueue[p.queues.length];
        try {
            for (int q = 0; q < added.length; q++) {
                added[q] = new RxQueue(p, q);
                register(added[q]);
            }
        } catch (IOException | RuntimeException e) {
            for (RxQueue q : added) if (q != null) unregister(q);
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
        try {
            stop.signal();
        } catch (IOException ignored) {
            // already closed: the thread is gone
        }
    }

    void requestStop() {
        running = false;
        try {
            stop.signal();
        } catch (IOException ignored) {
            // already closed: the thread is gone
        }
    }

    /** Frees native resources; after the thread ended. */
    void free() {
        epoll.close();
        for (RxQueue q : mine) {
            synchronized (q) {
                if (q.registered != null) q.registered.close();
                q.registered = null;
            }
        }
        stop.close();
        rx.close();
        scratch.close();
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
            if (sw.recovering.get() > 0) recoveries();
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
                sw.log(thread.getName() + ": " + Switch.reason(e));
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
                if (!p.up && p.recoverable) sw.checkRecovery(p);
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
            if (sleep && running && !pendingTasks) epoll.await(live == 0 && sw.recovering.get() == 0 ? 1000 : 100);
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
        try {
            stop.drain();
        } catch (IOException ignored) {
            // closing
        }
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
        Port[] all = sw.slots(); // ports added since the last batch included; removed ones are null
        int nowMs = sw.nowMs();
        MacTable table = sw.table;
        PortVlan inVlan = in.vlan; // one membership for the whole batch, also if port/set changes it
        boolean vlanAware = inVlan != null;
        int malformed = 0, vlanDrops = 0, secDrops = 0, filtered = 0;
        PacketFilter filter = sw.filter();
        boolean secured = sw.secured();
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
                vid = ingressVlan(inVlan, i, m, off, len);
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
                if (secured && !sw.sourceAllowed(in, src)) {
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
                sendTo(all[d], i, j, v);
            } else if (d >= 0 || d == FLOOD) { // d >= 0 here: learned on a port removed since
                for (Port q : all) {
                    if (q == null || q == in || !q.up) continue;
                    PortVlan qv = q.vlan;
                    if (qv == null || qv.member(v)) sendTo(q, i, j, v);
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
            sendTo(mirror, i, j, vids[i]);
            i = j;
        }
    }

    /**
     * The VLAN a frame arriving on {@code in} belongs to, or -1 to drop it. A tag is removed in
     * place, so frames are untagged inside the switch and tagged again per egress port.
     *
     * <p>VLAN hopping is refused: a frame that lands in a VLAN whose frames leave some port
     * untagged (an access port's, a trunk's native VLAN) must not carry another tag behind the
     * one removed (a priority tag or the native VID in front of a victim VLAN's tag), and an
     * 802.1ad S-tag or QinQ tag is never taken there: a port beyond would read the inner tag.
     */
    private int ingressVlan(PortVlan in, int i, MemorySegment m, long off, int len) {
        int type = Ethernet.etherType(m, off);
        int untagged = in.untaggedVid();
        if (type != ETH_P_8021Q) return Ethernet.isAnyTagTpid(type) ? -1 : untagged;
        if (len < ETH_HLEN + VLAN_HLEN) return -1;
        int vid = Ethernet.vlanTci(m, off) & Ethernet.VLAN_VID_MASK;
        if (vid == 0) vid = untagged; // priority tag: the frame is untagged for VLAN purposes
        else if (!in.isTrunk() || !in.member(vid)) return -1; // access ports take no tagged frames
        if (vid < 0) return -1;
        if (vid == untagged && len >= ETH_HLEN + VLAN_HLEN + 2
                && Ethernet.isAnyTagTpid(Ethernet.etherType(m, off + VLAN_HLEN))) {
            return -1; // double tag
        }
        untag(rx, i);
        return vid;
    }

    /**
     * Forwards packets {@code [from, to)} of the receive batch to {@code q}, fixing in software
     * those whose offload metadata {@code q} does not accept.
     */
    private void sendTo(Port q, int from, int to, int vid) {
        q.lock();
        try {
            if (!q.up) {
                q.txDrop(DropReason.PORT_DOWN, to - from);
                return;
            }
            var offloads = q.link.offloads();
            int i = from;
            while (i < to && q.up) {
                int j = i;
                while (j < to && offloads.accepts(rx, j)) j++;
                if (j > i) transmit(q, rx, i, j, vid);
                if (j == to) break;
                fixup(q, j, vid);
                i = j + 1;
            }
        } finally {
            q.unlock();
        }
    }

    /** Packet {@code k} needs an offload {@code q} lacks: finish its checksum, or segment it. */
    private void fixup(Port q, int k, int vid) {
        fixPort = q;
        fixVid = vid;
        try {
            // single writer of the counters: we hold q's lock
            if (fallback.fix(rx, k, scratch, fixSink)) q.segmented = q.segmented + 1;
            else q.checksummed = q.checksummed + 1;
        } catch (RuntimeException e) {
            q.txDrop(DropReason.OFFLOAD, 1);
            if (rx.isGso(k)) sw.offloadProblem(q, e);
        }
    }

    /** Where {@link #fixup}'s packets go: {@code fixPort}, tagged for {@code fixVid}; made once, not per packet. */
    private Port fixPort;
    private int fixVid;
    private final OffloadFallback.Sink<RuntimeException> fixSink = (b, from, to) -> {
        transmit(fixPort, b, from, to, fixVid);
        return fixPort.up;
    };

    /** One transmit call (the packets tagged for {@code q} around it if needed); caller holds q's lock. */
    private void transmit(Port q, PacketBatch b, int from, int to, int vid) {
        PortVlan qv = q.vlan;
        boolean tag = qv != null && qv.tagged(vid);
        if (tag) {
            for (int k = from; k < to; k++) {
                if (!tag(b, k, vid)) {
                    // Not enough headroom to insert the tag (a transport placed data at the buffer start).
                    for (int u = from; u < k; u++) untag(b, u);
                    q.txDrop(DropReason.VLAN, to - from);
                    return;
                }
            }
        }
        if (q.queues.length == 1) {
            send(q, 0, b, from, to);
        } else {
            // Runs of packets for one queue, each flow to the queue its hash picks among those enabled.
            int enabled = q.refreshEnabled();
            for (int k = from; k < to; k++) txq[k - from] = q.txQueue(FlowHash.of(b, k), enabled);
            int k = from;
            while (k < to) {
                int e = k + 1;
                while (e < to && txq[e - from] == txq[k - from]) e++;
                if (q.up) send(q, txq[k - from], b, k, e);
                else q.txDrop(DropReason.PORT_DOWN, e - k);
                k = e;
            }
        }
        if (tag) {
            for (int k = from; k < to; k++) untag(b, k);
        }
    }

    /** One transmit call on queue {@code qi} of {@code q}, with its accounting; caller holds q's lock. */
    private void send(Port q, int qi, PacketBatch b, int from, int to) {
        int ok;
        try {
            int n = q.queues[qi].transmit(b, from, to);
            if (n > 0) q.stalled = false; // it drains again: a full moment is worth a retry again
            if (n < to - from && retryNanos > 0) n += retry(q, qi, b, from + n, to);
            if (n < to - from) {
                q.txDrop(DropReason.BACKPRESSURE, to - from - n);
                if (q.queueCounters != null) q.queueCounters[qi].txDropped(to - from - n);
            }
            ok = n;
        } catch (IllegalArgumentException e) {
            // The port renegotiated its offloads under us; the packets are lost, the port lives on.
            q.txDrop(DropReason.OFFLOAD, to - from);
            ok = 0;
        } catch (LinkClosedException | LinkFailedException | ringlink.sys.ClosedFdException e) {
            q.txDrop(DropReason.PORT_DOWN, to - from);
            ok = 0;
            sw.portDown(q, e);
        } catch (IOException | RuntimeException e) {
            // E.g. the kernel refusing one write: those packets are lost, the link goes on.
            // A packet from one port must never be able to take another port down.
            q.txDrop(DropReason.TX_ERROR, to - from);
            ok = 0;
            sw.transmitProblem(q, e);
        } catch (Error e) {
            // OutOfMemoryError, an InternalError from a fault in q's mapped memory,
            // StackOverflowError: q is broken, not the port the packets came from.
            q.txDrop(DropReason.PORT_DOWN, to - from);
            ok = 0;
            sw.portDown(q, e);
        }
        if (ok > 0) {
            long bytes = 0;
            int superOut = 0;
            for (int k = from; k < from + ok; k++) {
                bytes += b.length(k);
                if (b.isGso(k)) superOut++;
            }
            if (superOut > 0) q.superOut = q.superOut + superOut; // single writer: we hold q's lock
            q.counters.transmitted(ok, bytes);
            if (q.queueCounters != null) q.queueCounters[qi].transmitted(ok, bytes);
        }
    }

    /**
     * The queue took only part of a run: it is full right now. Rather than drop at once (which a
     * TCP sender pays for with a retransmission), give its consumer time to drain, as OVS-DPDK
     * retries a vhost-user enqueue, and so delay this poller's sources instead (the batch behind
     * this run waits, so the ingress queues fill and the kernel or the peer pushes back on the
     * sender). Bounded three ways (docs/ARCHITECTURE.md, "Back-pressure"):
     * <ul>
     *   <li>the retry goes on while the queue takes packets, and ends after {@link #retryNanos}
     *       without progress, or after {@value #RETRY_CAP} times that in all;</li>
     *   <li>after the first microseconds of spinning it yields the CPU between offers: on a
     *       loaded machine the consumer (a guest's vCPU, a second process) may need this very
     *       CPU to drain, and spinning would only keep it out;</li>
     *   <li>a port whose retry ended without taking anything is marked {@link Port#stalled}: runs
     *       to it are dropped at once until it takes a packet again, so a port that stays full
     *       (a dead or stopped peer) costs the others one timeout, not one per run.</li>
     * </ul>
     * What it still does not take is dropped (BACKPRESSURE) by the caller. Errors are left for
     * the next transmit to meet and report.
     */
    private int retry(Port q, int qi, PacketBatch b, int from, int to) {
        if (q.stalled) return 0;
        long start = System.nanoTime(), progress = start;
        int sent = 0;
        while (from + sent < to) {
            long now = System.nanoTime();
            if (now - progress < SPIN_NANOS) Thread.onSpinWait();
            else java.util.concurrent.locks.LockSupport.parkNanos(PARK_NANOS);
            int n;
            try {
                n = q.queues[qi].transmit(b, from + sent, to);
            } catch (IOException | RuntimeException e) {
                break;
            }
            now = System.nanoTime();
            if (n > 0) {
                sent += n;
                progress = now;
            } else if (now - progress > retryNanos) {
                break;
            }
            if (now - start > RETRY_CAP * retryNanos) break;
        }
        if (sent > 0) q.retried = q.retried + sent; // single writer: we hold q's lock
        else q.stalled = true;
        return sent;
    }

    /** A retry spins this long after the last progress before it starts yielding the CPU. */
    private static final long SPIN_NANOS = 5_000;
    /** How long a retry sleeps between offers once it stopped spinning (the kernel's timer slack adds ~50 µs). */
    private static final long PARK_NANOS = 10_000;
    /** A retry of one run lasts at most this many times {@link #retryNanos}. */
    private static final int RETRY_CAP = 4;

    /** Inserts an 802.1Q tag after the MAC addresses, in the headroom; false if there is none. */
    static boolean tag(PacketBatch b, int k, int vid) {
        if (b.dataStart(k) < VLAN_HLEN) return false;
        MemorySegment m = b.memory();
        long off = b.push(k, VLAN_HLEN);
        MemorySegment.copy(m, off + VLAN_HLEN, m, off, 2 * Ethernet.ETH_ALEN);
        Ethernet.setEtherType(m, off, ETH_P_8021Q);
        Ethernet.setVlanTci(m, off, vid);
        shiftOffload(b, k, VLAN_HLEN);
        return true;
    }

    /** Removes the 802.1Q tag at offset 12. */
    static void untag(PacketBatch b, int k) {
        MemorySegment m = b.memory();
        long off = b.dataOffset(k);
        MemorySegment.copy(m, off, m, off + VLAN_HLEN, 2 * Ethernet.ETH_ALEN);
        b.push(k, -VLAN_HLEN);
        shiftOffload(b, k, -VLAN_HLEN);
    }

    // csum_start and hdr_len count from the frame's first byte, so they move with the tag.
    private static void shiftOffload(PacketBatch b, int k, int by) {
        if ((b.flags(k) & VirtioNetHdr.F_NEEDS_CSUM) != 0) b.setCsum(k, b.csumStart(k) + by, b.csumOffset(k));
        if (b.gsoType(k) != VirtioNetHdr.GSO_NONE) b.setGso(k, b.gsoType(k), b.hdrLen(k) + by, b.gsoSize(k));
    }

    /** Ports are reported down by the switch; a closed link during shutdown is expected. */
    static boolean isShutdownNoise(Throwable e) {
        return e instanceof LinkClosedException;
    }
}
