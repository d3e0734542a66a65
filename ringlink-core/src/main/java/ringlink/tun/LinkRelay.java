package ringlink.tun;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.packet.Checksum;
import ringlink.packet.Framing;
import ringlink.packet.Gso;
import ringlink.packet.MalformedPacketException;
import ringlink.packet.PacketBatch;
import ringlink.sys.CpuAffinity;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.SysException;

/**
 * Moves packets from one link to another on a thread of its own, through the {@link ringlink.link.Link}
 * API only (receive a batch, fix what the destination cannot take, transmit, sleep with
 * prepareToWait/readyFd/finishWait when idle): the data path of the switch reduced to one port
 * pair. Used by the TUN tests and the TUN benchmark; two relays make a bidirectional bridge.
 *
 * <p><b>Busy-polling.</b> When a receive comes back empty the thread keeps polling the source
 * (non-blocking receives) for a short while ({@link #DEFAULT_SPIN}, or the {@code spin} given to
 * {@link #start(Link, Link, Duration)}) before it goes to sleep on {@link Link#readyFd()}. Under
 * load the next packet (the next TSO superpacket, the next ACK) usually arrives within that window,
 * so the relay is not put to sleep and woken again for every packet; the wake-up latency is what
 * a TCP flow's ACK clock feels. The price is CPU burnt for at most the spin time after the last
 * packet; {@code Duration.ZERO} sleeps at once. Closing is unaffected: the spin checks the stop
 * flag each round and a closed link's receive throws.
 *
 * <p>A packet carrying an offload the destination lacks is fixed in software first: a partial
 * checksum is completed, a superpacket is segmented ({@link Gso}). A packet that cannot be fixed
 * (its metadata lies) is counted as an error of the source link and dropped.
 */
public final class LinkRelay implements AutoCloseable {
    private final Direction dir;
    private final Thread thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean running = true;
    private final long spinNanos;
    /** CPU the thread pins itself to, or -1. */
    private final int cpu;
    /** Completed by the thread once pinned: null, or the kernel's refusal (the thread then has ended). */
    private final CompletableFuture<SysException> pinned = new CompletableFuture<>();

    /**
     * How long a relay busy-polls an idle source before sleeping, unless told otherwise. Measured
     * with bench/tun.sh (docs/parts/tun.md, "Performance work"): 30 µs lifted the relay with
     * offloads from ~0.7x to ~0.85x of veth on the 2-core test machine.
     */
    public static final Duration DEFAULT_SPIN = Duration.ofNanos(30_000);

