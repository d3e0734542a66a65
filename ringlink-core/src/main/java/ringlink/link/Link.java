package ringlink.link;

import java.io.IOException;
import ringlink.packet.PacketBatch;
import ringlink.sys.Fd;

/**
 * A port: one queue pair of a transport (a TAP queue, an AF_XDP socket, a vhost-user device's
 * RX/TX pair, a shared-memory queue pair) through which packets move in batches.
 *
 * <h2>Threads</h2>
 * {@link #receive} is called by one thread at a time and {@link #transmit} by one thread at a
 * time (they may be two different threads). {@link #close} may be called from any thread and
 * wakes a thread waiting on {@link #readyFd()}.
 *
 * <h2>Waiting</h2>
 * Both calls are non-blocking. A thread serving one link waits with {@link #awaitReadable} (and
 * {@link #awaitWritable} after back-pressure); a thread serving many links uses a
 * {@link LinkLoop}, which busy-polls them and then sleeps in one epoll over all of them:
 * <pre>{@code
 * if (link.receive(batch) == 0) link.awaitReadable(Duration.ofMillis(100));
 * }</pre>
 * Underneath, both follow the notification contract (so that a busy link never makes a system
 * call for notification, and an idle one never spins): {@link #prepareToWait()}, sleep until
 * {@link #readyFd()} polls readable, {@link #finishWait()}.
 *
 * <p>Waiting blocks the calling thread in the kernel (poll/epoll_wait). On a virtual thread that
 * pins its carrier thread for the duration of the wait (FFM downcalls are not unmounted), so
 * wait on platform threads, or bound the waits of virtual threads to short timeouts.
 *
 * <h2>Packets and offloads</h2>
 * Packets start with an Ethernet header on {@link Layer#L2} links and with the IP header on
 * {@link Layer#L3} links. Each carries virtio-net-header metadata in the {@link PacketBatch}: a
 * link only produces the offloads in {@link #offloads()}, and its transmit accepts those in
 * {@link #transmitOffloads()} (at least the same; see {@link Offloads#accepts}); receive buffers
 * must hold {@link #maxReceiveSize()} bytes after the batch's headroom.
 */
public interface Link extends AutoCloseable {
    /** A human-readable name, e.g. the spec it was opened from ("tap:rl0"). */
    String name();

    /** Whether packets are Ethernet frames, IP packets or opaque datagram payloads; fixed for the link's life. */
    Layer layer();

    /** The MTU: the largest IP packet (L3) or Ethernet payload (L2) a non-GSO packet may carry. */
    int mtu();

    /**
     * The offloads negotiated with the peer: what {@link #receive} may produce (and, unless {@link #transmitOffloads()}
     * says more, what transmit accepts).
     */
    Offloads offloads();

    /**
     * The offloads {@link #transmit} accepts as they are: a packet whose metadata these
     * {@link Offloads#accepts accept} may be handed over whole (a superpacket, a partial
     * checksum); anything else must be fixed in software first. At least {@link #offloads()}
     * (the default); more where the peer takes on transmit what it was never asked to hand us,
     * e.g. a TUN/TAP queue with the virtio-net header: the kernel segments a superpacket written
     * to it whatever {@code TUNSETOFFLOAD} (which only governs what it hands us) agreed to.
     */
    default Offloads transmitOffloads() {
        return offloads();
    }

    /** The largest packet {@link #receive} may produce (a superpacket when offloads allow them). */
    int maxReceiveSize();

    /**
     * Appends received packets to {@code batch} until it is full or nothing more is ready, and
     * returns how many were appended (0 if none). Never blocks. Packets that are malformed are
     * counted and dropped, not returned.
     *
     * @throws LinkClosedException if the link is closed
     * @throws LinkFailedException if the peer broke the protocol (the link is now stopped)
     */
    int receive(PacketBatch batch) throws IOException;

    /**
     * Transmits packets {@code [from, to)} of {@code batch} and returns how many were taken
     * (sent, or dropped and counted as drops). Fewer than {@code to - from} means the link is
     * full right now (back-pressure): retry the rest later. Never blocks. A packet carrying an
     * offload {@link #transmitOffloads()} lacks is a caller error ({@link IllegalArgumentException}).
     */
    int transmit(PacketBatch batch, int from, int to) throws IOException;

