package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.link.LinkSpec;
import ringlink.link.Links;
import ringlink.testing.CloseWake;
import ringlink.testing.LinkTraffic;

/**
 * Our server against our client in one JVM: exact counts both ways on every queue pair, frames
 * longer than one buffer (descriptor chains), abstract socket names, secrets, reconnect, and the
 * close/wait contract.
 */
class MemifLoopTest {
    @TempDir Path tmp;

    private MemifConfig server(String sock) {
        return MemifConfig.defaults(sock).withServer(true).withTimeout(5000);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void exactCountsBothWaysOnTwoPairsWithChains() throws Exception {
        String sock = tmp.resolve("rlmif-loop.sock").toString();
        // Buffers of 512 bytes: 1400-byte frames take three chained descriptors each way.
        try (MemifInterface srv = MemifInterface.open(server(sock).withQueuePairs(2).withLog2RingSize(8));
             MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock).withQueuePairs(2).withLog2RingSize(8)
                     .withBufferSize(512))) {
            assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS),
                    () -> "not connected: " + cli.lastError() + " / " + srv.lastError());
            assertTrue(srv.awaitConnected(10, TimeUnit.SECONDS));
            assertEquals(2, srv.activePairs());
            for (int q = 0; q < 2; q++) {
                for (int size : new int[] {60, 1400}) {
                    long n = 5000;
                    try (LinkTraffic.Counter rx = new LinkTraffic.Counter(srv.link(q), true)) {
                        assertEquals(n, LinkTraffic.send(cli.link(q), n, size, 20_000));
                        rx.awaitAtLeast(n, 10_000);
                        rx.awaitQuiet(100, 1000);
                        assertNull(rx.error);
                        assertEquals(n, rx.packets.get(), "client→server pair " + q + " size " + size);
                        assertEquals(0, rx.corrupt.get());
                        assertEquals(n * size, rx.bytes.get());
                    }
                    try (LinkTraffic.Counter rx = new LinkTraffic.Counter(cli.link(q), true)) {
                        assertEquals(n, LinkTraffic.send(srv.link(q), n, size, 20_000));
                        rx.awaitAtLeast(n, 10_000);
                        rx.awaitQuiet(100, 1000);
                        assertNull(rx.error);
                        assertEquals(n, rx.packets.get(), "server→client pair " + q + " size " + size);
                        assertEquals(0, rx.corrupt.get());
                    }
                }
            }
            assertEquals(0, cli.link(0).counters().snapshot().txDrops());
            assertEquals(0, srv.link(0).counters().snapshot().txDrops());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void abstractNameSecretAndReconnect() throws Exception {
        String sock = "@rlmif-loop-" + ProcessHandle.current().pid();
        try (MemifInterface srv = MemifInterface.open(server(sock).withSecret("s3cret").withId(7))) {
            try (MemifInterface bad = MemifInterface.open(MemifConfig.defaults(sock).withId(7).withSecret("wrong"))) {
                long end = System.currentTimeMillis() + 10_000;
                while (srv.lastError() == null && System.currentTimeMillis() < end) Thread.sleep(10);
                assertFalse(bad.isConnected());
                assertTrue(String.valueOf(srv.lastError()).contains("secret"), srv.lastError());
            }
            try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock).withId(7).withSecret("s3cret"))) {
                assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS), () -> cli.lastError());
                assertTrue(srv.awaitConnected(10, TimeUnit.SECONDS));
                try (LinkTraffic.Counter rx = new LinkTraffic.Counter(srv.link(0), false)) {
                    assertEquals(1000, LinkTraffic.send(cli.link(0), 1000, 60, 10_000));
                    assertEquals(1000, rx.awaitAtLeast(1000, 10_000));
                }
            }
            // The client closed: the server waits for the next one.
            int before = srv.connections();
            try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock).withId(7).withSecret("s3cret"))) {
                assertTrue(srv.awaitConnections(before, 10, TimeUnit.SECONDS), () -> srv.lastError());
                assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS));
                try (LinkTraffic.Counter rx = new LinkTraffic.Counter(cli.link(0), false)) {
                    assertEquals(1000, LinkTraffic.send(srv.link(0), 1000, 60, 10_000));
                    assertEquals(1000, rx.awaitAtLeast(1000, 10_000));
                }
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void clientReconnectsWhenTheServerRestarts() throws Exception {
        String sock = tmp.resolve("rlmif-re.sock").toString();
        try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock))) {
            for (int round = 0; round < 3; round++) {
                try (MemifInterface srv = MemifInterface.open(server(sock))) {
                    assertTrue(srv.awaitConnected(10, TimeUnit.SECONDS), () -> cli.lastError());
                    assertTrue(cli.awaitConnections(round, 10, TimeUnit.SECONDS), () -> cli.lastError());
                    try (LinkTraffic.Counter rx = new LinkTraffic.Counter(srv.link(0), false)) {
                        assertEquals(2000, LinkTraffic.send(cli.link(0), 2000, 100, 10_000));
                        assertEquals(2000, rx.awaitAtLeast(2000, 10_000), "round " + round);
                    }
                }
            }
        }
    }

    /**
     * Interrupt mode: a receiver asleep on readyFd (no poll timeout to hide a lost wake-up) is woken
     * by the peer's eventfd write, both directions; busy links make no notification call.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sleeperIsWokenByThePeersInterrupt() throws Exception {
        String sock = tmp.resolve("rlmif-int.sock").toString();
        try (MemifInterface srv = MemifInterface.open(server(sock));
             MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock))) {
            assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS));
            assertTrue(srv.awaitConnected(10, TimeUnit.SECONDS));
            MemifLink[][] dirs = {{cli.link(0), srv.link(0)}, {srv.link(0), cli.link(0)}};
            for (MemifLink[] d : dirs) {
                MemifLink tx = d[0], rx = d[1];
                try (ringlink.packet.PacketBatch b = new ringlink.packet.PacketBatch(32, 2048)) {
                    // Consume the attach wake-up and anything pending first.
                    while (true) {
                        b.clear();
                        if (rx.receive(b) == 0 && rx.prepareToWait()) {
                            ringlink.sys.PollSet.pollOne(rx.readyFd(), ringlink.sys.PollfdLayout.POLLIN, 0);
                            rx.finishWait();
                            break;
                        }
                    }
                    assertTrue(rx.prepareToWait());
                    Thread sender = Thread.ofPlatform().start(() -> {
                        try {
                            Thread.sleep(100);
                            LinkTraffic.send(tx, 1, 60, 5000);
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    });
                    long t0 = System.nanoTime();
                    int ready = ringlink.sys.PollSet.pollOne(rx.readyFd(), ringlink.sys.PollfdLayout.POLLIN, 20_000);
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    rx.finishWait();
                    sender.join();
                    assertEquals(1, ready, "the sleeper was not woken by the interrupt (" + ms + " ms)");
                    b.clear();
                    assertEquals(1, rx.receive(b));
                }
            }
        }
    }

    /** mode=ip: an L3 link both ends; a client asking for the other mode is refused with the reason. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void ipModeAndModeMismatch() throws Exception {
        String sock = tmp.resolve("rlmif-ip.sock").toString();
        try (MemifInterface srv = MemifInterface.open(server(sock).withIp(true))) {
            assertEquals(ringlink.link.Layer.L3, srv.link(0).layer());
            try (MemifInterface eth = MemifInterface.open(MemifConfig.defaults(sock))) {
                long end = System.currentTimeMillis() + 10_000;
                while (srv.lastError() == null && System.currentTimeMillis() < end) Thread.sleep(10);
                assertTrue(String.valueOf(srv.lastError()).contains("mode"), srv.lastError());
                assertFalse(eth.isConnected());
            }
            try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock).withIp(true))) {
                assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS), () -> cli.lastError());
                assertEquals(ringlink.link.Layer.L3, cli.link(0).layer());
                try (LinkTraffic.Counter rx = new LinkTraffic.Counter(srv.link(0), false)) {
                    assertEquals(500, LinkTraffic.send(cli.link(0), 500, 100, 10_000));
                    assertEquals(500, rx.awaitAtLeast(500, 10_000));
                }
            }
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void providerAndCloseWakesSleeper() throws Exception {
        assertTrue(Links.providers().containsKey("memif"));
        assertTrue(Links.providers().get("memif").usage().contains("role=server|client"));
        String sock = tmp.resolve("rlmif-prov.sock").toString();
        var link = Links.open(LinkSpec.parse("memif:" + sock + "?role=server&ring-size=256"));
        try (var cli = Links.open(LinkSpec.parse("memif:" + sock + "?role=client&buffer-size=1024"))) {
            assertTrue(((MemifLink) cli).owner().awaitConnected(10, TimeUnit.SECONDS));
            CloseWake.assertCloseWakesEpollSleeper(link);
        }
    }
}
