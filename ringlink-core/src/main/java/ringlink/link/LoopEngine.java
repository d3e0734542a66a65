package ringlink.link;

import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import ringlink.link.LinkLoop.FailureHandler;
import ringlink.link.LinkLoop.Registration;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;

/**
 * The machinery behind a {@link LinkLoop}: its thread's rounds (receive from every registration,
 * hand the batch to its handler), the idle strategy and the epoll sleep over our dups of the
 * links' ready descriptors and the wake-up eventfd, the task queue and its wake-up protocol, the
 * registrations (added, cancelled, failed) and the way out. {@link LinkLoop} is the public face
 * (the API types, the builder, and calls that hand work to this); everything here but
 * {@link #execute}, {@link #wakeup} and {@link #close} runs on the loop thread.
 *
 * <p>Nothing is allocated per packet or per round: one batch for all links (grown, once, when a
 * link with bigger packets is registered), registrations held in an array replaced only when a
 * link is added or removed.
 */
final class LoopEngine {
    /** Epoll tag of the wake-up eventfd; links' tags are irrelevant (every link is polled after a wake-up). */
    private static final long WAKE_TAG = -1;

    private final String name;
    private final IdleStrategy idle;
    private final int cpu;
    /** The longest single epoll wait (Builder.maxSleep): a notification lost to a buggy peer costs at most this. */
    private final int maxSleepMillis;
    private final FailureHandler onFailure;
    final Thread thread;
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
    /** Completes once the thread runs (pinned when asked): null, or the kernel's refusal to pin it. */
    final CompletableFuture<IOException> started = new CompletableFuture<>();
    final CompletableFuture<Void> termination = new CompletableFuture<>();

    LoopEngine(String name, IdleStrategy idle, int cpu, int batchSize, boolean daemon, int maxSleepMillis,
               FailureHandler onFailure) throws IOException {
        this.name = name;
        this.idle = idle;
        this.cpu = cpu;
        this.maxSleepMillis = maxSleepMillis;
        this.onFailure = onFailure;
        this.wake = EventFd.create();
        try {
            this.epoll = new Epoll(64);
            epoll.add(wake.fd(), EpollEventLayout.EPOLLIN, WAKE_TAG);
        } catch (IOException | RuntimeException e) {
            wake.close();
            throw e;
        }
        this.batch = new PacketBatch(batchSize, lines(1514 + 4 + PacketBatch.DEFAULT_HEADROOM));
        this.thread = Thread.ofPlatform().name(name).daemon(daemon).unstarted(this::run);
    }

    private static int lines(int bytes) {
        return Math.addExact(bytes, 63) & ~63;
    }

    /** {@link LinkLoop#execute}: queue, and signal only a loop that is (about to be) asleep. */
    void execute(Runnable task) {
        if (!running) throw new RejectedExecutionException(name + " is closed");
        tasks.add(task);
        pendingTasks = true;
        if (terminated && tasks.remove(task)) throw new RejectedExecutionException(name + " is closed");
        // Dekker pair with the loop: it sets sleeping then reads pendingTasks; we set
        // pendingTasks then read sleeping, so a sleeping loop always gets the signal.
        if (sleeping) signal();
        LockSupport.unpark(thread); // a backoff strategy may be parked
    }

    /** {@link LinkLoop#wakeup}. */
    void wakeup() {
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

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    boolean isRunning() {
        return running;
    }

    /** {@link LinkLoop#close()}: waits for the thread at most {@code timeoutMillis} (not on the loop thread). */
    void close(long timeoutMillis) {
        running = false;
        wakeup();
        if (inLoop() || !thread.isAlive() && termination.isDone()) return;
        if (thread.getState() == Thread.State.NEW) {
            exit();
            return;
        }
        try {
            termination.get(Math.max(1, timeoutMillis), TimeUnit.MILLISECONDS);
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
    void add(Registration r) {
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
    void remove(Registration r) {
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
}
