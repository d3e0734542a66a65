package ringlink.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.BenchCellProvider;
import ringlink.cli.bench.BenchOptions;

/**
 * Bench cells for namespace-to-namespace TCP (iperf3) through Ringlink's switch over each
 * kernel-facing transport, in the same group as the kernel veth reference: the demo's steps,
 * run quietly. Each is skipped while its transport is not in the build.
 */
public final class NetnsCells implements BenchCellProvider {
    @Override
    public List<BenchCell> cells(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        if (o.quick()) return cells;
        for (DemoCommand.Step s : DemoCommand.steps()) {
            if (s instanceof DemoCommand.Tap || s instanceof DemoCommand.Xdp || s instanceof DemoCommand.Mixed) {
                cells.add(new StepCell(s));
            }
        }
        return cells;
    }

    /** One demo step as a cell: its iperf3 receiver rate. */
    record StepCell(DemoCommand.Step step) implements BenchCell {
        @Override public String group() { return "netns iperf3"; }
        @Override public String variant() { return "ringlink switch " + step.name(); }
        @Override public boolean reference() { return false; }
        @Override public int size() { return 0; }

        private static DemoCommand.Context context(int seconds, Cleanup cleanup) {
            return new DemoCommand.Context("rlclb", seconds, new PrintStream(OutputStream.nullOutputStream()), cleanup, Shell.isRoot());
        }

        @Override
        public String unavailable() {
            return step.unavailable(context(1, new Cleanup(m -> { })));
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            List<String> problems = new ArrayList<>();
            Cleanup cleanup = new Cleanup(problems::add);
            DemoCommand.Context c = context((int) Math.max(1, Math.round(d.toMillis() / 1000.0)), cleanup);
            try {
                DemoCommand.Outcome o = step.run(c);
                return new Measurement(Double.NaN, gbps(o.throughput()));
            } finally {
                cleanup.run();
                if (!problems.isEmpty()) System.err.println("ringlink bench: cleanup: " + String.join("; ", problems));
            }
        }

        /** "5.50 Gbit/s" or "916 Mbit/s" in Gbit/s. */
        static double gbps(String rate) {
            String[] f = rate.trim().split(" ");
            double v = Double.parseDouble(f[0]);
            return f.length > 1 && f[1].startsWith("M") ? v / 1000 : v;
        }
    }
}
