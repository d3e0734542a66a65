package ringlink.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import ringlink.testing.Env;

/**
 * {@code ringlink capture packet:IFACE} on an existing veth (rlapc0, peer rlapc1 in namespace
 * rlapc-a): frames sent by a Python raw socket in the namespace end up in a pcapng that tshark reads.
 */
@Timeout(90)
class PacketCaptureTest {
    @Test
    void capturesAnExistingInterfaceIntoAPcapngThatTsharkReads(@TempDir Path dir) throws Exception {
        Env.requireNetns();
        Path tshark = Env.requireProgram("tshark", "tshark");
        Env.requireProgram("python3", "python3");
        Path peer = Env.requireFile(Env.rootDir().resolve("ringlink-core/src/test/python/afpacket/rawpeer.py"),
                "the raw socket peer");
        Path file = dir.resolve("packet.pcapng");
        String ns = "rlapc-a";
        try {
            Env.runQuiet(10, "ip", "link", "del", "rlapc0");
            Env.runQuiet(10, "ip", "netns", "del", ns);
            Env.run(10, "ip", "netns", "add", ns);
            Env.run(10, "ip", "link", "add", "rlapc0", "type", "veth", "peer", "name", "rlapc1");
            Env.run(10, "ip", "link", "set", "rlapc1", "netns", ns);
            Env.run(10, "ip", "link", "set", "rlapc0", "up");
            Env.run(10, "ip", "netns", "exec", ns, "ip", "link", "set", "rlapc1", "up");
            String mac = Files.readString(Path.of("/sys/class/net/rlapc0/address")).trim();
            CaptureCommand cmd = new CaptureCommand();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            cmd.err = new PrintStream(err, true);
            var done = CompletableFuture.supplyAsync(() -> new CommandLine(cmd).execute(
                    "packet:rlapc0", "-w", file.toString(), "--count", "20", "--duration", "30"));
            assertTrue(cmd.opened.await(20, TimeUnit.SECONDS), "capture did not open: " + err);
            // IPv6 neighbour discovery may add frames of its own: the tshark filter below picks ours.
            String sent =
                    Env.run(30, "ip", "netns", "exec", ns, "python3", peer.toString(), "send", "rlapc1", mac, "40");
            assertTrue(sent.contains("sent=40"), sent);
            assertEquals(0, done.get(40, TimeUnit.SECONDS), err.toString());
            assertTrue(err.toString().contains("20 packets"), err.toString());
            String all = CaptureCommandTest.tshark(tshark, "-r", file.toString(), "-T", "fields", "-e", "frame.len");
            assertEquals(20, all.strip().split("\n").length, all);
            String ours =
                    CaptureCommandTest.tshark(tshark, "-r", file.toString(), "-Y", "eth.type == 0x88b5", "-T", "fields",
                    "-e", "frame.len", "-e", "eth.dst");
            String[] lines = ours.strip().split("\n");
            assertTrue(lines.length >= 15, "test frames in the capture: " + ours);
            for (String l : lines) assertEquals("60\t" + mac, l.strip());
            String info = Env.run(60, "capinfos", "-t", "-E", file.toString());
            assertTrue(info.contains("pcapng") && info.contains("Ethernet"), info);
        } finally {
            Env.runQuiet(10, "ip", "link", "del", "rlapc0");
            Env.runQuiet(10, "ip", "netns", "del", ns);
        }
    }
}
