package ringlink.link;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;

/**
 * An event loop: one thread that serves many links. Each round it receives a batch from every
 * registered link and hands it to that link's {@link Handler}; when a round finds nothing, its
 * {@link IdleStrategy} decides what to do (spin, yield, park, or sleep), and sleeping means one
 * epoll wait over every link's ready descriptor plus the loop's own wake-up eventfd, after arming
 * each link's notification ({@link Link#prepareToWait()}). The switch's polling threads work the
 * same way (see docs/ARCHITECTURE.md, "Threads").
 *
 * <pre>{@code
 * try (LinkLoop loop = LinkLoop.builder().name("fwd").build()) {
 *     loop.register(in, (link, batch) -> out.transmit(batch));
 *     ...
 * }
 * }</pre>
 *
 * <h2>Threads</h2>
 * <ul>
 *   <li>The loop runs on a platform thread of its own (started by {@link Builder#build()},
 *       optionally pinned to a CPU). Handlers and tasks run on it, one at a time; they must not
 *       block for long (every other link waits), and must not keep the batch after returning.</li>
 *   <li>{@link #register}, {@link Registration#cancel()}, {@link #execute}, {@link #wakeup()} and
 *       {@link #close()} may be called from any thread, also from a handler. They never block,
 *       except {@code close()}, which waits (bounded by {@link Builder#closeTimeout}) for the loop
 *       thread to end, unless called on the loop thread.</li>
 *   <li>The loop thread blocks in epoll_wait(2) (and parks, with {@link IdleStrategy#backoff});
 *       nothing else does. That is why it is a platform thread: a virtual thread blocked in a
 *       foreign call pins its carrier thread, taking a carrier away from every other virtual
 *       thread for as long as the loop sleeps. Code on virtual threads hands work to the loop
 *       with {@link #execute} instead of waiting on links itself.</li>
 * </ul>
 *
 * <h2>Ownership</h2>
 * The loop does not own the links: {@link #close()} and {@link Registration#cancel()} stop using
 * a link, and the caller closes it (after the cancel's future completed, or after close()
 * returned). A link that fails (its receive, or its handler, throws) is unregistered and
 * reported to the {@link Builder#onFailure failure handler}; a {@link LinkClosedException} is a
 * failure like any other (the link was closed under the loop).
 *
 * <p>Nothing is allocated per packet or per round: one batch for all links (grown, once, when a
 * link with bigger packets is registered), registrations held in an array replaced only when a
 * link is added or removed.
 */
public final class LinkLoop implements Executor, AutoCloseable {
    /** Receives the packets of one link. */
    @FunctionalInterface
    public interface Handler {
        /**
         * Called on the loop thread with the packets just received from {@code link} (at least
         * one). The batch belongs to the loop: use it (transmit it, read it, change it in place)
         * and return; it is cleared and reused after this returns. A thrown exception
         * unregisters the link (see the class comment).
         */
        void onPackets(Link link, PacketBatch batch) throws IOException;
    }

    /** Told why a link was unregistered, or what a task threw. */
    @FunctionalInterface
    public interface FailureHandler {
        /** On the loop thread: {@code link} is the link that failed, or null for a task. */
        void onFailure(Link link, Throwable failure);
    }

    /** A link's place in the loop; {@link #cancel()} takes it out. */
    public static final class Registration {
        private final LinkLoop loop;
        private final Link link;
        private final Handler handler;
        private final CompletableFuture<Void> added = new CompletableFuture<>();
        private final CompletableFuture<Void> removed = new CompletableFuture<>();
        /** Our dup of the link's ready descriptor while in the epoll set (loop thread only). */
        private Fd registered;
        private boolean prepared;
        private volatile Throwable failure;

        private Registration(LinkLoop loop, Link link, Handler handler) {
            this.loop = loop;
            this.link = link;
            this.handler = handler;
        }

        /** The link. */
        public Link link() {
            return link;
        }

        /** Completes when the loop serves the link (exceptionally if it could not be added). */
        public CompletableFuture<Void> added() {
            return added;
        }

        /**
         * Stops serving the link; the future completes once the loop no longer touches it (then
         * the caller may close it). Idempotent; also after the loop closed.
         */
        public CompletableFuture<Void> cancel() {
            try {
                loop.execute(() -> loop.remove(this));
            } catch (RejectedExecutionException e) {
                // the loop is closed: it let go of every link already (or does so on its way out)
            }
            return removed;
        }

        /** Completes when the loop let go of the link: cancelled, failed, or the loop closed. */
        public CompletableFuture<Void> removed() {
            return removed;
        }

        /** Why the loop stopped serving the link, or null. */
        public Throwable failure() {
            return failure;
        }

        /** True while the loop serves the link. */
        public boolean isActive() {
            return added.isDone() && !added.isCompletedExceptionally() && !removed.isDone();
        }
    }

