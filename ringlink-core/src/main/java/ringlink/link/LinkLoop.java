package ringlink.link;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;
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
 * link is added or removed. (The thread's machinery is the package-private {@code LoopEngine};
 * this class is the API.)
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
        // Package-private: the loop's engine (LoopEngine) reads and writes them on the loop thread.
        private final LinkLoop loop;
        final Link link;
        final Handler handler;
        final CompletableFuture<Void> added = new CompletableFuture<>();
        final CompletableFuture<Void> removed = new CompletableFuture<>();
        /** Our dup of the link's ready descriptor while in the epoll set (loop thread only). */
        Fd registered;
        boolean prepared;
        volatile Throwable failure;

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
                loop.execute(() -> loop.engine.remove(this));
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
            l.engine.thread.start();
            IOException refused;
            try {
                refused = l.engine.started.get(10, TimeUnit.SECONDS);
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

    private final String name;
    private final Duration closeTimeout;
    /** The thread, its rounds, tasks and registrations. */
    private final LoopEngine engine;

    private LinkLoop(Builder b) throws IOException {
        this.name = b.name;
        this.closeTimeout = b.closeTimeout;
        this.engine = new LoopEngine(b.name, b.idle != null ? b.idle : IdleStrategy.adaptive(Duration.ofNanos(100_000)),
                b.cpu, b.batchSize, b.daemon, (int) b.maxSleep.toMillis(), b.onFailure);
    }

    /** A new builder. */
    public static Builder builder() {
        return new Builder();
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
        execute(() -> engine.add(r));
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
        engine.execute(Objects.requireNonNull(task));
    }

    /** Wakes the loop thread if it sleeps or parks (it then polls every link). Any thread. */
    public void wakeup() {
        engine.wakeup();
    }

    /** True when called on the loop thread (from a handler or task). */
    public boolean inLoop() {
        return engine.inLoop();
    }

    /** True until {@link #close()} was called. */
    public boolean isRunning() {
        return engine.isRunning();
    }

    /** Completes when the loop thread has ended and freed its resources. */
    public CompletableFuture<Void> termination() {
        return engine.termination;
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
        engine.close(closeTimeout.toMillis());
    }

    @Override
    public String toString() {
        return "LinkLoop[" + name + (engine.isRunning() ? "" : ", closed") + "]";
    }
}
