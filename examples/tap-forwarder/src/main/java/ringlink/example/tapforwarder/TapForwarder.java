package ringlink.example.tapforwarder;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;

/**
 * Forwards every frame between two links (both ways) on one thread, using only the exported
 * API of module {@code ringlink.core}.
 *
 * <p>Usage: {@code TapForwarder SPEC_A SPEC_B [SECONDS]}, e.g. {@code tap:rl0 tap:rl1 60} (root:
 * it creates the TAP devices). Without SECONDS it runs until killed. Run on the module path:
 * <pre>
 * java --enable-native-access=ringlink.core \
 *      --module-path ringlink-core-VERSION.jar:tap-forwarder.jar \
 *      -m ringlink.example.tapforwarder/ringlink.example.tapforwarder.TapForwarder tap:rl0 tap:rl1
 * </pre>
 *
 * <p>Waiting: this polls both links and, after a while with nothing to do, parks for 100 µs; a
 * placeholder until the public event loop ({@code LinkLoop}, issue #17) waits on the links'
 * readiness instead. Both specs get the same options, so every offload one side produces the
 * other accepts.
 */
public final class TapForwarder {
    private static final int BATCH = 64;
    /** Idle polls before parking: a short busy-poll keeps latency low under load. */
    private static final int SPINS_BEFORE_PARK = 1_000;

    private TapForwarder() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: TapForwarder SPEC_A SPEC_B [SECONDS]   (e.g. tap:rl0 tap:rl1 60)");
            System.exit(2);
        }
        long deadline = args.length == 3
                ? System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[2])).toNanos() : Long.MAX_VALUE;
        try (Link a = Links.open(args[0]);
             Link b = Links.open(args[1]);
             PacketBatch ab = new PacketBatch(BATCH, a.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM);
             PacketBatch ba = new PacketBatch(BATCH, b.maxReceiveSize() + PacketBatch.DEFAULT_HEADROOM)) {
            System.out.println("forwarding " + a.name() + " <-> " + b.name());
            System.out.flush();
            int idle = 0;
            while (a.isOpen() && b.isOpen() && System.nanoTime() - deadline < 0) {
                int moved = forward(a, b, ab) + forward(b, a, ba);
                if (moved > 0) {
                    idle = 0;
                } else if (++idle < SPINS_BEFORE_PARK) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(100_000);
                }
            }
            System.out.println(a.name() + " " + a.counters().snapshot());
            System.out.println(b.name() + " " + b.counters().snapshot());
        }
    }

    /** Moves what {@code in} has now to {@code out}; returns the number of packets received. */
    private static int forward(Link in, Link out, PacketBatch batch) throws java.io.IOException {
        batch.clear();
        int n = in.receive(batch);                 // never blocks
        int sent = 0;
        while (sent < n && out.isOpen()) {         // fewer taken = back-pressure: retry the rest
            int t = out.transmit(batch, sent, n);
            sent += t;
            if (t == 0) Thread.onSpinWait();
        }
        return n;
    }
}
