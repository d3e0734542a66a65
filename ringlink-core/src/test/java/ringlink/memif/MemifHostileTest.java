package ringlink.memif;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;
import ringlink.testing.LinkTraffic;

/**
 * A hostile memif peer written in Python ({@code src/test/python/memif_attacker.py}) breaks one
 * rule at a time: message sizes and types, versions, ids, region fds (a pipe, too small, not
 * sealable against shrinking, wrong index, missing, two at once), ring messages (an fd that is
 * not an eventfd, offsets outside the region, bad index, region, size, duplicates), ring
 * cookies, and once connected the rings themselves (descriptors outside the memory or in a
 * region that does not exist, indexes past the ring, a chain with no end, bad posted buffers).
 * Each time our side must tell the peer why (DISCONNECT with the reason) and keep serving: a
 * server takes the next, honest client and moves packets with it.
 */
class MemifHostileTest {
    @TempDir Path tmp;

    static final Path SCRIPT = Env.projectDir().resolve("src/test/python/memif_attacker.py");

    static String runAttacker(String role, String socket, String attack) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("python3", SCRIPT.toString(), role, socket, attack).redirectErrorStream(true)
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("attacker " + attack + " did not finish");
        }
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "short, Invalid message size",
        "unexpected, Unexpected message",
        "bad-version, Incompatible memif version",
        "bad-id, ID not found",
        "bad-type, Unexpected message",
        "region-pipe, Invalid region",
        "region-small, Invalid region",
        "region-unsealed, Invalid region",
        "region-index, Invalid region index",
        "region-nofd, Missing region fd",
        "two-fds, Invalid message",
        "ring-notevent, Invalid interrupt fd",
        "ring-offset, Invalid ring offset",
        "ring-index, Invalid ring index",
        "ring-region, Invalid ring region",
        "ring-log2, Invalid ring size",
        "ring-dup, Invalid ring index",
        "bad-cookie, Wrong ring",
        "desc-outside, Bad descriptor or ring index",
        "desc-region, Bad descriptor or ring index",
        "head-jump, Bad descriptor or ring index",
        "chain-forever, Bad descriptor or ring index",
        "m2s-bad-buffer, Bad descriptor or ring index",
    })
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void ourServerRefusesAndKeepsServing(String attack, String reason) throws Exception {
        Env.requireProgram("python3", "python3");
        String sock = tmp.resolve("rlmif-h.sock").toString();
        try (MemifInterface srv = MemifInterface.open(MemifConfig.defaults(sock).withServer(true).withTimeout(5000))) {
            MemifLink link = srv.link(0);
            // The data path runs meanwhile (receiving, and transmitting to meet bad posted buffers).
            Thread.Builder tb = Thread.ofPlatform().daemon();
            java.util.concurrent.atomic.AtomicReference<Throwable> dataErr =
                    new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread dp = tb.start(() -> {
                try (PacketBatch rx = new PacketBatch(32, 2048); PacketBatch tx = new PacketBatch(32, 2048)) {
                    LinkTraffic.frames(tx, 4, 60);
                    while (!stop.get()) {
                        try {
                            rx.clear();
                            link.receive(rx);
                            link.transmit(tx);
                        } catch (MemifException e) {
                            dataErr.compareAndSet(null, e);
                        }
                        Thread.sleep(1);
                    }
                } catch (Throwable t) {
                    dataErr.compareAndSet(null, t);
                }
            });
            String out;
            try {
                out = runAttacker("client", sock, attack);
            } finally {
                stop.set(true);
                dp.join(5000);
            }
            assertTrue(out.contains("DISCONNECT: " + reason),
                    () -> attack + ": peer saw:\n" + out + "\nour error: " + srv.lastError());
            assertNotNull(srv.lastError());
            if (reason.startsWith("Bad descriptor")) {
                assertInstanceOf(MemifException.class, dataErr.get(), () -> "data path saw " + dataErr.get());
                assertTrue(link.counters().snapshot().errors() > 0);
            } else {
                assertNull(dataErr.get());
            }
            // The server survived: an honest client connects and packets flow.
            try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock))) {
                assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS),
                        () -> "after " + attack + ": " + cli.lastError() + " / " + srv.lastError());
                try (LinkTraffic.Counter c = new LinkTraffic.Counter(link, true)) {
                    assertEquals(500, LinkTraffic.send(cli.link(0), 500, 100, 10_000));
                    assertEquals(500, c.awaitAtLeast(500, 10_000));
                    assertEquals(0, c.corrupt.get());
                }
            }
        }
    }

    /**
     * The same ring attacks against our server's zero-copy receive ({@code receiveInPlace}): the
     * lent pieces pass the same checks, so each attack ends in a MemifException and DISCONNECT,
     * nothing is lent from a bad descriptor, and the next honest client's frames are lent whole.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"desc-outside", "desc-region", "head-jump", "chain-forever"})
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void ourServerReceivingInPlaceRefusesAndKeepsServing(String attack) throws Exception {
        Env.requireProgram("python3", "python3");
        String sock = tmp.resolve("rlmif-hip.sock").toString();
        try (MemifInterface srv = MemifInterface.open(MemifConfig.defaults(sock).withServer(true).withTimeout(5000))) {
            MemifLink link = srv.link(0);
            java.util.concurrent.atomic.AtomicReference<Throwable> dataErr =
                    new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong lent = new java.util.concurrent.atomic.AtomicLong();
            Thread dp = Thread.ofPlatform().daemon().start(() -> {
                try (MemifInPlaceBatch v = new MemifInPlaceBatch(32)) {
                    while (!stop.get()) {
                        try {
                            lent.addAndGet(link.receiveInPlace(v));
                        } catch (MemifException e) {
                            dataErr.compareAndSet(null, e);
                        } finally {
                            link.releaseInPlace(v);
                        }
                        Thread.sleep(1);
                    }
                } catch (Throwable t) {
                    dataErr.compareAndSet(null, t);
                }
            });
            try {
                String out = runAttacker("client", sock, attack);
                assertTrue(out.contains("DISCONNECT: Bad descriptor or ring index"),
                        () -> attack + ": peer saw:\n" + out + "\nour error: " + srv.lastError());
                assertInstanceOf(MemifException.class, dataErr.get(), () -> "data path saw " + dataErr.get());
                assertEquals(0, lent.get(), "nothing lent from the attacker's ring");
                try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock))) {
                    assertTrue(cli.awaitConnected(10, TimeUnit.SECONDS),
                            () -> "after " + attack + ": " + cli.lastError() + " / " + srv.lastError());
                    assertEquals(500, LinkTraffic.send(cli.link(0), 500, 100, 10_000));
                    long end = System.currentTimeMillis() + 10_000;
                    while (lent.get() < 500 && System.currentTimeMillis() < end) Thread.sleep(5);
                    assertEquals(500, lent.get());
                }
            } finally {
                stop.set(true);
                dp.join(5000);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "hello-version, Incompatible memif version",
        "hello-short, Invalid message size",
        "hello-log2-zero, Invalid ring size",
        "tail-jump, Bad descriptor or ring index",
        "rx-desc-outside, Bad descriptor or ring index",
    })
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void ourClientRefuses(String attack, String reason) throws Exception {
        Env.requireProgram("python3", "python3");
        Path sock = tmp.resolve("rlmif-hc.sock");
        Process p = new ProcessBuilder("python3", SCRIPT.toString(), "server", sock.toString(), attack)
                .redirectErrorStream(true).start();
        try {
            long end = System.currentTimeMillis() + 10_000;
            while (!Files.exists(sock) && System.currentTimeMillis() < end) Thread.sleep(10);
            try (MemifInterface cli = MemifInterface.open(MemifConfig.defaults(sock.toString()).withTimeout(5000))) {
                Throwable dataErr = null;
                end = System.currentTimeMillis() + 20_000;
                try (PacketBatch rx = new PacketBatch(32, 2048)) {
                    while (p.isAlive() && System.currentTimeMillis() < end) {
                        rx.clear();
                        try {
                            cli.link(0).receive(rx);
                        } catch (MemifException e) {
                            dataErr = e;
                        }
                        Thread.sleep(1);
                    }
                }
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(out.contains("DISCONNECT: " + reason),
                        () -> attack + ": peer saw:\n" + out + "\nour error: " + cli.lastError());
                if (reason.startsWith("Bad descriptor")) assertInstanceOf(MemifException.class, dataErr);
                assertNotNull(cli.lastError());
            }
        } finally {
            p.destroyForcibly();
        }
    }
}
