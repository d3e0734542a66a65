package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.packet.PacketBatch;
import ringlink.vhostuser.Testpmd;
import ringlink.testing.LinkTraffic;

/**
 * testpmd restarted under traffic: while we transmit continuously (and receive), testpmd quits
 * and a new one starts; our interface (server or client) connects to the new one by itself, and
 * packet counts against the new testpmd are exact both ways.
 */
class MemifDpdkReconnectTest {
    @TempDir Path tmp;

    @ParameterizedTest(name = "we are server={0}")
    @ValueSource(booleans = {true, false})
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void testpmdRestartedUnderTraffic(boolean weAreServer) throws Exception {
        MemifDpdkTest.requireTestpmd();
        Path sock = tmp.resolve("rlmif-re.sock");
        String vdev =
                "net_memif0,role=" + (weAreServer ? "client" : "server") + ",socket=" + sock + ",socket-abstract=no";
        MemifConfig c = MemifConfig.defaults(sock.toString()).withServer(weAreServer);
        MemifInterface mif = null;
        Testpmd pmd = null;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong sent = new AtomicLong();
        Thread sender = null;
        try {
            if (weAreServer) mif = MemifInterface.open(c);
            pmd = Testpmd.start("rlmifr" + weAreServer + "1", vdev, 30_000, "--forward-mode=rxonly");
            if (!weAreServer) mif = MemifInterface.open(c);
            MemifInterface m = mif;
            pmd.command("start", 20_000);
            Testpmd p0 = pmd;
            assertTrue(mif.awaitConnected(20, TimeUnit.SECONDS),
                    () -> "not connected: " + m.lastError() + "\n" + p0.log());
            // Traffic that keeps going across the restart: what finds no peer is counted as dropped.
            sender = Thread.ofPlatform().name("rlmif-sender").start(() -> {
                try (PacketBatch b = new PacketBatch(32, 2048)) {
                    LinkTraffic.frames(b, 32, 60);
                    while (!stop.get()) {
                        sent.addAndGet(m.link(0).transmit(b));
                        Thread.onSpinWait();
                    }
                } catch (Exception e) {
                    if (!stop.get()) throw new RuntimeException(e);
                }
            });
            Thread.sleep(500);
            assertTrue(pmd.rxPackets() > 0, "testpmd received nothing before the restart");
            int before = mif.connections();
            pmd.close();
            pmd = Testpmd.start("rlmifr" + weAreServer + "2", vdev, 30_000, "--forward-mode=rxonly");
            pmd.command("start", 20_000);
            Testpmd p1 = pmd;
            assertTrue(mif.awaitConnections(before, 30, TimeUnit.SECONDS),
                    () -> "no reconnect: " + m.lastError() + "\n" + p1.log());
            long end = System.currentTimeMillis() + 10_000;
            while (pmd.rxPackets() == 0 && System.currentTimeMillis() < end) Thread.sleep(50);
            assertTrue(pmd.rxPackets() > 0, "testpmd received nothing after the restart");
            stop.set(true);
            sender.join(10_000);
            Thread.sleep(500); // testpmd (still forwarding) drains what the sender left in the ring
            // Exact counts against the new testpmd, both ways.
            pmd.command("stop", 20_000);
            pmd.command("clear port stats 0", 20_000);
            pmd.command("start", 20_000);
            long n = 10_000;
            long dropsBefore = mif.link(0).counters().snapshot().txDrops();
            assertEquals(n, LinkTraffic.send(mif.link(0), n, 60, 30_000));
            assertEquals(dropsBefore, mif.link(0).counters().snapshot().txDrops());
            end = System.currentTimeMillis() + 10_000;
            while (pmd.rxPackets() < n && System.currentTimeMillis() < end) Thread.sleep(50);
            pmd.command("stop", 20_000);
            assertEquals(n, pmd.rxPackets());
            pmd.command("clear port stats 0", 20_000);
            pmd.command("set fwd txonly", 20_000);
            try (LinkTraffic.Counter rx = new LinkTraffic.Counter(mif.link(0), false)) {
                pmd.command("start", 20_000);
                Thread.sleep(500);
                pmd.command("stop", 20_000);
                long pmdSent = pmd.txPackets();
                assertTrue(pmdSent > 0);
                rx.awaitAtLeast(pmdSent, 10_000);
                rx.awaitQuiet(200, 2000);
                assertNull(rx.error);
                assertEquals(pmdSent, rx.packets.get());
            }
        } finally {
            stop.set(true);
            if (sender != null) sender.join(5000);
            if (pmd != null) pmd.close();
            if (mif != null) mif.close();
            Files.deleteIfExists(sock);
        }
    }
}
