package ringlink.cli.bench;

import java.util.List;

/**
 * Supplies benchmark cells; registered in {@code META-INF/services/ringlink.cli.bench.BenchCellProvider}
 * (transport branches add theirs there).
 */
public interface BenchCellProvider {
    /** The cells for these options (e.g. only the quick ones, at the requested sizes). */
    List<BenchCell> cells(BenchOptions options);
}
