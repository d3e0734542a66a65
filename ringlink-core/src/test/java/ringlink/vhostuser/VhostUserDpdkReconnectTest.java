package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.testing.LinkTraffic;

/**
 * DPDK virtio-user in server mode (it listens, like QEMU with server=on) and our back-end in
 * client mode: the back-end is restarted twice and after each restart testpmd's txonly traffic
 * arrives again with exact counts.
 */
class VhostUserDpdkReconnectTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;

    /**
     * testpmd's virtio-user in server mode, our back-end connecting; the back-end is closed and a
     * new one connects, three times, and every round's packets arrive exactly. With packed rings
     * (testpmd's packed_vq=1) this checks the packed resume path without an inflight region:
     * DPDK's virtio-user does not use INFLIGHT_SHMFD, and it resets its packed rings on a
     * server-mode reconnect and sends a fresh base (position 0, wrap counter 1).
     */
    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void backendRestartsUnderTestpmdServer(boolean packed) throws Exception {
        VhostUserDpdkTest.requireTestpmd();
        Path sock = tmp.resolve("rlvu-dpdk-srv.sock");
        // testpmd's server-mode virtio-user waits for a back-end during start-up: ours is already
        // retrying its connect by then.
        VhostUserBackend first = VhostUserBackend.connect(sock, BackendConfig.defaults());
        try (Testpmd pmd = Testpmd.start(packed ? "rlvu-srvp" : "rlvu-srv", "net_virtio_user0,path=" + sock
                + ",queues=1,server=1,mrg_rxbuf=1" + (packed ? ",packed_vq=1" : ""), 60_000, "--forward-mode=txonly",
                        "--txpkts=64")) {
            for (int round = 0; round < 3; round++) {
                int r = round;
                try (VhostUserBackend be =
                        round == 0 ? first : VhostUserBackend.connect(sock, BackendConfig.defaults())) {
                    assertTrue(be.awaitReady(1, 20_000),
                            () -> "round " + r + ": rings not started: " + be.lastError() + "\n" + pmd.log());
                    assertEquals(packed, be.features().has(ringlink.virtio.VirtioFeature.RING_PACKED),
                            "RING_PACKED negotiated");
                    // After a reconnect testpmd may still be re-starting its port: it answered after
                    // more than 20 s once on this 2-core machine (a full CI run), so wait up to 60.
                    pmd.command("clear port stats 0", 60_000);
                    try (LinkTraffic.Counter rx = new LinkTraffic.Counter(be.link(0))) {
                        pmd.command("start", 15_000);
                        Thread.sleep(500);
                        pmd.command("stop", 15_000);
                        long sent = pmd.txPackets();
                        assertTrue(sent > 0, pmd.log());
                        rx.awaitAtLeast(sent, 10_000);
                        assertEquals(sent, rx.awaitQuiet(200, 2000), "round " + round);
                    }
                }
                assertTrue(pmd.isAlive(), "testpmd died (exit " + pmd.exitValue() + ")");
            }
        } finally {
            first.close();
        }
    }
}
