package ringlink.tun;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicReference;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.packet.Checksum;
import ringlink.packet.Framing;
import ringlink.packet.Gso;
import ringlink.packet.MalformedPacketException;
import ringlink.packet.PacketBatch;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;

/**
 * Moves packets from one link to another on a thread of its own, through the {@link ringlink.link.Link}
 * API only (receive a batch, fix what the destination cannot take, transmit, sleep with
 * prepareToWait/readyFd/finishWait when idle): the data path of the switch reduced to one port
 * pair. Used by the TUN tests and the TUN benchmark; two relays make a bidirectional bridge.
 *
 * <p>A packet carrying an offload the destination lacks is fixed in software first: a partial
 * checksum is completed, a superpacket is segmented ({@link Gso}). A packet that cannot be fixed
 * (its metadata lies) is counted as an error of the source link and dropped.
 */
public final class LinkRelay implements AutoCloseable {
    private final Link from;
    private final Link to;
    private final Thread thread;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean running = true;
    private volatile long segmented;

    private LinkRelay(Link from, Link to, String name) {
        this.from = from;
        this.to = to;
        this.thread = new Thread(this::loop, name);
        thread.setDaemon(true);
    }

    /** Starts relaying {@code from} → {@code to}. */
    public static LinkRelay start(Link from, Link to) {
        LinkRelay r = new LinkRelay(from, to, "relay " + from.name() + " -> " + to.name());
        r.thread.start();
        return r;
    }

    /** Superpackets this relay had to segment because the destination lacked the offload. */
    public long segmented() { return segmented; }

    /** What stopped the relay abnormally, or null. */
    public Throwable failure() { return failure.get(); }

    private void loop() {
        int bufSize = Math.max(PacketBatch.SUPERPACKET_BUFFER, from.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM);
        try (PacketBatch in = new PacketBatch(64, bufSize);
             PacketBatch fixed = new PacketBatch(256, Math.max(to.mtu(), 1500) + 64 + PacketBatch.DEFAULT_HEADROOM);
             PollSet wait = new PollSet(1)) {
            wait.add(from.readyFd(), PollfdLayout.POLLIN);
            Gso gso = new Gso();
            Framing framing = from.layer() == ringlink.link.Layer.L2 ? Framing.ETHERNET : Framing.IP;
            while (running) {
                in.clear();
                int n = from.receive(in);
                if (n == 0) {
                    if (from.prepareToWait()) {
                        wait.poll(100);
                        from.finishWait();
                    }
                    continue;
                }
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (to.offloads().accepts(in, i)) continue;
                    send(in, start, i);
                    start = i + 1;
                    try {
                        if (!in.isGso(i)) {
                            Checksum.complete(in, i);
                            send(in, i, i + 1);
                            continue;
                        }
                        int segs = gso.validate(in, i, framing);
                        for (int next = 0; next < segs; ) {
                            fixed.clear();
                            next = gso.segment(in, i, framing, fixed, next);
                            send(fixed, 0, fixed.count());
                        }
                        segmented++;
                    } catch (MalformedPacketException | IllegalArgumentException e) {
                        // lying metadata, or segments larger than the destination's MTU allows
                        from.counters().error();
                    }
                }
                send(in, start, n);
            }
        } catch (LinkClosedException closed) {
            // normal end: one side closed
        } catch (Throwable t) {
            if (running) failure.set(t);
        }
    }

    /** Transmits [a, b) entirely, retrying while the destination pushes back (up to 100 ms without progress). */
    private void send(PacketBatch b, int a, int end) throws IOException {
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
