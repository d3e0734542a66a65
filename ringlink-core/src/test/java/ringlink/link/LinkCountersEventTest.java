package ringlink.link;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.packet.PacketBatch;

/** Every link's counters appear as periodic JFR events, read back by the JDK's {@code jfr} tool too. */
@Timeout(60)
class LinkCountersEventTest {
    @Test
    void linksOpenedThroughLinksShowUpInARecording(@TempDir Path dir) throws Exception {
        Link a = Links.open("pair:rlcl-jfr");
        Link b = Links.open("pair:rlcl-jfr");
        Path file = dir.resolve("rec.jfr");
        try (PacketBatch tx = new PacketBatch(8, 2048); Recording rec = new Recording()) {
            rec.enable("ringlink.LinkCounters").withPeriod(Duration.ofMillis(100));
            rec.start();
            for (int k = 0; k < 5; k++) {
                int i = tx.add();
                tx.setLength(i, 60);
            }
            assertEquals(5, a.transmit(tx));
            Thread.sleep(600);
            a.close();
            Thread.sleep(300);
            rec.stop();
            rec.dump(file);
        } finally {
            b.close();
        }
        List<RecordedEvent> events = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("ringlink.LinkCounters"))
                .filter(e -> e.getString("link").equals(a.name()))
                .toList();
        assertFalse(events.isEmpty(), "no ringlink.LinkCounters events for " + a.name());
        RecordedEvent last = events.getLast();
        assertEquals(5, last.getLong("txPackets"));
        assertEquals(300, last.getLong("txBytes"));
        assertFalse(last.getBoolean("open"), "the last event says the link was closed");
        // The JDK's own tool prints them, as it would for any application embedding Ringlink.
        Path jfr = Path.of(System.getProperty("java.home"), "bin", "jfr");
        Process p = new ProcessBuilder(jfr.toString(), "print", "--events", "ringlink.*", file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("ringlink.LinkCounters"), out);
        assertTrue(out.contains("txPackets = 5"), out);
    }
}
