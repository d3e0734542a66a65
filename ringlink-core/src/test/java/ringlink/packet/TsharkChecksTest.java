package ringlink.packet;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.testing.Env;

/**
 * A third-party check of what Gso and Gro produce: Wireshark's dissectors verify the IP, TCP and
 * UDP checksums and TCP sequence analysis of segments written to a pcapng file.
 */
class TsharkChecksTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void tsharkFindsEveryChecksumGoodAndNoSequenceProblems() throws Exception {
        Path tshark = Env.requireProgram("tshark", "tshark");
        Path file = dir.resolve("rlpk-gso.pcapng");
        int expected = 0;
        try (PcapngWriter w = PcapngWriter.create(file);
             PacketBatch src = new PacketBatch(1, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch segs = new PacketBatch(64, 2048);
             PacketBatch merged = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
            int eth = w.addInterface(CaptureWriter.LINKTYPE_ETHERNET);
            int port = 41000;
            for (int v : new int[] {4, 6}) {
                for (int proto : new int[] {6, 17}) {
                    TestPackets.Spec s = new TestPackets.Spec();
                    s.framing = Framing.ETHERNET;
                    s.vlan = v == 6;
                    s.ipVersion = v;
                    s.ext6 = v == 6 && proto == 17;
                    s.proto = proto;
                    s.srcPort = port++;
                    s.payload = new byte[9000];
                    new java.util.Random(v * proto).nextBytes(s.payload);
                    src.clear();
                    segs.clear();
                    merged.clear();
                    int i = GsoTest.superpacket(src, s, 1448);
                    Gso gso = new Gso();
                    int n = gso.segment(src, i, Framing.ETHERNET, segs);
                    w.write(eth, System.nanoTime(), segs);
                    expected += n;
                    // GRO's superpacket, once its partial checksum is completed (what a NIC or the
                    // kernel does), must carry valid checksums too.
                    // IPv6 extension headers are not coalesced: those segments pass through.
                    assertEquals(s.ext6 ? n : 1, new Gro(Framing.ETHERNET).coalesce(segs, merged));
                    for (int k = 0; k < merged.count(); k++) {
                        // A separate port keeps tshark's TCP analysis from seeing the superpacket
                        // as a retransmission of the segments.
                        long l4 = merged.dataOffset(k) + TestPackets.l4Offset(s);
                        if (proto == 6) Tcp.setSourcePort(merged.memory(), l4, s.srcPort + 100);
                        else Udp.setSourcePort(merged.memory(), l4, s.srcPort + 100);
                        if (merged.needsCsum(k)) {
                            Checksum.complete(merged, k); // ports are outside the pseudo-header sum
                        } else {
                            Udp.setCheck(merged.memory(), l4, 0);
                            long ip = merged.dataOffset(k) + 18; // after Ethernet + VLAN
                            int l4len = merged.length(k) - TestPackets.l4Offset(s);
                            int c = Checksum.finish(Checksum.sum(merged.memory(), l4, l4len,
                                    Checksum.pseudoHeaderV6(merged.memory(), ip, 17, l4len)));
                            Udp.setCheck(merged.memory(), l4, c == 0 ? 0xffff : c);
                        }
                    }
                    w.write(eth, System.nanoTime(), merged);
                    expected += merged.count();
                }
            }
            // Negative control, last in the file: one wrong TCP checksum must be reported Bad.
            segs.clear();
            TestPackets.Spec bad = new TestPackets.Spec();
            bad.framing = Framing.ETHERNET;
            bad.srcPort = 1;
            int b = TestPackets.add(segs, TestPackets.build(bad, false));
            Tcp.setCheck(segs.memory(), segs.dataOffset(b) + 34, Tcp.check(segs.memory(), segs.dataOffset(b) + 34) ^ 1);
            w.write(eth, System.nanoTime(), segs);
            expected++;
        }
        Process p = new ProcessBuilder(tshark.toString(), "-r", file.toString(),
                "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                "-T", "fields", "-E", "separator=,", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
                "-e", "udp.checksum.status", "-e", "tcp.analysis.flags", "-e", "_ws.expert.severity")
                .start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes());
        String err = new String(p.getErrorStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), err);
        String[] lines = out.strip().split("\n");
        assertEquals(expected, lines.length, out);
        assertTrue(lines[lines.length - 1].startsWith("1,0,"), "negative control: " + lines[lines.length - 1]);
        for (int l = 0; l < lines.length - 1; l++) {
            String line = lines[l];
            String[] f = line.split(",", -1);
            // status 1 = Good (0 Bad, 2 Unverified); IPv6 has no header checksum (empty).
            assertTrue(f[0].isEmpty() || f[0].equals("1"), "IP checksum: " + line);
            assertTrue(f[1].equals("1") || f[2].equals("1"), "L4 checksum: " + line);
            assertTrue(f[3].isEmpty(), "TCP analysis flagged: " + line);
        }
    }
}