    private LinkRelay(String name, long spinNanos, int cpu, Link from, Link to) {
        this.spinNanos = spinNanos;
        this.cpu = cpu;
        this.dir = new Direction(from, to);
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
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
     */
    public static LinkRelay start(Link from, Link to, Duration spin) {
        checkSpin(spin);
        LinkRelay r = new LinkRelay("relay " + from.name() + " -> " + to.name(), spin.toNanos(), -1, from, to);
        r.thread.start();
        return r;
    }

    /**
     * As {@link #start(Link, Link, Duration)}, with the relay thread pinned to {@code cpu}
     * ({@link CpuAffinity}) before it touches a packet, so the scheduler cannot move it onto the
     * CPU of the producer or consumer it serves; returns once the thread is pinned.
     *
     * @throws IllegalArgumentException if {@code spin} is negative or longer than a second, or
     *     {@code cpu} is not a CPU number a mask can name
     * @throws SysException if the kernel refuses the pinning (no such CPU here); no thread is left running
     */
    public static LinkRelay start(Link from, Link to, Duration spin, int cpu) throws SysException {
        checkSpin(spin);
        CpuAffinity.checkCpu(cpu);
        LinkRelay r = new LinkRelay("relay " + from.name() + " -> " + to.name() + " @cpu" + cpu, spin.toNanos(), cpu, from, to);
        r.thread.start();
        SysException refused;
        try {
            refused = r.pinned.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            r.close();
            throw new IllegalStateException("interrupted while starting " + r.thread.getName(), e);
        } catch (ExecutionException | TimeoutException e) {
            r.close();
            throw new IllegalStateException(r.thread.getName() + " did not start", e);
        }
        if (refused != null) throw refused;
        return r;
    }

    private static void checkSpin(Duration spin) {
        if (spin.isNegative() || spin.compareTo(Duration.ofSeconds(1)) > 0) {
            throw new IllegalArgumentException("spin must be in [0, 1 s], not " + spin);
        }
    }

    /** Superpackets this relay had to segment because the destination lacked the offload. */
    public long segmented() {
        return dir.segmented;
    }

    /** True while the relay thread runs (tests check that close() really stops it). */
    boolean alive() { return thread.isAlive(); }

    /** What stopped the relay abnormally, or null. */
    public Throwable failure() { return failure.get(); }

    private void loop() {
        if (cpu >= 0) {
            try {
                CpuAffinity.pinCurrentThread(cpu);
            } catch (SysException e) {
                dir.close();
                pinned.complete(e);
                return;
            } catch (RuntimeException e) {
                dir.close();
                pinned.completeExceptionally(e);
                return;
            }
        }
        pinned.complete(null);
        Link from = dir.from;
        try (PollSet wait = new PollSet(1)) {
            wait.add(from.readyFd(), PollfdLayout.POLLIN);
            long idleSince = 0;
            while (running) {
                if (dir.pump() > 0) {
                    idleSince = 0;
                    continue;
                }
                if (spinNanos > 0) {
                    long now = System.nanoTime();
                    if (idleSince == 0) idleSince = now;
                    if (now - idleSince < spinNanos) {
                        Thread.onSpinWait();
                        continue;
                    }
                }
                idleSince = 0;
                if (from.prepareToWait()) { // else closed: the next receive throws
                    try {
                        wait.poll(100);
                    } finally {
                        from.finishWait();
                    }
                }
            }
        } catch (LinkClosedException closed) {
            // normal end: one side closed
        } catch (Throwable t) {
            if (running) failure.set(t);
        } finally {
            dir.close();
        }
    }

    /** The direction's links, buffers and scratch, used only by the relay thread. */
    private final class Direction {
        final Link from;
        final Link to;
        final PacketBatch in;
        final PacketBatch fixed;
        final Gso gso = new Gso();
        final Framing framing;
        volatile long segmented;

        Direction(Link from, Link to) {
            this.from = from;
            this.to = to;
            int bufSize = Math.max(PacketBatch.SUPERPACKET_BUFFER, from.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM);
            this.in = new PacketBatch(64, bufSize);
            this.fixed = new PacketBatch(256, Math.max(to.mtu(), 1500) + 64 + PacketBatch.DEFAULT_HEADROOM);
            this.framing = from.layer() == ringlink.link.Layer.L2 ? Framing.ETHERNET : Framing.IP;
        }

        /** Receives one batch and passes it on; returns how many packets it received. */
        int pump() throws IOException {
            in.clear();
            int n = from.receive(in);
            if (n == 0) return 0;
            int start = 0;
            for (int i = 0; i < n; i++) {
                if (to.offloads().accepts(in, i)) continue;
                send(to, in, start, i);
                start = i + 1;
                try {
                    if (!in.isGso(i)) {
                        Checksum.complete(in, i);
                        send(to, in, i, i + 1);
                        continue;
                    }
                    int segs = gso.validate(in, i, framing);
                    for (int next = 0; next < segs; ) {
                        fixed.clear();
                        next = gso.segment(in, i, framing, fixed, next);
                        send(to, fixed, 0, fixed.count());
                    }
                    segmented++;
                } catch (MalformedPacketException | IllegalArgumentException e) {
                    // lying metadata, or segments larger than the destination's MTU allows
                    from.counters().error();
                }
            }
            send(to, in, start, n);
            return n;
        }

        void close() {
            in.close();
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
        try {
            thread.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
