package ringlink.link;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;

/**
 * {@link LinkLoop}, {@link IdleStrategy} and {@link Link#awaitReadable}/{@link Link#awaitWritable}
 * on in-memory pair links (the reference implementation of the notification contract). The TAP
 * side (a real kernel descriptor in a namespace) is {@code ringlink.tun.LinkLoopTapTest}.
 */
@Timeout(120)
class LinkLoopTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    }

    private PairLink[] pair(String name) throws IOException {
        PairLink[] p = PairLink.create(name, 256, 2048, Layer.L2, 1500, Offloads.NONE);
        open.add(p[0]);
        open.add(p[1]);
        return p;
    }

    private LinkLoop loop(LinkLoop.Builder b) throws IOException {
        LinkLoop l = b.build();
        open.add(l);
        return l;
    }

    private PacketBatch batch() {
        PacketBatch b = new PacketBatch(64, 2048);
        open.add(b);
        return b;
    }

    /** Sends {@code n} 60-byte frames whose first byte is {@code tag} on {@code link}. */
    private static void send(Link link, PacketBatch b, int n, int tag) throws IOException {
        int left = n;
        while (left > 0) {
            b.clear();
            int k = Math.min(left, b.capacity());
            for (int j = 0; j < k; j++) {
                int i = b.add();
                b.setLength(i, 60);
                b.memory().set(ValueLayout.JAVA_BYTE, b.dataOffset(i), (byte) tag);
            }
            int sent = 0;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (sent < k) {
                sent += link.transmit(b, sent, k);
                assertTrue(System.nanoTime() < deadline, "pair link stayed full");
                if (sent < k) Thread.onSpinWait();
            }
            left -= k;
        }
    }

    private static void await(BooleanSupplier c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for: " + what);
            Thread.sleep(1);
        }
    }

    @Test
    void servesManyLinksOnOneThreadAndHandsEachItsOwnBatches() throws Exception {
        LinkLoop loop = loop(LinkLoop.builder().name("rl-loop-many"));
        PairLink[][] pairs = {pair("m0"), pair("m1"), pair("m2")};
        AtomicLong[] got = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
        AtomicReference<String> wrong = new AtomicReference<>();
        for (int k = 0; k < 3; k++) {
            int me = k;
            loop.register(pairs[k][1], (link, batch) -> {
                if (!loop.inLoop()) wrong.set("handler off the loop thread");
                if (link != pairs[me][1]) wrong.set("handler got another link");
                for (int i = 0; i < batch.count(); i++) {
                    if (batch.memory().get(ValueLayout.JAVA_BYTE, batch.dataOffset(i)) != me)
                            wrong.set("packet of another link");
                }
                got[me].addAndGet(batch.count());
            }).added().get(10, TimeUnit.SECONDS);
        }
        PacketBatch b = batch();
        for (int round = 0; round < 5; round++) {
            for (int k = 0; k < 3; k++) send(pairs[k][0], b, 100, k);
            Thread.sleep(5); // let the loop go idle and sleep between bursts
        }
        await(() -> got[0].get() == 500 && got[1].get() == 500 && got[2].get() == 500, "500 packets on each link");
        assertNull(wrong.get());
    }

    @Test
    void awaitReadableTimesOutWakesOnPacketsAndReportsClose() throws Exception {
        PairLink[] p = pair("aw");
        PacketBatch b = batch();
        assertFalse(p[1].awaitReadable(Duration.ZERO), "nothing there: just looking says no");
        long t0 = System.nanoTime();
        assertFalse(p[1].awaitReadable(Duration.ofMillis(200)));
        long waited = System.nanoTime() - t0;
        assertTrue(waited >= 150_000_000L, "returned after " + waited / 1_000_000 + " ms, before the timeout");
        assertThrows(IllegalArgumentException.class, () -> p[1].awaitReadable(Duration.ofMillis(-1)));

        CompletableFuture<Boolean> woke = CompletableFuture.supplyAsync(() -> {
            try {
                return p[1].awaitReadable(Duration.ofSeconds(30));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(50);
        send(p[0], b, 1, 7);
        assertTrue(woke.get(20, TimeUnit.SECONDS), "woken by the packet");
        b.clear();
        assertEquals(1, p[1].receive(b));

        // a closed link wakes a waiter, which then finds the link closed
        CompletableFuture<Boolean> closing = CompletableFuture.supplyAsync(() -> {
            try {
                return p[1].awaitReadable(Duration.ofSeconds(30));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(50);
        p[1].close();
        assertTrue(closing.get(20, TimeUnit.SECONDS));
        assertTrue(p[1].awaitReadable(Duration.ofSeconds(30)), "closed: returns at once");
        b.clear();
        assertThrows(LinkClosedException.class, () -> p[1].receive(b));
    }

    @Test
    void awaitWritableOnARingLinkPausesAndSaysRetry() throws Exception {
        PairLink[] p = pair("aww");
        assertFalse(p[0].awaitWritable(Duration.ZERO));
        assertTrue(p[0].awaitWritable(Duration.ofMillis(100)));
        assertThrows(IllegalArgumentException.class, () -> p[0].awaitWritable(Duration.ofMillis(-1)));
    }

    @Test
    void awaitWritableOnAUdpSocketWithRoomReturnsAtOnce() throws Exception {
        try (Link u = Links.open("udp:127.0.0.1:0?accept=any")) {
            long t0 = System.nanoTime();
            assertTrue(u.awaitWritable(Duration.ofSeconds(10)), "an empty send buffer has room");
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
            assertTrue(u.awaitWritable(Duration.ZERO));
            u.close();
            assertTrue(u.awaitWritable(Duration.ofSeconds(10)), "closed: retry (and meet the close)");
        }
    }

    @Test
    void tasksRunOnTheLoopThreadInOrderFromAnyThread() throws Exception {
        LinkLoop loop = loop(LinkLoop.builder().name("rl-loop-tasks").idleStrategy(IdleStrategy.sleeping()));
        pair("t"); // nothing registered: the loop sleeps in epoll, tasks must wake it
        ConcurrentLinkedQueue<Integer> order = new ConcurrentLinkedQueue<>();
        AtomicInteger offLoop = new AtomicInteger();
        Thread[] submitters = new Thread[4];
        CountDownLatch done = new CountDownLatch(4 * 250);
        for (int t = 0; t < submitters.length; t++) {
            int me = t;
            submitters[t] = new Thread(() -> {
                for (int k = 0; k < 250; k++) {
                    int v = me * 1000 + k;
                    loop.execute(() -> {
                        if (!loop.inLoop()) offLoop.incrementAndGet();
                        order.add(v);
                        done.countDown();
                    });
                    if (k % 50 == 0) LockSupportSleep.ms(2); // some land while the loop sleeps
                }
            });
            submitters[t].start();
        }
        assertTrue(done.await(30, TimeUnit.SECONDS), "every task ran");
        assertEquals(0, offLoop.get());
        // each submitter's tasks in its submission order
        int[] last = {-1, -1, -1, -1};
        for (int v : order) {
            assertTrue(v % 1000 > last[v / 1000], "out of order: " + v);
            last[v / 1000] = v % 1000;
        }
        // a task that throws is reported, and the loop goes on
        AtomicReference<Throwable> reported = new AtomicReference<>();
        LinkLoop l2 = loop(LinkLoop.builder().name("rl-loop-throw").onFailure((link, e) -> reported.set(e)));
        l2.execute(() -> { throw new IllegalStateException("boom"); });
        CompletableFuture<Void> after = new CompletableFuture<>();
        l2.execute(() -> after.complete(null));
        after.get(10, TimeUnit.SECONDS);
        assertInstanceOf(IllegalStateException.class, reported.get());
    }

    /** Thread.sleep without the checked exception, for lambdas. */
    private static final class LockSupportSleep {
        static void ms(long ms) {
            java.util.concurrent.locks.LockSupport.parkNanos(ms * 1_000_000);
        }
    }

    @Test
    void wakeupEndsAnEpollSleep() throws Exception {
        AtomicInteger sleeps = new AtomicInteger();
        IdleStrategy counting = idle -> {
            sleeps.incrementAndGet();
            return IdleStrategy.SLEEP_UNTIL_WOKEN; // at most 1 s per sleep, unless woken
        };
        // re-arming only every minute: a new round within the wait below is the wake-up's doing
        LinkLoop loop =
                loop(LinkLoop.builder().name("rl-loop-wake").idleStrategy(counting).maxSleep(Duration.ofMinutes(1)));
        await(() -> sleeps.get() >= 1, "the loop went to sleep");
        Thread.sleep(100);
        int before = sleeps.get();
        loop.wakeup();
        await(() -> sleeps.get() > before, "a new round after wakeup()");
        assertThrows(IllegalArgumentException.class, () -> LinkLoop.builder().maxSleep(Duration.ZERO));
    }

    @Test
    void everyIdleStrategyDeliversPacketsThatArriveWhileIdle() throws Exception {
        IdleStrategy[] strategies = {
            IdleStrategy.busySpin(), IdleStrategy.yielding(),
            IdleStrategy.backoff(Duration.ofNanos(10_000), Duration.ofMillis(1)),
            IdleStrategy.sleeping(), IdleStrategy.spinThenSleep(Duration.ofNanos(20_000)),
            IdleStrategy.adaptive(Duration.ofNanos(100_000)),
        };
        PacketBatch b = batch();
        for (int s = 0; s < strategies.length; s++) {
            PairLink[] p = pair("is" + s);
            AtomicLong got = new AtomicLong();
            try (LinkLoop loop = LinkLoop.builder().name("rl-loop-idle" + s).idleStrategy(strategies[s]).build()) {
                loop.register(p[1], (l, batch) -> got.addAndGet(batch.count())).added().get(10, TimeUnit.SECONDS);
                for (int burst = 1; burst <= 3; burst++) {
                    Thread.sleep(30); // idle long enough to spin out, back off, or sleep
                    send(p[0], b, 10, 1);
                    long want = burst * 10L;
                    String what = "strategy " + s + " burst " + burst;
                    await(() -> got.get() == want, what);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> IdleStrategy.spinThenSleep(Duration.ofNanos(-1)));
        assertThrows(IllegalArgumentException.class, () -> IdleStrategy.backoff(Duration.ZERO, Duration.ZERO));
    }

    @Test
    void theAdaptiveBudgetGrowsWhenSpinningPaysAndShrinksToAFloor() {
        IdleStrategy.AdaptiveIdle a = new IdleStrategy.AdaptiveIdle(160_000);
        assertEquals(40_000, a.spinNanos());
        a.busy(10_000); // traffic came back within the budget
        assertEquals(81_000, a.spinNanos());
        a.busy(10_000);
        assertEquals(160_000, a.spinNanos(), "capped at the maximum");
        for (int k = 0; k < 20; k++) assertEquals(IdleStrategy.SLEEP_UNTIL_WOKEN, a.idle(a.spinNanos()));
        assertEquals(10_000, a.spinNanos(), "never below a sixteenth: it can grow again");
        a.busy(5_000);
        assertEquals(21_000, a.spinNanos());
        assertEquals(0, a.idle(0), "within the budget: spin");
    }

    @Test
    void aFailingLinkIsUnregisteredAndReportedTheOthersGoOn() throws Exception {
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        LinkLoop loop = loop(LinkLoop.builder().name("rl-loop-fail").idleStrategy(IdleStrategy.sleeping())
                .onFailure((link, e) -> failures.add(link.name() + ":" + e.getClass().getSimpleName())));
        PairLink[] closed = pair("fc"), throwing = pair("ft"), good = pair("fg");
        AtomicLong got = new AtomicLong();
        LinkLoop.Registration rc = loop.register(closed[1], (l, batch) -> { });
        LinkLoop.Registration rt = loop.register(throwing[1], (l, batch) -> { throw new IOException("handler"); });
        LinkLoop.Registration rg = loop.register(good[1], (l, batch) -> got.addAndGet(batch.count()));
        CompletableFuture.allOf(rc.added(), rt.added(), rg.added()).get(10, TimeUnit.SECONDS);
        PacketBatch b = batch();

        closed[1].close(); // under the sleeping loop: it must wake, meet LinkClosedException, let go
        rc.removed().get(10, TimeUnit.SECONDS);
        assertInstanceOf(LinkClosedException.class, rc.failure());
        send(throwing[0], b, 1, 1);
        rt.removed().get(10, TimeUnit.SECONDS);
        assertInstanceOf(IOException.class, rt.failure());
        assertFalse(rc.isActive() || rt.isActive());
        assertTrue(rg.isActive());
        send(good[0], b, 5, 1);
        await(() -> got.get() == 5, "the good link still served");
        assertTrue(failures.contains("fc[1]:LinkClosedException"), failures::toString);
        assertTrue(failures.contains("ft[1]:IOException"), failures::toString);
    }

    @Test
    void cancelStopsServingALinkBeforeItsFutureCompletes() throws Exception {
        LinkLoop loop = loop(LinkLoop.builder().name("rl-loop-cancel"));
        PairLink[] p = pair("c");
        AtomicLong got = new AtomicLong();
        LinkLoop.Registration r = loop.register(p[1], (l, batch) -> got.addAndGet(batch.count()));
        r.added().get(10, TimeUnit.SECONDS);
        PacketBatch b = batch();
        send(p[0], b, 3, 1);
        await(() -> got.get() == 3, "served");
        r.cancel().get(10, TimeUnit.SECONDS);
        assertFalse(r.isActive());
        assertNull(r.failure());
        send(p[0], b, 3, 1);
        Thread.sleep(100);
        assertEquals(3, got.get(), "a cancelled link is not received from");
        b.clear();
        assertEquals(3, p[1].receive(b), "its packets wait for whoever serves it next");
        // the caller may close it now, and register it again
        LinkLoop.Registration again = loop.register(p[1], (l, batch) -> got.addAndGet(batch.count()));
        again.added().get(10, TimeUnit.SECONDS);
        send(p[0], b, 2, 1);
        await(() -> got.get() == 5, "served again");
    }

    @Test
    void closeStopsTheThreadReleasesLinksAndRejectsNewWork() throws Exception {
        LinkLoop loop = LinkLoop.builder().name("rl-loop-close").idleStrategy(IdleStrategy.busySpin()).build();
        PairLink[] p = pair("cl");
        LinkLoop.Registration r = loop.register(p[1], (l, batch) -> { });
        r.added().get(10, TimeUnit.SECONDS);
        CompletableFuture<Long> tid = new CompletableFuture<>();
        loop.execute(() -> tid.complete(Thread.currentThread().threadId()));
        Thread t = Thread.getAllStackTraces().keySet().stream().filter(x -> x.threadId() == tid.join()).findFirst()
                .orElseThrow();
        assertFalse(t.isVirtual(), "the loop runs on a platform thread");
        long t0 = System.nanoTime();
        loop.close();
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
        assertTrue(loop.termination().isDone(), "close() waited for the thread");
        t.join(5000);
        assertFalse(t.isAlive());
        assertTrue(r.removed().isDone(), "its links were let go");
        assertFalse(loop.isRunning());
        assertThrows(RejectedExecutionException.class, () -> loop.execute(() -> { }));
        assertThrows(RejectedExecutionException.class, () -> loop.register(p[1], (l, batch) -> { }));
        r.cancel().get(1, TimeUnit.SECONDS); // harmless after close
        loop.close(); // idempotent
        loop.wakeup(); // harmless after close
        assertTrue(p[1].isOpen(), "the loop does not own its links");

        // close() from a handler: returns at once, the loop ends after that round
        LinkLoop l2 = LinkLoop.builder().name("rl-loop-close2").build();
        PairLink[] q = pair("cl2");
        l2.register(q[1], (l, batch) -> l2.close()).added().get(10, TimeUnit.SECONDS);
        send(q[0], batch(), 1, 1);
        l2.termination().get(10, TimeUnit.SECONDS);
    }

    @Test
    void closeWakesASleepingLoopPromptly() throws Exception {
        LinkLoop loop = LinkLoop.builder().name("rl-loop-close3").idleStrategy(IdleStrategy.sleeping())
                .maxSleep(Duration.ofMinutes(1)).closeTimeout(Duration.ofSeconds(30)).build();
        loop.register(pair("cl3")[1], (l, batch) -> { }).added().get(10, TimeUnit.SECONDS);
        Thread.sleep(50);
        long t0 = System.nanoTime();
        loop.close();
        assertTrue(loop.termination().isDone(), "close() returned after the thread ended");
        assertTrue(System.nanoTime() - t0 < 30_000_000_000L, "woken by close(), not the one-minute re-arm");
    }

    @Test
    void pinningToACpuWorksAndARefusedCpuFailsTheBuild() throws Exception {
        int cpu = Runtime.getRuntime().availableProcessors() - 1;
        LinkLoop loop = loop(LinkLoop.builder().name("rl-loop-pin").cpu(cpu));
        PairLink[] p = pair("pin");
        AtomicLong got = new AtomicLong();
        loop.register(p[1], (l, batch) -> got.addAndGet(batch.count())).added().get(10, TimeUnit.SECONDS);
        send(p[0], batch(), 4, 1);
        await(() -> got.get() == 4, "a pinned loop serves its links");
        IOException e = assertThrows(IOException.class,
                () -> LinkLoop.builder().name("rl-loop-nocpu").cpu(CpuAffinity.MAX_CPUS - 1).build());
        assertTrue(e.getMessage().contains("sched_setaffinity"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LinkLoop.builder().cpu(-1));
    }

    @Test
    void nothingIsAllocatedPerPacket() throws Exception {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        // Busy-spinning, so the measure is the packet path: a sleep (epoll_wait) costs the JDK's
        // downcall ~40 bytes for its errno capture segment, per wake-up and not per packet.
        LinkLoop loop = loop(LinkLoop.builder().name("rl-loop-alloc").idleStrategy(IdleStrategy.busySpin()));
        PairLink[] p = pair("al");
        AtomicLong got = new AtomicLong();
        loop.register(p[1], (l, batch) -> got.addAndGet(batch.count())).added().get(10, TimeUnit.SECONDS);
        CompletableFuture<Long> tid = new CompletableFuture<>();
        loop.execute(() -> tid.complete(Thread.currentThread().threadId()));
        long id = tid.get(10, TimeUnit.SECONDS);
        PacketBatch b = batch();
        send(p[0], b, 20_000, 1); // warm-up (JIT)
        await(() -> got.get() == 20_000, "warm-up");
        long before = threads.getThreadAllocatedBytes(id);
        for (int k = 0; k < 50; k++) send(p[0], b, 1000, 1);
        await(() -> got.get() == 70_000, "50,000 packets");
        long allocated = threads.getThreadAllocatedBytes(id) - before;
        assertTrue(allocated < 50_000, "the loop thread allocated " + allocated + " bytes for 50,000 packets");
    }
}
