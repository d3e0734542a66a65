package ringlink.link;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import ringlink.packet.PacketBatch;
import ringlink.sys.Epoll;
import ringlink.sys.EpollEventLayout;
import ringlink.sys.EventFd;

/**
 * The lifecycle every {@link Link} implementation shares: open, failed (the first failure is
 * kept), closed (once); the calls in flight that close() must not pull memory from under; and
 * the wake-up descriptors that close() must not close under a sleeper.
 *
 * <h2>State and exceptions</h2>
 * {@link #check()} throws {@link LinkClosedException} ("name: closed") once closed and
 * {@link LinkFailedException} ("name: stopped earlier: reason") once failed;
 * {@link #fail(String, RuntimeException)} records the first failure (a ring the peer or kernel
 * corrupted) and returns the exception to throw, or a {@link LinkClosedException} when the
 * link was closed meanwhile (the "corruption" was close() taking the memory).
 *
 * <h2>Calls in flight</h2>
 * A link whose receive or transmit touches memory close() releases (a mapped ring, a UMEM, a
 * shared-memory queue) brackets the call with {@link #enterReceive()}/{@link #exitReceive()}
 * (or the transmit pair) and hands that memory to {@link #close(AutoCloseable...)}, which
 * releases it only after the calls in flight left. The per-call cost is one opaque store and one
 * volatile load on entry and one release store on exit: no lock, no atomic read-modify-write,
 * no allocation. Without a store→load fence on entry the caller's "busy" store may still sit in
 * its store buffer when close() looks; close() therefore first runs a JVM thread handshake (it
 * closes an empty shared {@link Arena}, which handshakes every thread, the userspace-RCU
 * {@code membarrier(2)} pattern) so that each thread's stores before its last safepoint poll are
 * visible, and only then waits for the busy flags. A thread is either past that handshake before
 * its entry (it then sees the link closed and does not enter) or its busy flag is visible. If a
 * call does not leave within {@link #IDLE_TIMEOUT_MS} (a bug: calls never block) the memory is
 * released anyway; a {@code Mapping}'s own shared arena then turns any later access into an
 * {@link IllegalStateException} instead of a fault. A close() from inside the link's own call
 * (a handler, or the link failing itself) does not wait for itself: the release then runs when
 * that call exits.
 *
 * <h2>Wake-up descriptors</h2>
 * Closes a link's wake-up descriptors ({@link Link#readyFd()} and whatever it watches) only
 * when no thread can be asleep on them. The trap it avoids: {@link Link#close()} signals an
 * eventfd to wake a sleeper, but closing that eventfd right afterwards silently removes it from
 * every epoll set it is in (the link's own and any a caller built over several links), and a
 * sleeper that had not yet collected the event never wakes. So close() only releases the
 * descriptors when nobody is waiting; otherwise the waiter releases them in {@link #endWait()}
 * (its {@code finishWait}). The two sides form a Dekker pair: the waiter writes {@code waiting}
 * and then reads {@code closed}, close() writes {@code closed} and then reads {@code waiting},
 * each with a full fence between, so at least one of them sees the other and the descriptors
 * are released exactly once, never under a sleeper.
 *
 * <h2>Use</h2>
 * {@code prepareToWait} calls {@link #beginWait()} first (false: closed, do not sleep) and
 * {@link #endWait()} if it then decides not to sleep; {@code finishWait} calls
 * {@link #endWait()}; {@code receive} calls {@link #enterReceive()} (or {@link #checkReceive()}
 * when it has no memory to protect), which on a closed link also releases the wake-up
 * descriptors left to the poller (the receiving thread is the poller, so it is not asleep);
 * {@code close()} calls {@link #close(AutoCloseable...)}, which marks the link closed, waits for
 * the calls in flight, closes what it is given in order, then signals the wake-up eventfd and
 * releases the descriptors if nobody waits. {@code isOpen()} is {@link #isOpen()} (or
 * {@link #isUsable()} for links that count a failure as not open).
 */
public final class LinkState {
    /** How long close() waits for a receive or transmit in flight on another thread to leave. */
    public static final long IDLE_TIMEOUT_MS = 5_000;

