package ringlink.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The memif zero-copy cell without running the harness: its place in the matrix and MemifBench's rxip rows. */
@Timeout(30)
class MemifCellsTest {
    @Test
    void inPlaceVariantJoinsTheMemifRxGroupAtEverySize() {
        List<BenchCell> cells =
                new MemifCells().cells(new BenchOptions(List.of(64, 1500), Duration.ofSeconds(1), 1, false));
        assertEquals(List.of(64, 1500), cells.stream().map(BenchCell::size).toList());
        for (BenchCell c : cells) {
            assertEquals("memif rx", c.group());
            assertEquals("ringlink memif in place", c.variant());
            assertFalse(c.reference(), "rated against TransportCells' testpmd memif reference");
        }
        // The reference it is rated against is in the same group at the same sizes.
        assertTrue(TransportCells.memif(new BenchOptions(List.of(64), Duration.ofSeconds(1), 1, false)).stream()
                .anyMatch(c -> c.group().equals("memif rx") && c.reference() && c.size() == 64));
        assertTrue(new MemifCells().cells(new BenchOptions(List.of(64), Duration.ofSeconds(1), 1, true)).isEmpty());
        boolean registered = false;
        for (BenchCellProvider p : ServiceLoader.load(BenchCellProvider.class)) registered |= p instanceof MemifCells;
        assertTrue(registered, "MemifCells is in META-INF/services");
    }

    @Test
    void parsesRxipRowsOnly() throws IOException {
        String out = """
                rx      64      9.500     18.100    0.52
                rxip    64     12.000     18.000    0.67
                rxip  1500      4.000      4.100    0.98
                """;
        Map<String, BenchCell.Measurement> m = MemifCells.MemifInPlaceCell.parse(out);
        assertEquals(2, m.size());
        assertEquals(12_000_000, m.get("64ringlink memif in place").pps(), 1);
        assertEquals(4e6 * 1500 * 8 / 1e9, m.get("1500ringlink memif in place").gbps(), 1e-9);
        // the copying cell's parser does not take the rxip rows for rx ones
        assertEquals(9_500_000, TransportCells.Memif.parse(out, "rx").get("64ringlink memif").pps(), 1);
        assertThrows(IOException.class, () -> MemifCells.MemifInPlaceCell.parse("rx 64 1 2 0.5"));
    }
}
