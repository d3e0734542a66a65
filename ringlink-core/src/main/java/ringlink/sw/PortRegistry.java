package ringlink.sw;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import ringlink.link.Link;
import ringlink.link.LinkDevice;

/**
 * The switch's ports and the threads that poll them, and every change of either: which ports
 * exist (an array by index, copy on write), starting the pollers and dealing them the receive
 * queues, adding a port to a running switch (the thread with fewest queues, or a new one),
 * removing one (every thread lets go of it first), a port going down when its link fails and
 * coming back when a link that waits for its peer runs again, and closing it all.
 *
 * <p>{@link Switch} is the public face and keeps the configuration, the forwarding table and port
 * security; this class keeps the lifecycle. Its monitor serialises the changes (start, add,
 * remove, close); a port's own monitor orders its up/down/recoverable state. The pollers read
 * {@link #slots()} once per batch (one volatile read) and {@link #recovering} once per round;
 * nothing else here is on the forwarding path.
 */
final class PortRegistry {
    /** How long {@link Switch#addPort}/{@link Switch#removePort} wait for a polling thread to take the change. */
    static final long PORT_CHANGE_TIMEOUT_MS = 10_000;

    private final Switch sw;
    private final Switch.Builder b;
    private final Consumer<String> log;
    /** Ports down with a link that may come back (pollers look for it while this is non-zero). */
    final java.util.concurrent.atomic.AtomicInteger recovering = new java.util.concurrent.atomic.AtomicInteger();
    /**
     * The ports by index; null where a port was removed. Replaced whole (copy on write, under this
     * object's lock) when ports come and go, so a polling thread reads one consistent array per batch.
     */
    private volatile Port[] ports;
    private final boolean mirrorAll;
    /** Receives a copy of every frame arriving on a mirrored port; null if none. */
    final Port mirror;
    /** Copy on write: pollers added at run time (addPort) while others iterate (portDown, recovery). */
    private final List<Poller> pollers = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean started, closed;

