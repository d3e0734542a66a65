package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import ringlink.packet.PacketBatch;
import ringlink.sys.Fd;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.testing.Env;
import ringlink.testing.LinkTraffic;

/**
 * A hostile front-end and back-end written in Python ({@code src/test/python/fdattack}) attack
 * the descriptors and the waits of our vhost-user roles (issue #15 items 1, 7, 8): doorbells that
 * are pipes, files, sockets, memfds or semaphore eventfds are refused with {@code IncorrectFds};
 * blocking kick and call eventfds, full counters and O_NONBLOCK cleared on the shared open file
 * never block a data-path call; a silent connection, a half message and a peer that never reads
 * our replies are dropped after their bound and the next front-end is served; a back-end that
 * never replies makes our front-end fail with {@code Timeout}; an old kick stays out of epoll
 * after a reconnect; the control thread survives Errors. After each attack a real front-end
 * (ours) connects to the same back-end and exchanges traffic.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VhostUserFdHostileTest {
    private static final Path ATTACK = Path.of("src/test/python/fdattack/vu_attack.py");
    private static final Path BACKEND_ATTACK = Path.of("src/test/python/fdattack/vu_backend_attack.py");
    private static final Duration BOUND = Duration.ofSeconds(5);
    private static final String[] KNOBS =
            {"ringlink.vhostuser.messageTimeoutMs", "ringlink.vhostuser.firstMessageTimeoutMs",
        "ringlink.vhostuser.replyTimeoutMs"};

    @TempDir Path tmp;
    private final List<Process> peers = new ArrayList<>();

    @BeforeAll
    static void shortBounds() {
        System.setProperty(KNOBS[0], "1000");
        System.setProperty(KNOBS[1], "1000");
        System.setProperty(KNOBS[2], "5000");
    }

    @AfterAll
    static void defaultBounds() {
        for (String k : KNOBS) System.clearProperty(k);
    }

    @AfterEach
    void stopPeers() throws Exception {
        for (Process p : peers) {
            p.getOutputStream().close();
            if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    /** A Python peer; its stdout is read line by line with {@link #expectLine}. */
    private Process python(Path script, String... args) throws Exception {
        Env.requireProgram("python3", "python3");
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        peers.add(p);
        return p;
    }

    private static String expectLine(Process p, String prefix) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        // A blocking pipe read ignores interrupts (and so JUnit's @Timeout): a peer that prints
        // nothing within 20 s is killed, which ends the read with EOF.
        var killer = java.util.concurrent.CompletableFuture.runAsync(p::destroyForcibly,
                java.util.concurrent.CompletableFuture.delayedExecutor(20, TimeUnit.SECONDS));
        try {
            String l;
            while ((l = r.readLine()) != null) {
                if (l.startsWith(prefix)) return l;
            }
        } finally {
            killer.cancel(false);
        }
        throw new AssertionError("the Python peer never printed '" + prefix + "' (killed after 20 s, or it exited)");
    }

    /** Our own front-end connects to {@code be} and exchanges traffic both ways. */
    private static void healthyFrontend(Path sock, VhostUserBackend be) throws Exception {
        try (VhostUserFrontend fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults())) {
            assertTrue(be.awaitReady(1, 10_000), () -> "rings not started: " + be.lastError());
            VhostUserLoopTest.exchange(fe.link(0), be.link(0), 500, 64);
        }
    }

    private static void awaitError(VhostUserBackend be, Class<? extends VhostUserException> type,
            String... parts) throws Exception {
        long end = System.currentTimeMillis() + 10_000;
        while (System.currentTimeMillis() < end && !type.isInstance(be.lastError())) Thread.sleep(10);
        VhostUserException e = be.lastError();
        assertInstanceOf(type, e, () -> "got " + e);
        for (String s : parts) assertTrue(e.getMessage().contains(s), () -> "'" + s + "' not in: " + e.getMessage());
    }

    @Test
    void doorbellsThatAreNotEventfdsAreRefused() throws Exception {
        Path sock = tmp.resolve("rlvufd-bad.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
            String[][] cases =
                    {{"pipe", "kick", "SET_VRING_KICK", "a pipe"}, {"file", "call", "SET_VRING_CALL", "a file"},
                {"socket", "err", "SET_VRING_ERR", "a socket"}, {"semaphore", "kick", "SET_VRING_KICK", "semaphore"},
                {"memfd", "call", "SET_VRING_CALL", "/memfd:rlfdattack"}};
            for (String[] c : cases) {
                Process p = python(ATTACK, sock.toString(), "bad-fd", c[0], c[1]);
                expectLine(p, "closed");
                awaitError(be, VhostUserException.IncorrectFds.class, c[2] + " for vring 0", c[3]);
            }
            healthyFrontend(sock, be);
        }
    }

    @Test
    void blockingAndFullEventfdsNeverBlockTheDataPath() throws Exception {
        Path sock = tmp.resolve("rlvufd-block.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults());
             PacketBatch b = new PacketBatch(8, 2048)) {
            Process p = python(ATTACK, sock.toString(), "blocking");
            expectLine(p, "ready");
            assertTrue(be.awaitReady(1, 10_000), () -> "rings not started: " + be.lastError());
            BackendLink l = be.link(0);
            // The kick is blocking, empty and never written: finishWait drains it without blocking.
            assertTimeoutPreemptively(BOUND, () -> {
                l.prepareToWait();
                l.finishWait();
            }, "finishWait blocked on the front-end's kick eventfd");
            // The RX call is blocking and full: the signal after the packet is skipped, not blocked on.
            LinkTraffic.frames(b, 1, 64);
            int sent =
                    assertTimeoutPreemptively(BOUND, () -> l.transmit(b, 0, 1), "transmit blocked on the call eventfd");
            assertEquals(1, sent);
            p.getOutputStream().close();
            assertEquals("call0 fffffffffffffffe", expectLine(p, "call0"), "the full call counter was left alone");
            be.disconnect();
            healthyFrontend(sock, be);
        }
    }

    @Test
    void silentAndHalfConnectionsAreDroppedAndTheNextIsServed() throws Exception {
        Path sock = tmp.resolve("rlvufd-silent.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
            Process silent = python(ATTACK, sock.toString(), "silent");
            expectLine(silent, "ready");
            healthyFrontend(sock, be); // queued behind the silent one until its first-message bound
            Process half = python(ATTACK, sock.toString(), "half");
            expectLine(half, "ready");
            awaitError(be, VhostUserException.Timeout.class, "rest of a message header", "6 bytes");
            healthyFrontend(sock, be);
        }
    }

    @Test
    void silentConnectionTimeoutIsRecorded() throws Exception {
        Path sock = tmp.resolve("rlvufd-silent2.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
            Process silent = python(ATTACK, sock.toString(), "silent");
            expectLine(silent, "ready");
            awaitError(be, VhostUserException.Timeout.class, "start of a message");
        }
    }

    @Test
    void aPeerThatNeverReadsRepliesIsDropped() throws Exception {
        Path sock = tmp.resolve("rlvufd-noread.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
            Process p = python(ATTACK, sock.toString(), "noread");
            expectLine(p, "ready");
            awaitError(be, VhostUserException.Timeout.class, "took nothing");
            healthyFrontend(sock, be);
        }
    }

    @Test
    void oldKickLeavesEpollOnReconnect() throws Exception {
        Path sock = tmp.resolve("rlvufd-kick.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
            Fd oldKick;
            try (VhostUserFrontend fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults())) {
                assertTrue(be.awaitReady(1, 10_000));
                oldKick = fe.kickFd(1).fd().dup(); // the front-end (a peer) keeps its TX kick file open
            }
            try (oldKick) {
                long end = System.currentTimeMillis() + 10_000;
                while (be.connected() && System.currentTimeMillis() < end) Thread.sleep(10);
                assertFalse(be.connected());
                BackendLink l = be.link(0);
                l.finishWait(); // consumes the wake-up the disconnect left
                assertEquals(0, PollSet.pollOne(l.readyFd(), PollfdLayout.POLLIN, 100),
                        "readyFd ready with nothing to do");
                try (var a = java.lang.foreign.Arena.ofConfined()) {
                    var one = a.allocate(8);
                    one.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1);
                    oldKick.write(one, 8);
                }
                assertEquals(0, PollSet.pollOne(l.readyFd(), PollfdLayout.POLLIN, 200),
                        "a kick on the previous front-end's kick eventfd still wakes the link's readyFd");
            }
            healthyFrontend(sock, be);
        }
    }

    @Test
    void controlThreadSurvivesErrors() throws Exception {
        Path sock = tmp.resolve("rlvufd-error.sock");
        try (VhostUserBackend be = VhostUserBackend.listen(sock, BackendConfig.defaults())) {
            List<Error> errors = List.of(new OutOfMemoryError("rlvufd test"), new StackOverflowError("rlvufd test"),
                    // not a SIGBUS's message: that one is MEMORY_FAULT (VhostUserTruncateTest)
                    new InternalError("rlvufd test: an internal error"));
            for (Error err : errors) {
                be.onMessage = m -> {
                    throw err;
                };
                assertThrows(VhostUserException.class,
                        () -> VhostUserFrontend.connect(sock, FrontendConfig.defaults()).close());
                awaitError(be, VhostUserException.InvalidMessage.class, err.getClass().getSimpleName());
                assertSame(err, be.lastError().getCause());
            }
            be.onMessage = null;
            healthyFrontend(sock, be);
        }
    }

    @Test
    void frontendGivesUpOnAMuteBackend() throws Exception {
        Path sock = tmp.resolve("rlvufd-mute.sock");
        Process p = python(BACKEND_ATTACK, sock.toString(), "mute");
        expectLine(p, "listening");
        System.setProperty(KNOBS[2], "1000");
        try {
            long t0 = System.nanoTime();
            VhostUserException e = assertThrows(VhostUserException.class,
                    () -> VhostUserFrontend.connect(sock, FrontendConfig.defaults()).close());
            assertInstanceOf(VhostUserException.Timeout.class, e, () -> "got " + e);
            assertTrue(e.getMessage().contains("start of a message"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30));
        } finally {
            System.setProperty(KNOBS[2], "5000");
        }
    }

    @Test
    void frontendSurvivesABackendThatClearsNonblockAndFillsKicks() throws Exception {
        Path sock = tmp.resolve("rlvufd-clear.sock");
        Process p = python(BACKEND_ATTACK, sock.toString(), "clear");
        expectLine(p, "listening");
        try (VhostUserFrontend fe = VhostUserFrontend.connect(sock, FrontendConfig.defaults());
             PacketBatch b = new PacketBatch(8, 2048)) {
            expectLine(p, "ready");
            FrontendLink l = fe.link(0);
            LinkTraffic.frames(b, 1, 64);
            // Our TX kick is full and blocking now: the kick after the packet must not block.
            assertEquals(1,
                    (int) assertTimeoutPreemptively(BOUND, () -> l.transmit(b, 0, 1), "transmit blocked on the kick"));
            // Our RX call is empty and blocking: finishWait drains it without blocking.
            assertTimeoutPreemptively(BOUND, () -> {
                l.prepareToWait();
                l.finishWait();
            }, "finishWait blocked on the call eventfd");
        }
    }
}
