package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.BenchOptions;
import ringlink.testing.Env;

/**
 * Issue 22: the netns iperf3 cells of the switch over tap, xdp and mixed ports each compare with
 * the kernel's bridge between the same two kinds of port (NetnsCells.BridgeCell).
 */
@Timeout(120)
class BenchNetnsCellsTest {
    static final BenchOptions FULL = new BenchOptions(List.of(64, 1500), Duration.ofSeconds(1), 1, false);

    @Test
    void eachSwitchCellHasAKernelBridgeReferenceInItsGroup() {
        List<BenchCell> cells = new NetnsCells().cells(FULL);
        for (String kind : List.of("tap", "xdp", "mixed")) {
            List<BenchCell> in = cells.stream().filter(c -> c.group().equals("netns iperf3 " + kind)).toList();
            assertEquals(2, in.size(), kind + ": " + in);
            BenchCell ref = in.stream().filter(BenchCell::reference).findFirst().orElseThrow();
            assertTrue(ref.variant().startsWith("kernel bridge"), ref.label());
            assertTrue(in.stream().anyMatch(c -> !c.reference() && c.variant().equals("ringlink switch " + kind)),
                    kind + ": " + in);
        }
        // shm has no kernel counterpart to bridge: it stays beside the veth pair (BuiltinCells)
        assertTrue(cells.stream()
                .anyMatch(c -> c.group().equals("netns iperf3") && c.variant().equals("ringlink switch shm")));
        assertTrue(new NetnsCells().cells(new BenchOptions(List.of(64), Duration.ofMillis(300), 2, true)).isEmpty(),
                "not in --quick");
    }

    @Test
    void theSoftwareGsoBridgeRunsAndLeavesNothingBehind() throws Exception {
        Env.requireNetns();
        Env.requireProgram("iperf3", "iperf3");
        Env.requireProgram("ethtool", "ethtool");
        BenchCell.Measurement m = new NetnsCells.BridgeCell("mixed").run(Duration.ofSeconds(1));
        assertTrue(m.gbps() > 0, "rate " + m.gbps());
        assertFalse(Env.run(10, "ip", "netns", "list").contains("rlbbr-"), "namespaces left");
        assertNotEquals(0, Env.runQuiet(10, "ip", "link", "show", NetnsCells.BridgeCell.BRIDGE), "bridge left");
    }
}
