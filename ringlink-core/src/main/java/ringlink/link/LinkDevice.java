package ringlink.link;

import java.util.List;
import java.util.Objects;

/**
 * One network device with all its queues: each queue is a {@link Link} of its own (one receive
 * and one transmit ring, driven by one thread at a time), and together they are one port.
 *
 * <p>Multi-queue transports return all their queues here: a vhost-user back-end with
 * {@code queues=N} (one link per queue pair), a TAP device opened with {@code queues=N} (one
 * {@code IFF_MULTI_QUEUE} file descriptor per queue). Every other transport is a device of one
 * queue ({@link #of(Link)}). {@link Links#openDevice} opens one from a spec.
 *
 * <p>How a user of a device spreads the work, as the kernel and OVS do: every queue's
 * {@code receive} is polled (queues can be given to different threads); on transmit, all
 * packets of one flow go to one queue (a hash of addresses and ports), so a flow stays in order,
 * choosing only among the queues {@link #transmitEnabled} says the peer takes packets on now.
 *
 * <p>The device owns its queue links: {@link #close()} closes all of them (and the kernel
 * objects or connection behind them); closing one queue link of a multi-queue device may close
 * the whole device (vhost-user) or only that queue (TAP), as the transport says.
 */
public interface LinkDevice extends AutoCloseable {
    /** The device's name: the spec it was opened from, or its first queue's name. */
    String name();

    /** The number of queues (at least 1); fixed for the device's lifetime. */
    int queueCount();

    /** Queue {@code i} (0 ≤ i &lt; {@link #queueCount()}). */
    Link queue(int i);

    /**
     * True when the peer takes packets on queue {@code i} now. A vhost-user guest enables and
     * disables queue pairs at run time (its driver starts with one, {@code ethtool -L} changes the
     * count; a disabled queue's packets would be dropped), so a transmitter reads this per batch.
     * Cheap (volatile reads); the default is always true.
     */
    default boolean transmitEnabled(int i) {
        return true;
    }

    /** Closes every queue. Idempotent. */
    @Override
    void close();

    /** A device of the single queue {@code link}. */
    static LinkDevice of(Link link) {
        Objects.requireNonNull(link, "link");
        return new LinkDevice() {
            @Override public String name() { return link.name(); }
            @Override public int queueCount() { return 1; }
            @Override public Link queue(int i) {
                if (i != 0)
                        throw new IndexOutOfBoundsException("queue " + i + " of single-queue device " + link.name());
                return link;
            }
            @Override public void close() { link.close(); }
            @Override public String toString() { return link.toString(); }
        };
    }

    /**
     * A device of {@code queues} (at least one) named {@code name}; {@link #close()} closes each
     * queue link. For transports whose queues close independently (TAP).
     */
    static LinkDevice of(String name, List<? extends Link> queues) {
        Objects.requireNonNull(name, "name");
        List<Link> q = List.copyOf(queues);
        if (q.isEmpty()) throw new IllegalArgumentException(name + ": a device needs at least one queue");
        return new LinkDevice() {
            @Override public String name() { return name; }
            @Override public int queueCount() { return q.size(); }
            @Override public Link queue(int i) { return q.get(i); }
            @Override public void close() {
                RuntimeException first = null;
                for (Link l : q) {
                    try {
                        l.close();
                    } catch (RuntimeException e) {
                        if (first == null) first = e;
                    }
                }
                if (first != null) throw first;
            }
            @Override public String toString() { return name + " [" + q.size() + " queues]"; }
        };
    }
}
