package ringlink.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jfree.data.category.DefaultCategoryDataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ringlink.cli.PacketCells;

/** The absolute charts have a column for the memif and AF_PACKET cells (issue 21's "charts"). */
class BenchChartTransportsTest {
    @TempDir Path tmp;

    @Test
    void chartsHoldTheMemifAndAfPacketCells() throws Exception {
        List<CellResult> results = new ArrayList<>();
        TransportCells.Paired p = new TransportCells.Paired();
        for (BenchCell c : TransportCells.memif(new BenchOptions(List.of(64), Duration.ofSeconds(1), 1, false))) {
            results.add(ran(c, new BenchCell.Measurement(c.reference() ? 18e6 : 9e6, 1)));
        }
        for (BenchCell c : new PacketCells().cells(new BenchOptions(List.of(64), Duration.ofSeconds(1), 1, false))) {
            results.add(ran(c, new BenchCell.Measurement(c.size() == 0 ? Double.NaN : 1e6, 5)));
        }
        DefaultCategoryDataset mpps = BenchChart.dataset(results, true), gbps = BenchChart.dataset(results, false);
        for (String column : List.of("memif rx 64B", "memif tx 64B", "af_packet rx 64B", "af_packet tx 64B")) {
            assertTrue(mpps.getColumnKeys().contains(column), column + " in " + mpps.getColumnKeys());
        }
        assertTrue(gbps.getColumnKeys().contains("af_packet iperf3 stream"), String.valueOf(gbps.getColumnKeys()));
        assertFalse(mpps.getColumnKeys().contains("af_packet iperf3 stream"), "streams have no packet rate");
        assertEquals(9.0, mpps.getValue("ringlink memif", "memif rx 64B").doubleValue(), 1e-9);
        assertEquals(5.0, gbps.getValue("kernel bridge", "af_packet iperf3 stream").doubleValue(), 1e-9);
        List<Path> files = BenchChart.write(tmp, results);
        assertTrue(files.size() >= 2, "absolute charts (and ratios.png): " + files);
        for (Path f : files) assertTrue(Files.size(f) > 1000, f + " written");
    }

    private static CellResult ran(BenchCell c, BenchCell.Measurement m) {
        CellResult r = new CellResult(c);
        r.runs.add(m);
        return r;
    }
}
