package ringlink.shm;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.link.Link;
import ringlink.link.LinkFailedException;
import ringlink.link.Links;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;

/**
 * A hostile sharedmem peer in Python ({@code src/test/python/fdattack/shm_attack.py}) attacks
 * the queue eventfds (issue #15 item 1): a pipe, a file or a semaphore eventfd offered as a
 * queue's eventfd is refused with a message naming the queue; blocking eventfds whose
 * O_NONBLOCK the peer clears on the shared open file, with the one we signal full and the one we
 * sleep on empty, never block transmit or finishWait, whether the peer created them (we attach)
 * or we did and handed them out (we listen).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ShmFdHostileTest {
    private static final Path ATTACK = Path.of("src/test/python/fdattack/shm_attack.py");
    private static final Duration BOUND = Duration.ofSeconds(5);

    @TempDir Path tmp;
    private final List<Process> peers = new ArrayList<>();

    @AfterEach
    void stopPeers() throws Exception {
        for (Process p : peers) {
            p.getOutputStream().close();
            if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    private Process python(String... args) throws Exception {
        Env.requireProgram("python3", "python3");
        List<String> cmd = new ArrayList<>(List.of("python3", ATTACK.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        peers.add(p);
        return p;
    }

    private static String expectLine(BufferedReader r, String prefix) throws Exception {
        long end = System.currentTimeMillis() + 20_000;
        while (System.currentTimeMillis() < end) {
            String l = r.readLine();
            if (l == null) break;
            if (l.startsWith(prefix)) return l;
        }
        throw new AssertionError("the Python peer never printed '" + prefix + "'");
    }

    private static BufferedReader out(Process p) {
        return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    @Test
    void offeredEventfdsMustBeEventfds() throws Exception {
        String[][] cases = {{"pipe", "tx", "TX queue", "a pipe"}, {"file", "rx", "RX queue", "a file"},
            {"semaphore", "tx", "TX queue", "semaphore"}};
        int i = 0;
        for (String[] c : cases) {
            Path sock = tmp.resolve("rlshfd-bad" + i++ + ".sock");
            Process p = python(sock.toString(), "bad", c[0], c[1]);
            expectLine(out(p), "listening");
            LinkFailedException e = assertThrows(LinkFailedException.class,
                    () -> Links.open("shm:" + sock + "?role=client&listen=false&timeout=10000").close());
            assertTrue(e.getMessage().contains(c[2]) && e.getMessage().contains(c[3]), e.getMessage());
        }
    }

    @Test
    void peerCreatedBlockingEventfdsNeverBlock() throws Exception {
        Path sock = tmp.resolve("rlshfd-clear.sock");
        Process p = python(sock.toString(), "clear");
        BufferedReader r = out(p);
        expectLine(r, "listening");
        try (Link l = Links.open("shm:" + sock + "?role=client&listen=false&timeout=10000")) {
            expectLine(r, "ready");
            exercise(l);
        }
        p.getOutputStream().close();
        assertEquals("tx fffffffffffffffe", expectLine(r, "tx "), "the full TX counter was left alone");
    }

    @Test
    void ourEventfdsWithNonblockClearedByThePeerNeverBlock() throws Exception {
        Path sock = tmp.resolve("rlshfd-ours.sock");
        Process p = python(sock.toString(), "connect-clear");
        BufferedReader r = out(p);
        try (Link l = Links.open("shm:" + sock + "?role=client&listen=true&timeout=10000")) {
            expectLine(r, "received");
            p.getOutputStream().write("go\n".getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            expectLine(r, "ready");
            exercise(l);
        }
        p.getOutputStream().close();
        assertEquals("tx fffffffffffffffe", expectLine(r, "tx "), "the full TX counter was left alone");
    }

    /** Transmit notifies the (full, blocking) TX eventfd; a wait drains the (empty, blocking) RX one. */
    private static void exercise(Link l) throws Exception {
        try (PacketBatch b = new PacketBatch(4, 2048)) {
            int i = b.add();
            b.setLength(i, 64);
            b.data(i).fill((byte) 0x5a);
            assertEquals(1, (int) assertTimeoutPreemptively(BOUND, () -> l.transmit(b, 0, 1),
                    "transmit blocked on the TX eventfd"));
            assertTimeoutPreemptively(BOUND, () -> {
                l.prepareToWait();
                l.finishWait();
            }, "finishWait blocked on the RX eventfd");
        }
    }
}
