package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import ringlink.cli.bench.BenchCell;
import ringlink.cli.bench.BenchCommand;
import ringlink.cli.bench.BenchOptions;
import ringlink.cli.bench.BenchReport;
import ringlink.cli.bench.BenchRunner;
import ringlink.cli.bench.CellResult;
import ringlink.cli.support.Shell;

/** {@code ringlink bench --quick}: the harness end to end (not a measurement). */
@Timeout(120)
class BenchCommandTest {
    @Test
    void quickRunsTheMatrixAndWritesTableJsonCsvAndCharts(@TempDir Path dir) throws Exception {
        BenchCommand cmd = new BenchCommand();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        setStreams(cmd, new PrintStream(out, true), new PrintStream(err, true));
        int exit = new CommandLine(cmd).execute("--quick", "--duration", "0.2", "--results", dir.toString());
        String table = out.toString();
        assertEquals(0, exit, table + err);
        assertTrue(table.contains("switch (pair)"), table);
        assertTrue(table.contains("ringlink switch"), table);
        assertTrue(table.matches("(?s).*ringlink switch\\s+[0-9.]+\\s+[0-9.]+\\s+-\\s+2\\s+[0-9.]+x.*"),
                "a median and a ratio:\n" + table);
        assertTrue(err.toString().matches("(?s).*2/\\d+.*"), "progress: " + err);
        String json = Files.readString(dir.resolve("results.json"));
        assertTrue(json.contains("\"variant\": \"direct pair\", \"reference\": true, \"size\": 64"), json);
        assertFalse(table.contains("vxlan"),
                "the tunnel cells run in --quick only when --only selects them:\n" + table);
        // header + 2 switch cells + 3 tun cells (measured as root, else listed as skipped)
        assertEquals(6, Files.readAllLines(dir.resolve("results.csv")).size());
        byte[] png = Files.readAllBytes(dir.resolve("throughput-mpps.png"));
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
        var img = javax.imageio.ImageIO.read(dir.resolve("throughput-gbps.png").toFile());
        assertEquals(1000, img.getWidth());
    }

    static void setStreams(BenchCommand cmd, PrintStream out, PrintStream err) throws Exception {
        var o = BenchCommand.class.getDeclaredField("out");
        var e = BenchCommand.class.getDeclaredField("err");
        o.setAccessible(true);
        e.setAccessible(true);
        o.set(cmd, out);
        e.set(cmd, err);
    }

    /** A cell from a transport branch, as it would plug in. */
    record Fake(String variant, boolean reference, double pps, String unavailable) implements BenchCell {
        @Override public String group() { return "fake"; }
        @Override public int size() { return 64; }
        @Override public String unavailable() { return unavailable; }
        @Override public Measurement run(Duration d) { return new Measurement(pps, pps * 64 * 8 / 1e9); }
    }

    @Test
    void ratiosAreAgainstTheReferenceOfTheSameGroupAndSize() {
        BenchOptions o = new BenchOptions(List.of(64), Duration.ofMillis(1), 3, true);
        List<CellResult> r =
                BenchRunner.run(List.of(new Fake("peer", true, 2e6, null), new Fake("ringlink", false, 3e6, null),
                new Fake("other", false, 1e6, "not here")), o, (d, t, w) -> { });
        assertEquals(1.5, r.get(1).ratio(), 1e-9);
        assertEquals(1.0, r.get(0).ratio(), 1e-9);
        assertEquals("not here", r.get(2).skipped());
        assertEquals(3, r.get(1).runs().size());
        String t = BenchReport.table(r, o);
        assertTrue(t.contains("skipped: not here"), t);
        assertTrue(t.contains("1.50x"), t);
    }
    @Test
    void streamCellsReportRetransmissionsNextToThroughput() {
        BenchCell cell = new BenchCell() {
            @Override public String group() { return "netns iperf3"; }
            @Override public String variant() { return "ringlink switch x"; }
            @Override public boolean reference() { return false; }
            @Override public int size() { return 0; }
            @Override public Measurement run(Duration d) { return new Measurement(Double.NaN, 1.5, 7); }
        };
        BenchOptions o = new BenchOptions(List.of(64), Duration.ofMillis(1), 3, true);
        List<CellResult> r = BenchRunner.run(List.of(cell), o, (d, t, w) -> { });
        assertEquals(7, r.getFirst().medianRetransmits(), 1e-9);
        String t = BenchReport.table(r, o);
        assertTrue(t.matches("(?s).*retr.*\nnetns iperf3\\s+stream ringlink switch x\\s+-\\s+1\\.50\\s+7\\s+3\\s+.*"),
                t);
        assertTrue(BenchReport.csv(r).contains(",1.50000,7.00000,"), BenchReport.csv(r));
        assertTrue(BenchReport.json(r, o, "now").contains("\"retransmits\": 7.00000"), BenchReport.json(r, o, "now"));
    }

