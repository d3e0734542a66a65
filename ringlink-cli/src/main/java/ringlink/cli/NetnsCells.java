package ringlink.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.BenchCellProvider;
import ringlink.cli.bench.BenchOptions;
import ringlink.cli.demo.DemoCommand;
import ringlink.cli.demo.DemoContext;
import ringlink.cli.demo.DemoStep;
import ringlink.cli.demo.MixedStep;
import ringlink.cli.demo.SharedMemoryStep;
import ringlink.cli.demo.TapStep;
import ringlink.cli.demo.XdpStep;
import ringlink.cli.support.Cleanup;
import ringlink.cli.support.Shell;

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
        for (DemoStep s : DemoCommand.steps()) {
            if (s instanceof TapStep || s instanceof XdpStep || s instanceof MixedStep
                    || s instanceof SharedMemoryStep) {
                cells.add(new StepCell(s));
            }
        }
        return cells;
    }

    /** One demo step as a cell: its iperf3 receiver rate and sender retransmissions. */
    record StepCell(DemoStep step) implements BenchCell {
        @Override public String group() { return "netns iperf3"; }
        @Override public String variant() { return "ringlink switch " + step.name(); }
        @Override public boolean reference() { return false; }
        @Override public int size() { return 0; }

        private static DemoContext context(int seconds, Cleanup cleanup) {
            return new DemoContext("rlclb", seconds, new PrintStream(OutputStream.nullOutputStream()), cleanup,
                    Shell.isRoot(), true);
        }

        @Override
        public String unavailable() {
            return step.unavailable(context(1, new Cleanup(m -> { })));
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            List<String> problems = new ArrayList<>();
            Cleanup cleanup = new Cleanup(problems::add);
            DemoContext c = context((int) Math.max(1, Math.round(d.toMillis() / 1000.0)), cleanup);
            try {
                DemoStep.Outcome o = step.run(c);
                return new Measurement(Double.NaN, o.gbps(), o.retransmits() < 0 ? Double.NaN : o.retransmits());
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
