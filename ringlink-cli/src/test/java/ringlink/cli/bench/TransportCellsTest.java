package ringlink.cli.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The transport cells without running the harnesses: the matrix they add, parsing the harnesses'
 * real output formats, and one harness run per repetition shared by its cells. (The harnesses
 * themselves run in `ringlink bench`; tun's also in BenchCommandTest as root.)
 */
@Timeout(30)
class TransportCellsTest {
    static final BenchOptions FULL = new BenchOptions(List.of(64, 1500), Duration.ofSeconds(1), 1, false);

    @Test
    void everyTransportGroupHasItsReferenceAtEverySize() {
        List<BenchCell> cells = new TransportCells().cells(FULL);
        for (String g : List.of("tun iperf3", "xdp rx", "xdp tx", "shm", "vhost-net tx", "vhost-net rx",
                "vhost-user rx split", "vhost-user rx packed", "vhost-user tx split", "vhost-user tx packed")) {
            List<BenchCell> in = cells.stream().filter(c -> c.group().equals(g)).toList();
            assertTrue(in.size() >= 2, g + ": " + in);
            for (BenchCell c : in) {
                assertEquals(1, in.stream().filter(x -> x.reference() && x.size() == c.size()).count(),
                        "one reference for " + c.label());
            }
        }
        assertTrue(cells.stream().anyMatch(c -> c.label().equals("shm 1500B gvisor go") && c.reference()));
        assertTrue(cells.stream().anyMatch(c -> c.label().equals("xdp rx 64B testpmd af_xdp") && c.reference()));
        assertTrue(cells.stream()
                .anyMatch(c -> c.label().equals("vhost-net tx 64B testpmd virtio_user") && c.reference()));
        // JMH-only parts are listed, always skipped with a pointer.
        assertTrue(cells.stream().filter(c -> c.variant().equals("jmh"))
                .allMatch(c -> c.unavailable().startsWith("measured by JMH")));
    }

    @Test
    void quickKeepsOnlyTheCheapTunCells() {
        List<BenchCell> cells =
                new TransportCells().cells(new BenchOptions(List.of(64), Duration.ofMillis(300), 2, true));
        assertEquals(List.of("tun iperf3 stream kernel veth", "tun iperf3 stream ringlink relay",
                "tun iperf3 stream ringlink relay+offload"),
                cells.stream().map(BenchCell::label).toList());
    }

    @Test
    void parsesXdpBenchOutput() throws IOException {
        String out = """
                XDP packet rate, 64-byte frames, 3 s per case, attach=skb, veth a<->b, 2 CPUs, load 3.1
                (JIT warm-up on simulated rings: 812 ms)
                  java     app   0.209 Mpps   kernel   0.300 Mpps   per-second app samples (Mpps) [0.2, 0.21]
                RX  java 0.209 Mpps   dpdk af_xdp 0.524 Mpps   ratio java/dpdk 0.40
                """;
        Map<String, BenchCell.Measurement> m = TransportCells.Xdp.parse(out, "rx", 64);
        assertEquals(209_000, m.get("rx64ringlink xsk").pps(), 1);
        assertEquals(524_000, m.get("rx64testpmd af_xdp").pps(), 1);
        assertEquals(524_000 * 64 * 8 / 1e9, m.get("rx64testpmd af_xdp").gbps(), 1e-9);
        assertThrows(IOException.class, () -> TransportCells.Xdp.parse(out, "tx", 64));
    }

    @Test
    void parsesShmBenchOutput() throws IOException {
        String out = """
                dir    size       java pps  java Gb/s     gvisor pps    go Gb/s    ratio
                c2s      64       10305000      5.276        3195000      1.636     3.23
                c2s    1500        1000000     12.000         900000     10.800     1.11
                memif     64       51000000     26.112   (DPDK memif PMD, testpmd txonly -> rxonly, for scale)
                memif   1500 failed: memif: the client received nothing
                """;
        Map<String, BenchCell.Measurement> m = TransportCells.Shm.parse(out, 1500);
        assertEquals(1_000_000, m.get("1500ringlink java").pps(), 1);
        assertEquals(10.8, m.get("1500gvisor go").gbps(), 1e-9);
        assertNull(m.get("1500dpdk memif (scale)"), "a failed memif run leaves its cell without a figure");
        assertEquals(51_000_000, TransportCells.Shm.parse(out, 64).get("64dpdk memif (scale)").pps(), 1);
        assertThrows(IOException.class, () -> TransportCells.Shm.parse(out, 512));
    }

    @Test
    void parsesMemifBenchRows() throws IOException {
        String out = """
                INFO: memif:/tmp/rlmifb-rx.sock: connected to DPDK 22.11.11
                rx      64      9.500     18.100    0.52
                rx    1500      3.100      4.000    0.78
                tx      64      8.000     16.000    0.50

                dir   size  ours Mpps  DPDK Mpps   ratio
                rx      64      9.500     18.100    0.52
                """;
        Map<String, BenchCell.Measurement> m = TransportCells.Memif.parse(out, "rx");
        assertEquals(9_500_000, m.get("64ringlink memif").pps(), 1);
        assertEquals(18_100_000, m.get("64testpmd memif").pps(), 1);
        assertEquals(4_000_000, m.get("1500testpmd memif").pps(), 1);
        assertEquals(16_000_000, TransportCells.Memif.parse(out, "tx").get("64testpmd memif").pps(), 1);
        assertThrows(IOException.class, () -> TransportCells.Memif.parse("nothing", "rx"));
    }

    @Test
    void parsesVhostUserBenchRows() throws IOException {
        String out = """
                direction ring    size   ours Mpps   DPDK Mpps   ratio
                rx        split      64      4.000       5.000    0.80
                rx        split    1500      1.500       1.000    1.50
                tx        packed     64      3.000       6.000    0.50
                """;
        Map<String, BenchCell.Measurement> m = TransportCells.VhostUser.parse(out, "rx", "split");
        assertEquals(4_000_000, m.get("64ringlink backend").pps(), 1);
        assertEquals(1_000_000, m.get("1500dpdk net_vhost").pps(), 1);
        assertEquals(4, m.size());
        assertThrows(IOException.class, () -> TransportCells.VhostUser.parse(out, "tx", "split"));
    }

    @Test
    void parsesTheVhostNetGuestsBenchLines() throws IOException {
        String out = """
                BENCH tx link 123456
                BENCH tx tap 100000
                BENCH tx dpdk 200000
                BENCH rx link 50000
                BENCH-RATIO tx link/tap 1.235
                (QEMU TCG guest, 95 s; console log target/x.log)
                """;
        Map<String, BenchCell.Measurement> m = TransportCells.VhostNet.parse(out);
        assertEquals(123456, m.get("txlink").pps(), 1e-9);
        assertEquals(50000, m.get("rxlink").pps(), 1e-9);
        assertEquals(4, m.size());
        assertThrows(IOException.class, () -> TransportCells.VhostNet.parse("guest failed"));
    }

    @Test
    void aHarnessMeasuringBothSidesRunsOncePerRepetition() throws Exception {
        TransportCells.Paired p = new TransportCells.Paired();
        AtomicInteger runs = new AtomicInteger();
        TransportCells.HarnessRun h = () -> {
            int n = runs.incrementAndGet();
            return Map.of("peer", new BenchCell.Measurement(n, 0), "ours", new BenchCell.Measurement(10 * n, 0));
        };
        for (int rep = 1; rep <= 3; rep++) {
            assertEquals(rep, p.take("peer", h).pps(), 0);
            assertEquals(10 * rep, p.take("ours", h).pps(), 0, "the sibling gets the figure from the same run");
        }
        assertEquals(3, runs.get());
        assertThrows(IOException.class, () -> p.take("missing", h));
    }

    @Test
    void theXdpHarnessSettingLineIsKept() {
        String out = "XDP packet rate ...\nSETTING xdp size=64 seconds=5 warmup=2s counted=3s order=rx only\nRX  java "
                + "1.0 Mpps   dpdk af_xdp 1.0 Mpps\n";
        assertEquals("xdp size=64 seconds=5 warmup=2s counted=3s order=rx only", TransportCells.setting(out));
        assertNull(TransportCells.setting("no such line"));
    }
}
