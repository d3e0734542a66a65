package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.link.Link;
import ringlink.link.LinkFailedException;
import ringlink.packet.PacketBatch;
import ringlink.testing.Env;
import ringlink.virtio.VirtqueueException;

/**
 * Issue 15 item 3: a front-end written in Python ({@code src/test/python/memattack/truncate_frontend.py})
 * hands over guest memory it did not seal, runs traffic both ways, and {@code ftruncate}s the
 * packet buffers to 0 under the running rings. Our accesses then fault (SIGBUS, which HotSpot
 * raises as an {@code InternalError}); the attacked port must stop with a typed MEMORY_FAULT
 * reason, the JVM must live, and a second back-end served by the <em>same thread</em> keeps
 * forwarding during and after the attack.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VhostUserTruncateTest {
    static final Path SCRIPT = Path.of("src/test/python/memattack/truncate_frontend.py");

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tx", "rx", "both"})
    void truncatedGuestMemoryStopsOnlyThatPort(String target) throws Exception {
        Path python = Env.requireProgram("python3", "python3");
        Env.requireFile(SCRIPT, "the truncating front-end");
        Path dir = Files.createTempDirectory("rlvutrunc");
        Path sock = dir.resolve("attacked.sock");
        Connection[] p = Connection.pair();
        Process proc = null;
        try (VhostUserBackend attacked = VhostUserBackend.listen(sock, BackendConfig.defaults().withPacked(false));
             VhostUserBackend healthyBe = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend healthyFe = VhostUserFrontend.over(p[1], FrontendConfig.defaults());
             PacketBatch in = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch out = new PacketBatch(16, 2048);
             PacketBatch hin = new PacketBatch(64, 2048);
             PacketBatch hout = new PacketBatch(16, 2048)) {
            assertTrue(healthyBe.awaitReady(1, 5000));
            proc = new ProcessBuilder(python.toString(), SCRIPT.toString(), sock.toString(), "--after", "3000",
                    "--seconds", "30", "--target", target).redirectErrorStream(true).start();
            fill(out, 60);
            fill(hout, 64);
            Link a = attacked.link(0);
            Link hf = healthyFe.link(0), hb = healthyBe.link(0);
            LinkFailedException failure = null;
            long fromGuest = 0, toGuestTries = 0, healthyBefore = 0, healthyAfter = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // One thread, as a switch poller: the attacked port and the healthy one, in turn.
            while (System.nanoTime() < deadline && (proc.isAlive() || healthyAfter < 1000)) {
                try {
                    in.clear();
                    fromGuest += a.receive(in);
                    a.transmit(out, 0, out.count());
                    toGuestTries++;
                } catch (LinkFailedException e) {
                    if (failure == null) failure = e;
                }
                int sent = hf.transmit(hout, 0, hout.count());
                long got = 0;
                for (int k = 0; k < 100 && got < sent; k++) {
                    hin.clear();
                    got += hb.receive(hin);
                }
                if (failure == null) healthyBefore += got; else healthyAfter += got;
            }
            String report = new String(proc.getInputStream().readAllBytes());
            assertTrue(proc.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, proc.exitValue(), () -> "front-end: " + report);
            assertTrue(report.contains("\"closed\": true"), report);
            assertNotNull(failure, () -> "the port never failed; front-end: " + report);
            assertTrue(failure.getMessage().contains("MEMORY_FAULT"), failure.getMessage());
            VirtqueueException cause = assertInstanceOf(VirtqueueException.class, failure.getCause());
            assertEquals(VirtqueueException.Reason.MEMORY_FAULT, cause.reason());
            assertTrue(VirtqueueException.isMemoryFault(cause.getCause()), String.valueOf(cause.getCause()));
            VhostUserException err = attacked.lastError();
            assertInstanceOf(VhostUserException.InvalidParam.class, err);
            assertTrue(err.getMessage().contains("MEMORY_FAULT"), err.getMessage());
            assertTrue(healthyBefore > 0 && healthyAfter >= 1000,
                    "healthy port: " + healthyBefore + " before, " + healthyAfter + " after the attack");
            if (!target.equals("rx")) assertTrue(fromGuest > 0, "no traffic before the truncation");
            assertTrue(attacked.isOpen(), "the attacked back-end waits for the next front-end");
            // The healthy pair still works both ways, at full size.
            VhostUserLoopTest.exchange(hf, hb, 2000, 1500);
        } finally {
            if (proc != null) proc.destroyForcibly();
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The same front-end with memfds it made sealable but did not seal: the back-end adds
     * F_SEAL_SHRINK before mapping them (as memif does), so the front-end's ftruncate fails with
     * EPERM and the port goes on forwarding.
     */
    @Test
    void sealableGuestMemoryIsSealedAgainstShrinking() throws Exception {
        Path python = Env.requireProgram("python3", "python3");
        Env.requireFile(SCRIPT, "the truncating front-end");
        Path dir = Files.createTempDirectory("rlvutrunc");
        Path sock = dir.resolve("sealed.sock");
        Process proc = null;
        try (VhostUserBackend attacked = VhostUserBackend.listen(sock, BackendConfig.defaults().withPacked(false));
             PacketBatch in = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER);
             PacketBatch out = new PacketBatch(16, 2048)) {
            proc = new ProcessBuilder(python.toString(), SCRIPT.toString(), sock.toString(), "--after", "2000",
                    "--seconds", "40", "--target", "both", "--sealable").redirectErrorStream(true).start();
            fill(out, 60);
            Link a = attacked.link(0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            long fromGuest = 0;
            while (System.nanoTime() < deadline && proc.isAlive()) {
                in.clear();
                fromGuest += a.receive(in); // a LinkFailedException here fails the test
                a.transmit(out, 0, out.count());
            }
            String report = new String(proc.getInputStream().readAllBytes());
            assertTrue(proc.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, proc.exitValue(), () -> "front-end: " + report);
            assertTrue(report.contains("\"errno\": \"EPERM\""), report);
            // (the front-end's exit 0 says traffic went on as long again after the refusal)
            assertTrue(fromGuest > 0, "packets from the guest: " + fromGuest);
            VhostUserException err = attacked.lastError();
            assertTrue(err == null || err instanceof VhostUserException.Disconnect, String.valueOf(err));
        } finally {
            if (proc != null) proc.destroyForcibly();
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    static void fill(PacketBatch b, int len) {
        b.clear();
        while (b.count() < b.capacity()) {
            int i = b.add();
            b.setLength(i, len);
            for (int k = 0; k < len; k++) b.memory()
                    .set(java.lang.foreign.ValueLayout.JAVA_BYTE, b.dataOffset(i) + k, (byte) (k < 6 ? 0xff : k));
        }
    }
}
