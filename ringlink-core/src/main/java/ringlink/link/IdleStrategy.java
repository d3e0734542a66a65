package ringlink.link;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * What a polling thread ({@link LinkLoop}) does when a round over its links found no packets:
 * spin, yield, park, or sleep in epoll until a link has packets. The idea of Agrona's
 * {@code IdleStrategy}, with one addition: a strategy may ask the loop to sleep in the kernel
 * until one of its links is readable (returning a positive time from {@link #idle(long)}), which
 * is what lets an idle loop use no CPU at all.
 *
 * <p>A strategy keeps state (how long it spun, its current budget): one instance serves one loop,
 * and is called by that loop's thread only. Implementations allocate nothing per call.
 */
public interface IdleStrategy {
    /**
     * Sleep until woken (a link readable, {@link LinkLoop#wakeup()}, a task, close): the loop
     * still re-arms every {@link LinkLoop.Builder#maxSleep} (1 s), so a lost notification costs at most that.
     */
    long SLEEP_UNTIL_WOKEN = Long.MAX_VALUE;

    /**
     * A round found nothing to do. {@code idleNanos} is how long the loop has been idle (0 in the
     * first empty round after work or after a sleep). Either idles here briefly (spins, yields,
     * parks; {@link LinkLoop#wakeup()} unparks the thread) and returns 0, so the loop polls
     * again, or returns how long, at most, the loop should sleep in epoll over all its links'
     * ready descriptors ({@link #SLEEP_UNTIL_WOKEN}: until something happens).
     */
    long idle(long idleNanos);

    /**
     * A round found work after the loop had been idle for {@code idleNanos} (0 if it was not):
     * an adaptive strategy learns from it. The default does nothing.
     */
    default void busy(long idleNanos) {
    }

    /** Never sleeps: {@link Thread#onSpinWait()} between rounds. Lowest latency; a whole CPU. */
    static IdleStrategy busySpin() {
        return idle -> {
            Thread.onSpinWait();
            return 0;
        };
    }

    /** Never sleeps: {@link Thread#yield()} between rounds (gives the CPU to others that are ready). */
    static IdleStrategy yielding() {
        return idle -> {
            Thread.yield();
            return 0;
        };
    }

    /**
     * Spins for {@code spin}, then yields until {@code 2 * spin}, then parks for growing times
     * (1 µs doubling up to {@code maxPark}); never sleeps in epoll, so each park ends with a poll
     * of every link. The Agrona {@code BackoffIdleStrategy} shape.
     *
     * @throws IllegalArgumentException if a duration is negative or {@code maxPark} is zero
     */
    static IdleStrategy backoff(Duration spin, Duration maxPark) {
        long spinNanos = LinkWaits.nanos(spin), maxParkNanos = LinkWaits.nanos(maxPark);
        if (maxParkNanos == 0) throw new IllegalArgumentException("maxPark must be positive");
        return new IdleStrategy() {
            private long park = 1000;

            @Override
            public long idle(long idleNanos) {
                if (idleNanos < spinNanos) {
                    Thread.onSpinWait();
                } else if (idleNanos < 2 * spinNanos) {
                    Thread.yield();
                } else {
                    LockSupport.parkNanos(park);
                    park = Math.min(maxParkNanos, park * 2);
                }
                return 0;
            }

            @Override
            public void busy(long idleNanos) {
                park = 1000;
            }
        };
    }

    /** Sleeps in epoll as soon as a round finds nothing: no CPU when idle, a wake-up per burst. */
    static IdleStrategy sleeping() {
        return idle -> SLEEP_UNTIL_WOKEN;
    }

    /**
     * Busy-polls for {@code spin} after the last packet, then sleeps in epoll: the next packet of
     * a burst usually arrives within the spin, so the loop is not put to sleep and woken per
     * packet. What {@code LinkRelay} uses.
     *
     * @throws IllegalArgumentException if {@code spin} is negative
     */
    static IdleStrategy spinThenSleep(Duration spin) {
        long spinNanos = LinkWaits.nanos(spin);
        return idle -> {
            if (idle < spinNanos) {
                Thread.onSpinWait();
                return 0;
            }
            return SLEEP_UNTIL_WOKEN;
        };
    }

    /**
     * Busy-polls with a budget that adapts to the traffic, then sleeps in epoll (the switch's
     * polling threads use it): the budget starts at a quarter of {@code maxSpin}, doubles when
     * packets came back within it (spinning paid off), and halves after each sleep (it did not),
     * down to a floor of a sixteenth of {@code maxSpin} (at zero it could never grow again).
     * A steady stream keeps the thread awake; an idle port costs a short spin per wake-up.
     *
     * @throws IllegalArgumentException if {@code maxSpin} is negative
     */
    static IdleStrategy adaptive(Duration maxSpin) {
        return new AdaptiveIdle(LinkWaits.nanos(maxSpin));
    }

    /** {@link #adaptive}: the budget doubling and halving, in one place for the loop and the switch. */
    final class AdaptiveIdle implements IdleStrategy {
        private final long maxSpinNanos;
        private final long floorNanos;
        private long spinNanos;

        /** A budget that grows to at most {@code maxSpinNanos}. */
        public AdaptiveIdle(long maxSpinNanos) {
            if (maxSpinNanos < 0) throw new IllegalArgumentException("maxSpin must not be negative");
            this.maxSpinNanos = maxSpinNanos;
            this.spinNanos = maxSpinNanos / 4;
            this.floorNanos = maxSpinNanos / 16;
        }

        /** The current budget in nanoseconds. */
        public long spinNanos() {
            return spinNanos;
        }

        @Override
        public long idle(long idleNanos) {
            if (idleNanos < spinNanos) {
                Thread.onSpinWait();
                return 0;
            }
            spinNanos = Math.max(floorNanos, spinNanos / 2); // it ran out: spin less next time
            return SLEEP_UNTIL_WOKEN;
        }

        @Override
        public void busy(long idleNanos) {
            if (idleNanos > 0 && idleNanos < spinNanos) spinNanos = Math.min(maxSpinNanos, spinNanos * 2 + 1000);
        }
    }
}
