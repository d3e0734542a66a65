package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class CliLogTest {
    @Test
    void oneLinePerMessageWithTimeLevelComponentAndTheThresholdsOfVerboseAndQuiet() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        CliLog log = new CliLog(new PrintStream(b, true), CliLog.level(false, false));
        log.log(CliLog.Level.DEBUG, "control", "hidden");
        log.library("switch", "port tap:rl0 added as port 2");
        log.library("switch", "port tap:rl1 down: peer\ngone");
        String[] lines = b.toString().split("\n");
        assertEquals(2, lines.length, b.toString());
        assertTrue(lines[0].matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z INFO switch port tap:rl0 "
                + "added as port 2"), lines[0]);
        assertTrue(lines[1].matches(".*Z WARN switch port tap:rl1 down: peer\\\\ngone"), lines[1]);
        assertEquals(CliLog.Level.DEBUG, CliLog.level(true, false));
        assertEquals(CliLog.Level.WARN, CliLog.level(false, true));
        b.reset();
        CliLog quiet = new CliLog(new PrintStream(b, true), CliLog.Level.WARN);
        quiet.library("switch", "port x added as port 0");
        assertEquals("", b.toString());
    }
}
