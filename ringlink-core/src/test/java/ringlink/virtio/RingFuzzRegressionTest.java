package ringlink.virtio;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.testing.Env;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Engine-independent safety net for {@link VirtqueueFuzzTest}: replays the committed corpus and
 * then runs a fixed number of random mutations of it (byte flips, 16/32/64-bit interesting
 * values, splices) through the same harness. Deterministic (fixed seed), so a failure reproduces.
 */
class RingFuzzRegressionTest {
    static final Path CORPUS = Path.of("src/test/resources/ringlink/virtio/VirtqueueFuzzTestInputs/fuzzRings");

    @Test
    @Timeout(120)
    void corpusAndMutations() throws IOException {
        List<byte[]> corpus;
        try (Stream<Path> s = Files.list(Env.projectDir().resolve(CORPUS))) {
            corpus = s.sorted().map(p -> {
                try {
                    return Files.readAllBytes(p);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
        assertTrue(corpus.size() >= 32, "corpus has " + corpus.size() + " inputs");
        for (byte[] in : corpus) RingFuzzHarness.run(in);
        // The big-queue programs are replayed even before they are in the corpus directory.
        for (byte[] in : RingFuzzSeeds.largeSeeds().values()) RingFuzzHarness.run(in);
        Random rnd = new Random(0x5eed);
        long[] interesting = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffffL, 0x80000000L,
                0xffffffffL, -1L, 0x10000 + 0x400, 0x10000 + 0x1000, 0x20000 - 8, 0x8000000000000000L};
        int iterations = Integer.getInteger("ringlink.virtio.fuzzIterations", 30_000);
        for (int it = 0; it < iterations; it++) {
            byte[] in = corpus.get(rnd.nextInt(corpus.size())).clone();
            int edits = 1 + rnd.nextInt(8);
            for (int e = 0; e < edits; e++) {
                int pos = rnd.nextInt(Math.min(in.length, 3 + 0x800));
                switch (rnd.nextInt(4)) {
                    case 0 -> in[pos] ^= (byte) (1 << rnd.nextInt(8));
                    case 1 -> in[pos] = (byte) rnd.nextInt();
                    case 2 -> {
                        long v = interesting[rnd.nextInt(interesting.length)];
                        int w = 1 << (1 + rnd.nextInt(3));
                        for (int b = 0; b < w && pos + b < in.length; b++) in[pos + b] = (byte) (v >>> (8 * b));
                    }
                    default -> {
                        byte[] other = corpus.get(rnd.nextInt(corpus.size()));
                        int from = rnd.nextInt(other.length);
                        int len = Math.min(rnd.nextInt(64), Math.min(other.length - from, in.length - pos));
                        System.arraycopy(other, from, in, pos, len);
                    }
                }
            }
            try {
                RingFuzzHarness.run(in);
            } catch (Throwable t) {
                throw new AssertionError("mutation " + it + " failed: "
                        + java.util.HexFormat.of().formatHex(in, 0, Math.min(in.length, 64)), t);
            }
        }
    }
}
