package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;
import ringlink.testing.LinkTraffic;

/**
 * The memif message fuzzer: the Python peer ({@code memif_attacker.py fuzz}) connects hundreds of
 * times, each time with one random mutation of the honest set-up (bytes of a message, its length,
 * the descriptor it carries) and, when still accepted, random scribbles on the ring indexes and
 * descriptors while our data path runs. Our server may only ever refuse with
 * {@link MemifException} (never another exception), must not leak descriptors, and must serve an
 * honest client afterwards. {@code -Drlmif.fuzz.seed=N} and {@code -Drlmif.fuzz.rounds=N} vary it.
 */
class MemifFuzzTest {
    @TempDir Path tmp;

    static long openFds() throws Exception {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void randomMutationsOnlyEverEndTheirOwnConnection() throws Exception {
        Env.requireProgram("python3", "python3");
        long seed = Long.getLong("rlmif.fuzz.seed", 20261207L);
        int rounds = Integer.getInteger("rlmif.fuzz.rounds", 300);
        String sock = tmp.resolve("rlmif-fz.sock").toString();
        try (MemifInterface srv = MemifInterface.open(MemifConfig.defaults(sock).withServer(true).withTimeout(2000)
                .withLog2RingSize(4))) {
            MemifLink link = srv.link(0);
            Thread.sleep(200);
            long fdsBefore = openFds();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            long[] refused = new long[1];
            Thread dp = Thread.ofPlatform().daemon().start(() -> {
                try (PacketBatch rx = new PacketBatch(32, 2048); PacketBatch tx = new PacketBatch(8, 2048)) {
                    LinkTraffic.frames(tx, 8, 1400);
                    while (!stop.get()) {
                        try {
                            rx.clear();
                            link.receive(rx);
                            link.transmit(tx);
                        } catch (MemifException e) {
                            refused[0]++;
                        }
                        Thread.onSpinWait();
                    }
                } catch (Throwable t) {
                    unexpected.compareAndSet(null, t);
                }
            });
            Process p = new ProcessBuilder("python3", MemifHostileTest.SCRIPT.toString(), "fuzz", sock,
                    String.valueOf(rounds), String.valueOf(seed))
                    .redirectErrorStream(true).start();
            String out;
            try {
                assertTrue(p.waitFor(240, TimeUnit.SECONDS), "fuzzer did not finish");
                out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } finally {
                p.destroyForcibly();
                stop.set(true);
                dp.join(5000);
            }
            assertTrue(out.contains("FUZZ-DONE " + rounds), out);
            System.out.println("memif fuzz seed " + seed + ": " + out.trim() + "; data-path refusals " + refused[0]);
            assertNull(unexpected.get(),
                    () -> "the data path threw something other than MemifException: " + unexpected.get());
            // Honest client afterwards.
            try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock))) {
                assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS), () -> cli.lastError() + " / " + srv.lastError());
                try (LinkTraffic.Counter c = new LinkTraffic.Counter(link, true)) {
                    assertEquals(300, LinkTraffic.send(cli.link(0), 300, 200, 10_000));
                    assertEquals(300, c.awaitAtLeast(300, 10_000));
                    assertEquals(0, c.corrupt.get());
                }
            }
            long end = System.currentTimeMillis() + 5000;
            long fdsAfter = openFds();
            while (fdsAfter > fdsBefore + 8 && System.currentTimeMillis() < end) {
                Thread.sleep(100);
                fdsAfter = openFds();
            }
            assertTrue(fdsAfter <= fdsBefore + 8,
                    "descriptors leaked: " + fdsBefore + " before, " + fdsAfter + " after");
        }
    }
}