    @Test
    void iperfJsonGivesRateAndSenderRetransmissions() throws Exception {
        String json = "{\"start\": {}, \"intervals\": [], \"end\": {\"sum_sent\": {\"bytes\": 100, "
                + "\"bits_per_second\": 2.5e9, \"retransmits\": 42},"
                + " \"sum_received\": {\"bytes\": 99, \"bits_per_second\": 2.4e9}}}";
        ringlink.cli.demo.DemoTools.Iperf r = ringlink.cli.demo.DemoTools.parseJson(json);
        assertEquals(42, r.retransmits());
        assertEquals(2.4, r.gbps(), 1e-9);
        assertEquals("2.40 Gbit/s", r.rate());
        var e = assertThrows(java.io.IOException.class,
                () -> ringlink.cli.demo.DemoTools.parseJson("{\"error\": \"unable to connect to server\"}"));
        assertTrue(e.getMessage().contains("unable to connect"), e.getMessage());
    }

    /** As root the quick matrix includes a real-peer group: the kernel's veth beside the Java TUN relay. */
    @Test
    @Timeout(120)
    void quickRunsTheTunRelayBesideVethAsRoot(@TempDir Path dir) throws Exception {
        ringlink.testing.Env.requireNetns();
        ringlink.testing.Env.requireProgram("iperf3", "iperf3");
        BenchCommand cmd = new BenchCommand();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        setStreams(cmd, new PrintStream(out, true), new PrintStream(err, true));
        int exit =
                new CommandLine(cmd).execute("--quick", "--only", "^tun", "--repeat", "1", "--results", dir.toString());
        String table = out.toString();
        assertEquals(0, exit, table + err);
        assertTrue(table.matches("(?s).*tun iperf3\\s+stream kernel veth\\s+-\\s+[0-9.]+\\s+(-|[0-9]+)\\s+1\\s+1\\.00x"
                + "\\s+reference.*"), table);
        for (String v : new String[] {"ringlink relay", "ringlink relay\\+offload"}) {
            assertTrue(table.matches("(?s).*tun iperf3\\s+stream " + v
                    + "\\s+-\\s+[0-9.]+\\s+(-|[0-9]+)\\s+1\\s+[0-9.]+x.*"), v + ":\n" + table);
        }
        assertFalse(ringlink.testing.Env.run(10, "ip", "netns", "list").contains("rltn-ben"), "namespaces left");
    }