    /**
     * The builder's ports (and mirror), not polled yet.
     *
     * @throws IllegalArgumentException a per-port setting names a port that does not exist
     */
    PortRegistry(Switch sw, Switch.Builder b) {
        this.sw = sw;
        this.b = b;
        this.log = b.log;
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
            if (i < 0 || i >= ports.length) {
                throw new IllegalArgumentException("MAC limit for port " + i + ", which does not exist");
            }
        }
        for (int i : b.allowed.keySet()) {
            if (i < 0 || i >= ports.length) {
                throw new IllegalArgumentException("port security for port " + i + ", which does not exist");
            }
        }
        this.mirror = b.mirror == null ? null : new Port(ports.length, b.mirror, null);
        for (int i : b.mirrored) {
            if (i < 0 || i >= ports.length) {
                throw new IllegalArgumentException("mirrored port " + i + " does not exist");
            }
            ports[i].mirrored = true;
        }
        this.mirrorAll = mirror != null && b.mirrored.length == 0;
        if (mirrorAll) for (Port p : ports) p.mirrored = true;
    }

    /** The ports by index, null where removed (one volatile read: the polling threads' view). */
    Port[] slots() {
        return ports;
    }

    /** A copy of the polling threads now (for their stats). */
    synchronized List<Poller> pollers() {
        return List.copyOf(pollers);
    }

    /** Starts the polling threads ({@link Switch#start()}). */
    synchronized void start() throws IOException {
        if (started) throw new IllegalStateException("switch already started");
        if (closed) throw new IllegalStateException("switch is closed");
        started = true;
        Port[] ports = java.util.Arrays.stream(this.ports).filter(Objects::nonNull).toArray(Port[]::new);
        for (Port p : ports) p.placed = true;
        List<RxQueue> queues = rxQueues(ports);
        int nThreads = Math.min(b.threads, queues.size());
        int maxPacket = 0, maxSegment = 0;
        for (Port p : ports) {
            for (Link l : p.queues) maxPacket = Math.max(maxPacket, l.maxReceiveSize());
            maxSegment = Math.max(maxSegment, p.link.mtu() + 14 + 4);
        }
        if (mirror != null) maxSegment = Math.max(maxSegment, mirror.link.mtu() + 14 + 4);
        try {
            for (int t = 0; t < nThreads; t++) {
                List<RxQueue> mine = new ArrayList<>();
                for (int i = t; i < queues.size(); i += nThreads) mine.add(queues.get(i));
                int cpu = b.cpus.length == 0 ? -1 : b.cpus[t % b.cpus.length];
                pollers.add(new Poller(sw, t, mine.toArray(RxQueue[]::new), mirror, b.batchSize, maxPacket,
                        Math.min(maxSegment, maxPacket), b.segmenter.get(), b.busyPoll.toNanos(), cpu));
            }
        } catch (IOException | RuntimeException e) {
            for (Poller p : pollers) p.free();
            pollers.clear();
            throw e;
        }
        for (Port p : ports) PortEvents.up(p);
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
    private static List<RxQueue> rxQueues(Port[] ports) {
        List<RxQueue> out = new ArrayList<>();
        for (Port p : ports) for (int q = 0; q < p.queues.length; q++) out.add(new RxQueue(p, q));
        return out;
    }

    /** How many polling threads run. */
    int pollerCount() {
        return pollers.size();
    }

    /**
     * A poller over every port that is not started: for the JMH benchmark, which drives
     * {@code forward} on its own thread. The caller frees it.
     */
    Poller unstartedPoller() throws IOException {
        int maxPacket = 0;
        for (Port p : ports) maxPacket = Math.max(maxPacket, p.link.maxReceiveSize());
        return new Poller(sw, 99, rxQueues(ports).toArray(RxQueue[]::new), mirror, b.batchSize, maxPacket, 1518 + 4,
                b.segmenter.get(), 0, -1);
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
        sw.table.forgetPort(p.index);
        PortEvents.down(p, p.downReason);
        if (!closed) log.accept("port " + p.name + " down: " + p.downReason);
    }

    /** Why a port stopped: the message, with the class for an {@link Error} or a message-less exception. */
    static String reason(Throwable cause) {
        try {
            String m = cause.getMessage();
            if (cause instanceof Error || m == null) {
                return cause.getClass().getSimpleName() + (m == null ? "" : ": " + m);
            }
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
        PortEvents.up(p);
        log.accept("port " + p.name + " up again");
    }

    /** {@link Switch#addPort(LinkDevice, PortVlan, int)}: publishes the port, then hands it to a thread. */
    int add(LinkDevice device, PortVlan vlan, int macLimit) throws IOException {
        Port p;
        try {
            Objects.requireNonNull(device, "device");
            Switch.Builder.checkLimit(macLimit);
            for (int q = 0; q < device.queueCount(); q++) Switch.checkL2(device.queue(q));
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
        PortEvents.up(p);
        log.accept("port " + p.name + " added as port " + p.index);
        return p.index;
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
        if (idx >= Switch.MAX_PORTS) {
            throw new IllegalArgumentException("the switch has " + Switch.MAX_PORTS + " ports, the most it can have");
        }
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
            Poller n = new Poller(sw, pollers.size(), rxQueues(new Port[] {p}).toArray(RxQueue[]::new), mirror,
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
    private void await(java.util.concurrent.CompletableFuture<Void> done, Poller owner, String what)
            throws IOException {
        long deadline = System.nanoTime() + PORT_CHANGE_TIMEOUT_MS * 1_000_000;
        while (true) {
            try {
                done.get(50, java.util.concurrent.TimeUnit.MILLISECONDS);
                return;
            } catch (java.util.concurrent.TimeoutException e) {
                // The thread ended (stopped, or died of an error): nobody else will run its tasks,
                // and no other thread touches its ports, so they can be run here.
                if (!owner.thread.isAlive() && owner.startNanos != 0) owner.runTasks();
                else if (System.nanoTime() > deadline) {
                    throw new IOException(owner.thread.getName() + " did not " + what + " within "
                            + PORT_CHANGE_TIMEOUT_MS + " ms");
                }
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

    /** {@link Switch#removePort(int)}. */
    void remove(int index) throws IOException {
        Port p;
        synchronized (this) {
            if (closed) throw new IllegalStateException("switch is closed");
            Port[] cur = ports;
            if (index < 0 || index >= cur.length || cur[index] == null) {
                throw new IllegalArgumentException("no port " + index);
            }
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
            sw.table.forgetPort(index);
            unpublish(p);
        }
        try {
            p.device.close();
        } catch (RuntimeException e) {
            log.accept("closing " + p.name + ": " + e);
        }
        PortEvents.down(p, "removed");
        log.accept("port " + p.name + " removed");
    }

    /** The index of the port named {@code name}, or -1. */
    int indexOf(String name) {
        Port[] cur = ports;
        for (int i = 0; i < cur.length; i++) if (cur[i] != null && cur[i].name.equals(name)) return i;
        return -1;
    }

    /** Port {@code index}, or an IllegalArgumentException if there is none. */
    Port slot(int index) {
        Port[] cur = ports;
        if (index < 0 || index >= cur.length || cur[index] == null) {
            throw new IllegalArgumentException("no port " + index);
        }
        return cur[index];
    }

    /** {@link Switch#close()}: stops the threads and closes every port and the mirror; idempotent. */
    void close() {
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
            if (wasUp) PortEvents.down(p, "switch closed");
        }
        for (Poller p : pollers) {
            if (!p.thread.isAlive()) p.free();
        }
    }
}
