package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.link.LinkClosedException;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;

/**
 * Two JVMs (this one and {@link ShmPeerMain} in a child) over one queue pair: millions of packets
 * of random sizes, multi-buffer ones included, both directions at once, every byte checked; and
 * a child that dies is noticed through its hang-up.
 */
@Timeout(180)
class ShmTwoProcessTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;

    static final long PACKETS = Long.getLong("ringlink.shm.packets", 1_000_000);
    static final int MAX_LEN = 9014;

    @Test
    void millionsOfPacketsBothWaysBetweenTwoJvms() throws Exception {
        Path sock = tmp.resolve("rlsh-twojvm.sock");
        Path log = PeerLogs.log("two-jvm-client");
        Process child = JavaPeer.start(log, "--role", "client", "--sock", sock.toString(), "--count", "" + PACKETS,
                "--expect", "" + PACKETS, "--txseed", "32", "--rxseed", "31", "--maxlen", "" + MAX_LEN);
        try (ShmLink link = (ShmLink) Links.open("shm:" + sock + "?role=server&mtu=9000&timeout=60000")) {
            Traffic.Result r = Traffic.exchange(link, PACKETS, PACKETS, 31, 32, MAX_LEN, 150_000);
            assertEquals(PACKETS, r.received());
            Traffic.assertPeerDone(link, child, log, "OK role=client", PACKETS);
            var s = link.counters().snapshot();
            assertEquals(PACKETS, s.rxPackets());
            assertEquals(PACKETS, s.txPackets());
            assertEquals(0, s.rxDrops());
        } finally {
            child.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }

    @Test
    void aPeerThatDiesIsDetectedAndReported() throws Exception {
        Path sock = tmp.resolve("rlsh-dies.sock");
        Path log = PeerLogs.log("dying-client");
        Process child = JavaPeer.start(log, "--role", "client", "--sock", sock.toString(), "--hang");
        try (ShmLink link = (ShmLink) Links.open("shm:" + sock + "?role=server&timeout=60000")) {
            CountDownLatch reported = new CountDownLatch(1);
            AtomicReference<String> why = new AtomicReference<>();
            link.onPeerClosed(w -> {
                why.set(w);
                reported.countDown();
            });
            // Once the child posted its RX buffers we can send to it while it lives.
            try (PacketBatch b = new PacketBatch(4, 2048)) {
                b.setLength(b.add(), 100);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (link.transmit(b) == 0) {
                    assertTrue(System.nanoTime() < deadline, "the child never posted buffers");
                    Thread.sleep(5);
                }
            }
            assertTrue(link.isOpen());
            child.destroyForcibly();
            assertTrue(reported.await(20, TimeUnit.SECONDS), "peer death not reported");
            assertTrue(why.get().contains("peer hung up"), why.get());
            assertFalse(link.isOpen());
            try (PacketBatch b = new PacketBatch(4, 2048)) {
                var e = assertThrows(LinkClosedException.class, () -> link.receive(b));
                assertTrue(e.getMessage().contains("peer hung up"), e.getMessage());
            }
            assertTrue(link.awaitReleased(10, TimeUnit.SECONDS), "memory not released after the peer died");
        } finally {
            child.destroyForcibly();
            Files.deleteIfExists(sock);
        }
    }
}
