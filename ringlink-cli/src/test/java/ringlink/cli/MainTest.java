package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import ringlink.sw.PortVlan;

class MainTest {
    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cmd = Main.commandLine();
        cmd.setOut(new PrintWriter(out));
        cmd.setErr(new PrintWriter(err));
        int exit = cmd.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void helpListsTheProgramAndEveryCommand() {
        Run r = run("--help");
        assertEquals(0, r.exit());
        for (String c : new String[] {"ringlink", "demo", "switch", "capture", "bench", "links"}) {
            assertTrue(r.out().contains(c), c + " missing from:\n" + r.out());
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String c : new String[] {"demo", "switch", "capture", "bench", "links"}) {
            Run r = run(c, "--help");
            assertEquals(0, r.exit(), c);
            assertTrue(r.out().contains("Usage: ringlink " + c), r.out());
        }
        assertTrue(run("switch", "--help").out().contains("port.vlan=10"));
        assertTrue(run("capture", "--help").out().contains("--count"));
        assertTrue(run("bench", "--help").out().contains("--quick"));
        for (String g : new String[] {"tun iperf3", "xdp rx/tx", "shm:", "vhost-net tx/rx", "^(?!vhost-net)",
                "JMH-only", "vxlan iperf3", "vxlan underlay udp"}) {
            assertTrue(run("bench", "--help").out().replaceAll("\\s+", " ").contains(g), "bench --help names " + g);
        }
        assertTrue(run("demo", "--help").out().replaceAll("\\s+", " ").contains("shared memory (shm:)"));
        assertTrue(run("demo", "--help").out().replaceAll("\\s+", " ").contains("VXLAN between two"));
    }

    @Test
    void linksListsThePairScheme() {
        Run r = run("links");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("pair:NAME"), r.out());
    }

    @Test
    void badUsageGivesAClearErrorNotAStackTrace() {
        Run r = run("capture", "pair:x");
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("Missing required option: '--write=FILE'"), r.err());
        r = run("switch", "nosuch:thing");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("unknown link scheme 'nosuch'"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        r = run("switch", "pair:rlcl-m?port.vlam=3");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("unknown switch port parameter 'port.vlam'"), r.err());
        r = run("bench", "--sizes", "10");
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("frame size 10"), r.err());
    }

    @Test
    void portSpecsSplitSwitchParametersFromLinkParameters() {
        var p = PortSpecs.parse("tap:rl0?offload=tso&port.trunk=10,20-22&port.native=1");
        assertEquals("tap:rl0?offload=tso", p.spec().toString());
        PortVlan v = p.vlan();
        assertTrue(v.isTrunk());
        assertTrue(v.member(21) && v.tagged(21));
        assertTrue(v.member(1) && !v.tagged(1));
        assertFalse(v.member(23));
        var a = PortSpecs.parse("pair:x?port.vlan=7");
        assertEquals(7, a.vlan().untaggedVid());
        assertNull(PortSpecs.parse("pair:x").vlan());
        assertThrows(IllegalArgumentException.class, () -> PortSpecs.parse("pair:x?port.vlan=5000"));
        assertThrows(IllegalArgumentException.class, () -> PortSpecs.parse("pair:x?port.vlan=5&port.trunk=6"));
    }

    @Test
    void portSpecsCarryTheMacLimitAndPortSecurity() {
        var p = PortSpecs.parse("tap:rl0?offload=tso&port.maclimit=16&port.allow=52:54:00:12:34:56,02-00-00-00-00-0A");
        assertEquals("tap:rl0?offload=tso", p.spec().toString());
        assertEquals(16, p.macLimit());
        assertArrayEquals(new long[] {0x52_54_00_12_34_56L, 0x02_00_00_00_00_0aL}, p.allowed());
        var d = PortSpecs.parse("pair:x");
        assertNull(d.macLimit());
        assertNull(d.allowed());
        for (String bad : new String[] {"pair:x?port.maclimit=0", "pair:x?port.maclimit=many", "pair:x?port.allow=",
                "pair:x?port.allow=52:54:00:12:34", "pair:x?port.allow=zz:54:00:12:34:56", "pair:x?port.macs=4"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> PortSpecs.parse(bad), bad);
            assertTrue(e.getMessage().startsWith(bad), e.getMessage());
        }
    }

    @Test
    void configFileHasPortsAndSettings(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("sw.conf");
        Files.writeString(f,
                "# a switch\nport pair:a?port.vlan=10   # first\nport pair:b\nthreads = 1\nvlan-aware = true\n");
        var c = PortSpecs.readConfig(f);
        assertEquals(java.util.List.of("pair:a?port.vlan=10", "pair:b"), c.ports());
        assertEquals("1", c.settings().get("threads"));
        Files.writeString(f, "port pair:a\nthreds = 1\n");
        var e = assertThrows(IllegalArgumentException.class, () -> PortSpecs.readConfig(f));
        assertTrue(e.getMessage().contains(":2: unknown setting 'threds'"), e.getMessage());
    }
}