    /** Transmits the whole batch; see {@link #transmit(PacketBatch, int, int)}. */
    default int transmit(PacketBatch batch) throws IOException {
        return transmit(batch, 0, batch.count());
    }

    /** A descriptor that polls readable (POLLIN) when {@link #receive} may have packets. */
    Fd readyFd();

    /**
     * Called before sleeping on {@link #readyFd()}: turns notifications on and re-checks for
     * packets that raced in. Returns false when there is work already (do not sleep).
     */
    default boolean prepareToWait() throws IOException {
        return true;
    }

    /** Called after waking from {@link #readyFd()}: consumes the wake-up (and may turn notifications off). */
    default void finishWait() throws IOException {
    }

    /**
     * Waits until {@link #receive} may have packets, at most {@code timeout}: arms the link's
     * notification ({@link #prepareToWait()}), sleeps on {@link #readyFd()}, and disarms it
     * ({@link #finishWait()}). Returns true when woken (packets may be ready; rarely none, a
     * spurious wake-up: receive again and wait again) or when the link is closed (the next
     * receive throws {@link LinkClosedException}); false when the timeout passed.
     * {@code Duration.ZERO} only looks.
     *
     * <p>Called by the thread that receives (it is part of the receive side: one thread at a
     * time). It blocks that thread in poll(2), and allocates nothing. On a virtual thread the
     * wait pins the carrier thread (see the class comment).
     *
     * @throws IllegalArgumentException if {@code timeout} is negative
     * @throws LinkFailedException if arming the notification found the peer broke the protocol
     */
    default boolean awaitReadable(java.time.Duration timeout) throws IOException {
        long nanos = LinkWaits.nanos(timeout);
        if (!prepareToWait()) return true;
        try {
            return LinkWaits.readable(readyFd(), nanos);
        } finally {
            finishWait();
        }
    }

    /**
     * After {@link #transmit} took fewer packets than offered (back-pressure): waits until the
     * link may take packets again, at most {@code timeout}, and returns true if the caller should
     * retry now, false when the timeout passed. Links whose kernel object reports room for more
     * (TAP/TUN, UDP: POLLOUT on their descriptor) sleep until it does or the link closes; ring
     * transports whose peer frees transmit slots without a doorbell (vhost-user, shm, memif,
     * AF_XDP, AF_PACKET) have nothing to sleep on, so the default pauses for 50 µs (at most
     * {@code timeout}) and returns true: retrying the transmit is then the test ({@code
     * Duration.ZERO} returns false at once). A closed link returns true (the next transmit throws).
     *
     * <p>Called by the thread that transmits. Blocks it (parks or polls); allocates nothing.
     *
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    default boolean awaitWritable(java.time.Duration timeout) throws IOException {
        return LinkWaits.pause(LinkWaits.nanos(timeout));
    }

    /** The link's counters. */
    LinkCounters counters();

    /**
     * False once the link is closed for good (by {@link #close} or, on some transports, by its peer); still true while
     * it is {@link #waitingForPeer() waiting for a peer}.
     */
    boolean isOpen();

    /**
     * True while the link is open but cannot move packets now and may again without being
     * reopened: "down, may come back". A vhost-user back-end link whose front-end went away, reset
     * the device or broke a ring (its connection was closed) waits for the next front-end this
     * way; {@link #receive} then returns nothing and {@link #transmit} drops.
     *
     * <p>The other states: moving packets (false, {@link #isOpen()} true) and closed for good
     * (false, {@link #isOpen()} false). A link whose peer cannot come back returns false: after a
     * {@link LinkFailedException} it stays failed (the default). A user that stopped serving a
     * link after a failure (the switch takes the port down) may take it back when this turns
     * false again while the link is still open.
     */
    default boolean waitingForPeer() {
        return false;
    }

    /** Closes the link and releases what it created. Idempotent; never throws. */
    @Override
    void close();
}
