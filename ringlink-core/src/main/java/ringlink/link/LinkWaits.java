package ringlink.link;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Fd;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.SysException;

/**
 * The blocking waits behind {@link Link#awaitReadable} and {@link Link#awaitWritable}, for the
 * interface's default methods. Nothing here allocates per call.
 */
final class LinkWaits {
    private LinkWaits() {}

    /** How long {@link #pause} parks: a ring peer polling its queue frees slots within tens of µs. */
    static final long PAUSE_NANOS = 50_000;

    /** {@code timeout} in nanoseconds, saturated at Long.MAX_VALUE. */
    static long nanos(Duration timeout) {
        if (timeout.isNegative()) throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        try {
            return timeout.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * Sleeps until {@code ready} polls readable or {@code nanos} passed; true if it did (or was
     * closed under us: the caller's next call on the link reports that).
     */
    static boolean readable(Fd ready, long nanos) throws SysException {
        try {
            return PollSet.awaitOne(ready, PollfdLayout.POLLIN, nanos) != 0;
        } catch (ClosedFdException e) {
            return true;
        }
    }

    /**
     * For links without a transmit-space notification: parks for {@link #PAUSE_NANOS} (at most
     * {@code nanos}) and returns true ("retry now"); false at once for a zero timeout.
     */
    static boolean pause(long nanos) {
        if (nanos == 0) return false;
        LockSupport.parkNanos(Math.min(nanos, PAUSE_NANOS));
        return true;
    }
}
