package ringlink.cli.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.testing.Env;

/**
 * scripts/bench-compare.py, the table of scripts/bench-compare.sh, on made-up runs in the
 * results.json shape {@link BenchReport#json} writes: medians, per-round ratios, the peer
 * normalisation and the verdict rule (slower only when every round is below 0.95).
 */
@Timeout(60)
class BenchCompareScriptTest {
    @TempDir
    Path dir;

    /** Rounds of (peer pps, ringlink pps) for A and for B, per cell group. */
    private void run(int round, String side, double peer, double ours, double stream) throws Exception {
        Path d = dir.resolve("runs").resolve("round" + round + "-" + side);
        Files.createDirectories(d);
        String json = String.format(Locale.ROOT, """
                {"started": "x", "cells": [
                 {"group": "switch (pair)", "variant": "direct pair", "reference": true, "size": 64, "runs": [], \
                "median_pps": %s, "median_gbps": 1, "ratio": 1, "skipped": null, "error": null},
                 {"group": "switch (pair)", "variant": "ringlink switch", "reference": false, "size": 64, "runs": [], \
                "median_pps": %s, "median_gbps": 1, "ratio": 1, "skipped": null, "error": null},
                 {"group": "tun iperf3", "variant": "ringlink relay", "reference": false, "size": 0, "runs": [], \
                "median_pps": null, "median_gbps": %s, "ratio": null, "skipped": null, "error": null},
                 {"group": "shm", "variant": "gvisor go", "reference": true, "size": 64, "runs": [], "median_pps": \
                null, "median_gbps": null, "ratio": null, "skipped": "go not installed", "error": null}
                ]}
                """, peer, ours, stream);
        Files.writeString(d.resolve("results.json"), json);
    }

    private String analyse() throws Exception {
        Path py = Env.requireProgram("python3", "python3");
        // the repository root, beside ringlink-cli
        Path script = Env.projectDir().resolve("../scripts/bench-compare.py").normalize();
        Process p =
                new ProcessBuilder(py.toString(), script.toString(), dir.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), out);
        return out + "\nexit=" + p.exitValue();
    }

    private static String row(String out, String cell) {
        return out.lines().filter(l -> l.startsWith("| " + cell + " |")).findFirst()
                .orElseThrow(() -> new AssertionError(cell + " not in\n" + out));
    }

    @Test
    void everyRoundSlowerIsSlowerAndStreamsCompareGbps() throws Exception {
        // ringlink switch 10% slower in every round; the peer flat; the stream 2% faster.
        double[][] a = {{10e6, 4e6, 8.0}, {11e6, 4.2e6, 8.2}, {9e6, 3.8e6, 7.8}};
        for (int r = 0; r < 3; r++) {
            run(r + 1, "A", a[r][0], a[r][1], a[r][2]);
            run(r + 1, "B", a[r][0], a[r][1] * 0.9, a[r][2] * 1.02);
        }
        String out = analyse();
        String sw = row(out, "switch (pair) 64B ringlink switch");
        assertTrue(sw.contains("| 4.000 Mpps | 3.600 Mpps | 0.900 (0.90–0.90) | 0.900 (0.90–0.90) | slower |"), sw);
        assertTrue(row(out, "switch (pair) 64B direct pair").contains("same (peer: drift)"), out);
        assertTrue(row(out, "tun iperf3 stream ringlink relay").contains("8.00 Gbit/s | 8.16 Gbit/s"), out);
        assertTrue(row(out, "tun iperf3 stream ringlink relay").endsWith("| same |"), out);
        assertTrue(out.lines().noneMatch(l -> l.startsWith("| shm")), "a skipped cell has no row:\n" + out);
        assertTrue(out.endsWith("exit=1"), "a slower cell fails the run:\n" + out);
        assertTrue(Files.isRegularFile(dir.resolve("compare.md")) && Files.isRegularFile(dir.resolve("compare.json")));
    }

    @Test
    void roundsStraddlingTheLimitAreNoiseNotAVerdict() throws Exception {
        List<double[]> ratios = List.of(new double[] {0.90, 1.00, 1.08}, new double[] {0.90, 0.93, 1.01});
        String[] expect = {"noise", "noise-slow"};
        for (int k = 0; k < 2; k++) {
            for (int r = 0; r < 3; r++) {
                run(r + 1, "A", 10e6, 4e6, 8);
                run(r + 1, "B", 10e6, 4e6 * ratios.get(k)[r], 8);
            }
            String sw = row(analyse(), "switch (pair) 64B ringlink switch");
            assertTrue(sw.endsWith("| " + expect[k] + " |"), sw);
        }
        // One round only: no verdict at all.
        try (var s = Files.walk(dir.resolve("runs"))) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
        run(1, "A", 10e6, 4e6, 8);
        run(1, "B", 10e6, 2e6, 8);
        String out = analyse();
        assertTrue(row(out, "switch (pair) 64B ringlink switch").endsWith("| - |"), out);
        assertEquals("exit=0", out.substring(out.lastIndexOf("exit=")));
    }
}
