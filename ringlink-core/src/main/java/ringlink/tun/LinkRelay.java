package ringlink.tun;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import ringlink.link.IdleStrategy;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkLoop;
import ringlink.packet.Framing;
import ringlink.packet.MalformedPacketException;
import ringlink.packet.OffloadFallback;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;
import ringlink.sys.SysException;

/**
 * Moves packets from one link to another on a thread of its own, through the {@link ringlink.link.Link}
 * API only (receive a batch, fix what the destination cannot take, transmit): the data path of
 * the switch reduced to one port pair, run by a {@link LinkLoop} serving the one source link.
 * Used by the TUN tests and the TUN benchmark; two relays make a bidirectional bridge.
 *
 * <p><b>Busy-polling.</b> When a receive comes back empty the thread keeps polling the source
 * (non-blocking receives) for a short while ({@link #DEFAULT_SPIN}, or the {@code spin} given to
 * {@link #start(Link, Link, Duration)}: {@link IdleStrategy#spinThenSleep}) before it goes to
 * sleep on the source's {@link Link#readyFd()}. Under load the next packet (the next TSO
 * superpacket, the next ACK) usually arrives within that window, so the relay is not put to sleep
 * and woken again for every packet; the wake-up latency is what a TCP flow's ACK clock feels.
 * The price is CPU burnt for at most the spin time after the last packet; {@code Duration.ZERO}
 * sleeps at once. Closing is unaffected: {@link #close()} wakes the loop and a closed source
 * link's receive throws, which ends the relay.
 *
 * <p>A packet carrying an offload the destination lacks is fixed in software first: a partial
 * checksum is completed, a superpacket is segmented ({@link OffloadFallback}, the switch's too). A
 * packet that cannot be fixed (its metadata lies) is counted as an error of the source link and dropped.
 */
public final class LinkRelay implements AutoCloseable {
    private final Direction dir;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean running = true;
    /** The loop serving the source; set before the source is registered, so handlers see it. */
    private volatile LinkLoop loop;

    /**
     * How long a relay busy-polls an idle source before sleeping, unless told otherwise. Measured
     * with bench/tun.sh (docs/parts/tun.md, "Performance work"): 30 µs lifted the relay with
     * offloads from ~0.7x to ~0.85x of veth on the 2-core test machine.
     */
    public static final Duration DEFAULT_SPIN = Duration.ofNanos(30_000);

    private LinkRelay(Link from, Link to) {
        this.dir = new Direction(from, to);
    }

    /** Starts relaying {@code from} → {@code to}, busy-polling for {@link #DEFAULT_SPIN} before sleeping. */
    public static LinkRelay start(Link from, Link to) {
        return start(from, to, DEFAULT_SPIN);
    }