    private static final VarHandle RX, TX, CLOSED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RX = l.findVarHandle(LinkState.class, "rxThread", Thread.class);
            TX = l.findVarHandle(LinkState.class, "txThread", Thread.class);
            CLOSED = l.findVarHandle(LinkState.class, "closed", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final EventFd wake;
    private final AutoCloseable[] wakeFds;
    private final AtomicBoolean wakeReleased = new AtomicBoolean();
    private final AtomicBoolean closing = new AtomicBoolean();
    /** The thread running close() (the first one), and whether it finished. */
    private volatile Thread closer;
    private volatile boolean closeDone;
    private volatile boolean waiting;
    private volatile boolean closed;
    private volatile String failure;
    /** The thread inside receive/transmit, or null (opaque store on entry, release on exit). */
    @SuppressWarnings("unused") // through RX
    private Thread rxThread;
    @SuppressWarnings("unused") // through TX
    private Thread txThread;
    /** Memory a close() from inside a call of the closing thread left for that call's exit. */
    private volatile AutoCloseable[] deferred;

    /**
     * The state of link {@code name} (messages start with it), guarding {@code wake} (the
     * eventfd close() signals, which readyFd watches) and {@code others}; when released,
     * {@code others} are closed in order, then {@code wake} (a failing close is ignored;
     * null entries are skipped).
     */
    public LinkState(String name, EventFd wake, AutoCloseable... others) {
        this.name = name;
        this.wake = wake;
        this.wakeFds = others.clone();
    }

    /**
     * A new epoll set (the link's {@link Link#readyFd()}) watching {@code wake} (data 0), for a
     * link that adds its own descriptors to it; closes {@code wake} if it cannot be made.
     */
    public static Epoll epollOver(EventFd wake) throws IOException {
        try {
            Epoll epoll = new Epoll(4);
            epoll.add(wake.fd(), EpollEventLayout.EPOLLIN, 0);
            return epoll;
        } catch (IOException | RuntimeException e) {
            wake.close();
            throw e;
        }
    }

    // ---- state ----

    /** False once closed (a failure alone leaves it open; see {@link #isUsable()}). */
    public boolean isOpen() {
        return !closed;
    }

    /** True while neither closed nor failed. */
    public boolean isUsable() {
        return !closed && failure == null;
    }

    /** The first failure recorded ({@link #fail}), or null. */
    public String failure() {
        return failure;
    }

    /**
     * Throws {@link LinkClosedException} ("name: closed") if closed, {@link LinkFailedException}
     * ("name: stopped earlier: reason") if failed; otherwise returns.
     */
    public void check() throws LinkException {
        if (closed) throw closedException();
        String f = failure;
        if (f != null) throw new LinkFailedException(name + ": stopped earlier: " + f);
    }

    /** A new "name: closed" {@link LinkClosedException} (for the closed path only: it allocates). */
    public LinkClosedException closedException() {
        return new LinkClosedException(name + ": closed");
    }

    /**
     * Records {@code e} as the failure (the first one stays) and returns the
     * {@link LinkFailedException} "name: {@code what}{@code e.getMessage()}" to throw; if the link
     * is closed, a {@link LinkClosedException} instead (close() took the memory the call used).
     */
    public LinkException fail(String what, RuntimeException e) {
        if (closed) return closedException();
        recordFailure(e.getMessage());
        return new LinkFailedException(name + ": " + what + e.getMessage(), e);
    }

    /** Records {@code why} as the failure unless one is recorded already; true if it was the first. */
    public boolean recordFailure(String why) {
        if (failure != null) return false;
        synchronized (this) {
            if (failure != null) return false;
            failure = why == null ? "unknown" : why;
            return true;
        }
    }

    // ---- calls in flight ----

    /**
     * Receive side, for a link without memory to protect: on a closed link releases the wake-up
     * descriptors left to the poller and throws (as {@link #check()}).
     */
    public void checkReceive() throws LinkException {
        if (closed) pollerAwake(); // the receiving thread is the poller: it is not asleep now
        check();
    }

    /**
     * Enters a receive (or a receive-side wait step that touches the link's memory): close() on
     * another thread releases that memory only after {@link #exitReceive()}. Throws as
     * {@link #checkReceive()} (and is then not entered). Pair with {@code exitReceive} in a
     * {@code finally}.
     */
    public void enterReceive() throws LinkException {
        RX.setOpaque(this, Thread.currentThread());
        if (closed || failure != null) {
            RX.setRelease(this, (Thread) null);
            checkReceive();
        }
    }

    /** Leaves the receive entered by {@link #enterReceive()}. */
    public void exitReceive() {
        RX.setRelease(this, (Thread) null);
        if (deferred != null) releaseDeferred();
    }

    /** A link's receive body, run between {@link #enterReceive()} and {@link #exitReceive()}. */
    @FunctionalInterface
    public interface ReceiveBody<L> {
        /** Receives into {@code batch} on {@code link}; see {@link Link#receive}. */
        int receive(L link, PacketBatch batch) throws IOException;
    }

    /** A link's transmit body, run between {@link #enterTransmit()} and {@link #exitTransmit()}. */
    @FunctionalInterface
    public interface TransmitBody<L> {
        /** Transmits packets {@code [from, to)} of {@code batch} on {@code link}; see {@link Link#transmit}. */
        int transmit(L link, PacketBatch batch, int from, int to) throws IOException;
    }

    /**
     * {@code body} between {@link #enterReceive()} and {@link #exitReceive()}. Pass a method
     * reference that captures nothing ({@code TunLink::receiveEntered}): it is one constant, so
     * the call allocates nothing.
     */
    public <L> int receive(L link, PacketBatch batch, ReceiveBody<L> body) throws IOException {
        enterReceive();
        try {
            return body.receive(link, batch);
        } finally {
            exitReceive();
        }
    }

    /** {@code body} between {@link #enterTransmit()} and {@link #exitTransmit()}; as {@link #receive}. */
    public <L> int transmit(L link, PacketBatch batch, int from, int to, TransmitBody<L> body) throws IOException {
        enterTransmit();
        try {
            return body.transmit(link, batch, from, to);
        } finally {
            exitTransmit();
        }
    }

    /**
     * As {@link #receive}, for a link over a mapped ring: an access out of bounds or to memory
     * close() took ({@link IllegalStateException}, {@link IndexOutOfBoundsException}) fails the
     * link ({@link #fail}: a corrupt ring stops this link only; closed meanwhile, a
     * {@link LinkClosedException}).
     */
    public <L> int receiveRing(L link, PacketBatch batch, ReceiveBody<L> body) throws IOException {
        enterReceive();
        try {
            return body.receive(link, batch);
        } catch (IllegalStateException | IndexOutOfBoundsException e) {
            throw fail("", e);
        } finally {
            exitReceive();
        }
    }

    /** As {@link #transmit}, for a link over a mapped ring; see {@link #receiveRing}. */
    public <L> int transmitRing(L link, PacketBatch batch, int from, int to, TransmitBody<L> body) throws IOException {
        enterTransmit();
        try {
            return body.transmit(link, batch, from, to);
        } catch (IllegalStateException | IndexOutOfBoundsException e) {
            throw fail("", e);
        } finally {
            exitTransmit();
        }
    }

    /**
     * Enters a receive-side step that must not throw on a closed or failed link (a
     * {@code finishWait}): true if entered (then call {@link #exitReceive()}), false if the link
     * is closed or failed (nothing entered).
     */
    public boolean tryEnterReceive() {
        RX.setOpaque(this, Thread.currentThread());
        if (closed || failure != null) {
            RX.setRelease(this, (Thread) null);
            return false;
        }
        return true;
    }

    /** Enters a transmit; as {@link #enterReceive()} for the transmitting thread (no wake-up hand-off). */
    public void enterTransmit() throws LinkException {
        TX.setOpaque(this, Thread.currentThread());
        if (closed || failure != null) {
            TX.setRelease(this, (Thread) null);
            check();
        }
    }

    /** Leaves the transmit entered by {@link #enterTransmit()}. */
    public void exitTransmit() {
        TX.setRelease(this, (Thread) null);
        if (deferred != null) releaseDeferred();
    }

    /**
     * Waits until no receive or transmit is in flight on another thread (at most
     * {@link #IDLE_TIMEOUT_MS}); for a link that swaps memory while open (a reconnecting peer),
     * after it made the old memory unreachable for new calls. Returns false on timeout.
     */
    public boolean awaitIdle() {
        VarHandle.fullFence();
        globalBarrier();
        Thread me = Thread.currentThread();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(IDLE_TIMEOUT_MS);
        for (int spins = 0; ; spins++) {
            Object r = RX.getOpaque(this), t = TX.getOpaque(this);
            if ((r == null || r == me) && (t == null || t == me)) break;
            if (System.nanoTime() - deadline > 0) {
                System.getLogger("ringlink.link").log(System.Logger.Level.WARNING,
                        name + ": a call still in flight after " + IDLE_TIMEOUT_MS + " ms; releasing anyway");
                return false;
            }
            if (spins < 1000) Thread.onSpinWait();
            else Thread.yield();
        }
        VarHandle.acquireFence(); // the calls' memory accesses happen before our release
        return true;
    }

    /**
     * Makes every thread's earlier stores visible to this one: closing a shared arena runs a
     * handshake with every JVM thread (each passes a safepoint poll, or is outside Java code).
     */
    private static void globalBarrier() {
        Arena.ofShared().close();
    }

    private boolean inCallHere() {
        Thread me = Thread.currentThread();
        return RX.getOpaque(this) == me || TX.getOpaque(this) == me;
    }

    private void releaseDeferred() {
        if (inCallHere()) return; // the other side of this thread's call is still inside
        AutoCloseable[] d;
        synchronized (this) {
            d = deferred;
            deferred = null;
        }
        if (d != null) closeAll(d);
    }

    // ---- waiting ----

    /** What {@link #prepareToWait(Object, Recheck)} re-checks after arming: true if work is there already. */
    @FunctionalInterface
    public interface Recheck<L> {
        /** True if {@code link} has work now (do not sleep). */
        boolean ready(L link) throws IOException;
    }

    /**
     * A whole {@code prepareToWait} for a link with nothing to arm (the kernel makes its
     * descriptor readable): false if closed or failed; otherwise marks the waiter
     * ({@link #beginWait()}) and runs {@code ready} inside a receive (close() waits for it), and
     * returns true (sleep) only if it found nothing.
     */
    public <L> boolean prepareToWait(L link, Recheck<L> ready) throws IOException {
        if (!isUsable() || !beginWait()) return false;
        boolean sleep = false;
        try {
            enterReceive();
            try {
                sleep = !ready.ready(link);
                return sleep;
            } finally {
                exitReceive();
            }
        } finally {
            if (!sleep) endWait();
        }
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
        if (closed) releaseWakeup();
    }

    /**
     * The polling thread saw the link closed while not asleep (e.g. in {@code receive}): releases
     * the descriptors if close() left them, also when the waiter never called finishWait.
     */
    public void pollerAwake() {
        waiting = false;
        if (closed) releaseWakeup();
    }

    // ---- close ----

    /**
     * Marks the link closed without releasing anything (a link that counts a failure as closed,
     * or whose release comes later from its owner); true for the first caller.
     */
    public boolean markClosed() {
        return CLOSED.compareAndSet(this, false, true);
    }

    /**
     * Closes the link once (false if it was closed before): marks it closed, waits for the
     * receive/transmit in flight on other threads ({@link #awaitIdle()}), closes {@code memory}
     * in order (exceptions ignored; null skipped; if this thread is inside one of the link's
     * calls, when that call exits), then signals the wake-up eventfd and releases the wake-up
     * descriptors now unless a thread may be asleep on them (it then releases them itself).
     */
    public boolean close(AutoCloseable... memory) {
        if (!closing.compareAndSet(false, true)) {
            awaitClosedBy();
            return false;
        }
        closer = Thread.currentThread();
        try {
            closed = true;
            awaitIdle();
            if (inCallHere()) {
                deferred = memory.clone();
            } else {
                closeAll(memory);
            }
            closeWakeup();
        } finally {
            closeDone = true;
        }
        return true;
    }

    /**
     * A second close() returns when the first one is done (so "close() returned" always means
     * "released, or left to the call this thread is in"), unless it runs inside that close
     * (a callback of it) or inside one of the link's calls (which the first one waits for).
     */
    private void awaitClosedBy() {
        if (closer == Thread.currentThread() || inCallHere()) return;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2 * IDLE_TIMEOUT_MS);
        while (!closeDone && System.nanoTime() - deadline < 0) Thread.yield();
    }

    /**
     * Only the wake-up half of {@link #close(AutoCloseable...)} (for a link whose owner releases
     * its memory under its own locks): marks closed (before the signal, so a woken waiter's
     * {@link #endWait()} already sees it), signals the wake-up eventfd, and releases the
     * descriptors now unless a thread may be asleep on them. Idempotent.
     */
    public void closeWakeup() {
        closed = true;
        VarHandle.fullFence();
        try {
            wake.signal();
        } catch (java.io.IOException ignored) {
            // already closed: nobody can be asleep on it
        }
        VarHandle.fullFence();
        if (!waiting) releaseWakeup();
    }

    /** True once the wake-up descriptors have been closed. */
    public boolean released() {
        return wakeReleased.get();
    }

    private void releaseWakeup() {
        if (!wakeReleased.compareAndSet(false, true)) return;
        closeAll(wakeFds);
        wake.close();
    }

    private static void closeAll(AutoCloseable[] all) {
        for (AutoCloseable c : all) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception ignored) {
                // best effort: the rest still close
            }
        }
    }

    @Override
    public String toString() {
        return name + (closed ? " [closed]" : failure != null ? " [failed: " + failure + "]" : " [open]");
    }
}
