package ringlink.cli.bench;

import java.time.Duration;
import java.util.List;

/**
 * What the user asked of {@code ringlink bench}.
 *
 * @param sizes frame sizes to run
 * @param duration length of one repetition
 * @param repeat repetitions per cell
 * @param quick CI mode: only cells that need no privileges or peers, very short
 */
public record BenchOptions(List<Integer> sizes, Duration duration, int repeat, boolean quick) {}
