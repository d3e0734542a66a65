package ringlink.link;

import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;

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
 * {@link #endWait()}; {@code close()} signals the wake-up and then calls {@link #close()};
 * {@code receive} on a closed link calls {@link #pollerAwake()} (the receiving thread is the
 * poller, so it is not asleep).
 */
public final class WakeupGuard {
    private final AutoCloseable[] wakeFds;
    private final AtomicBoolean released = new AtomicBoolean();
    private volatile boolean waiting;
    private volatile boolean closed;

    /** Guards {@code wakeFds}, closed in this order when released (a failing close is ignored). */
    public WakeupGuard(AutoCloseable... wakeFds) {
        this.wakeFds = wakeFds.clone();
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

    /** From close(), after signalling the wake-up: releases now unless a thread may be asleep. */
    public void close() {
        closed = true;
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
    }
}
