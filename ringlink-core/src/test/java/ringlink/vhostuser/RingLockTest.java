package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.packet.PacketBatch;
import ringlink.testing.LinkTraffic;

/**
 * The vring lock: mutual exclusion, reentrancy, misuse, and the property the data path's tight
 * lock/unlock loop puts at risk: the control thread still gets the lock. The last test is the
 * race the lock exists for: the front-end replaces the memory table (the back-end stops and
 * restarts the rings, then unmaps the old memory) over and over while the back-end's data
 * threads move packets both ways.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RingLockTest {

    @Test
    void mutualExclusion() throws Exception {
        RingLock lock = new RingLock();
        long[] counter = new long[1]; // plain: only the lock orders the increments
        int perThread = 200_000;
        Runnable work = () -> {
            for (int i = 0; i < perThread; i++) {
                lock.lock();
                try {
                    counter[0]++;
                } finally {
                    lock.unlock();
                }
            }
        };
        Thread a = new Thread(work, "rlvu-lock-a"), b = new Thread(work, "rlvu-lock-b");
        a.start();
        b.start();
        a.join(60_000);
        b.join(60_000);
        assertFalse(a.isAlive() || b.isAlive(), "lock users did not finish");
        assertEquals(2L * perThread, counter[0]);
    }

    @Test
    void reentrantAndOwnerChecked() throws Exception {
        RingLock lock = new RingLock();
        lock.lock();
        lock.lock();
        assertTrue(lock.isHeldByCurrentThread());
        lock.unlock();
        assertTrue(lock.isHeldByCurrentThread(), "one hold left");
        AtomicReference<Throwable> other = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                lock.unlock();
            } catch (Throwable e) {
                other.set(e);
            }
        }, "rlvu-lock-intruder");
        t.start();
        t.join(10_000);
        assertInstanceOf(IllegalMonitorStateException.class, other.get(), "unlock by a non-holder");
        lock.unlock();
        assertFalse(lock.isHeldByCurrentThread());
        assertThrows(IllegalMonitorStateException.class, lock::unlock);
    }

    /** A data thread re-locking in a tight loop must not starve the control thread. */
    @Test
    void busyDataThreadDoesNotStarveControl() throws Exception {
        RingLock lock = new RingLock();
        AtomicBoolean stop = new AtomicBoolean();
        Thread data = new Thread(() -> {
            while (!stop.get()) {
                lock.lock();
                try {
                    Thread.onSpinWait(); // a short batch
                } finally {
                    lock.unlock();
                }
            }
        }, "rlvu-lock-data");
        data.start();
        try {
            long worst = 0;
            for (int i = 0; i < 200; i++) {
                long t0 = System.nanoTime();
                lock.lock();
                long waited = System.nanoTime() - t0;
                lock.unlock();
                worst = Math.max(worst, waited);
            }
            // Generous (a shared 2-core machine): what matters is that it is bounded at all.
            assertTrue(worst < TimeUnit.SECONDS.toNanos(2), "control thread waited " + worst / 1000 + " us");
        } finally {
            stop.set(true);
            data.join(10_000);
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void memoryTableReplacedUnderTraffic(boolean packed) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults().withPacked(packed))) {
            assertTrue(be.awaitReady(1, 5000), () -> "rings not started: " + be.lastError());
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> err = new AtomicReference<>();
            Thread toBackend = sender(fe.link(0), stop, err, "rlvu-race-fe");
            Thread toFrontend = sender(be.link(0), stop, err, "rlvu-race-be");
            try (LinkTraffic.Counter atBackend = new LinkTraffic.Counter(be.link(0));
                 LinkTraffic.Counter atFrontend = new LinkTraffic.Counter(fe.link(0))) {
                toBackend.start();
                toFrontend.start();
                assertTrue(atBackend.awaitAtLeast(1000, 10_000) >= 1000, "no traffic before the swaps");
                for (int i = 0; i < 200; i++) fe.sendMemTable();
                // The rings run on over the last table: packets still flow both ways.
                long rx = atBackend.packets.get(), tx = atFrontend.packets.get();
                assertTrue(atBackend.awaitAtLeast(rx + 1000, 10_000) >= rx + 1000, "front-end → back-end stopped");
                assertTrue(atFrontend.awaitAtLeast(tx + 1000, 10_000) >= tx + 1000, "back-end → front-end stopped");
                assertNull(be.lastError(), () -> "back-end failed: " + be.lastError());
                assertTrue(be.connected());
                assertNull(err.get(), () -> "sender failed: " + err.get());
                assertNull(atBackend.error, () -> "back-end receive failed: " + atBackend.error);
                assertNull(atFrontend.error, () -> "front-end receive failed: " + atFrontend.error);
            } finally {
                stop.set(true);
                toBackend.join(5000);
                toFrontend.join(5000);
            }
        }
    }

    private static Thread sender(ringlink.link.Link link, AtomicBoolean stop, AtomicReference<Throwable> err,
            String name) {
        Thread t = new Thread(() -> {
            try (PacketBatch b = new PacketBatch(32, 2048)) {
                LinkTraffic.frames(b, 32, 64);
                while (!stop.get()) {
                    if (link.transmit(b, 0, 32) < 32) Thread.onSpinWait();
                }
            } catch (Throwable e) {
                if (!stop.get()) err.compareAndSet(null, e);
            }
        }, name);
        t.setDaemon(true);
        return t;
    }
}