    /** Configures a {@link LinkLoop}. */
    public static final class Builder {
        private String name = "ringlink-loop";
        private IdleStrategy idle;
        private int cpu = -1;
        private int batchSize = 64;
        private boolean daemon = true;
        private Duration closeTimeout = Duration.ofSeconds(5);
        private Duration maxSleep = Duration.ofSeconds(1);
        private FailureHandler onFailure = (link, e) -> System.getLogger("ringlink.link.LinkLoop").log(
                System.Logger.Level.WARNING, (link == null ? "task" : link.name()) + ": " + e, e);

        private Builder() {}

        /** The thread's name (default "ringlink-loop"). */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name);
            return this;
        }

        /**
         * What the thread does when a round finds nothing (default
         * {@link IdleStrategy#adaptive adaptive(100 µs)}, the switch's default). An instance
         * serves one loop.
         */
        public Builder idleStrategy(IdleStrategy s) {
            this.idle = Objects.requireNonNull(s);
            return this;
        }

        /**
         * Pins the thread to {@code cpu} before it touches a link ({@code sched_setaffinity});
         * {@link #build()} fails if the kernel refuses.
         *
         * @throws IllegalArgumentException if {@code cpu} is not a CPU number a mask can name (0..1023)
         */
        public Builder cpu(int cpu) {
            this.cpu = CpuAffinity.checkCpu(cpu);
            return this;
        }

        /** Packets received per link per round, at most (default 64). */
        public Builder batchSize(int n) {
            if (n < 1 || n > 4096) throw new IllegalArgumentException("batch size " + n + " not in [1, 4096]");
            this.batchSize = n;
            return this;
        }

        /** Whether the thread is a daemon thread (default true: it does not keep the JVM alive). */
        public Builder daemon(boolean on) {
            this.daemon = on;
            return this;
        }

        /** How long {@link LinkLoop#close()} waits for the thread (default 5 s). */
        public Builder closeTimeout(Duration d) {
            if (d.isNegative()) throw new IllegalArgumentException("close timeout must not be negative");
            this.closeTimeout = d;
            return this;
        }

        /**
         * The longest single epoll sleep (default 1 s): after it every link is armed and polled
         * again, so a notification a buggy peer never sent costs at most this.
         *
         * @throws IllegalArgumentException if not in [1 ms, 1 h]
         */
        public Builder maxSleep(Duration d) {
            if (d.toMillis() < 1 || d.compareTo(Duration.ofHours(1)) > 0)
                    throw new IllegalArgumentException("max sleep " + d + " not in [1 ms, 1 h]");
            this.maxSleep = d;
            return this;
        }

        /** Told about failed links and tasks, on the loop thread (default: logged as a warning). */
        public Builder onFailure(FailureHandler h) {
            this.onFailure = Objects.requireNonNull(h);
            return this;
        }

        /**
         * Starts the loop thread and returns once it runs (pinned, when asked).
         *
         * @throws IOException if the epoll instance or eventfd cannot be made, or the kernel
         *     refuses the CPU pinning (no thread is then left running)
         */
        public LinkLoop build() throws IOException {
            LinkLoop l = new LinkLoop(this);
            l.thread.start();
            IOException refused;
            try {
                refused = l.started.get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                l.close();
                throw new IOException("interrupted while starting " + name, e);
            } catch (ExecutionException | TimeoutException e) {
                l.close();
                throw new IOException(name + " did not start", e);
            }
            if (refused != null) {
                l.close();
                throw refused;
            }
            return l;
        }
    }

    /** Epoll tag of the wake-up eventfd; links' tags are irrelevant (every link is polled after a wake-up). */
    private static final long WAKE_TAG = -1;

    private final String name;
    private final IdleStrategy idle;
    private final int cpu;
    private final Duration closeTimeout;
    /** The longest single epoll wait (Builder.maxSleep): a notification lost to a buggy peer costs at most this. */
    private final int maxSleepMillis;
    private final FailureHandler onFailure;
    private final Thread thread;
    private final Epoll epoll;
    private final EventFd wake;
    private PacketBatch batch;
    /** The links served, replaced (copy on write) by the loop thread only. */
    private Registration[] regs = new Registration[0];
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean pendingTasks;
    /** True while the loop thread is (about to be) asleep in epoll: only then do submitters signal. */
    private volatile boolean sleeping;
    private volatile boolean running = true;
    /** Set once the thread stopped taking tasks. */
    private volatile boolean terminated;
    private final CompletableFuture<IOException> started = new CompletableFuture<>();
    private final CompletableFuture<Void> termination = new CompletableFuture<>();

    private LinkLoop(Builder b) throws IOException {
        this.name = b.name;
        this.idle = b.idle != null ? b.idle : IdleStrategy.adaptive(Duration.ofNanos(100_000));
        this.cpu = b.cpu;
        this.closeTimeout = b.closeTimeout;
        this.maxSleepMillis = (int) b.maxSleep.toMillis();
        this.onFailure = b.onFailure;
        this.wake = EventFd.create();
        try {
            this.epoll = new Epoll(64);
            epoll.add(wake.fd(), EpollEventLayout.EPOLLIN, WAKE_TAG);
        } catch (IOException | RuntimeException e) {
            wake.close();
            throw e;
        }
        this.batch = new PacketBatch(b.batchSize, lines(1514 + 4 + PacketBatch.DEFAULT_HEADROOM));
        this.thread = Thread.ofPlatform().name(b.name).daemon(b.daemon).unstarted(this::run);
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
    }

    private static int lines(int bytes) {
        return Math.addExact(bytes, 63) & ~63;
    }

    /**
     * Serves {@code link} from the next round on: its packets go to {@code handler}. Any thread.
     * The returned registration's {@link Registration#added()} completes once the loop took it.
     *
     * @throws RejectedExecutionException if the loop is closed
     */
    public Registration register(Link link, Handler handler) {
        Registration r = new Registration(this, Objects.requireNonNull(link, "link"),
                Objects.requireNonNull(handler, "handler"));
        execute(() -> add(r));
        return r;
    }

    /**
     * Runs {@code task} on the loop thread at the top of its next round (waking it if asleep),
     * in submission order. Any thread. Tasks queued before {@link #close()} still run; a task
     * that throws is reported to the failure handler.
     *
     * @throws RejectedExecutionException if the loop is closed
     */
    @Override
    public void execute(Runnable task) {
        Objects.requireNonNull(task);
        if (!running) throw new RejectedExecutionException(name + " is closed");
        tasks.add(task);
        pendingTasks = true;
        if (terminated && tasks.remove(task)) throw new RejectedExecutionException(name + " is closed");
        // Dekker pair with the loop: it sets sleeping then reads pendingTasks; we set
        // pendingTasks then read sleeping, so a sleeping loop always gets the signal.
        if (sleeping) signal();
        LockSupport.unpark(thread); // a backoff strategy may be parked
    }

    /** Wakes the loop thread if it sleeps or parks (it then polls every link). Any thread. */
    public void wakeup() {
        signal();
        LockSupport.unpark(thread);
    }

    private void signal() {
        try {
            wake.signal();
        } catch (IOException ignored) {
            // closed: the thread is gone
        }
    }

    /** True when called on the loop thread (from a handler or task). */
    public boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /** True until {@link #close()} was called. */
    public boolean isRunning() {
        return running;
    }

    /** Completes when the loop thread has ended and freed its resources. */
    public CompletableFuture<Void> termination() {
        return termination;
    }

    /** The loop's thread name. */
    public String name() {
        return name;
    }

    /**
     * Stops the loop: the thread finishes its round, runs the tasks still queued, lets go of
     * every link (their registrations' {@link Registration#removed()} complete) and frees its
     * buffers. Waits for that at most {@link Builder#closeTimeout} (not at all when called on the
     * loop thread); does not close the links. Idempotent.
     */
    @Override
    public void close() {
        running = false;
        wakeup();
        if (inLoop() || !thread.isAlive() && termination.isDone()) return;
        if (thread.getState() == Thread.State.NEW) {
            exit();
            return;
        }
        try {
            termination.get(Math.max(1, closeTimeout.toMillis()), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // a handler that does not return: the thread frees its resources when it does
        }
    }

    private void run() {
        if (cpu >= 0) {
            try {
                CpuAffinity.pinCurrentThread(cpu);
            } catch (IOException e) {
                running = false;
                exit();
                started.complete(e);
                return;
            } catch (RuntimeException e) {
                running = false;
                exit();
                started.completeExceptionally(e);
                return;
            }
        }
        started.complete(null);
        long idleSince = 0;
        try {
            while (running) {
                if (pendingTasks) runTasks();
                int work = 0;
                boolean failed = false;
                for (Registration r : regs) {
                    if (r.removed.isDone()) continue;
                    PacketBatch b = batch;
                    b.clear();
                    try {
                        int n = r.link.receive(b);
                        if (n > 0) {
                            work += n;
                            r.handler.onPackets(r.link, b);
                        }
                    } catch (Throwable e) {
                        fail(r, e);
                        failed = true;
                    }
                }
                if (failed) compact();
                long now = System.nanoTime();
                if (work > 0) {
                    idle.busy(idleSince == 0 ? 0 : now - idleSince);
                    idleSince = 0;
                    continue;
                }
                if (pendingTasks) continue;
                if (idleSince == 0) idleSince = now;
                long sleep = idle.idle(now - idleSince);
                if (sleep > 0) {
                    sleep(sleep);
                    idleSince = 0;
                }
            }
        } catch (Throwable e) {
            report(null, e); // a bug of the loop itself (an idle strategy that threw): end cleanly
        } finally {
            running = false;
            exit();
        }
    }

    /** Arms every link, sleeps in epoll (unless a link has work already or a task came), disarms. */
    private void sleep(long nanos) {
        boolean sleep = true, failed = false;
        Registration[] rs = regs;
        for (Registration r : rs) {
            r.prepared = false;
            if (r.removed.isDone()) continue;
            try {
                if (!r.link.prepareToWait()) {
                    sleep = false;
                    break;
                }
                r.prepared = true;
            } catch (Throwable e) {
                fail(r, e);
                failed = true;
            }
        }
        sleeping = true;
        try {
            if (sleep && running && !pendingTasks) {
                long ms = Math.min(maxSleepMillis, (Math.min(nanos, Long.MAX_VALUE - 999_999) + 999_999) / 1_000_000);
                epoll.await((int) ms);
            }
        } catch (IOException e) {
            if (running) report(null, e);
        } finally {
            sleeping = false;
        }
        for (Registration r : rs) {
            if (!r.prepared) continue;
            r.prepared = false;
            try {
                r.link.finishWait();
            } catch (Throwable e) {
                fail(r, e);
                failed = true;
            }
        }
        try {
            wake.drain();
        } catch (IOException ignored) {
            // closing
        }
        if (failed) compact();
    }

    private void runTasks() {
        pendingTasks = false; // before polling: a task queued after this sets it again
        Runnable t;
        while ((t = tasks.poll()) != null) {
            try {
                t.run();
            } catch (Throwable e) {
                report(null, e);
            }
        }
    }

    /** Loop thread: starts serving {@code r}. */
    private void add(Registration r) {
        if (r.removed.isDone() || r.added.isDone()) return;
        if (terminated) { // registered just before close(): never served
            r.added.completeExceptionally(new RejectedExecutionException(name + " is closed"));
            r.removed.complete(null);
            return;
        }
        try {
            int need = lines(r.link.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM);
            if (need > batch.bufferSize()) {
                // Once per link added, never per packet: this link receives bigger packets.
                PacketBatch bigger = new PacketBatch(batch.capacity(), need);
                batch.close();
                batch = bigger;
            }
            Fd d = r.link.readyFd().dup();
            try {
                epoll.add(d, EpollEventLayout.EPOLLIN, 0);
            } catch (IOException | RuntimeException e) {
                d.close();
                throw e;
            }
            r.registered = d;
        } catch (IOException | RuntimeException e) {
            r.failure = e;
            r.added.completeExceptionally(e);
            r.removed.complete(null);
            return;
        }
        Registration[] n = Arrays.copyOf(regs, regs.length + 1);
        n[regs.length] = r;
        regs = n;
        r.added.complete(null);
    }

    /** Loop thread: stops serving {@code r} (a cancel). */
    private void remove(Registration r) {
        if (!r.added.isDone()) r.added.cancel(false); // cancelled before it was added
        unregister(r);
        compact();
    }

    /** Loop thread: {@code r}'s receive, handler, or notification threw. */
    private void fail(Registration r, Throwable e) {
        r.failure = e;
        unregister(r);
        report(r.link, e);
    }

    /**
     * Takes our dup of the link's ready descriptor out of the epoll set and closes it: a failed
     * link's descriptor may stay readable for good (a closed peer), which would never let a
     * level-triggered epoll sleep again.
     */
    private void unregister(Registration r) {
        Fd d = r.registered;
        r.registered = null;
        if (d != null) {
            try {
                epoll.remove(d);
            } catch (IOException | RuntimeException ignored) {
                // the set is closed: its entries went with it
            }
            d.close();
        }
        r.removed.complete(null);
    }

    private void compact() {
        int live = 0;
        for (Registration r : regs) if (!r.removed.isDone()) live++;
        if (live == regs.length) return;
        Registration[] n = new Registration[live];
        int k = 0;
        for (Registration r : regs) if (!r.removed.isDone()) n[k++] = r;
        regs = n;
    }

    private void report(Link link, Throwable e) {
        try {
            onFailure.onFailure(link, e);
        } catch (Throwable ignored) {
            // a failure handler that fails has nobody left to tell
        }
    }

    /** The thread's way out (or close() before it started): tasks, links, native resources. */
    private void exit() {
        terminated = true;
        runTasks(); // registrations and cancels queued before close() complete their futures
        for (Registration r : regs) unregister(r);
        regs = new Registration[0];
        runTasks();
        epoll.close();
        wake.close();
        batch.close();
        termination.complete(null);
    }

    @Override
    public String toString() {
        return "LinkLoop[" + name + (running ? "" : ", closed") + "]";
    }
}
