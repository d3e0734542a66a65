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
import ringlink.link.LinkStats;
import ringlink.testing.Env;
import ringlink.testing.LinkTraffic;

/**
 * Interop with DPDK: testpmd's virtio-user (a third-party front-end) against our back-end, and our
 * front-end against testpmd's net_vhost (a third-party back-end), split and packed rings; packet
 * counts must match exactly.
 */
class VhostUserDpdkTest {
    /** A directory of its own per test, so runs in parallel (two checkouts, two engineers) never share a socket. */
    @TempDir Path tmp;


    static void requireTestpmd() {
        Env.requireRoot();
        Env.requireProgram("dpdk-testpmd",
                "dpdk-dev (+ librte-net-vhost23, librte-net-virtio23, librte-mempool-ring23)");
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void testpmdVirtioUserToOurBackend(boolean packed) throws Exception {
        requireTestpmd();
        Path sock = tmp.resolve("rlvu-dpdk-be-" + (packed ? "p" : "s") + ".sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults());
             Testpmd pmd = Testpmd.start("rlvu-be" + (packed ? "p" : "s"),
                     "net_virtio_user0,path=" + sock + ",queues=1,packed_vq=" + (packed ? 1 : 0) + ",mrg_rxbuf=1",
                     30_000, "--forward-mode=txonly", "--txpkts=64")) {
            assertTrue(be.awaitReady(1, 20_000), () -> "virtio-user never started both rings; backend error: "
                    + be.lastError() + "\n" + pmd.log());
            assertEquals(packed, be.features().has(ringlink.virtio.VirtioFeature.RING_PACKED));
            // virtio-user asks for IN_ORDER by default (in_order=1): our receive batches then
            // reach testpmd as one used descriptor each on packed rings, checked by the exact counts.
            assertTrue(be.features().has(ringlink.virtio.VirtioFeature.IN_ORDER),
                    "IN_ORDER not negotiated: " + be.features());
            BackendLink link = be.link(0);
            try (LinkTraffic.Counter rx = new LinkTraffic.Counter(link)) {
                // testpmd → us: txonly for a moment, then exact comparison.
                pmd.command("start", 20_000);
                Thread.sleep(1000);
                pmd.command("stop", 20_000);
                long sentByPmd = pmd.txPackets();
                assertTrue(sentByPmd > 0, pmd.log());
                long got = rx.awaitAtLeast(sentByPmd, 10_000);
                rx.awaitQuiet(200, 2000);
                assertNull(rx.error, () -> "receiver failed: " + rx.error);
                assertEquals(sentByPmd, rx.packets.get(), "testpmd TX-packets vs our received");
                assertEquals(64L * got, rx.bytes.get());
            }
            // us → testpmd: rxonly, a fixed count, exact.
            pmd.command("clear port stats 0", 20_000);
            pmd.command("set fwd rxonly", 20_000);
            pmd.command("start", 20_000);
            long n = 20_000;
            long sent = LinkTraffic.send(link, n, 60, 30_000);
            LinkStats st = link.counters().snapshot();
            long delivered = sent - st.txDrops();
            Thread.sleep(300);
            pmd.command("stop", 20_000);
            assertEquals(n, sent);
            assertEquals(delivered, pmd.rxPackets(),
                    "our transmitted vs testpmd RX-packets (drops " + st.txDrops() + ")");
            assertEquals(0, st.txDrops());
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void ourFrontendToTestpmdVhostSplit() throws Exception {
        frontendToTestpmd(false);
    }

    /**
     * DPDK's packed vhost writes the buffer length into used descriptors of the TX queue
     * (device-readable only). Drivers ignore that field (virtio 1.2 §2.8.4); this test keeps
     * our packed driver from rejecting it again (it once failed the queue with USED_LEN_TOO_LONG).
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void ourFrontendToTestpmdVhostPacked() throws Exception {
        frontendToTestpmd(true);
    }

    void frontendToTestpmd(boolean packed) throws Exception {
        requireTestpmd();
        Path sock = tmp.resolve("rlvu-dpdk-fe-" + (packed ? "p" : "s") + ".sock");
        Files.deleteIfExists(sock);
        try (Testpmd pmd = Testpmd.start("rlvu-fe" + (packed ? "p" : "s"), "net_vhost0,iface=" + sock + ",queues=1",
                30_000, "--forward-mode=rxonly")) {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && System.currentTimeMillis() < end) Thread.sleep(20);
            try (VhostUserFrontend fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults().withPacked(packed))) {
                assertEquals(packed, fe.features().has(ringlink.virtio.VirtioFeature.RING_PACKED));
                assertTrue(fe.features().has(ringlink.virtio.VirtioFeature.IN_ORDER),
                        "IN_ORDER not negotiated: " + fe.features());
                FrontendLink link = fe.link(0);
                // Give testpmd's vhost a moment to see the device ready (new_device callback).
                Thread.sleep(500);
                // us → testpmd (rxonly): exact count.
                pmd.command("start", 20_000);
                long n = 20_000;
                long sent = LinkTraffic.send(link, n, 60, 30_000);
                assertEquals(n, sent);
                long got = 0;
                end = System.currentTimeMillis() + 10_000;
                while ((got = pmd.rxPackets()) < n && System.currentTimeMillis() < end) Thread.sleep(50);
                pmd.command("stop", 20_000);
                assertEquals(n, pmd.rxPackets(), "our transmitted vs testpmd RX-packets");
                assertEquals(0, link.counters().snapshot().txDrops());
                // testpmd (txonly) → us: exact count after stop.
                pmd.command("clear port stats 0", 20_000);
                try (LinkTraffic.Counter rx = new LinkTraffic.Counter(link)) {
                    pmd.command("set fwd txonly", 20_000);
                    pmd.command("set txpkts 64", 20_000);
                    pmd.command("start", 20_000);
                    Thread.sleep(1000);
                    pmd.command("stop", 20_000);
                    long pmdSent = pmd.txPackets();
                    assertTrue(pmdSent > 0, pmd.log());
                    rx.awaitAtLeast(pmdSent, 10_000);
                    rx.awaitQuiet(200, 2000);
                    assertNull(rx.error, () -> "receiver failed: " + rx.error);
                    assertEquals(pmdSent, rx.packets.get(), "testpmd TX-packets vs our received");
                }
            }
        } finally {
            Files.deleteIfExists(sock);
        }
    }
}
