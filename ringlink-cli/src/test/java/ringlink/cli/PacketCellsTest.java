package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import ringlink.cli.bench.*;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The AF_PACKET cells without running the harness: the matrix they add (registered as a
 * provider), parsing PacketBench's rows, and the charts holding the memif and AF_PACKET cells.
 */
@Timeout(30)
class PacketCellsTest {
    static final BenchOptions FULL = new BenchOptions(List.of(64, 1500), Duration.ofSeconds(1), 1, false);

    @TempDir Path tmp;

    @Test
    void addsRxTxAtEverySizeAndTheIperfPairEachWithItsReference() {
        List<BenchCell> cells = new PacketCells().cells(FULL);
        for (String group : List.of("af_packet rx", "af_packet tx")) {
            for (int size : List.of(64, 1500)) {
                List<BenchCell> g = cells.stream().filter(c -> c.group().equals(group) && c.size() == size).toList();
                assertEquals(2, g.size(), group + " " + size);
                assertEquals(1, g.stream().filter(BenchCell::reference).count());
                assertEquals("testpmd af_packet",
                        g.stream().filter(BenchCell::reference).findFirst().orElseThrow().variant());
            }
        }
        List<BenchCell> tcp = cells.stream().filter(c -> c.group().equals("af_packet iperf3")).toList();
        assertEquals(List.of("kernel bridge", "ringlink switch packet"), tcp.stream().map(BenchCell::variant).toList());
        assertTrue(tcp.get(0).reference());
        assertEquals(0, tcp.get(0).size());
        // Sizes a veth frame cannot have are left out.
        assertTrue(new PacketCells().cells(new BenchOptions(List.of(9000), Duration.ofSeconds(1), 1, false)).stream()
                .noneMatch(c -> c.group().equals("af_packet rx")));
        assertTrue(new PacketCells().cells(new BenchOptions(List.of(64), Duration.ofSeconds(1), 1, true)).isEmpty(),
                "--quick adds none");
        boolean registered = false;
        for (BenchCellProvider p : ServiceLoader.load(BenchCellProvider.class)) registered |= p instanceof PacketCells;
        assertTrue(registered, "PacketCells is in META-INF/services");
    }

    @Test
    void parsesPacketBenchRows() throws IOException {
        String out = """
                AF_PACKET packet rate, veth rlpkb0 (measured) <-> rlpkb1, 2.0 s per case after 500 ms warm-up, 2 \
                CPUs, load 9.30
                      (live frames refused: ...; RX source: AF_PACKET sender on rlpkb1)
                      source offered 0.057 Mpps (packet)
                rx      64      0.066      0.067    0.99
                tx      64      0.215      0.279    0.77

                dir   size  ours Mpps  DPDK Mpps   ratio
                rx      64      0.066      0.067    0.99
                tx      64      0.215      0.279    0.77
                """;
        Map<String, BenchCell.Measurement> m = PacketCells.Rate.parse(out);
        assertEquals(66_000, m.get("rx64ringlink packet").pps(), 1);
        assertEquals(67_000, m.get("rx64testpmd af_packet").pps(), 1);
        assertEquals(279_000, m.get("tx64testpmd af_packet").pps(), 1);
        assertEquals(215_000 * 64 * 8 / 1e9, m.get("tx64ringlink packet").gbps(), 1e-9);
        assertThrows(IOException.class, () -> PacketCells.Rate.parse("nothing"));
    }
}
