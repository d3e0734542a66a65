package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import ringlink.virtio.VirtioFeature;
import ringlink.testing.LinkTraffic;

/**
 * Reconnects: the back-end restarts while our front-end stays up (packets sent meanwhile wait in
 * the ring and arrive exactly once afterwards; split and packed rings, the latter recovering
 * through the inflight buffer), and the front-end restarts while the back-end stays.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserReconnectTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;


    @Test
    void backendRestartsFrontendStaysUp() throws Exception {
        Path sock = tmp.resolve("rlvu-reconnect.sock");
        VhostUserBackend be1 = VhostUserBackend.listen(sock, BackendConfig.defaults());
        try (VhostUserFrontend fe = VhostUserFrontend.connectReconnecting(sock, FrontendConfig.defaults())) {
            assertTrue(be1.awaitReady(1, 5000));
            VhostUserLoopTest.exchange(fe.link(0), be1.link(0), 1000, 64);
            be1.close();
            // Back-end gone: the front-end's link stays open and queues what it is given.
            assertTrue(fe.link(0).isOpen());
            assertEquals(100, LinkTraffic.send(fe.link(0), 100, 64, 5000));
            try (VhostUserBackend be2 = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
                long end = System.currentTimeMillis() + 10_000;
                while (fe.sessions() < 2 && System.currentTimeMillis() < end) Thread.sleep(10);
                assertEquals(2, fe.sessions(), "front-end did not reconnect");
                assertTrue(be2.awaitReady(1, 5000), () -> "rings not restarted: " + be2.lastError());
                try (LinkTraffic.Counter rx = new LinkTraffic.Counter(be2.link(0))) {
                    assertEquals(100, rx.awaitAtLeast(100, 5000));
                    assertEquals(100, rx.awaitQuiet(200, 2000), "queued packets delivered exactly once");
                }
                VhostUserLoopTest.exchange(fe.link(0), be2.link(0), 1000, 64);
            }
        } finally {
            be1.close();
            Files.deleteIfExists(sock);
        }
    }

    @Test
    void frontendRestartsBackendStaysUp() throws Exception {
        Path sock = tmp.resolve("rlvu-reconnect2.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults().withPacked(true))) {
            for (int round = 0; round < 3; round++) {
                boolean packed = round == 1;
                try (VhostUserFrontend fe =
                        VhostUserFrontend.connect(sock, FrontendConfig.defaults().withPacked(packed))) {
                    assertTrue(be.awaitReady(1, 5000));
                    VhostUserLoopTest.exchange(fe.link(0), be.link(0), 500, 64);
                }
                long end = System.currentTimeMillis() + 5000;
                while (be.connected() && System.currentTimeMillis() < end) Thread.sleep(5);
            }
            assertEquals(3, be.sessions());
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    @Test
    void packedReconnectNeedsInflightTracking() {
        Path sock = tmp.resolve("rlvi-never-listened.sock");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VhostUserFrontend.connectReconnecting(sock, FrontendConfig.defaults().withPacked(true)));
        assertTrue(e.getMessage().contains("inflight"), e.getMessage());
    }

    /**
     * The back-end goes away in the middle of a stream (its receiver mid-batch, the RX ring's
     * buffers held), the front-end keeps transmitting into its ring, a new back-end takes over:
     * every packet arrives exactly once, at the first back-end or the second, and both
     * directions work afterwards. Packed rings resume from the inflight buffer's used position
     * and resubmitted chains; split rings from used.idx.
     */
    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void backendRestartsWhileTrafficFlows(boolean packed, @TempDir Path dir) throws Exception {
        Path sock = dir.resolve("rlvi-reconnect.sock");
        long total = 200_000;
        BackendConfig bc = BackendConfig.defaults().withPacked(packed);
        VhostUserBackend be1 = VhostUserBackend.listen(sock, bc);
        try (VhostUserFrontend fe = VhostUserFrontend.connectReconnecting(sock,
                FrontendConfig.defaults().withPacked(packed).withInflight(true))) {
            assertTrue(be1.awaitReady(1, 5000), () -> "not ready: " + be1.lastError());
            assertEquals(packed, be1.features().has(VirtioFeature.RING_PACKED));
            // RX traffic first: the RX ring is mid-lap (and its buffers in the inflight buffer) when the back-end goes.
            try (LinkTraffic.Counter atFrontend = new LinkTraffic.Counter(fe.link(0))) {
                assertEquals(300, LinkTraffic.send(be1.link(0), 300, 64, 5000));
                assertEquals(300, atFrontend.awaitAtLeast(300, 5000));
            }
            AtomicLong sent = new AtomicLong(-1);
            Thread sender = new Thread(() -> {
                try {
                    sent.set(LinkTraffic.send(fe.link(0), total, 64, 30_000));
                } catch (Exception e) {
                    sent.set(-2);
                }
            }, "rlvi-sender");
            sender.setDaemon(true);
            long first;
            LinkTraffic.Counter c1 = new LinkTraffic.Counter(be1.link(0));
            try {
                sender.start();
                assertTrue(c1.awaitAtLeast(2000, 10_000) >= 2000, "first back-end receives");
                be1.close(); // while the counter is receiving and the front-end sending
            } finally {
                c1.close();
            }
            first = c1.packets.get();
            assertTrue(first < total, "the stream was cut short: " + first);
            try (VhostUserBackend be2 = VhostUserBackend.listen(sock, bc)) {
                long end = System.currentTimeMillis() + 10_000;
                while (fe.sessions() < 2 && System.currentTimeMillis() < end) Thread.sleep(10);
                assertEquals(2, fe.sessions(), "front-end did not reconnect");
                assertTrue(be2.awaitReady(1, 5000), () -> "rings not restarted: " + be2.lastError());
                try (LinkTraffic.Counter c2 = new LinkTraffic.Counter(be2.link(0))) {
                    sender.join(30_000);
                    assertEquals(total, sent.get(), "front-end sent everything");
                    c2.awaitAtLeast(total - first, 10_000);
                    assertEquals(total, first + c2.awaitQuiet(300, 3000),
                            "every packet exactly once (" + first + " at the first back-end)");
                    assertNull(c2.error);
                }
                VhostUserLoopTest.exchange(fe.link(0), be2.link(0), 1000, 64);
            }
        } finally {
            be1.close();
        }
    }
}
