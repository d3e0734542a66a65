package ringlink.sys;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.testing.Env;

/**
 * The kernel facts the peer-shared eventfd rules rest on, checked on the running kernel: a
 * shared eventfd's {@code drain()} and {@code signal()} return at once even when the peer cleared
 * O_NONBLOCK on the open file and left the counter empty or full; {@code checkPeer} tells an
 * eventfd from a pipe, a socket, a file, a memfd and a semaphore eventfd; and an epoll entry
 * survives the close of its descriptor while another holds the file (why registrations go
 * through a {@code dup()} that is removed before it is closed).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EventFdPeerTest {
    private static final long FULL = 0xffff_ffff_ffff_fffeL;
    private static final Duration BOUND = Duration.ofSeconds(5);

    private static void writeCounter(Fd fd, long value) throws Exception {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(8);
            v.set(ValueLayout.JAVA_LONG, 0, value);
            assertEquals(8, fd.write(v, 8));
        }
    }

    private static long counter(Fd fd) throws Exception {
        for (String l : fd.fdinfo()) {
            if (l.startsWith("eventfd-count:")) return Long.parseUnsignedLong(l.substring(14).trim(), 16);
        }
        throw new AssertionError("no eventfd-count in fdinfo");
    }

    @Test
    void drainOfAnEmptyBlockingEventfdReturnsAtOnce() throws Exception {
        try (Fd peer = EventFd.createFd(0, 0); EventFd ours = EventFd.adoptPeer(peer.dup())) {
            peer.setNonBlocking(false); // the peer clears the flag after we adopted it (shared open file)
            assertTrue(ours.isShared());
            long v = assertTimeoutPreemptively(BOUND, ours::drain,
                    "drain blocked on an empty eventfd without O_NONBLOCK");
            assertEquals(0, v);
            writeCounter(peer, 7);
            assertEquals(7, ours.drain());
            assertEquals(0, counter(peer));
        }
    }

    @Test
    void signalOfAFullBlockingEventfdReturnsAtOnce() throws Exception {
        try (Fd peer = EventFd.createFd(0, 0); EventFd ours = EventFd.adoptPeer(peer.dup())) {
            peer.setNonBlocking(false);
            writeCounter(peer, FULL - 1); // one short of full: a write of 1 fills it
            assertTimeoutPreemptively(BOUND, ours::signal);
            assertEquals(FULL, counter(peer));
            assertTimeoutPreemptively(BOUND, ours::signal, "signal blocked on a full eventfd without O_NONBLOCK");
            assertEquals(FULL, counter(peer), "a full counter is left alone: the peer is signalled already");
            assertEquals(FULL, ours.drain());
            ours.signal();
            assertEquals(1, counter(peer));
        }
    }

    /**
     * The poll→write race lost: the counter is full and blocking when the write starts. The
     * watchdog notices the write after STUCK_NANOS, drains the counter (waking the writer) and
     * marks the eventfd.
     */
    @Test
    void aWriteThePeerBlocksIsReleasedByTheWatchdog() throws Exception {
        try (Fd peer = EventFd.createFd(0, 0); EventFd ours = EventFd.adoptPeer(peer.dup())) {
            peer.setNonBlocking(false);
            writeCounter(peer, FULL); // a write of 1 now blocks
            assertFalse(ours.peerBlockedWrite());
            int f = ours.fd().acquire();
            try {
                assertTimeoutPreemptively(BOUND, () -> ours.writeWatched(f),
                        "the watchdog did not release a blocked write");
            } finally {
                ours.fd().release();
            }
            assertTrue(ours.peerBlockedWrite());
            assertEquals(1, counter(peer), "drained by the watchdog, then our 1");
        }
    }

    @Test
    void ownEventfdKeepsPlainCalls() throws Exception {
        try (EventFd e = EventFd.create()) {
            assertFalse(e.isShared());
            e.signal();
            assertEquals(1, e.drain());
            assertEquals(0, e.drain());
        }
    }

    /**
     * Why signal() polls first: the kernel has no write that ignores O_NONBLOCK on an eventfd.
     * pwritev2(RWF_NOWAIT) is refused (no write_iter), preadv2(RWF_NOWAIT) works. If a future
     * kernel accepts the write, this fails and signal() can drop its poll.
     */
    @Test
    void kernelHasNowaitReadButNoNowaitWrite() throws Exception {
        Env.requireProgram("python3", "python3");
        String py = """
                import os, errno
                fd = os.eventfd(0, 0)
                try:
                    os.preadv(fd, [bytearray(8)], -1, os.RWF_NOWAIT); print("read-ok")
                except OSError as e: print("read-" + errno.errorcode[e.errno])
                try:
                    os.pwritev(fd, [(1).to_bytes(8, "little")], -1, os.RWF_NOWAIT); print("write-ok")
                except OSError as e: print("write-" + errno.errorcode[e.errno])
                """;
        Process p = new ProcessBuilder("python3", "-c", py).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(20, TimeUnit.SECONDS));
        assertTrue(out.contains("read-EAGAIN"), out);
        assertTrue(out.contains("write-EOPNOTSUPP") || out.contains("write-ENOTSUP"), out);
    }

    @Test
    void checkPeerTellsTypes() throws Exception {
        try (Fd ev = EventFd.createFd(0, EventFd.EFD_NONBLOCK)) {
            assertNull(EventFd.checkPeer(ev));
        }
        try (Fd sem = EventFd.createFd(0, EventFd.EFD_SEMAPHORE)) {
            assertTrue(EventFd.checkPeer(sem).contains("semaphore"), EventFd.checkPeer(sem));
        }
        Fd[] pipe = Pipe.create(0);
        try {
            assertTrue(EventFd.checkPeer(pipe[0]).startsWith("not an eventfd but a pipe (pipe:["),
                    EventFd.checkPeer(pipe[0]));
        } finally {
            pipe[0].close();
            pipe[1].close();
        }
        UnixSocket[] sp = UnixSocket.pair(UnixSocket.SOCK_STREAM);
        try {
            assertTrue(EventFd.checkPeer(sp[0].fd()).contains("a socket"), EventFd.checkPeer(sp[0].fd()));
        } finally {
            sp[0].close();
            sp[1].close();
        }
        Path f = Files.createTempFile("rlevpeer", ".bin");
        try (Fd file = Fd.open(f.toString(), Fd.O_RDWR)) {
            assertTrue(EventFd.checkPeer(file).contains("a file (" + f), EventFd.checkPeer(file));
        } finally {
            Files.deleteIfExists(f);
        }
        try (Fd m = MemFd.create("rlevpeer", 4096)) {
            assertTrue(EventFd.checkPeer(m).contains("a file (/memfd:rlevpeer"), EventFd.checkPeer(m));
        }
        try (Epoll ep = new Epoll(1)) {
            assertTrue(EventFd.checkPeer(ep.fd()).contains("another anonymous file (anon_inode:[eventpoll])"),
                    EventFd.checkPeer(ep.fd()));
        }
    }

    /**
     * The leak behind "remove before close": closing a registered descriptor while another
     * descriptor (a peer's) keeps the file open leaves its epoll entry armed, and it can no longer
     * be deleted. Registering a dup that is removed before it is closed avoids it.
     */
    @Test
    void epollEntryOutlivesItsClosedDescriptor() throws Exception {
        try (Epoll ep = new Epoll(4); Fd peer = EventFd.createFd(0, EventFd.EFD_NONBLOCK)) {
            Fd ours = peer.dup();
            ep.add(ours, EpollEventLayout.EPOLLIN, 1);
            ours.close(); // the peer still holds the file
            writeCounter(peer, 1);
            assertEquals(1, ep.await(0), "the closed descriptor's entry still fires");
            // The right way: a dup registered, removed, then closed.
            try (Epoll ep2 = new Epoll(4)) {
                Fd reg = peer.dup();
                ep2.add(reg, EpollEventLayout.EPOLLIN, 1);
                ep2.remove(reg);
                reg.close();
                assertEquals(0, ep2.await(0));
            }
        }
    }
}
