package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import ringlink.cli.bench.PairTraffic;
import ringlink.link.Link;
import ringlink.link.LinkClosedException;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;

/** {@code ringlink switch} over pair links: the test holds the far end of each port. */
@Timeout(60)
class SwitchCommandTest {
    @Test
    void forwardsPrintsCountersAndClosesEveryPortAtTheEnd(@TempDir Path dir) throws Exception {
        Link a = Links.open("pair:rlcl-sc-a");
        Link b = Links.open("pair:rlcl-sc-b");
        Path conf = dir.resolve("sw.conf");
        Files.writeString(conf, "port pair:rlcl-sc-a\nthreads = 1\n");
        SwitchCommand cmd = new SwitchCommand();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        cmd.out = new PrintStream(out, true);
        var done = CompletableFuture.supplyAsync(() -> new CommandLine(cmd).execute(
                "--config", conf.toString(), "pair:rlcl-sc-b", "--duration", "2", "--stats-interval", "1",
                "--capture", dir.resolve("mirror.pcapng").toString(), "--mirror-ports", "0"));
        assertTrue(cmd.running.await(10, TimeUnit.SECONDS), "switch did not start: " + out);
        try (PacketBatch tx = new PacketBatch(8, 2048); PacketBatch rx = new PacketBatch(64, 70000)) {
            PairTraffic.frames(tx, 8, 100, 0xffff_ffff_ffffL, PairTraffic.MAC_A);
            assertEquals(8, a.transmit(tx));
            int got = 0;
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (got < 8 && System.nanoTime() < deadline) {
                rx.clear();
                got += b.receive(rx);
                Thread.sleep(1);
            }
            assertEquals(8, got);
            assertEquals(0, done.get(30, TimeUnit.SECONDS));
            String s = out.toString();
            assertTrue(s.contains("2 ports"), s);
            assertTrue(s.contains("pair:rlcl-sc-b"), s);
            assertTrue(s.matches("(?s).*\\d\\d:\\d\\d:\\d\\d\\n  pair:.*"), "a --stats-interval block:\n" + s);
            assertTrue(s.contains("addresses learned: 1"), s);
            assertThrows(LinkClosedException.class, () -> { rx.clear(); b.receive(rx); }, "port closed at exit");
            assertTrue(s.contains("8 mirrored frames written to"), s);
            var tshark = ringlink.testing.Env.which("tshark");
            if (tshark != null) {
                String frames = CaptureCommandTest.tshark(tshark, "-r", dir.resolve("mirror.pcapng").toString(), "-T",
                        "fields", "-e", "frame.len");
                assertEquals(8, frames.strip().split("\n").length, frames);
            }
        } finally {
            a.close();
            b.close();
        }
    }

    @Test
    void statusLineShowsRatesPerPort() {
        var now =
                new ringlink.sw.SwitchStats(2_000_000_000L, java.util.List.of(new ringlink.sw.PortStats("pair:x", true,
                new ringlink.link.LinkStats(2_000_000, 2_000_000L * 1500, 1000, 64_000, 0, 3, 0, 0),
                new ringlink.link.LinkStats(0, 0, 0, 0, 0, 2, 0, 0), java.util.Map.of(), 0, 0)), 5);
        var then =
                new ringlink.sw.SwitchStats(1_000_000_000L, java.util.List.of(new ringlink.sw.PortStats("pair:x", true,
                new ringlink.link.LinkStats(0, 0, 0, 0, 0, 0, 0, 0),
                        new ringlink.link.LinkStats(0, 0, 0, 0, 0, 0, 0, 0),
                java.util.Map.of(), 0, 0)), 5);
        String line = SwitchCommand.statusLine(now, then);
        assertEquals("pair:x rx 2.00Mpps 24.00Gb/s tx 1.0kpps 0.5Mb/s drop 5 | macs 5", line);
    }

    @Test
    void countersOfAMultiQueuePortHaveALinePerQueue() {
        var z = new ringlink.link.LinkStats(0, 0, 0, 0, 0, 0, 0, 0);
        var q0 = new ringlink.link.LinkStats(10, 1000, 7, 700, 0, 0, 0, 0);
        var q1 = new ringlink.link.LinkStats(5, 500, 3, 300, 0, 2, 0, 0);
        var p = new ringlink.sw.PortStats("vhost-user:/x.sock?queues=2", true, q0.plus(q1), z, java.util.Map.of(), 0, 0,
                0, 0, null,
                java.util.List.of(new ringlink.sw.QueueStats(0, true, q0, z),
                        new ringlink.sw.QueueStats(1, false, q1, z)));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SwitchCommand.printCounters(new ringlink.sw.SwitchStats(0, java.util.List.of(p), 0),
                new PrintStream(out, true));
        String s = out.toString();
        assertTrue(s.matches("(?s).*vhost-user:/x.sock\\?queues=2 +yes +15 +1500 +10 +1000 .*"), s);
        assertTrue(s.matches("(?s).*\\n  queue 0 +on +10 +1000 +7 +700 .*"), s);
        assertTrue(s.matches("(?s).*\\n  queue 1 +off +5 +500 +3 +300 +2 .*"), s);
    }
}
