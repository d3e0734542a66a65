package ringlink.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Issue 22's ratio chart and goal table: per-run ratios, the goals by group, ratios.png written. */
@Timeout(60)
class BenchRatioChartTest {
    /** A cell whose runs return the given Mpps one after another. */
    record Fake(String group, String variant, boolean reference, int size, double[] mpps,
            AtomicInteger k) implements BenchCell {
        Fake(String group, String variant, boolean reference, double... mpps) {
            this(group, variant, reference, 64, mpps, new AtomicInteger());
        }

        @Override
        public Measurement run(Duration d) {
            double p = mpps[k.getAndIncrement() % mpps.length] * 1e6;
            return new Measurement(p, p * 64 * 8 / 1e9);
        }
    }

    @Test
    void perRunRatiosGiveTheWhiskersAndTheGoalsComeFromTheTable() throws Exception {
        List<BenchCell> cells = List.of(
                new Fake("xdp rx", "testpmd af_xdp", true, 2, 2, 2),
                new Fake("xdp rx", "ringlink xsk", false, 1, 3, 2),
                new Fake("shm", "gvisor go", true, 1, 1, 1),
                new Fake("shm", "dpdk memif (scale)", false, 2, 2, 2));
        BenchOptions o = new BenchOptions(List.of(64), Duration.ofMillis(1), 3, false);
        List<CellResult> r = BenchRunner.run(cells, o, (d, t, w) -> { });
        CellResult xsk = r.get(1);
        assertEquals(1.0, xsk.ratio(), 1e-9); // median 2 / 2
        assertEquals(0.5, xsk.ratioMin(), 1e-9);
        assertEquals(1.5, xsk.ratioMax(), 1e-9);
        assertEquals(1.5, BenchGoals.of(cells.get(1)).orElseThrow().ratio());
        assertEquals(22, BenchGoals.of(cells.get(1)).orElseThrow().issue());
        assertTrue(BenchGoals.of(cells.get(0)).isEmpty(), "a reference has no goal");
        assertTrue(BenchGoals.of(cells.get(3)).isEmpty(), "memif for scale is no peer of shm: no goal");
        String json = BenchReport.json(r, o, "now");
        assertTrue(json.contains(
                "\"ratio_min\": 0.500000, \"ratio_max\": 1.50000, \"goal\": 1.50000, \"goal_issue\": 22"), json);
    }

    @Test
    void theRatioChartIsWrittenBesideTheAbsoluteOnes(@TempDir Path dir) throws Exception {
        List<BenchCell> cells = List.of(
                new Fake("xdp rx", "testpmd af_xdp", true, 2, 2),
                new Fake("xdp rx", "ringlink xsk", false, 1, 3),
                new Fake("switch (pair)", "direct pair", true, 4, 4),
                new Fake("switch (pair)", "ringlink switch", false, 2, 1));
        BenchOptions o = new BenchOptions(List.of(64), Duration.ofMillis(1), 2, false);
        List<CellResult> r = BenchRunner.run(cells, o, (d, t, w) -> { });
        List<Path> files = BenchChart.write(dir, r);
        assertTrue(files.contains(dir.resolve("ratios.png")), files.toString());
        assertTrue(Files.size(dir.resolve("ratios.png")) > 1000);
        String out = System.getProperty("rlbench.chartOut");
        if (out != null)
                Files.copy(dir.resolve("ratios.png"), Path.of(out), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        // nothing to compare: no ratio chart
        assertNull(BenchChart.ratioChart(BenchRunner.run(List.of(cells.get(0)), o, (d, t, w) -> { })));
    }

    @Test
    void everyGoalNamesAGroupTheMatrixHas() {
        Set<String> groups = new TreeSet<>();
        for (BenchCell c : BenchRunner.discover(new BenchOptions(List.of(64, 1500), Duration.ofSeconds(1), 1, false)))
                groups.add(c.group());
        List<String> unmatched = new ArrayList<>();
        for (BenchGoals.Goal g : BenchGoals.GOALS) {
            if (groups.stream().noneMatch(x -> g.group().matcher(x).matches())) unmatched.add(g.group().pattern());
        }
        assertTrue(unmatched.isEmpty(),
                "goals for groups the matrix does not have: " + unmatched + " (groups " + groups + ")");
    }
}
