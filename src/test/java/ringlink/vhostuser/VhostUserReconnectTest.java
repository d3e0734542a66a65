package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Reconnects: the back-end restarts while our front-end stays up (packets sent meanwhile wait in
 * the ring and arrive exactly once afterwards), and the front-end restarts while the back-end stays.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserReconnectTest {

    @Test
    void backendRestartsFrontendStaysUp() throws Exception {
        Path sock = Path.of("/tmp/rlvu-reconnect.sock");
        VhostUserBackend be1 = VhostUserBackend.listen(sock, BackendConfig.defaults());
        try (VhostUserFrontend fe = VhostUserFrontend.connectReconnecting(sock, FrontendConfig.defaults())) {
            assertTrue(be1.awaitReady(1, 5000));
            VhostUserLoopTest.exchange(fe.link(0), be1.link(0), 1000, 64);
            be1.close();
            // Back-end gone: the front-end's link stays open and queues what it is given.
            assertTrue(fe.link(0).isOpen());
            assertEquals(100, Traffic.send(fe.link(0), 100, 64, 5000));
            try (VhostUserBackend be2 = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
                long end = System.currentTimeMillis() + 10_000;
                while (fe.sessions() < 2 && System.currentTimeMillis() < end) Thread.sleep(10);
                assertEquals(2, fe.sessions(), "front-end did not reconnect");
                assertTrue(be2.awaitReady(1, 5000), () -> "rings not restarted: " + be2.lastError());
                try (Traffic.Counter rx = new Traffic.Counter(be2.link(0))) {
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
        Path sock = Path.of("/tmp/rlvu-reconnect2.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults().withPacked(true))) {
            for (int round = 0; round < 3; round++) {
                boolean packed = round == 1;
                try (VhostUserFrontend fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults().withPacked(packed))) {
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
}
