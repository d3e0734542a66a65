package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import ringlink.link.LinkStats;
import ringlink.testing.Env;
import ringlink.vhostuser.Testpmd;
import ringlink.testing.LinkTraffic;

/**
 * Interop with DPDK's {@code net_memif} driven through testpmd: we are the server and testpmd
 * the client (zero-copy off and on: with it on, testpmd's descriptors point into its own
 * hugepage memory, regions 1 and up), and the reverse; one and two queue pairs; packet counts
 * must match exactly both ways. Frames of 1400 bytes over 1024-byte buffers make both sides
 * chain descriptors.
 */
class MemifDpdkTest {
    @TempDir Path tmp;

    static void requireTestpmd() {
        Env.requireRoot();
        Env.requireProgram("dpdk-testpmd", "dpdk-dev (+ librte-net-memif23, librte-mempool-ring23)");
    }

    @ParameterizedTest(name = "zero-copy={0} queues={1}")
    @CsvSource({"no,1", "yes,1", "no,2"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void weAreServerTestpmdIsClient(String zc, int queues) throws Exception {
        requireTestpmd();
        Path sock = tmp.resolve("rlmif-s.sock");
        try (MemifInterface mif = MemifInterface.open(MemifConfig.defaults(sock.toString()).withServer(true)
                .withQueuePairs(queues).withAllowUnsealed(zc.equals("yes")));
             Testpmd pmd = Testpmd.start("rlmifs" + zc + queues,
                     "net_memif0,role=client,id=0,socket=" + sock + ",socket-abstract=no,zero-copy=" + zc
                             + ",bsize=1024",
                     30_000, "--forward-mode=txonly", "--txpkts=1400", "--txq=" + queues, "--rxq=" + queues)) {
            pmd.command("start", 20_000);
            assertTrue(mif.awaitConnected(20, TimeUnit.SECONDS),
                    () -> "not connected: " + mif.lastError() + "\n" + pmd.log());
            assertEquals(queues, mif.activePairs());
            // 1400-byte frames over testpmd's 1024-byte buffers: testpmd chains two descriptors
            // per frame toward us (without zero-copy), and we chain into its posted buffers.
            exchange(mif, pmd, queues, 1400);
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    @ParameterizedTest(name = "queues={0} zero-copy={1}")
    @CsvSource({"1,no", "2,no", "1,yes"})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void weAreClientTestpmdIsServer(int queues, String zc) throws Exception {
        requireTestpmd();
        Path sock = tmp.resolve("rlmif-c.sock");
        // zero-copy=yes on DPDK's server: the option parses in either role, but DPDK's driver
        // clears the flag for a server (zero copy is its client's mode: the client's mbufs are the
        // shared buffers), so this case shows only that the option changes nothing against our
        // client. Zero copy on the server side is ours: MemifInPlaceTest.
        try (Testpmd pmd = Testpmd.start("rlmifc" + queues + zc,
                     "net_memif0,role=server,id=3,socket=" + sock + ",socket-abstract=no,zero-copy=" + zc,
                     30_000, "--forward-mode=txonly", "--txpkts=64", "--txq=" + queues, "--rxq=" + queues);
             MemifInterface mif = MemifInterface.open(MemifConfig.defaults(sock.toString()).withId(3)
                     .withQueuePairs(queues).withBufferSize(1024))) {
            pmd.command("start", 20_000);
            assertTrue(mif.awaitConnected(20, TimeUnit.SECONDS),
                    () -> "not connected: " + mif.lastError() + "\n" + pmd.log());
            assertEquals(queues, mif.activePairs());
            exchange(mif, pmd, queues, 64);
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    @org.junit.jupiter.api.Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void abstractSocketName() throws Exception {
        requireTestpmd();
        String name = "rlmif-abs-" + ProcessHandle.current().pid();
        try (MemifInterface mif = MemifInterface.open(MemifConfig.defaults("@" + name).withServer(true));
             Testpmd pmd = Testpmd.start("rlmifa", "net_memif0,role=client,socket=" + name, 30_000,
                     "--forward-mode=rxonly")) {
            pmd.command("start", 20_000);
            assertTrue(mif.awaitConnected(20, TimeUnit.SECONDS),
                    () -> "not connected: " + mif.lastError() + "\n" + pmd.log());
            assertEquals(3000, LinkTraffic.send(mif.link(0), 3000, 60, 20_000));
            long end = System.currentTimeMillis() + 10_000;
            while (pmd.rxPackets() < 3000 && System.currentTimeMillis() < end) Thread.sleep(50);
            assertEquals(3000, pmd.rxPackets());
        }
        // And the other way round: testpmd listens on the abstract name, we connect to it.
        try (Testpmd pmd = Testpmd.start("rlmifa2", "net_memif0,role=server,socket=" + name + "2", 30_000,
                "--forward-mode=rxonly");
             MemifInterface mif = MemifInterface.open(MemifConfig.defaults("@" + name + "2"))) {
            pmd.command("start", 20_000);
            assertTrue(mif.awaitConnected(20, TimeUnit.SECONDS),
                    () -> "not connected: " + mif.lastError() + "\n" + pmd.log());
            assertEquals(3000, LinkTraffic.send(mif.link(0), 3000, 60, 20_000));
            long end = System.currentTimeMillis() + 10_000;
            while (pmd.rxPackets() < 3000 && System.currentTimeMillis() < end) Thread.sleep(50);
            assertEquals(3000, pmd.rxPackets());
        }
    }

    /**
     * A zero-copy testpmd offers its EAL memory, which it could truncate under our mapping: by
     * default the server refuses it with a reason naming the region, and stays up.
     */
    @org.junit.jupiter.api.Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void zeroCopyClientRefusedUnlessAllowed() throws Exception {
        requireTestpmd();
        Path sock = tmp.resolve("rlmif-zc.sock");
        try (MemifInterface mif = MemifInterface.open(MemifConfig.defaults(sock.toString()).withServer(true));
             Testpmd pmd = Testpmd.start("rlmifzr",
                     "net_memif0,role=client,socket=" + sock + ",socket-abstract=no,zero-copy=yes",
                     30_000, "--forward-mode=rxonly")) {
            pmd.command("start", 20_000);
            long end = System.currentTimeMillis() + 20_000;
            while (mif.lastError() == null && System.currentTimeMillis() < end) Thread.sleep(20);
            assertFalse(mif.isConnected());
            assertTrue(String.valueOf(mif.lastError()).contains("region 1"), mif.lastError());
        } finally {
            Files.deleteIfExists(sock);
        }
    }

    /**
     * Interrupt mode against DPDK: our receive ring's MASK_INT flag is cleared only while a thread
     * sleeps on readyFd, and testpmd (which polls its own rings) then writes our eventfd after its
     * transmit burst. The sleeper has no timeout to hide a missing interrupt behind.
     */
    @ParameterizedTest(name = "we are server={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void testpmdWakesOurSleeper(boolean weAreServer) throws Exception {
        requireTestpmd();
        Path sock = tmp.resolve("rlmif-w.sock");
        String vdev =
                "net_memif0,role=" + (weAreServer ? "client" : "server") + ",socket=" + sock + ",socket-abstract=no";
        MemifConfig c = MemifConfig.defaults(sock.toString()).withServer(weAreServer);
        MemifInterface mif = weAreServer ? MemifInterface.open(c) : null;
        try (Testpmd pmd =
                Testpmd.start("rlmifw" + weAreServer, vdev, 30_000, "--forward-mode=txonly", "--txpkts=64")) {
            if (mif == null) mif = MemifInterface.open(c);
            MemifInterface m = mif;
            if (weAreServer) pmd.command("start", 20_000);
            assertTrue(mif.awaitConnected(20, TimeUnit.SECONDS),
                    () -> "not connected: " + m.lastError() + "\n" + pmd.log());
            if (weAreServer) pmd.command("stop", 20_000);
            MemifLink link = mif.link(0);
            try (ringlink.packet.PacketBatch b = new ringlink.packet.PacketBatch(64, 2048)) {
                long end = System.currentTimeMillis() + 10_000;
                while (System.currentTimeMillis() < end) { // drain what came before, and the attach wake-up
                    b.clear();
                    if (link.receive(b) == 0 && link.prepareToWait()) {
                        ringlink.sys.PollSet.pollOne(link.readyFd(), ringlink.sys.PollfdLayout.POLLIN, 200);
                        link.finishWait();
                        b.clear();
                        if (link.receive(b) == 0) break;
                    }
                }
                assertTrue(link.prepareToWait());
                pmd.command("start", 20_000);
                int ready = ringlink.sys.PollSet.pollOne(link.readyFd(), ringlink.sys.PollfdLayout.POLLIN, 20_000);
                link.finishWait();
                pmd.command("stop", 20_000);
                assertEquals(1, ready, "testpmd's transmit did not signal our eventfd");
                b.clear();
                assertTrue(link.receive(b) > 0);
            }
        } finally {
            if (mif != null) mif.close();
            Files.deleteIfExists(sock);
        }
    }

    /**
     * testpmd (txonly, started, {@code pmdSize}-byte frames) → us, exact after stop; then us → testpmd (rxonly), exact,
     * 1400-byte frames on pair 0.
     */
    static void exchange(MemifInterface mif, Testpmd pmd, int queues, int pmdSize) throws Exception {
        LinkTraffic.Counter[] rx = new LinkTraffic.Counter[queues];
        try {
            for (int q = 0; q < queues; q++) rx[q] = new LinkTraffic.Counter(mif.link(q), false);
            Thread.sleep(1000);
            pmd.command("stop", 20_000);
            long sentByPmd = pmd.txPackets();
            assertTrue(sentByPmd > 0, pmd.log());
            long end = System.currentTimeMillis() + 20_000;
            while (total(rx) < sentByPmd && System.currentTimeMillis() < end) Thread.sleep(10);
            for (var r : rx) r.awaitQuiet(200, 2000);
            for (var r : rx) assertNull(r.error, () -> "receiver failed: " + r.error);
            assertEquals(sentByPmd, total(rx), "testpmd TX-packets vs our received");
            long bytes = 0;
            for (var r : rx) bytes += r.bytes.get();
            assertEquals(sentByPmd * pmdSize, bytes, "every frame whole (chains joined)");
            for (int q = 0; q < queues; q++) assertTrue(rx[q].packets.get() > 0, "nothing on queue " + q);
        } finally {
            for (var r : rx) if (r != null) r.close();
        }
        pmd.command("clear port stats 0", 20_000);
        pmd.command("set fwd rxonly", 20_000);
        pmd.command("start", 20_000);
        long n = 20_000;
        long expect = 0;
        for (int q = 0; q < queues; q++) {
            int size = q == 0 ? 1400 : 60;
            assertEquals(n, LinkTraffic.send(mif.link(q), n, size, 30_000));
            LinkStats st = mif.link(q).counters().snapshot();
            assertEquals(0, st.txDrops(), "drops on queue " + q);
            expect += n;
        }
        long end = System.currentTimeMillis() + 20_000;
        while (pmd.rxPackets() < expect && System.currentTimeMillis() < end) Thread.sleep(50);
        pmd.command("stop", 20_000);
        assertEquals(expect, pmd.rxPackets(), "our transmitted vs testpmd RX-packets");
    }

    static long total(LinkTraffic.Counter[] rx) {
        long t = 0;
        for (var r : rx) t += r.packets.get();
        return t;
    }
}
