package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.testing.Env;

class CaptureWriterTest {
    @TempDir
    Path dir;

    // 2026-11-22T00:00:00.123456789Z: the nanoseconds must survive into tshark's output.
    static final long TS = 1_795_305_600L * 1_000_000_000L + 123_456_789L;

    private static List<String> tshark(Path tshark, Path file) throws Exception {
        Process p = new ProcessBuilder(tshark.toString(), "-r", file.toString(), "-T", "fields",
                "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len", "-e", "ip.src", "-e", "ipv6.dst",
                "-e", "tcp.srcport", "-e", "udp.dstport", "-e", "vlan.id", "-e", "frame.interface_id")
                .redirectErrorStream(false).start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "tshark did not finish");
        assertEquals(0, p.exitValue(), "tshark failed: " + err);
        List<String> lines = new ArrayList<>();
        for (String l : new String(out).split("\n")) if (!l.isBlank()) lines.add(l);
        return lines;
    }

    @Test
    @Timeout(60)
    void pcapngIsReadByTshark() throws Exception {
        Path tshark = Env.requireProgram("tshark", "tshark");
        Path file = dir.resolve("rlpk.pcapng");
        TestPackets.Spec eth = new TestPackets.Spec();
        eth.framing = Framing.ETHERNET;
        eth.vlan = true;
        eth.payload = new byte[1000];
        TestPackets.Spec raw6 = new TestPackets.Spec();
        raw6.ipVersion = 6;
        raw6.proto = 17;
        raw6.dstPort = 4789;
        raw6.payload = new byte[3];
        try (PacketBatch b = new PacketBatch(4, 2048); PcapngWriter w = PcapngWriter.create(file)) {
            int e = w.addInterface(CaptureWriter.LINKTYPE_ETHERNET, 100, "rlpk-eth");
            int r = w.addInterface(CaptureWriter.LINKTYPE_RAW);
            TestPackets.add(b, TestPackets.build(eth, false));
            w.write(e, TS, b);
            b.clear();
            TestPackets.add(b, TestPackets.build(raw6, false));
            w.write(r, TS + 1, b);
        }
        List<String> lines = tshark(tshark, file);
        assertEquals(2, lines.size(), lines.toString());
        String[] a = lines.get(0).split("\t", -1);
        assertEquals("1795305600.123456789", a[0]);
        assertEquals("1058", a[1]); // 18 + 20 + 20 + 1000
        assertEquals("100", a[2]); // snaplen
        assertEquals("10.0.0.1", a[3]);
        assertEquals("40000", a[5]);
        assertEquals("42", a[7]);
        assertEquals("0", a[8]);
        String[] c = lines.get(1).split("\t", -1);
        assertEquals("1795305600.123456790", c[0]);
        assertEquals("fd00::b", c[4]);
        assertEquals("4789", c[6]);
        assertEquals("1", c[8]);
    }

    @Test
    @Timeout(60)
    void classicPcapIsReadByTshark() throws Exception {
        Path tshark = Env.requireProgram("tshark", "tshark");
        Path file = dir.resolve("rlpk.pcap");
        TestPackets.Spec s = new TestPackets.Spec();
        s.payload = new byte[7];
        try (PacketBatch b = new PacketBatch(4, 2048);
                PcapWriter w = PcapWriter.create(file, CaptureWriter.LINKTYPE_RAW)) {
            TestPackets.add(b, TestPackets.build(s, false));
            TestPackets.add(b, TestPackets.build(s, false));
            w.write(TS, b);
        }
        List<String> lines = tshark(tshark, file);
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(1).startsWith("1795305600.123456789\t47\t47\t10.0.0.1"), lines.get(1));
        assertTrue(Files.size(file) == 24 + 2 * (16 + 47));
    }
}
