package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.virtio.VirtioFeature;
import ringlink.testing.LinkTraffic;

/**
 * Dirty-page logging for live migration (VHOST_F_LOG_ALL, LOG_SHMFD), against our own
 * front-end: with logging on, the back-end marks in a memfd bitmap exactly the guest pages it
 * wrote (RX buffers, the used ring or, packed, the descriptor ring); hostile SET_LOG_BASE values
 * are refused with a typed exception.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserLogTest {
    static final int PAGE = 4096;

    @Test
    void offersLoggingFeatures() throws Exception {
        try (VhostUserBackend be = VhostUserBackend.detached(BackendConfig.defaults())) {
            long f = be.apply(Message.request(Request.GET_FEATURES, new byte[0])).u64(0);
            assertTrue((f & VirtioFeature.VHOST_LOG_ALL.mask()) != 0);
            long p = be.apply(Message.request(Request.GET_PROTOCOL_FEATURES, new byte[0])).u64(0);
            assertTrue((p & ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD)) != 0);
        }
    }

    /** The bitmap arithmetic: word-crossing ranges, an unaligned offset, pages past the end. */
    @Test
    void bitmapMarksPagesAtomicallyInPlace() throws Exception {
        long size = 64, offset = 3; // 512 pages; the log starts mid-word
        try (Fd fd = MemFd.create("rlvl-bitmap", 4096);
             Mapping m = Mapping.map(fd, 4096, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "test");
             DirtyLog log = DirtyLog.adopt(dup(fd), size, offset)) {
            MemorySegment s = m.segment();
            s.set(ValueLayout.JAVA_BYTE, 0, (byte) 0x5a);      // neighbours of the log stay untouched
            s.set(ValueLayout.JAVA_BYTE, offset + size, (byte) 0x5a);
            log.mark(0, 1);                                      // page 0
            log.mark(PAGE * 61L + 100, PAGE * 6L);               // pages 61..67 (crosses bytes and words)
            log.mark(PAGE * 510L, PAGE * 10L);                   // 510, 511; 8 dropped
            log.mark(-PAGE, 2L * PAGE);                          // wraps the address space: all beyond the log
            BitSet want = new BitSet();
            want.set(0);
            want.set(61, 68);
            want.set(510, 512);
            assertEquals(want, bits(s, offset, size));
            assertEquals(0x5a, s.get(ValueLayout.JAVA_BYTE, 0));
            assertEquals(0x5a, s.get(ValueLayout.JAVA_BYTE, offset + size));
            assertEquals(1 + 7 + 2, log.marked());
            assertEquals(8 + 1, log.dropped());
        }
    }

    /**
     * Any log size and offset, any ranges (past the end, wrapping the address space, empty):
     * exactly the pages of the ranges inside the log are set, nothing outside the log changes,
     * and what falls outside is counted as dropped.
     */
    @net.jqwik.api.Property(tries = 300)
    void bitmapMarksExactlyTheRangesGiven(
            @net.jqwik.api.ForAll @net.jqwik.api.constraints.IntRange(min = 1, max = 256) int size,
                                          @net.jqwik.api.ForAll
                                          @net.jqwik.api.constraints.IntRange(min = 0, max = 64) int offset,
                                          @net.jqwik.api.ForAll long seed) throws Exception {
        java.util.Random rnd = new java.util.Random(seed);
        long pages = 8L * size;
        try (Fd fd = MemFd.create("rlvl-bitmap-prop", 4096);
             Mapping m = Mapping.map(fd, 4096, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "test");
             DirtyLog log = DirtyLog.adopt(dup(fd), size, offset)) {
            MemorySegment s = m.segment();
            s.fill((byte) 0x5a);
            for (long i = offset; i < offset + size; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) 0);
            BitSet want = new BitSet();
            long inside = 0, outside = 0;
            for (int k = 0, n = rnd.nextInt(12); k < n; k++) {
                long gpa =
                        rnd.nextInt(5) == 0 ? -rnd.nextInt(8 * PAGE) : (long) (rnd.nextDouble() * (pages + 8) * PAGE);
                long len = rnd.nextInt(4) == 0 ? 0 : 1 + (long) (rnd.nextDouble() * 20 * PAGE);
                log.mark(gpa, len);
                if (len == 0) continue;
                long first = Long.divideUnsigned(gpa, PAGE);
                long lastAddr = gpa + len - 1;
                if (Long.compareUnsigned(lastAddr, gpa) < 0) lastAddr = -1L;
                long last = Long.divideUnsigned(lastAddr, PAGE);
                for (long pg = first; Long.compareUnsigned(pg, last) <= 0; pg++) {
                    if (Long.compareUnsigned(pg, pages) < 0) {
                        want.set((int) pg);
                        inside++;
                    } else {
                        outside += Long.compareUnsigned(first, pages) >= 0 ? last - first + 1 : last - pages + 1;
                        break;
                    }
                }
            }
            assertEquals(want, bits(s, offset, size));
            for (long i = 0; i < 4096; i++) {
                if (i < offset || i >= offset + size)
                        assertEquals((byte) 0x5a, s.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " outside the log");
            }
            assertEquals(inside, log.marked());
            assertEquals(outside, log.dropped());
        }
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void marksExactlyThePagesWritten(boolean packed) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults().withPacked(packed))) {
            assertTrue(be.awaitReady(1, 5000));
            BackendLink bl = be.link(0);
            // Guest address = user address in our front-end: the log must cover its mapping.
            ringlink.virtio.GuestMemory.Region region = be.guestMemory().region(0);
            MemorySegment guest = region.segment();
            long gStart = region.guestAddress(), gSize = guest.byteSize(), gEnd = gStart + gSize;
            // A bitmap from guest address 0 to the region's end: gigabytes for a user-space
            // address, but a sparse memfd; only the bytes of the region's pages are touched.
            long logSize = ((gEnd >>> 12) + 64) / 64 * 8;
            try (Fd logFd = MemFd.create("rlvl-log", logSize);
                 Mapping lm = Mapping.map(logFd, logSize, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0,
                         "log")) {
                long pf = fe.protocolFeatures() | ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD);
                assertEquals(0, VhostUserProtocolTest.ack(fe, Request.SET_PROTOCOL_FEATURES, Message.ofU64(pf)));
                byte[] lb = new byte[16];
                MemorySegment.ofArray(lb).set(Message.U64, 0, logSize);
                fe.sendRaw(Message.request(Request.SET_LOG_BASE, lb, logFd));
                Message rep = fe.connection().receive();
                assertTrue(rep.isReply(), "SET_LOG_BASE is answered with LOG_SHMFD");
                assertEquals(Request.SET_LOG_BASE.code, rep.requestCode());
                long f = fe.features().bits() | VirtioFeature.VHOST_LOG_ALL.mask();
                assertEquals(0, VhostUserProtocolTest.ack(fe, Request.SET_FEATURES, Message.ofU64(f)));
                Vring rx = be.vrings[0];
                long usedGpa = rx.usedUser; // identity mapping
                byte[] addr = new byte[40];
                MemorySegment a = MemorySegment.ofArray(addr);
                a.set(Message.U32, 0, 0);
                a.set(Message.U32, 4, 1); // VHOST_VRING_F_LOG
                a.set(Message.U64, 8, rx.descUser);
                a.set(Message.U64, 16, rx.usedUser);
                a.set(Message.U64, 24, rx.availUser);
                a.set(Message.U64, 32, usedGpa);
                assertEquals(0, VhostUserProtocolTest.ack(fe, Request.SET_VRING_ADDR, addr));
                assertEquals(1, be.logBases());

                long base = gStart >>> 12; // first page of the region
                clear(lm.segment(), base, gSize);
                byte[] before = guest.toArray(ValueLayout.JAVA_BYTE);
                assertEquals(40, LinkTraffic.send(bl, 40, 1000, 5000)); // RX buffers of 2 KiB: ~20 pages
                byte[] after = guest.toArray(ValueLayout.JAVA_BYTE);
                BitSet changed = new BitSet();
                for (int i = 0; i < before.length; i++) if (before[i] != after[i]) changed.set(i / PAGE);
                BitSet marked = regionBits(lm.segment(), base, gSize);
                // Sound: every page we changed is marked. Exact: nothing else but the ring area
                // whose flags/event fields we may rewrite with the value they had.
                BitSet missing = (BitSet) changed.clone();
                missing.andNot(marked);
                assertTrue(missing.isEmpty(), "written but not logged: pages " + missing);
                BitSet extra = (BitSet) marked.clone();
                extra.andNot(changed);
                BitSet ring = new BitSet();
                if (packed) {
                    ring.set((int) ((rx.descUser - gStart) / PAGE),
                            (int) ((rx.descUser + 16L * rx.num - 1 - gStart) / PAGE) + 1);
                    ring.set((int) ((usedGpa - gStart) / PAGE), (int) ((usedGpa + 3 - gStart) / PAGE) + 1);
                } else {
                    ring.set((int) ((usedGpa - gStart) / PAGE),
                            (int) ((usedGpa + 6 + 8L * rx.num - gStart) / PAGE) + 1);
                }
                extra.andNot(ring);
                assertTrue(extra.isEmpty(), "logged but not written: pages " + extra);
                assertTrue(changed.cardinality() >= 10, "the packets changed only " + changed.cardinality() + " pages");
                assertEquals(0, be.lastLog().dropped());

                // Logging off (SET_FEATURES without LOG_ALL): the data path marks nothing.
                assertEquals(0,
                        VhostUserProtocolTest.ack(fe, Request.SET_FEATURES, Message.ofU64(fe.features().bits())));
                long marks = be.lastLog().marked();
                clear(lm.segment(), base, gSize);
                assertEquals(20, LinkTraffic.send(bl, 20, 1000, 5000));
                assertEquals(marks, be.lastLog().marked());
                assertTrue(regionBits(lm.segment(), base, gSize).isEmpty());
            }
        }
    }

    /**
     * QEMU sends a new SET_LOG_BASE when guest memory grows during a migration: the running
     * rings move to the new log while a data thread keeps transmitting, and the old mapping is
     * unmapped without the data path ever touching it afterwards.
     */
    @Test
    void logReplacedWhileTransmitting() throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults())) {
            assertTrue(be.awaitReady(1, 5000));
            ringlink.virtio.GuestMemory.Region region = be.guestMemory().region(0);
            long gEnd = region.guestAddress() + region.segment().byteSize();
            long logSize = ((gEnd >>> 12) + 64) / 64 * 8;
            long pf = fe.protocolFeatures() | ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD);
            assertEquals(0, VhostUserProtocolTest.ack(fe, Request.SET_PROTOCOL_FEATURES, Message.ofU64(pf)));
            assertEquals(0, VhostUserProtocolTest.ack(fe, Request.SET_FEATURES,
                    Message.ofU64(fe.features().bits() | VirtioFeature.VHOST_LOG_ALL.mask())));
            FrontendLink fl = fe.link(0);
            java.util.concurrent.atomic.AtomicReference<Throwable> err =
                    new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread tx = new Thread(() -> {
                try (ringlink.packet.PacketBatch in = new ringlink.packet.PacketBatch(64, 2048)) {
                    while (!stop.get()) {
                        LinkTraffic.send(be.link(0), 32, 200, 1000);
                        in.clear();
                        fl.receive(in); // the guest recycles its RX buffers
                    }
                } catch (Throwable t) {
                    err.set(t);
                }
            }, "rlvl-tx");
            tx.start();
            try {
                long before = 0;
                for (int k = 0; k < 20; k++) {
                    try (Fd fd = MemFd.create("rlvl-log" + k, logSize)) {
                        fe.sendRaw(logBase(logSize, 0, fd));
                        Message rep = fe.connection().receive();
                        assertEquals(Request.SET_LOG_BASE.code, rep.requestCode());
                    }
                    DirtyLog cur = be.lastLog();
                    long end = System.currentTimeMillis() + 2000;
                    while (cur.marked() == 0 && System.currentTimeMillis() < end) Thread.sleep(1);
                    before += cur.marked();
                }
                assertTrue(before > 0);
            } finally {
                stop.set(true);
                tx.join(5000);
            }
            assertNull(err.get(), () -> "data thread: " + err.get());
            assertNull(be.lastError());
            assertTrue(be.connected());
            assertEquals(20, be.logBases());
        }
    }

    static Message logBase(long size, long offset, Fd... fds) {
        byte[] lb = new byte[16];
        MemorySegment s = MemorySegment.ofArray(lb);
        s.set(Message.U64, 0, size);
        s.set(Message.U64, 8, offset);
        return Message.request(Request.SET_LOG_BASE, lb, fds);
    }

    /** A back-end that negotiated LOG_SHMFD, without a connection. */
    static VhostUserBackend negotiated() throws Exception {
        VhostUserBackend be = VhostUserBackend.detached(BackendConfig.defaults());
        long p = be.apply(Message.request(Request.GET_PROTOCOL_FEATURES, new byte[0])).u64(0);
        be.apply(Message.request(Request.SET_PROTOCOL_FEATURES, Message.ofU64(p)));
        return be;
    }

    @Test
    void hostileLogBaseIsRefused() throws Exception {
        try (Fd fd = MemFd.create("rlvl-hostile", 8192)) {
            try (VhostUserBackend be = negotiated()) {
                var e = assertThrows(VhostUserException.InvalidParam.class, () -> be.apply(logBase(8192, 1, dup(fd))));
                assertTrue(e.getMessage().contains("beyond its file"), e.getMessage());
            }
            try (VhostUserBackend be = negotiated()) {
                assertThrows(VhostUserException.InvalidParam.class, () -> be.apply(logBase(1L << 40, 0, dup(fd))));
            }
            try (VhostUserBackend be = negotiated()) {
                // offset + size overflows 64 bits: never a wrapped "small" end
                assertThrows(VhostUserException.InvalidParam.class, () -> be.apply(logBase(4096, -4096L, dup(fd))));
            }
            try (VhostUserBackend be = negotiated()) {
                assertThrows(VhostUserException.InvalidParam.class, () -> be.apply(logBase(-1L, 4096, dup(fd))));
            }
            try (VhostUserBackend be = negotiated()) {
                assertThrows(VhostUserException.InvalidParam.class, () -> be.apply(logBase(0, 0, dup(fd))));
            }
            try (VhostUserBackend be = negotiated()) {
                var e = assertThrows(VhostUserException.IncorrectFds.class, () -> be.apply(logBase(4096, 0)));
                assertTrue(e.getMessage().contains("file descriptor"), e.getMessage());
            }
            try (VhostUserBackend be = VhostUserBackend.detached(BackendConfig.defaults())) {
                // LOG_SHMFD not negotiated
                assertThrows(VhostUserException.InvalidOperation.class, () -> be.apply(logBase(4096, 0, dup(fd))));
            }
            try (VhostUserBackend be = negotiated()) {
                // SET_LOG_FD (optional): accepted (the back-end owns the eventfd now), no reply of its own
                assertNull(
                        be.apply(Message.request(Request.SET_LOG_FD, new byte[0], ringlink.sys.EventFd.create().fd())));
                Message rep = be.apply(logBase(4096, 4096, dup(fd)));
                assertEquals(Request.SET_LOG_BASE.code, rep.requestCode());
                assertEquals(8, rep.size());
                assertEquals(4096 * 8, be.lastLog().pages());
            }
        }
    }

    /** Over a live connection a hostile SET_LOG_BASE ends that connection, with the reason kept. */
    @Test
    void hostileLogBaseClosesTheConnection() throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults());
             Fd fd = MemFd.create("rlvl-short", 4096)) {
            assertTrue(be.awaitReady(1, 5000));
            long pf = fe.protocolFeatures() | ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD);
            assertEquals(0, VhostUserProtocolTest.ack(fe, Request.SET_PROTOCOL_FEATURES, Message.ofU64(pf)));
            fe.sendRaw(logBase(1 << 20, 0, fd));
            long end = System.currentTimeMillis() + 5000;
            while (be.connected() && System.currentTimeMillis() < end) Thread.sleep(10);
            assertFalse(be.connected());
            assertInstanceOf(VhostUserException.InvalidParam.class, be.lastError());
            assertTrue(be.lastError().getMessage().contains("beyond its file"), be.lastError().getMessage());
        }
    }

    static Fd dup(Fd fd) throws Exception {
        return Fd.open("/proc/self/fd/" + fd.number(), 2 /* O_RDWR */);
    }

    /** Clears the bitmap bytes of the region's pages. */
    static void clear(MemorySegment s, long firstPage, long regionSize) {
        long from = firstPage >>> 3, to = (firstPage + (regionSize + PAGE - 1) / PAGE) / 8 + 1;
        s.asSlice(from, to - from).fill((byte) 0);
    }

    static BitSet bits(MemorySegment s, long offset, long size) {
        BitSet b = new BitSet();
        for (long i = 0; i < size * 8; i++) {
            if ((s.get(ValueLayout.JAVA_BYTE, offset + (i >>> 3)) & (1 << (i & 7))) != 0) b.set((int) i);
        }
        return b;
    }

    /** The bits of the pages of the region starting at page {@code firstPage}, relative to it. */
    static BitSet regionBits(MemorySegment s, long firstPage, long regionSize) {
        BitSet b = new BitSet();
        long n = (regionSize + PAGE - 1) / PAGE;
        for (long i = 0; i < n; i++) {
            long pg = firstPage + i;
            if ((s.get(ValueLayout.JAVA_BYTE, pg >>> 3) & (1 << (pg & 7))) != 0) b.set((int) i);
        }
        return b;
    }
}