    /**
     * {@code --quick --only vxlan}: the UDP link beside iperf3 -u, and as root vxlan iperf3 beside the kernel's bridge
     * + vxlan.
     */
    @Test
    @Timeout(300)
    void quickOnlyVxlanRunsTheTunnelCells(@TempDir Path dir) throws Exception {
        BenchCommand cmd = new BenchCommand();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        setStreams(cmd, new PrintStream(out, true), new PrintStream(err, true));
        int exit = new CommandLine(cmd)
                .execute("--quick", "--only", "vxlan", "--repeat", "1", "--results", dir.toString());
        String table = out.toString();
        assertEquals(0, exit, table + err);
        assertTrue(table.matches("(?s).*vxlan underlay udp\\s+1500B iperf3 -u\\s+[0-9.]+\\s+[0-9.]+\\s+-\\s+1\\s+1\\.00"
                + "x\\s+reference.*"), table);
        for (String v : new String[] {"ringlink sendmmsg\\+gso", "ringlink sendmmsg"}) {
            assertTrue(table.matches("(?s).*vxlan underlay udp\\s+1500B " + v
                    + "\\s+[0-9.]+\\s+[0-9.]+\\s+-\\s+1\\s+[0-9.]+x\\s+udp drops \\d+.*"), v + ":\n" + table);
        }
        assertTrue(table.matches("(?s).*vxlan underlay udp\\s+1500B iperf3 -u.*reference, udp drops \\d+.*"), table);
        assertTrue(Files.readString(dir.resolve("results.json")).contains("\"udp_drops\": "),
                "results.json has the drops");
        if (Shell.isRoot() && Shell.which("iperf3") != null && Shell.which("ethtool") != null) {
            assertTrue(table.matches("(?s).*vxlan iperf3\\s+stream kernel bridge\\+vxlan\\s+-\\s+[0-9.]+\\s+(-|[0-9]+)"
                    + "\\s+1\\s+1\\.00x\\s+reference.*"), table);
            assertTrue(table.matches("(?s).*vxlan iperf3\\s+stream ringlink switch tap\\+vxlan\\s+-\\s+[0-9.]+\\s+(-|[0"
                    + "-9]+)\\s+1\\s+[0-9.]+x.*"), table);
            // the other direction (the compared side encapsulates), each with its UDP sockets' drops
            assertTrue(table.matches("(?s).*vxlan iperf3 rev\\s+stream kernel bridge\\+vxlan\\s+-\\s+[0-9.]+\\s+(-|[0-9"
                    + "]+)\\s+1\\s+1\\.00x\\s+reference, udp drops \\d+.*"), table);
            assertTrue(table.matches("(?s).*vxlan iperf3 rev\\s+stream ringlink switch tap\\+vxlan\\s+-\\s+[0-9.]+\\s+("
                    + "-|[0-9]+)\\s+1\\s+[0-9.]+x\\s+udp drops \\d+.*"), table);
            assertFalse(ringlink.testing.Env.run(10, "ip", "netns", "list").contains("rlbvx-"), "namespaces left");
        }
    }

    @Test
    void listShowsEveryTransportAndVhostNetCanBeLeftOut() throws Exception {
        BenchCommand cmd = new BenchCommand();
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        setStreams(cmd, new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(0, new CommandLine(cmd).execute("--list"));
        String all = out.toString();
        for (String g : new String[] {
                "switch (pair)", "netns iperf3", "switch vhost-user", "tun iperf3", "xdp rx", "xdp tx", "shm ",
                "vhost-net tx", "vhost-net rx", "virtio ring stream jmh",
                "vxlan iperf3 stream kernel bridge+vxlan (reference)", "vxlan iperf3 stream ringlink switch tap+vxlan",
                "vxlan iperf3 rev stream kernel bridge+vxlan (reference)",
                        "vxlan iperf3 rev stream ringlink switch tap+vxlan",
                "vxlan underlay udp 1500B iperf3 -u (reference)", "vxlan underlay udp 1500B ringlink sendmmsg+gso"}) {
            assertTrue(all.contains(g), g + " missing:\n" + all);
        }
        cmd = new BenchCommand();
        out.reset();
        setStreams(cmd, new PrintStream(out, true), new PrintStream(err, true));
        assertEquals(0, new CommandLine(cmd).execute("--list", "--only", "^(?!vhost-net)"));
        assertFalse(out.toString().contains("vhost-net"), out.toString());
        assertTrue(out.toString().contains("shm 64B gvisor go (reference)"), out.toString());
    }

    /** The TUN relay bench is {@code ringlink bench tun}: the command its help names exists, with picocli's parser. */
    @Test
    void benchTunIsASubcommandWithItsOwnOptions() {
        CommandLine cl = Main.commandLine();
        java.io.StringWriter help = new java.io.StringWriter();
        cl.setOut(new java.io.PrintWriter(help));
        assertEquals(0, cl.execute("bench", "tun", "--help"));
        String h = help.toString();
        assertTrue(h.contains("Usage: ringlink bench tun"), h);
        for (String o : List.of("--seconds", "--only", "--spin", "--pin", "--congestion", "--repeat", "--tag"))
                assertTrue(h.contains(o), o + " in\n" + h);
        java.io.StringWriter err = new java.io.StringWriter();
        cl.setErr(new java.io.PrintWriter(err));
        assertNotEquals(0, cl.execute("bench", "tun", "--no-such-option"));
        assertTrue(err.toString().contains("--no-such-option"), err.toString());
    }
}
