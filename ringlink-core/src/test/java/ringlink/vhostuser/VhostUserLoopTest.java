package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import ringlink.link.Link;
import ringlink.packet.PacketBatch;
import ringlink.virtio.VirtioFeature;
import ringlink.testing.LinkTraffic;

/** Our front-end against our back-end, over a socketpair and over a path, split and packed. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserLoopTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;


    static void exchange(Link fe, Link be, long n, int size) throws Exception {
        try (LinkTraffic.Counter atBackend = new LinkTraffic.Counter(be)) {
            assertEquals(n, LinkTraffic.send(fe, n, size, 20_000));
            assertEquals(n, atBackend.awaitAtLeast(n, 10_000), "front-end → back-end");
            assertEquals(n, atBackend.awaitQuiet(100, 1000));
            assertEquals((long) size * n, atBackend.bytes.get());
            assertNull(atBackend.error);
        }
        try (LinkTraffic.Counter atFrontend = new LinkTraffic.Counter(fe)) {
            assertEquals(n, LinkTraffic.send(be, n, size, 20_000));
            assertEquals(n, atFrontend.awaitAtLeast(n, 10_000), "back-end → front-end");
            assertEquals(n, atFrontend.awaitQuiet(100, 1000));
            assertEquals((long) size * n, atFrontend.bytes.get());
            assertNull(atFrontend.error);
        }
        assertEquals(0, be.counters().snapshot().txDrops());
        assertEquals(0, fe.counters().snapshot().txDrops());
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void socketpair(boolean packed) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults().withPacked(packed))) {
            assertTrue(be.awaitReady(1, 5000), () -> "rings not started: " + be.lastError());
            assertEquals(packed, be.features().has(VirtioFeature.RING_PACKED));
            exchange(fe.link(0), be.link(0), 50_000, 64);
            exchange(fe.link(0), be.link(0), 5_000, 1500);
        }
    }

    @Test
    void mergeableBuffersSpanSeveralChains() throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults())) {
            assertTrue(be.awaitReady(1, 5000));
            assertTrue(fe.features().has(VirtioFeature.NET_MRG_RXBUF));
            try (LinkTraffic.Counter atFrontend = new LinkTraffic.Counter(fe.link(0))) {
                // 5000 bytes + header need three 2 KiB receive buffers each.
                long sent = LinkTraffic.send(be.link(0), 1000, 5000, 5_000);
                assertEquals(1000, sent,
                        () -> "fe " + fe.link(0).counters().snapshot() + " be " + be.link(0).counters().snapshot()
                        + " rx error " + atFrontend.error + " got " + atFrontend.packets);
                assertEquals(1000, atFrontend.awaitAtLeast(1000, 10_000));
                assertEquals(5000L * 1000, atFrontend.bytes.get());
            }
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void overAPathWithReconnect(boolean packed) throws Exception {
        Path sock = tmp.resolve("rlvu-loop-" + (packed ? "p" : "s") + ".sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
            for (int round = 0; round < 2; round++) {
                try (VhostUserFrontend fe =
                        VhostUserFrontend.connect(sock, FrontendConfig.defaults().withPacked(packed))) {
                    assertTrue(be.awaitReady(1, 5000), () -> "rings not started: " + be.lastError());
                    exchange(fe.link(0), be.link(0), 10_000, 64);
                }
                // The front-end left: the back-end's link stays open and waits for the next one.
                long end = System.currentTimeMillis() + 5000;
                while (be.connected() && System.currentTimeMillis() < end) Thread.sleep(5);
                assertFalse(be.connected());
                assertTrue(be.link(0).isOpen());
                try (PacketBatch b = new PacketBatch(4, 2048)) {
                    assertEquals(0, be.link(0).receive(b));
                }
            }
            assertEquals(2, be.sessions());
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