    /**
     * Starts relaying {@code from} → {@code to}; when the source runs dry the thread keeps
     * polling it for {@code spin} before it sleeps ({@code Duration.ZERO}: sleep at once).
     *
     * @throws IllegalArgumentException if {@code spin} is negative or longer than a second
     * @throws UncheckedIOException if the loop's epoll instance or eventfd cannot be made
     */
    public static LinkRelay start(Link from, Link to, Duration spin) {
        checkSpin(spin);
        try {
            return start(from, to, spin, -1, "relay " + from.name() + " -> " + to.name());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * As {@link #start(Link, Link, Duration)}, with the relay thread pinned to {@code cpu}
     * ({@link LinkLoop.Builder#cpu}) before it touches a packet, so the scheduler cannot move it
     * onto the CPU of the producer or consumer it serves; returns once the thread is pinned.
     *
     * @throws IllegalArgumentException if {@code spin} is negative or longer than a second, or
     *     {@code cpu} is not a CPU number a mask can name
     * @throws SysException if the kernel refuses the pinning (no such CPU here); no thread is left running
     */
    public static LinkRelay start(Link from, Link to, Duration spin, int cpu) throws SysException {
        checkSpin(spin);
        CpuAffinity.checkCpu(cpu);
        try {
            return start(from, to, spin, cpu, "relay " + from.name() + " -> " + to.name() + " @cpu" + cpu);
        } catch (SysException e) {
            throw e;
        } catch (IOException e) {
            throw new IllegalStateException("relay " + from.name() + " -> " + to.name() + " did not start", e);
        }
    }

    private static LinkRelay start(Link from, Link to, Duration spin, int cpu, String name) throws IOException {
        LinkRelay r = new LinkRelay(from, to);
        LinkLoop.Builder b = LinkLoop.builder()
                .name(name)
                .idleStrategy(spin.isZero() ? IdleStrategy.sleeping() : IdleStrategy.spinThenSleep(spin))
                .closeTimeout(Duration.ofSeconds(1))
                .onFailure(r::failed);
        if (cpu >= 0) b.cpu(cpu);
        LinkLoop l;
        try {
            l = b.build();
        } catch (IOException | RuntimeException e) {
            r.dir.close();
            throw e;
        }
        r.loop = l;
        // The buffers are freed by the loop thread on its way out: never under a running handler.
        l.termination().thenRun(r.dir::close);
        l.register(from, r.dir::pump);
        return r;
    }

    private static void checkSpin(Duration spin) {
        if (spin.isNegative() || spin.compareTo(Duration.ofSeconds(1)) > 0) {
            throw new IllegalArgumentException("spin must be in [0, 1 s], not " + spin);
        }
    }

    /** The loop thread: the source (or the destination, in a handler) failed or closed; the relay ends. */
    private void failed(Link link, Throwable e) {
        if (running && !(e instanceof LinkClosedException)) failure.compareAndSet(null, e);
        running = false;
        loop.close(); // on the loop thread: returns at once, the loop ends after this round
    }

    /** Superpackets this relay had to segment because the destination lacked the offload. */
    public long segmented() {
        return dir.segmented;
    }

    /** True while the relay thread runs (tests check that close() really stops it). */
    boolean alive() { return !loop.termination().isDone(); }

    /** What stopped the relay abnormally, or null. */
    public Throwable failure() { return failure.get(); }

    /** The direction's links, buffers and scratch, used only by the relay thread. */
    private final class Direction {
        final Link from;
        final Link to;
        final PacketBatch fixed;
        final OffloadFallback fallback;
        final OffloadFallback.Sink<IOException> sink;
        volatile long segmented;

        Direction(Link from, Link to) {
            this.from = from;
            this.to = to;
            this.fixed = new PacketBatch(256, Math.max(to.mtu(), 1500) + 64 + PacketBatch.DEFAULT_HEADROOM);
            this.fallback = new OffloadFallback(from.layer() == ringlink.link.Layer.L2 ? Framing.ETHERNET : Framing.IP);
            this.sink = (b, a, end) -> {
                send(to, b, a, end);
                return running;
            };
        }

        /** The loop received a batch from the source: passes it on, fixing what {@code to} cannot take. */
        void pump(Link source, PacketBatch in) throws IOException {
            int n = in.count();
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (to.transmitOffloads().accepts(in, i)) continue;
                send(to, in, start, i);
                start = i + 1;
                try {
                    if (fallback.fix(in, i, fixed, sink)) segmented++;
                } catch (MalformedPacketException | IllegalArgumentException e) {
                    // lying metadata, or segments larger than the destination's MTU allows
                    from.counters().error();
                }
            }
            send(to, in, start, n);
        }

        void close() {
            fixed.close();
        }
    }

    /** Transmits [a, b) entirely, retrying while the destination pushes back (up to 100 ms without progress). */
    private void send(Link to, PacketBatch b, int a, int end) throws IOException {
        long stuckSince = 0;
        while (a < end && running) {
            int t = to.transmit(b, a, end);
            a += t;
            if (t > 0) {
                stuckSince = 0;
            } else if (stuckSince == 0) {
                stuckSince = System.nanoTime();
            } else if (System.nanoTime() - stuckSince > 100_000_000L) {
                to.counters().txDropped(end - a); // the destination is stuck: drop the rest, as a switch would
                return;
            } else {
                Thread.onSpinWait();
            }
        }
    }

    /** Stops the thread (waits up to a second); does not close the links. */
    @Override
    public void close() {
        running = false;
        loop.close();
    }
}
