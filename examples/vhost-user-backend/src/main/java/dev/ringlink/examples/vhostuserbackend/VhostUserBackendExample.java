package dev.ringlink.examples.vhostuserbackend;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import ringlink.link.IdleStrategy;
import ringlink.link.Link;
import ringlink.link.LinkLoop;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;

/**
 * A vhost-user back-end (the virtio-net device of a QEMU guest) bridged to a TAP device on the
 * host: the guest's eth0 and the host's {@code rlvu0} are then two ends of one wire. Both
 * directions run on one {@link LinkLoop} thread.
 *
 * <p>The back-end listens on the socket ({@code mode=server}); QEMU connects to it, and may go
 * away and come back (a guest reboot, a new QEMU): the link waits for the next front-end
 * ({@link Link#waitingForPeer()}), receiving nothing and dropping what it is given meanwhile.
 *
 * <pre>
 * sudo java --enable-native-access=ALL-UNNAMED -cp ringlink-core.jar:vhost-user-backend.jar \
 *     dev.ringlink.examples.vhostuserbackend.VhostUserBackendExample /tmp/ringlink-vhu.sock rlvu0
 * </pre>
 * The QEMU command line that connects to it is in this example's README.
 */
public final class VhostUserBackendExample {
    private VhostUserBackendExample() {}

    /** Transmits the batch on {@code out}; what a full queue does not take is dropped and counted. */
    static void forward(PacketBatch batch, Link out) throws IOException {
        int n = batch.count(), i = 0;
        while (i < n) {
            int j = i;
            while (j < n && out.offloads().accepts(batch, j)) j++;
            if (j > i) {
                int sent = out.transmit(batch, i, j);
                if (sent < j - i) out.counters().txDropped(j - i - sent);
            }
            if (j < n) out.counters().txDropped(1); // an offload `out` lacks: both sides offer the same ones
            i = j + 1;
        }
    }

    public static void main(String[] args) throws Exception {
        String socket = args.length > 0 ? args[0] : "/tmp/ringlink-vhu.sock";
        String tap = args.length > 1 ? args[1] : "rlvu0";
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(done::countDown));
        // The same offloads on both sides, so every packet one produces the other accepts.
        try (Link guest = Links.open("vhost-user:" + socket + "?role=backend&mode=server&offload=csum,tso");
             Link host = Links.open("tap:" + tap + "?offload=csum,tso&addr=10.99.0.1/24");
             LinkLoop loop = LinkLoop.builder().name("vhost-user-backend")
                     .idleStrategy(IdleStrategy.adaptive(Duration.ofNanos(100_000)))
                     .build()) {
            loop.register(guest, (from, batch) -> forward(batch, host));
            loop.register(host, (from, batch) -> forward(batch, guest));
            System.out.println("vhost-user back-end on " + socket + " <-> " + tap + " (Ctrl-C stops)");
            while (!done.await(5, TimeUnit.SECONDS)) {
                System.out.println((guest.waitingForPeer() ? "waiting for QEMU; " : "") + "guest "
                        + guest.counters().snapshot()
                        + " | host " + host.counters().snapshot());
            }
        }
    }
}
