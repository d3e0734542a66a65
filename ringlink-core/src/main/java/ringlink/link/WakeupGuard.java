package ringlink.link;

import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import ringlink.sys.EventFd;

/**
 * Closes a link's wake-up descriptors ({@link Link#readyFd()} and whatever it watches) only
 * when no thread can be asleep on them, for the {@link Link} implementations to share.
 *
 * <p>The trap it avoids: {@link Link#close()} signals an eventfd to wake a sleeper, but closing
 * that eventfd right afterwards silently removes it from every epoll set it is in (the link's own
 * and any a caller built over several links), and a sleeper that had not yet collected the event
 * never wakes. So close() only releases the descriptors when nobody is waiting; otherwise the
 * waiter releases them in {@link #endWait()} (its {@code finishWait}). The two sides form a
 * Dekker pair: the waiter writes {@code waiting} and then reads {@code closed}, close() writes
 * {@code closed} and then reads {@code waiting}, each with a full fence between, so at least one
 * of them sees the other and the descriptors are released exactly once, never under a sleeper.
 *
 * <p>Use: {@code prepareToWait} calls {@link #beginWait()} first (false: closed, do not sleep)
 * and {@link #endWait()} if it then decides not to sleep; {@code finishWait} calls
 * {@link #endWait()}; {@code close()} calls {@link #close()}, which marks the guard closed,
 * signals the wake-up eventfd and releases the descriptors if nobody waits;
 * {@code receive} on a closed link calls {@link #pollerAwake()} (the receiving thread is the
 * poller, so it is not asleep).
 */
public final class WakeupGuard {
    private final EventFd wake;
    private final AutoCloseable[] wakeFds;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile boolean waiting;
    private volatile boolean closed;

    /**
     * Guards {@code wake} (the eventfd close() signals, which readyFd watches) and
     * {@code others}; when released, {@code others} are closed in order, then {@code wake} (a
     * failing close is ignored).
     */
    public WakeupGuard(EventFd wake, AutoCloseable... others) {
        this.wake = wake;
        this.wakeFds = others.clone();
    }

    /** Before sleeping: returns false if the link is closed (do not sleep; the descriptors are released). */
    public boolean beginWait() {
        waiting = true;
        VarHandle.fullFence();
        if (closed) {
            endWait();
            return false;
        }
        return true;
    }

    /** After the sleep (or instead of it): releases the descriptors if close() left them to us. */
    public void endWait() {
        waiting = false;
        VarHandle.fullFence();
        if (closed) release();
    }

    /**
     * The polling thread saw the link closed while not asleep (e.g. in {@code receive}): releases
     * the descriptors if close() left them, also when the waiter never called finishWait.
     */
    public void pollerAwake() {
        waiting = false;
        if (closed) release();
    }

    /**
     * From the link's close(): marks it closed (before the signal, so a woken waiter's
     * {@link #endWait()} already sees it), signals the wake-up eventfd, and releases the
     * descriptors now unless a thread may be asleep on them. Idempotent.
     */
    public void close() {
        closed = true;
        VarHandle.fullFence();
        try {
            wake.signal();
        } catch (java.io.IOException ignored) {
            // already closed: nobody can be asleep on it
        }
        VarHandle.fullFence();
        if (!waiting) release();
    }

    /** True once the descriptors have been closed. */
    public boolean released() {
        return released.get();
    }

    private void release() {
        if (!released.compareAndSet(false, true)) return;
        for (AutoCloseable c : wakeFds) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the rest still close
            }
        }
        wake.close();
    }
}
