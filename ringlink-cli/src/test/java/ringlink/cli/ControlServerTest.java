package ringlink.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.cli.support.Json;

/** The unixctl server alone: idle connections, stale and live socket files, the JSON reader. */
@Timeout(60)
class ControlServerTest {
    @TempDir
    Path dir;

    @Test
    void anIdleOrStalledConnectionIsClosedAndTheOthersAreServed() throws Exception {
        Path sock = dir.resolve("c.ctl");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (ControlServer s =
                new ControlServer(sock, new CliLog(new PrintStream(log, true), CliLog.Level.DEBUG), 500)) {
            s.register("echo", "ARG...", 0, 8, a -> String.join(" ", a) + "\n");
            s.start();
            try (SocketChannel idle = SocketChannel.open(UnixDomainSocketAddress.of(sock));
                 SocketChannel half = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                half.write(ByteBuffer.wrap("{\"method\":\"echo\",".getBytes()));
                long t0 = System.nanoTime();
                assertEquals(-1, idle.read(ByteBuffer.allocate(16)), "closed by the server");
                assertEquals(-1, half.read(ByteBuffer.allocate(16)), "closed by the server");
                assertTrue(System.nanoTime() - t0 < 20_000_000_000L);
            }
            try (SocketChannel ok = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                ok.write(ByteBuffer.wrap("{\"method\":\"echo\",\"params\":[\"a\",\"b\\n\"],\"id\":\"x\"}".getBytes()));
                Map<?, ?> r = CtlCommand.read(ok);
                assertEquals("x", r.get("id"));
                assertEquals("a b\n\n", r.get("result"));
            }
            assertTrue(log.toString().contains("idle for 500 ms"), log.toString());
            // A second server on a live socket is refused; the first keeps its file.
            var e = assertThrows(java.io.IOException.class,
                    () -> new ControlServer(sock, new CliLog(new PrintStream(log), CliLog.Level.INFO)));
            assertTrue(e.getMessage().contains("in use"), e.getMessage());
            assertTrue(Files.exists(sock));
        }
        assertFalse(Files.exists(sock));
        // A stale socket file (its server died without removing it) is replaced.
        try (var ch = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(sock));
        }
        assertTrue(Files.exists(sock));
        try (ControlServer s = new ControlServer(sock, new CliLog(new PrintStream(log), CliLog.Level.INFO))) {
            s.start();
            try (SocketChannel ok = SocketChannel.open(UnixDomainSocketAddress.of(sock))) {
                ok.write(ByteBuffer.wrap("{\"method\":\"version\",\"params\":[],\"id\":1}".getBytes()));
                assertTrue(String.valueOf(CtlCommand.read(ok).get("result")).startsWith("ringlink"));
            }
        }
    }

    @Test
    void theJsonReaderIsStrict() {
        assertEquals(Map.of("a", List.of(1L, "x", true), "b", 1.5), Json.parse(" {\"a\":[1,\"x\",true],\"b\":1.5} "));
        assertEquals("é\n\"", Json.parse("\"\\u00e9\\n\\\"\""));
        for (String bad : List.of("{\"a\":1,}", "{\"a\":1}x", "[01]", "{\"a\":1,\"a\":2}", "\"a\nb\"", "{'a':1}",
                "[1 2]", "nul", "")) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("k", "a\"b\n");
        m.put("n", null);
        m.put("l", List.of(1, 2.5));
        assertEquals("{\"k\":\"a\\\"b\\n\",\"n\":null,\"l\":[1,2.5]}", Json.write(m));
    }
}
