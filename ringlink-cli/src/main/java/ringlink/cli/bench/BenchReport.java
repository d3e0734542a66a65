package ringlink.cli.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import ringlink.cli.support.Json;

/** The bench results as a table (text), JSON and CSV. */
public final class BenchReport {
    private BenchReport() {}

    /** A fixed-width table of medians and ratios. */
    public static String table(List<CellResult> results, BenchOptions o) {
        StringBuilder sb = new StringBuilder();
        // columns as wide as the longest group and variant, so the rows stay aligned
        int gw = Math.max(16, results.stream().mapToInt(r -> r.cell.group().length()).max().orElse(0));
        int vw = Math.max(22, results.stream().mapToInt(r -> r.cell.variant().length()).max().orElse(0));
        String row = "%-" + gw + "s %7s %-" + vw + "s %10s %10s %8s %6s %8s  %s%n";
        sb.append(String.format(Locale.ROOT, row, "group", "size", "variant", "Mpps", "Gbit/s", "retr", "runs", "ratio",
                "note"));
        for (CellResult r : results) {
            BenchCell c = r.cell;
            String note = r.skipped != null ? "skipped: " + r.skipped : r.error != null ? "failed: " + r.error
                    : c.reference() ? "reference" : "";
            double drops = r.ok() ? r.medianUdpDrops() : Double.NaN;
            if (!Double.isNaN(drops)) note = (note.isEmpty() ? "" : note + ", ") + "udp drops " + fmt(drops, 0);
            double retr = r.ok() ? r.medianRetransmits() : Double.NaN;
            sb.append(String.format(Locale.ROOT, row,
                    c.group(), c.size() == 0 ? "stream" : c.size() + "B", c.variant(),
                    r.ok() && c.size() != 0 ? fmt(r.medianPps() / 1e6, 3) : "-",
                    r.ok() ? fmt(r.medianGbps(), 2) : "-", Double.isNaN(retr) ? "-" : fmt(retr, 0),
                            String.valueOf(r.runs.size()),
                    Double.isNaN(r.ratio) ? "-" : fmt(r.ratio, 2) + "x", note));
        }
        java.util.Map<String, String> settings = new java.util.LinkedHashMap<>();
        for (CellResult r : results) {
            String st = r.cell.setting();
            if (st != null) settings.putIfAbsent(r.cell.group(), st);
        }
        settings.forEach((g, st) -> sb.append("setting, ").append(g).append(": ").append(st).append('\n'));
        sb.append(String.format(Locale.ROOT,
                "medians of %d runs of %.1f s each; retr = the iperf3 sender's TCP retransmissions (stream cells);"
                + " udp drops = the receiving UDP sockets' /proc/net/udp drops (tunnel cells);"
                + " ratio = median / the group's reference at the same size, same run%n",
                o.repeat(), o.duration().toMillis() / 1000.0));
        return sb.toString();
    }

    private static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    /** results.json: the machine, the options and every run of every cell. */
    public static String json(List<CellResult> results, BenchOptions o, String started) {
        StringBuilder sb = new StringBuilder("{\n");
        sb.append("  \"started\": ").append(q(started)).append(",\n");
        sb.append("  \"machine\": {\"cores\": ").append(Runtime.getRuntime().availableProcessors())
                .append(", \"os\": ").append(q(System.getProperty("os.name") + " " + System.getProperty("os.version")))
                .append(", \"java\": ").append(q(Runtime.version().toString())).append("},\n");
        sb.append("  \"options\": {\"duration_s\": ").append(o.duration().toMillis() / 1000.0)
                .append(", \"repeat\": ").append(o.repeat()).append(", \"quick\": ").append(o.quick())
                .append(", \"sizes\": ").append(o.sizes()).append("},\n");
        sb.append("  \"cells\": [");
        for (int i = 0; i < results.size(); i++) {
            CellResult r = results.get(i);
            BenchCell c = r.cell;
            sb.append(i == 0 ? "\n" : ",\n").append("    {\"group\": ").append(q(c.group()))
                    .append(", \"variant\": ").append(q(c.variant()))
                    .append(", \"reference\": ").append(c.reference())
                    .append(", \"size\": ").append(c.size())
                    .append(", \"runs\": [");
            for (int k = 0; k < r.runs.size(); k++) {
                var m = r.runs.get(k);
                sb.append(k == 0 ? "" : ", ").append("{\"pps\": ").append(num(m.pps())).append(", \"gbps\": ")
                        .append(num(m.gbps()))
                        .append(", \"retransmits\": ").append(num(m.retransmits()))
                        .append(", \"udp_drops\": ").append(num(m.udpDrops())).append('}');
            }
            sb.append("], \"median_pps\": ").append(num(r.ok() ? r.medianPps() : Double.NaN))
                    .append(", \"median_gbps\": ").append(num(r.ok() ? r.medianGbps() : Double.NaN))
                    .append(", \"median_retransmits\": ").append(num(r.ok() ? r.medianRetransmits() : Double.NaN))
                    .append(", \"median_udp_drops\": ").append(num(r.ok() ? r.medianUdpDrops() : Double.NaN))
                    .append(", \"ratio\": ").append(num(r.ratio))
                    .append(", \"ratio_min\": ").append(num(r.ratioMin()))
                    .append(", \"ratio_max\": ").append(num(r.ratioMax()))
                    .append(", \"goal\": ").append(BenchGoals.of(c)
                            .map(g -> num(g.ratio()) + ", \"goal_issue\": " + g.issue()).orElse("null"))
                    .append(", \"setting\": ").append(c.setting() == null ? "null" : q(c.setting()))
                    .append(", \"skipped\": ").append(r.skipped == null ? "null" : q(r.skipped))
                    .append(", \"error\": ").append(r.error == null ? "null" : q(r.error)).append('}');
        }
        sb.append("\n  ]\n}\n");
        return sb.toString();
    }

    /** results.csv: one row per cell with medians and ratio. */
    public static String csv(List<CellResult> results) {
        StringBuilder sb = new StringBuilder(
                "group,variant,reference,size,runs,median_pps,median_gbps,median_retransmits,ratio,status\n");
        for (CellResult r : results) {
            BenchCell c = r.cell;
            sb.append(csvField(c.group())).append(',').append(csvField(c.variant())).append(',').append(c.reference())
                    .append(',').append(c.size()).append(',').append(r.runs.size()).append(',')
                    .append(r.ok() ? num(r.medianPps()) : "").append(',').append(r.ok() ? num(r.medianGbps()) : "")
                            .append(',')
                    .append(r.ok() && !Double.isNaN(r.medianRetransmits()) ? num(r.medianRetransmits()) : "")
                            .append(',')
                    .append(Double.isNaN(r.ratio) ? "" : num(r.ratio)).append(',')
                    .append(csvField(r.skipped != null ? "skipped: " + r.skipped : r.error != null
                            ? "failed: " + r.error : "ok"))
                    .append('\n');
        }
        return sb.toString();
    }

    /** Writes table.txt, results.json, results.csv into {@code dir}. */
    public static void write(Path dir, List<CellResult> results, BenchOptions o, String started) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("table.txt"), table(results, o));
        Files.writeString(dir.resolve("results.json"), json(results, o, started));
        Files.writeString(dir.resolve("results.csv"), csv(results));
    }

    private static String num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.6g", v);
    }

    static String q(String s) {
        StringBuilder sb = new StringBuilder();
        Json.quote(sb, s);
        return sb.toString();
    }

    private static String csvField(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }
}
