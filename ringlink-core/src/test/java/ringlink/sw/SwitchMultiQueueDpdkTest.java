package ringlink.sw;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.link.Layer;
import ringlink.link.Link;
import ringlink.link.LinkDevice;
import ringlink.link.Links;
import ringlink.link.Offloads;
import ringlink.link.PairLink;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;
import ringlink.vhostuser.Testpmd;

/**
 * DPDK testpmd's virtio-user with two queue pairs on a switch port
 * ({@code vhost-user:PATH?queues=2}), the other port an in-memory link whose far end the test
 * holds. testpmd → switch: txonly on both queues with several flows; the switch's per-queue
 * receive counters equal testpmd's per-queue transmit counters exactly, neither queue starved
 * (before multi-queue ports, queue 1 stopped after one ring's worth). Switch → testpmd (rxonly):
 * flows one at a time, each arriving whole on one queue (testpmd's per-queue counters), both
 * queues used.
 */
class SwitchMultiQueueDpdkTest {
    @TempDir Path tmp;

    private static final Pattern XSTAT = Pattern.compile("([rt]x)_q(\\d+)_good_packets:\\s+(\\d+)");

    /** testpmd's per-queue packet counters ({@code show port xstats 0}): "tx0" → n. */
    static Map<String, Long> perQueue(Testpmd pmd) throws IOException {
        Map<String, Long> out = new HashMap<>();
        String s = pmd.command("show port xstats 0", 20_000);
        Matcher m = XSTAT.matcher(s);
        while (m.find()) out.put(m.group(1) + m.group(2), Long.parseLong(m.group(3)));
        if (out.isEmpty()) throw new IOException("no per-queue counters in:\n" + s);
        return out;
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void twoQueuePairsBothWays(boolean packed) throws Exception {
        Env.requireRoot();
        Env.requireProgram("dpdk-testpmd", "dpdk-dev (+ librte-net-virtio23, librte-mempool-ring23)");
        Path sock = tmp.resolve("rlswmq-" + (packed ? "p" : "s") + ".sock");
        PairLink[] pair = PairLink.create("rlswmq", 4096, 2048, Layer.L2, 1500, Offloads.NONE);
        Switch sw = null;
        Thread drainer = null;
        AtomicLong drained = new AtomicLong();
        try {
            LinkDevice dev = Links.openDevice("vhost-user:" + sock + "?queues=2&packed=" + packed);
            assertEquals(2, dev.queueCount());
            sw = Switch.builder().threads(2).port(dev).port(pair[0]).build();
            sw.start();
            Link far = pair[1];
            try (Testpmd pmd = Testpmd.start("rlswmq" + (packed ? "p" : "s"),
                    "net_virtio_user0,path=" + sock + ",queues=2,packed_vq=" + (packed ? 1 : 0),
                    30_000, "--txq=2", "--rxq=2", "--forward-mode=txonly", "--txpkts=64", "--txonly-multi-flow")) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!(dev.transmitEnabled(0) && dev.transmitEnabled(1)) && System.nanoTime() < end) Thread.sleep(20);
                assertTrue(dev.transmitEnabled(0) && dev.transmitEnabled(1),
                        () -> "both queue pairs never ran\n" + pmd.log());

                // testpmd -> switch: both queues, several flows; flooded to the pair, counted there.
                drainer = Thread.ofPlatform().daemon().start(() -> {
                    try (PacketBatch b = new PacketBatch(64, 2048)) {
                        while (!Thread.currentThread().isInterrupted()) {
                            b.clear();
                            int n = far.receive(b);
                            if (n == 0) Thread.onSpinWait();
                            drained.addAndGet(n);
                        }
                    } catch (IOException e) {
                        // closed at the end
                    }
                });
                pmd.command("start", 20_000);
                Thread.sleep(1500);
                pmd.command("stop", 20_000);
                Map<String, Long> sent = perQueue(pmd);
                long total = pmd.txPackets();
                assertTrue(sent.getOrDefault("tx0", 0L) > 0 && sent.getOrDefault("tx1", 0L) > 0,
                        "testpmd per-queue " + sent);
                assertEquals(total, sent.get("tx0") + sent.get("tx1"));
                end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                Switch s = sw;
                while (s.stats().ports().get(0).forwarded().rxPackets() < total && System.nanoTime() < end)
                        Thread.sleep(20);
                PortStats p = sw.stats().ports().get(0);
                assertEquals(sent.get("tx0"), p.queues().get(0).forwarded().rxPackets(),
                        "queue 0: testpmd sent vs switch took");
                assertEquals(sent.get("tx1"), p.queues().get(1).forwarded().rxPackets(),
                        "queue 1: testpmd sent vs switch took");
                PortStats out = sw.stats().ports().get(1);
                end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (drained.get() < out.forwarded().txPackets() && System.nanoTime() < end) Thread.sleep(20);
                assertEquals(total, out.forwarded().txPackets() + out.forwarded().txDrops(),
                        "every frame forwarded or counted");
                assertEquals(out.forwarded().txPackets(), drained.get());
                drainer.interrupt();
                drainer.join(5000);

                // switch -> testpmd: one flow at a time, each on exactly one queue.
                pmd.command("set fwd rxonly", 20_000);
                pmd.command("start", 20_000);
                int[] perQueueFlows = new int[2];
                try (PacketBatch b = new PacketBatch(64, 2048)) {
                    Map<String, Long> before = perQueue(pmd);
                    for (int f = 0; f < 8; f++) {
                        int n = 200;
                        for (int k = 0; k < n; k += 50) {
                            b.clear();
                            for (int i = 0; i < 50; i++) {
                                int x = SwitchTest.frame(b, 0x02_00_00_00_77_01L, 0x02_00_00_00_77_02L, -1, 18);
                                b.memory().set(SwitchTest.BE16, b.dataOffset(x) + 14 + 20, (short) (30000 + f));
                            }
                            int done = 0;
                            long stop = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                            while (done < b.count() && System.nanoTime() < stop)
                                    done += far.transmit(b, done, b.count());
                            assertEquals(b.count(), done);
                        }
                        Map<String, Long> now = before;
                        end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                        long d0 = 0, d1 = 0;
                        while (d0 + d1 < n && System.nanoTime() < end) {
                            Thread.sleep(50);
                            now = perQueue(pmd);
                            d0 = now.getOrDefault("rx0", 0L) - before.getOrDefault("rx0", 0L);
                            d1 = now.getOrDefault("rx1", 0L) - before.getOrDefault("rx1", 0L);
                        }
                        assertEquals(n, d0 + d1,
                                "flow " + f + " arrived: " + d0 + " on queue 0, " + d1 + " on queue 1");
                        assertTrue(d0 == 0 || d1 == 0, "flow " + f + " split over the queues: " + d0 + " / " + d1);
                        perQueueFlows[d0 > 0 ? 0 : 1]++;
                        before = now;
                    }
                }
                pmd.command("stop", 20_000);
                assertTrue(perQueueFlows[0] > 0 && perQueueFlows[1] > 0,
                        "8 flows all on one queue: " + perQueueFlows[0] + " / " + perQueueFlows[1]);
                PortStats back = sw.stats().ports().get(0);
                assertEquals(1600,
                        back.queues().get(0).forwarded().txPackets() + back.queues().get(1).forwarded().txPackets());
            }
        } finally {
            if (drainer != null) {
                drainer.interrupt();
                drainer.join(5000);
            }
            if (sw != null) sw.close();
            pair[1].free();
            Files.deleteIfExists(sock);
        }
    }
}
