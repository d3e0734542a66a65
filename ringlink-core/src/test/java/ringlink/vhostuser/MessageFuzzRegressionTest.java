package ringlink.vhostuser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Replays the committed fuzz corpus and 20,000 seeded mutations of valid sessions through
 * {@link MessageFuzzHarness} in the normal test JVM (no Jazzer agent): deterministic, and a
 * regression found by the fuzzer stays found.
 */
class MessageFuzzRegressionTest {
    static final Path CORPUS = Path.of("src/test/resources/ringlink/vhostuser/VhostUserFuzzTestInputs/fuzzMessages");

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void corpusAndMutations() throws IOException {
        List<byte[]> seeds = new java.util.ArrayList<>();
        if (Files.isDirectory(CORPUS)) {
            try (Stream<Path> s = Files.list(CORPUS)) {
                for (Path p : s.sorted().toList()) seeds.add(Files.readAllBytes(p));
            }
        }
        for (boolean packed : new boolean[] {false, true}) {
            for (boolean proto : new boolean[] {false, true})
                    seeds.add(MessageFuzzHarness.handshakeSeed(packed, proto));
            seeds.add(MessageFuzzHarness.handshakeSeed(packed, true, true));
            seeds.add(MessageFuzzHarness.handshakeSeed(packed, true, false, true));
            seeds.add(MessageFuzzHarness.trafficSeed(packed, false));
        }
        seeds.add(MessageFuzzHarness.trafficSeed(false, true));
        // Each traffic template gets packets through the data path on its own (not only the
        // memory setup): the fuzzer starts from sessions that reach the chain walks and copies.
        for (boolean[] c : new boolean[][] {{false, false}, {true, false}, {false, true}}) {
            long before = MessageFuzzHarness.packetsSeen;
            MessageFuzzHarness.run(MessageFuzzHarness.trafficSeed(c[0], c[1]));
            org.junit.jupiter.api.Assertions.assertTrue(MessageFuzzHarness.packetsSeen > before,
                    "traffic seed packed=" + c[0] + " big=" + c[1] + " moved no packet");
        }
        for (byte[] s : seeds) MessageFuzzHarness.run(s);
        org.junit.jupiter.api.Assertions.assertTrue(MessageFuzzHarness.packetsSeen > 0, "seeds never moved a packet");
        org.junit.jupiter.api.Assertions.assertTrue(MessageFuzzHarness.bigRingSeen > 0,
                "seeds never ran a 32768-entry ring");
        org.junit.jupiter.api.Assertions.assertTrue(MessageFuzzHarness.runningSeen > 0, "seeds never started a ring");
        org.junit.jupiter.api.Assertions.assertTrue(MessageFuzzHarness.inflightSeen > 0,
                "seeds never tracked a split ring inflight");
        org.junit.jupiter.api.Assertions.assertTrue(MessageFuzzHarness.logSeen > 0, "seeds never logged dirty pages");
        org.junit.jupiter.api.Assertions.assertTrue(MessageFuzzHarness.packedInflightSeen > 0,
                "seeds never tracked a packed ring inflight");
        SplittableRandom rnd = new SplittableRandom(0x76687573L);
        for (int i = 0; i < 20_000; i++) {
            byte[] b = seeds.get(rnd.nextInt(seeds.size())).clone();
            int edits = 1 + rnd.nextInt(4);
            for (int e = 0; e < edits && b.length > 0; e++) {
                int at = rnd.nextInt(b.length);
                switch (rnd.nextInt(4)) {
                    case 0 -> b[at] = (byte) rnd.nextInt(256);
                    case 1 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                    case 2 -> b[at] = (byte) (rnd.nextBoolean() ? 0 : 0xff);
                    default -> b = java.util.Arrays.copyOf(b, at + 1);
                }
            }
            MessageFuzzHarness.run(b);
        }
    }

    /**
     * Writes the seed sessions into the corpus directory (run once by hand: `-Dtest=...#writeSeeds
     * -Drlvu.writeSeeds=true`).
     */
    @Test
    void writeSeeds() throws IOException {
        if (!Boolean.getBoolean("rlvu.writeSeeds")) return;
        Files.createDirectories(CORPUS);
        int n = 0;
        for (boolean packed : new boolean[] {false, true}) {
            for (boolean proto : new boolean[] {false, true}) {
                Files.write(CORPUS.resolve("seed-handshake-" + (packed ? "packed" : "split") + (proto ? "-proto" : "")),
                        MessageFuzzHarness.handshakeSeed(packed, proto));
                n++;
            }
            Files.write(CORPUS.resolve("seed-handshake-" + (packed ? "packed" : "split") + "-inflight"),
                    MessageFuzzHarness.handshakeSeed(packed, true, true));
            Files.write(CORPUS.resolve("seed-handshake-" + (packed ? "packed" : "split") + "-log"),
                    MessageFuzzHarness.handshakeSeed(packed, true, false, true));
            Files.write(CORPUS.resolve("seed-traffic-" + (packed ? "packed" : "split")),
                    MessageFuzzHarness.trafficSeed(packed, false));
        }
        Files.write(CORPUS.resolve("seed-traffic-split-32768"), MessageFuzzHarness.trafficSeed(false, true));
    }
}
