package dev.ringlink.examples.taptaploop;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import ringlink.link.IdleStrategy;
import ringlink.link.Link;
import ringlink.link.LinkLoop;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;

/**
 * Forwards everything between two TAP devices, both directions, on one {@link LinkLoop} thread:
 * it busy-polls both links for a while after the last packet, then sleeps in one epoll over
 * both until either has packets.
 *
 * <pre>
 * sudo java --enable-native-access=ALL-UNNAMED -cp ringlink-core.jar:tap-tap-loop.jar \
 *     dev.ringlink.examples.taptaploop.TapTapLoop 'tap:rl0?offload=tso,uso' 'tap:rl1?offload=tso,uso'
 * </pre>
 */
public final class TapTapLoop implements AutoCloseable {
    private final Link a, b;
    private final LinkLoop loop;

    private TapTapLoop(Link a, Link b, LinkLoop loop) {
        this.a = a;
        this.b = b;
        this.loop = loop;
    }

    /**
     * Opens both links and starts forwarding. Give both the same offloads (e.g.
     * {@code offload=tso,uso}): every packet one produces, the other then accepts; a packet the
     * destination would not accept is dropped and counted (a real forwarder finishes it with
     * {@code ringlink.packet.Gso}/{@code Checksum}, as {@code ringlink.tun.LinkRelay} does).
     */
    public static TapTapLoop start(String specA, String specB) throws IOException {
        Link a = Links.open(specA);
        Link b = null;
        try {
            b = Links.open(specB);
            LinkLoop loop = LinkLoop.builder()
                    .name("tap-tap")
                    .idleStrategy(IdleStrategy.adaptive(Duration.ofNanos(50_000)))
                    .build();
            Link to = b;
            loop.register(a, (from, batch) -> forward(batch, to));
            loop.register(b, (from, batch) -> forward(batch, a));
            return new TapTapLoop(a, b, loop);
        } catch (IOException | RuntimeException e) {
            a.close();
            if (b != null) b.close();
            throw e;
        }
    }

    /** On the loop thread: sends the batch on, runs of acceptable packets in one transmit each. */
    static void forward(PacketBatch batch, Link out) throws IOException {
        int n = batch.count(), i = 0;
        while (i < n) {
            int j = i;
            while (j < n && out.offloads().accepts(batch, j)) j++;
            if (j > i) send(batch, i, j, out);
            if (j < n) out.counters().txDropped(1); // needs an offload `out` lacks
            i = j + 1;
        }
    }

    /** Transmits [from, to); after back-pressure waits for room a few times, then drops the rest. */
    private static void send(PacketBatch batch, int from, int to, Link out) throws IOException {
        for (int tries = 0; from < to; tries++) {
            from += out.transmit(batch, from, to);
            if (from < to && (tries == 8 || !out.awaitWritable(Duration.ofMillis(1)))) {
                out.counters().txDropped(to - from);
                return;
            }
        }
    }

    /** The two links' counters, one line. */
    public String stats() {
        return a.name() + " " + a.counters().snapshot() + " | " + b.name() + " " + b.counters().snapshot();
    }

    /** Stops the loop, then closes both links. */
    @Override
    public void close() {
        loop.close();
        a.close();
        b.close();
    }

    public static void main(String[] args) throws Exception {
        String specA = args.length > 0 ? args[0] : "tap:rl0?offload=tso,uso";
        String specB = args.length > 1 ? args[1] : "tap:rl1?offload=tso,uso";
        CountDownLatch done = new CountDownLatch(1);
        try (TapTapLoop fwd = start(specA, specB)) {
            Runtime.getRuntime().addShutdownHook(new Thread(done::countDown));
            System.out.println("forwarding " + specA + " <-> " + specB + " (Ctrl-C stops)");
            while (!done.await(5, java.util.concurrent.TimeUnit.SECONDS)) System.out.println(fwd.stats());
        }
    }
}
