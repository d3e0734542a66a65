package ringlink.cli.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import java.util.function.Predicate;

/** Runs cells (each {@code repeat} times, cells interleaved per repetition) and computes ratios. */
public final class BenchRunner {
    /** Told before each repetition: done so far, total, and what runs now. */
    public interface Progress {
        void step(int done, int total, String what);
    }

    private BenchRunner() {}

    /** Every registered provider's cells for {@code o}. */
    public static List<BenchCell> discover(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        for (BenchCellProvider p : ServiceLoader.load(BenchCellProvider.class, BenchRunner.class.getClassLoader())) {
            cells.addAll(p.cells(o));
        }
        return cells;
    }

    /**
     * Runs {@code cells}. Repetitions are interleaved (every cell once, then every cell again) so
     * that a disturbance on the shared machine spreads over all cells instead of skewing one.
     */
    public static List<CellResult> run(List<BenchCell> cells, BenchOptions o, Progress progress) {
        List<CellResult> results = new ArrayList<>();
        for (BenchCell c : cells) {
            CellResult r = new CellResult(c);
            try {
                r.skipped = c.unavailable();
            } catch (RuntimeException e) {
                r.skipped = "cannot check: " + e.getMessage();
            }
            results.add(r);
        }
        List<CellResult> runnable = results.stream().filter(r -> r.skipped == null).toList();
        int total = runnable.size() * o.repeat(), done = 0;
        for (int rep = 0; rep < o.repeat(); rep++) {
            for (CellResult r : runnable) {
                progress.step(done, total, r.cell.label() + " #" + (rep + 1));
                if (r.error == null) {
                    try {
                        r.runs.add(r.cell.run(o.duration()));
                    } catch (Exception | Error e) {
                        if (e instanceof VirtualMachineError v) throw v;
                        r.error = e.getClass().getSimpleName() + ": " + e.getMessage();
                    }
                }
                done++;
            }
        }
        progress.step(done, total, "done");
        ratios(results);
        return results;
    }

    static void ratios(List<CellResult> results) {
        for (CellResult r : results) {
            if (!r.ok()) continue;
            Predicate<CellResult> sameCell = x -> x.cell.reference() && x.ok()
                    && x.cell.group().equals(r.cell.group()) && x.cell.size() == r.cell.size();
            results.stream().filter(sameCell).findFirst().ifPresent(ref -> {
                r.ratio = r.measure() / ref.measure();
                int n = Math.min(r.runs.size(), ref.runs.size());
                r.runRatios = java.util.stream.IntStream.range(0, n)
                        .mapToDouble(k -> r.measure(r.runs.get(k)) / ref.measure(ref.runs.get(k)))
                        .filter(x -> !Double.isNaN(x) && !Double.isInfinite(x)).toArray();
            });
        }
    }
}
