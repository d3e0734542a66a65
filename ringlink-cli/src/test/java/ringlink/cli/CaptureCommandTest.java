package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import ringlink.cli.bench.PairTraffic;
import ringlink.link.Link;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;

/** {@code ringlink capture} from a pair link; the file is read back by tshark (Wireshark's engine). */
@Timeout(60)
class CaptureCommandTest {
    @Test
    void capturesTheCountAndTsharkReadsTheFile(@TempDir Path dir) throws Exception {
        Path tshark = Env.requireProgram("tshark", "tshark");
        Path file = dir.resolve("cap.pcapng");
        Link peer = Links.open("pair:rlcl-cap");
        CaptureCommand cmd = new CaptureCommand();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        cmd.err = new PrintStream(err, true);
        var done = CompletableFuture.supplyAsync(() -> new CommandLine(cmd).execute(
                "pair:rlcl-cap", "-w", file.toString(), "--count", "10", "--duration", "20"));
        try (PacketBatch tx = new PacketBatch(16, 2048)) {
            assertTrue(cmd.opened.await(10, TimeUnit.SECONDS));
            PairTraffic.frames(tx, 16, 98, 0x02_00_00_00_00_02L, 0x02_00_00_00_00_01L);
            assertEquals(16, peer.transmit(tx));
            assertEquals(0, done.get(30, TimeUnit.SECONDS));
        } finally {
            peer.close();
        }
        assertTrue(err.toString().contains("10 packets (980 bytes)"), err.toString());
        String fields = tshark(tshark, "-r", file.toString(), "-T", "fields", "-e", "frame.len", "-e", "eth.src", "-e",
                "eth.type");
        String[] lines = fields.strip().split("\n");
        assertEquals(10, lines.length, fields);
        for (String l : lines) assertEquals("98\t02:00:00:00:00:01\t0x0800", l.strip());
        String info = Env.run(60, "capinfos", "-t", "-E", file.toString());
        assertTrue(info.contains("pcapng"), info);
        assertTrue(info.contains("Ethernet"), info);
    }

    /** tshark's output without its warning about running as root (it merges stderr here). */
    static String tshark(Path tshark, String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = tshark.toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        return Env.run(60, cmd).lines().filter(l -> !l.startsWith("Running as user"))
                .reduce("", (a, b) -> a + b + "\n");
    }

    @Test
    void stopsAtTheDurationWithAValidEmptyFile(@TempDir Path dir) throws Exception {
        Path tshark = Env.requireProgram("tshark", "tshark");
        Path file = dir.resolve("empty.pcapng");
        Link peer = Links.open("pair:rlcl-cap2");
        try {
            CaptureCommand cmd = new CaptureCommand();
            cmd.err = new PrintStream(new ByteArrayOutputStream(), true);
            assertEquals(0, new CommandLine(cmd).execute("pair:rlcl-cap2", "-w", file.toString(), "--duration", "0.5"));
        } finally {
            peer.close();
        }
        assertEquals("", tshark(tshark, "-r", file.toString()).strip());
    }
}
