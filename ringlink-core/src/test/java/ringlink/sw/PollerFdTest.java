package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.LinkCounters;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;

/**
 * A port whose link closes its readyFd by itself while a peer still holds that file (a
 * vhost-user front-end's call eventfd, a shm queue eventfd) must leave the poller's epoll set
 * when it goes down (issue #15 item 7): otherwise the entry of the closed number stays armed,
 * cannot be deleted any more, and every signal of the peer wakes the poller for nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PollerFdTest {
    /** A link whose readyFd is an eventfd a "peer" (the test) holds a second descriptor of. */
    static final class PeerFdLink implements Link {
        final EventFd ready = EventFd.create();
        final Fd peer = ready.fd().dup();
        volatile boolean closed;
        final LinkCounters counters = new LinkCounters();

        PeerFdLink() throws Exception {}

        @Override public String name() { return "rlpollfd"; }
        @Override public Layer layer() { return Layer.L2; }
        @Override public int mtu() { return 1500; }
        @Override public Offloads offloads() { return Offloads.NONE; }
        @Override public int maxReceiveSize() { return 1518; }
        @Override public int receive(PacketBatch batch) throws LinkClosedException {
            if (closed) throw new LinkClosedException("rlpollfd: the peer hung up");
            return 0;
        }
        @Override public int transmit(PacketBatch batch, int from, int to) throws LinkClosedException {
            if (closed) throw new LinkClosedException("rlpollfd: the peer hung up");
            return to - from;
        }
        @Override public Fd readyFd() { return ready.fd(); }
        @Override public LinkCounters counters() { return counters; }
        @Override public boolean isOpen() { return !closed; }
        @Override public void close() {
            closed = true;
            try {
                ready.signal(); // wakes the poller, which then finds the link closed
            } catch (Exception ignored) {
                // closed already
            }
            ready.close();
        }
    }

    private static int entries(Fd epoll) throws Exception {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/fdinfo/" + epoll.number()));
        return (int) lines.stream().filter(l -> l.startsWith("tfd:")).count();
    }

    private static String fdinfo(Fd epoll) {
        try {
            return String.join("\n", Files.readAllLines(Path.of("/proc/self/fdinfo/" + epoll.number())));
        } catch (Exception x) {
            return x.toString();
        }
    }

    @Test
    void downPortLeavesTheEpollSetEvenIfItsLinkClosedItsReadyFd() throws Exception {
        PeerFdLink hostile = new PeerFdLink();
        PairLink[] pair = PairLink.create("rlpollfd-pair");
        Switch sw = Switch.builder().port(hostile).port(pair[0]).threads(1).build();
        try (Fd peer = hostile.peer) {
            sw.start();
            Poller poller = sw.ports.pollers().get(0);
            var e = Poller.class.getDeclaredField("waits");
            e.setAccessible(true);
            Fd epfd = ((WaitSet) e.get(poller)).fd();
            assertEquals(3, entries(epfd), "stop eventfd and two ports");
            hostile.close(); // the link closes its readyFd while the peer keeps the file
            long end = System.currentTimeMillis() + 10_000;
            while (sw.isUp(0) && System.currentTimeMillis() < end) Thread.sleep(10);
            assertFalse(sw.isUp(0));
            try (Arena a = Arena.ofConfined()) {
                var one = a.allocate(8);
                one.set(ValueLayout.JAVA_LONG, 0, 1);
                peer.write(one, 8); // the peer keeps signalling
            }
            long until = System.currentTimeMillis() + 5_000;
            while (entries(epfd) != 2 && System.currentTimeMillis() < until) Thread.sleep(10);
            assertEquals(2, entries(epfd),
                    () -> "the down port's entry is still in the poller's epoll set: " + fdinfo(epfd));
            assertTrue(sw.isUp(1));
        } finally {
            sw.close();
            pair[1].close();
        }
    }
}
