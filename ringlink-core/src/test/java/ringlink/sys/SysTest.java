package ringlink.sys;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class SysTest {

    @Test
    void openMissingFileNamesCallErrnoAndPath() {
        SysException e = assertThrows(SysException.class, () -> Fd.open("/nonexistent/ringlink", Fd.O_RDONLY));
        assertEquals(Errno.ENOENT, e.errno());
        assertEquals("ENOENT", e.errnoName());
        assertTrue(e.getMessage().contains("open") && e.getMessage().contains("/nonexistent/ringlink")
                && e.getMessage().contains("ENOENT"), e.getMessage());
    }

    @Test
    void fdUseAfterCloseIsAClearError() throws Exception {
        EventFd ev = EventFd.create();
        Fd fd = ev.fd();
        ev.close();
        ev.close(); // idempotent
        assertFalse(fd.isOpen());
        ClosedFdException e = assertThrows(ClosedFdException.class, ev::signal);
        assertTrue(e.getMessage().contains("eventfd"), e.getMessage());
    }

    @Test
    void closeWaitsForInFlightUseBeforeReleasingTheNumber() throws Exception {
        EventFd ev = EventFd.create();
        Fd fd = ev.fd();
        int n = fd.acquire();
        fd.close();
        // Still in use: the kernel descriptor must still be valid (fcntl works on the raw number).
        assertTrue(Files.exists(Path.of("/proc/self/fd/" + n)));
        fd.release();
        assertFalse(Files.exists(Path.of("/proc/self/fd/" + n)));
    }

    @Test
    void eventfdSignalsAndDrains() throws Exception {
        try (EventFd ev = EventFd.create()) {
            assertEquals(0, ev.drain());
            ev.signal();
            ev.signal();
            assertEquals(PollfdLayout.POLLIN,
                    PollSet.pollOne(ev.fd(), PollfdLayout.POLLIN, 1000) & PollfdLayout.POLLIN);
            assertEquals(2, ev.drain());
            assertEquals(0, PollSet.pollOne(ev.fd(), PollfdLayout.POLLIN, 0));
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void closingAnEventfdWhileAnotherThreadDrainsItIsAClosedErrorNotAnArenaError() throws Exception {
        // close() used to close the scratch arena under a drain in flight: the closer got
        // IllegalStateException (arena acquired by the native read), or the drainer did when
        // it read the counter after the arena was gone. Either side must see only
        // ClosedFdException (or a normal return).
        for (int round = 0; round < 2_000; round++) {
            EventFd e = EventFd.create();
            e.signal();
            java.util.concurrent.atomic.AtomicReference<Throwable> bad =
                    new java.util.concurrent.atomic.AtomicReference<>();
            CountDownLatch go = new CountDownLatch(1);
            Thread drainer = Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    while (true) {
                        e.drain();
                        e.signal();
                    }
                } catch (ClosedFdException expected) {
                    // the end
                } catch (Throwable t) {
                    bad.set(t);
                }
            });
            go.countDown();
            if ((round & 1) == 0) Thread.onSpinWait(); else Thread.yield();
            try {
                e.close();
            } catch (Throwable t) {
                bad.compareAndSet(null, t);
            }
            drainer.join(10_000);
            assertFalse(drainer.isAlive(), "drainer still running after close");
            if (bad.get() != null) throw new AssertionError("round " + round + ": " + bad.get(), bad.get());
        }
    }

    @Test
    void memfdMappingIsSharedAndBounded() throws Exception {
        try (Fd fd = MemFd.create("ringlink-test", 8192);
             Mapping a = Mapping.map(fd, 8192, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "a");
             Mapping b = Mapping.map(fd, 4096, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 4096, "b")) {
            assertEquals(8192, fd.size());
            a.segment().set(ValueLayout.JAVA_LONG, 4096, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, b.segment().get(ValueLayout.JAVA_LONG, 0));
            assertEquals(4096, b.segment().byteSize());
            assertThrows(IndexOutOfBoundsException.class, () -> b.segment().get(ValueLayout.JAVA_BYTE, 4096));
            MemorySegment seg = b.segment();
            b.close();
            assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_BYTE, 0));
        }
    }

    @Test
    void scmRightsPassesSeveralDescriptors() throws Exception {
        UnixSocket[] p = UnixSocket.pair(UnixSocket.SOCK_SEQPACKET);
        try (UnixSocket a = p[0]; UnixSocket b = p[1]; EventFd e1 = EventFd.create(); EventFd e2 = EventFd.create();
             Fd m = MemFd.create("x", 4096); Arena arena = Arena.ofConfined()) {
            a.send("hello".getBytes(), e1.fd(), e2.fd(), m);
            MemorySegment buf = arena.allocate(64);
            UnixSocket.Received r = b.receive(buf, 64, 8);
            assertEquals(5, r.bytes());
            assertEquals("hello", new String(buf.asSlice(0, 5).toArray(ValueLayout.JAVA_BYTE)));
            assertEquals(3, r.fds().length);
            // The received eventfd is the same kernel object.
            EventFd got = EventFd.adopt(r.fds()[0]);
            got.signal();
            assertEquals(1, e1.drain());
            assertEquals(4096, r.fds()[2].size());
            for (Fd f : r.fds()) f.close();
        }
    }

    @Test
    void tooManyDescriptorsIsRejectedAndNothingLeaks() throws Exception {
        UnixSocket[] p = UnixSocket.pair(UnixSocket.SOCK_STREAM);
        try (UnixSocket a = p[0]; UnixSocket b = p[1]; EventFd e1 = EventFd.create(); EventFd e2 = EventFd.create();
             Arena arena = Arena.ofConfined()) {
            a.send(new byte[] {1}, e1.fd(), e2.fd());
            SysException e = assertThrows(SysException.class, () -> b.receive(arena.allocate(8), 8, 1));
            assertEquals(Errno.EMSGSIZE, e.errno());
        }
    }

    @Test
    void listenConnectAcceptOnAPath(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path sock = dir.resolve("s.sock");
        try (UnixSocket server = UnixSocket.listen(sock, UnixSocket.SOCK_STREAM, 4);
             UnixSocket client = UnixSocket.connect(sock, UnixSocket.SOCK_STREAM);
             UnixSocket conn = server.accept(2000);
             Arena arena = Arena.ofConfined()) {
            assertNotNull(conn);
            client.send(new byte[] {42});
            MemorySegment buf = arena.allocate(4);
            assertEquals(1, conn.receive(buf, 4, 0).bytes());
            assertEquals(42, buf.get(ValueLayout.JAVA_BYTE, 0));
            client.close();
            assertTrue(conn.receive(buf, 4, 0).closed());
        }
        // A stale socket file is replaced; a regular file is not.
        try (UnixSocket again = UnixSocket.listen(sock, UnixSocket.SOCK_STREAM, 1)) {
            assertNotNull(again);
        }
        Path file = dir.resolve("file");
        Files.writeString(file, "x");
        assertThrows(java.io.IOException.class, () -> UnixSocket.listen(file, UnixSocket.SOCK_STREAM, 1));
    }

    @Test
    void closeWakesABlockedReceiver() throws Exception {
        UnixSocket[] p = UnixSocket.pair(UnixSocket.SOCK_STREAM);
        CountDownLatch done = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try (Arena arena = Arena.ofConfined()) {
                p[1].receive(arena.allocate(8), 8, 0);
            } catch (Exception ignored) {
                // closed under us: fine
            }
            done.countDown();
        });
        t.start();
        Thread.sleep(100);
        p[1].close();
        assertTrue(done.await(5, TimeUnit.SECONDS));
        p[0].close();
    }

    @Test
    void epollReportsReadyTags() throws Exception {
        try (Epoll ep = new Epoll(8); EventFd a = EventFd.create(); EventFd b = EventFd.create()) {
            ep.add(a.fd(), EpollEventLayout.EPOLLIN, 11);
            ep.add(b.fd(), EpollEventLayout.EPOLLIN, 22);
            assertEquals(0, ep.await(0));
            b.signal();
            assertEquals(1, ep.await(1000));
            assertEquals(22, ep.tag(0));
            assertTrue((ep.events(0) & EpollEventLayout.EPOLLIN) != 0);
        }
    }

    @Test
    void pipeAndReadvWritev() throws Exception {
        Fd[] p = Pipe.create(Fd.O_NONBLOCK);
        try (Fd r = p[0]; Fd w = p[1]; Arena arena = Arena.ofConfined()) {
            assertEquals(-1, r.read(arena.allocate(4)), "EAGAIN is -1 on a non-blocking fd");
            MemorySegment x = arena.allocateFrom("abc");
            MemorySegment y = arena.allocateFrom("defg");
            MemorySegment iov = arena.allocate(IovecLayout.SIZE * 2, 8);
            IovecLayout.set(iov, 0, x, 0, 3);
            IovecLayout.set(iov, 1, y, 0, 4);
            assertEquals(7, w.writev(iov, 2));
            MemorySegment in1 = arena.allocate(2), in2 = arena.allocate(16);
            IovecLayout.set(iov, 0, in1, 0, 2);
            IovecLayout.set(iov, 1, in2, 0, 16);
            assertEquals(7, r.readv(iov, 2));
            assertEquals("cdefg", new String(in2.asSlice(0, 5).toArray(ValueLayout.JAVA_BYTE)));
        }
    }

    @Test
    void interfacesAndLimits() throws Exception {
        assertEquals(1, Net.ifNameToIndex("lo"));
        assertEquals("lo", Net.ifIndexToName(1));
        SysException e = assertThrows(SysException.class, () -> Net.ifNameToIndex("rlnope0"));
        assertTrue(e.getMessage().contains("rlnope0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Net.ifNameToIndex("much-too-long-name0"));
        Rlimit.Limit l = Rlimit.get(Rlimit.RLIMIT_NOFILE);
        assertTrue(l.cur() > 0);
        Rlimit.set(Rlimit.RLIMIT_NOFILE, l);
    }

    @Test
    void bpfErrorsAreTyped() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(128);
            attr.set(ValueLayout.JAVA_INT, 0, 9999); // map_type nonsense
            SysException e =
                    assertThrows(SysException.class, () -> Bpf.call(Bpf.BPF_MAP_CREATE, attr, "BPF_MAP_CREATE"));
            assertTrue(e.getMessage().startsWith("bpf(BPF_MAP_CREATE)"), e.getMessage());
        }
    }
}
