package ringlink.vhostuser;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The lock between a vring's data thread and the control thread: mutual exclusion with one
 * atomic instruction per uncontended lock/unlock pair.
 *
 * <p>Why not {@link java.util.concurrent.locks.ReentrantLock}: its unlock is a volatile store
 * (a full fence on x86) plus a read of the wait queue, and the data path takes a ring's lock
 * once per receive/transmit call; in the switch loop that showed as ~7% of the polling thread.
 * Here lock is one CAS (acquire) and unlock one release store, which on x86 is a plain move.
 * That is enough for the guarantee the back-end relies on: everything the control thread did
 * under the lock (stopping a ring, swapping the memory table, before unmapping the old one) is
 * visible to the data thread's next batch, and no batch runs while the control thread holds it.
 *
 * <p>The price is in the contended path, which is rare (the control thread reconfigures a
 * ring a few times per connection): waiters spin, then yield, then park for short bounded
 * times, and unlock never wakes anyone (that would need the fence we are avoiding). A thread
 * that starts waiting while an older waiter exists first steps back for a while, and the fast
 * path is closed while anyone waits, so the busy data thread, which re-locks in a tight loop,
 * cannot starve the control thread.
 *
 * <p>Reentrant, like the lock it replaces; not interruptible; unlock by a thread that does not
 * hold it throws {@link IllegalMonitorStateException}.
 */
final class RingLock {
    private static final VarHandle STATE, WAITERS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(RingLock.class, "state", int.class);
            WAITERS = l.findVarHandle(RingLock.class, "waiters", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Longest a waiter parks at a time: it is never woken, so this bounds the hand-over delay. */
    static final long MAX_PARK_NANOS = 50_000;
    /** How long a newcomer leaves the lock to older waiters before competing itself. */
    static final long POLITE_NANOS = 4 * MAX_PARK_NANOS;

    private volatile int state;   // 0 free, 1 held
    private volatile int waiters; // threads in lockSlow
    // Written only by the holder (itself before the release store, null before it): a thread
    // reading its own reference here therefore holds the lock, whatever else it may read.
    private Thread owner;
    private int holds;

    /** Takes the lock, waiting as long as another thread holds it. */
    void lock() {
        Thread t = Thread.currentThread();
        if (waiters == 0 && STATE.compareAndSet(this, 0, 1)) {
            owner = t;
            holds = 1;
            return;
        }
        lockSlow(t);
    }

    private void lockSlow(Thread t) {
        if (owner == t) {
            holds++;
            return;
        }
        int older = (int) WAITERS.getAndAdd(this, 1);
        try {
            if (older > 0) {
                // Someone waits already (most likely the control thread behind the data thread):
                // let it have the lock first; bounded, so two waiters cannot block each other.
                long start = System.nanoTime();
                while (waiters > 1 && System.nanoTime() - start < POLITE_NANOS) Thread.yield();
            }
            for (int i = 0; ; i++) {
                if (state == 0 && STATE.compareAndSet(this, 0, 1)) {
                    owner = t;
                    holds = 1;
                    return;
                }
                if (i < 100) {
                    Thread.onSpinWait();
                } else if (i < 200) {
                    Thread.yield();
                } else {
                    LockSupport.parkNanos(this, Math.min(MAX_PARK_NANOS, 1_000L << Math.min(i - 200, 10)));
                }
            }
        } finally {
            WAITERS.getAndAdd(this, -1);
        }
    }

    /** Releases one hold of the lock. */
    void unlock() {
        if (owner != Thread.currentThread())
                throw new IllegalMonitorStateException("ring lock not held by this thread");
        if (--holds == 0) {
            owner = null;
            STATE.setRelease(this, 0);
        }
    }

    /** True if the calling thread holds the lock (for assertions and tests). */
    boolean isHeldByCurrentThread() {
        return owner == Thread.currentThread();
    }
}
