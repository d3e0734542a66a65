package ringlink.cli.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import ringlink.cli.support.Shell;
import ringlink.link.Links;

/**
 * memif cells beyond {@link TransportCells}' copying pair: the server's zero-copy receive.
 */
public final class MemifCells implements BenchCellProvider {
    @Override
    public List<BenchCell> cells(BenchOptions o) {
        List<BenchCell> cells = new ArrayList<>();
        if (o.quick()) return cells;
        TransportCells.Paired p = new TransportCells.Paired();
        for (int size : o.sizes()) cells.add(new MemifInPlaceCell(p, size, o.sizes()));
        return cells;
    }

    /**
     * memif's zero-copy receive as a third variant of the {@code memif rx} group: our server lending
     * testpmd's packets in place ({@code MemifLink.receiveInPlace}) instead of copying them, rated
     * against the group's reference (testpmd ↔ testpmd) like the copying variant. Runs
     * {@code TestpmdPairBench memif dirs=rxip} ({@code bench/memif.sh dirs=rxip}) (which also measures its own testpmd
     * pair, printed beside it).
     */
    record MemifInPlaceCell(TransportCells.Paired paired, int size, List<Integer> sizes) implements BenchCell {
        static final String VARIANT = "ringlink memif in place";

        private static final Pattern ROW =
                Pattern.compile("(?m)^rxip\\s+(\\d+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+|NaN)\\s*$");

        @Override public String group() { return "memif rx"; }
        @Override public String variant() { return VARIANT; }
        @Override public boolean reference() { return false; }
        @Override public String harness() { return TransportCells.PAIR; }

        @Override
        public String unavailable() {
            if (Shell.which("dpdk-testpmd") == null) return "dpdk-testpmd not installed (see scripts/packages.txt)";
            if (!Shell.isRoot()) return "needs root";
            return Links.providers().containsKey("memif") ? null : "the memif transport is not in this build";
        }

        @Override
        public Measurement run(Duration d) throws Exception {
            long s = Math.max(1, Math.round(d.toMillis() / 1000.0));
            return paired.take(size + VARIANT, () -> {
                return parse(Harness.run(TransportCells.PAIR, "1", sizes.size() * 2 * (s + 60) + 300, "memif",
                        "seconds=" + s, "sizes=" + sizes.stream().map(String::valueOf).collect(Collectors.joining(",")),
                                "dirs=rxip"));
            });
        }

        /** MemifBench's "rxip 64 ours dpdk ratio" rows, keyed "64ringlink memif in place". */
        static Map<String, Measurement> parse(String out) throws IOException {
            Map<String, Measurement> m = new HashMap<>();
            Matcher x = ROW.matcher(out);
            while (x.find()) {
                int size = Integer.parseInt(x.group(1));
                double pps = Double.parseDouble(x.group(2)) * 1e6;
                m.put(size + VARIANT, new Measurement(pps, pps * size * 8 / 1e9));
            }
            if (m.isEmpty())
                    throw new IOException("no rxip rows in TestpmdPairBench's output: " + SwitchLoopCell.tail(out));
            return m;
        }
    }
}
