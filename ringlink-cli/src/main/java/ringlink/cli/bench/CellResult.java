package ringlink.cli.bench;

import java.util.ArrayList;
import java.util.List;

/** A cell's repetitions, their medians, and its ratio to its group's reference. */
public final class CellResult {
    final BenchCell cell;
    final List<BenchCell.Measurement> runs = new ArrayList<>();
    String skipped;
    String error;
    double ratio = Double.NaN;
    /** Per-repetition ratios (run k / the reference's run k: interleaved, so taken back to back). */
    double[] runRatios = new double[0];

    CellResult(BenchCell cell) {
        this.cell = cell;
    }

    public BenchCell cell() { return cell; }
    public List<BenchCell.Measurement> runs() { return runs; }
    /** Why the cell did not run (unavailable here), or null. */
    public String skipped() { return skipped; }
    /** Why a repetition failed, or null. */
    public String error() { return error; }
    /** Median over repetitions / the reference's median (NaN if there is none). */
    public double ratio() { return ratio; }

    /** The smallest and largest per-repetition ratio (NaN if there is no ratio). */
    public double ratioMin() {
        return java.util.Arrays.stream(runRatios).min().orElse(Double.NaN);
    }

    public double ratioMax() {
        return java.util.Arrays.stream(runRatios).max().orElse(Double.NaN);
    }

    public boolean ok() {
        return skipped == null && error == null && !runs.isEmpty();
    }

    public double medianPps() {
        return median(runs.stream().mapToDouble(BenchCell.Measurement::pps).toArray());
    }

    public double medianGbps() {
        return median(runs.stream().mapToDouble(BenchCell.Measurement::gbps).toArray());
    }

    /** Median sender retransmissions over repetitions (NaN when the cell does not measure them). */
    public double medianRetransmits() {
        double[] v =
                runs.stream().mapToDouble(BenchCell.Measurement::retransmits).filter(x -> !Double.isNaN(x)).toArray();
        return median(v);
    }

    /** Median UDP drops over repetitions (NaN when the cell does not read them). */
    public double medianUdpDrops() {
        double[] v = runs.stream().mapToDouble(BenchCell.Measurement::udpDrops).filter(x -> !Double.isNaN(x)).toArray();
        return median(v);
    }

    /** The figure ratios compare: packets per second for sized cells, bits per second for streams. */
    double measure() {
        return cell.size() == 0 ? medianGbps() : medianPps();
    }

    /** {@link #measure()}'s figure of one repetition. */
    double measure(BenchCell.Measurement m) {
        return cell.size() == 0 ? m.gbps() : m.pps();
    }

    static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
