package ringlink.sw;

/**
 * One polling thread's load: how long it has run and how much of that it was busy (receiving and
 * forwarding, as opposed to spinning without work or asleep).
 *
 * @param name the thread's name
 * @param ports ports it receives from
 * @param busyNanos nanoseconds busy since it started
 * @param wallNanos nanoseconds since it started
 * @param alive whether the thread runs
 */
public record PollerStats(String name, int ports, long busyNanos, long wallNanos, boolean alive) {
    /** Busy share of {@code [earlier, this]} in [0, 1] (of its whole life if {@code earlier} is null). */
    public double busyRatio(PollerStats earlier) {
        long wall = wallNanos - (earlier == null ? 0 : earlier.wallNanos);
        long busy = busyNanos - (earlier == null ? 0 : earlier.busyNanos);
        return wall <= 0 ? 0 : Math.max(0, Math.min(1, (double) busy / wall));
    }
}
