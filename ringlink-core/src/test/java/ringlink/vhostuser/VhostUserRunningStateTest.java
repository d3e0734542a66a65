package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.packet.PacketBatch;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.MemFd;

/**
 * Issue 15 item 4: every message that changes state a running ring depends on is validated as at
 * start or refused with a typed error; nothing is swapped under the data path unchecked. A raw
 * front-end starts both rings of a split queue pair (ring memory in region 0 of 1 MiB), then
 * sends the message under test.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserRunningStateTest {
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final int QS = 256;
    static final long MEM = 1 << 20, UADDR = 0x7000_0000_0000L;
    static final long FEATURES = 1L << 32 | ProtocolFeature.F_PROTOCOL_FEATURES; // VERSION_1
    static final long PROTOCOL =
            ProtocolFeature.bit(ProtocolFeature.INFLIGHT_SHMFD) | ProtocolFeature.bit(ProtocolFeature.LOG_SHMFD)
            | ProtocolFeature.bit(ProtocolFeature.CONFIGURE_MEM_SLOTS);

    interface Attack {
        void run(Connection c, VhostUserBackend be) throws Exception;
    }

    static void raw(Connection c, Request r, byte[] payload, Fd... fds) throws VhostUserException {
        VhostUserHostileTest.raw(c, r.code, 1, payload, fds);
    }

    static byte[] vringAddr(int q, long desc, long used, long avail) {
        byte[] addr = new byte[40];
        MemorySegment s = MemorySegment.ofArray(addr);
        s.set(U32, 0, q);
        s.set(U64, 8, desc);
        s.set(U64, 16, used);
        s.set(U64, 24, avail);
        return addr;
    }

    static byte[] region(long gpa, long size, long uaddr) {
        byte[] b = new byte[40];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(U64, 8, gpa);
        s.set(U64, 16, size);
        s.set(U64, 24, uaddr);
        return b;
    }

    /** Queue q's rings at q * 16 KiB in region 0: desc, avail +8 KiB, used +12 KiB. */
    static long ring(int q) { return UADDR + q * 16384L; }

    /**
     * Starts a session with both rings of pair 0 running, runs {@code attack}; returns the error
     * that ended the connection, or null if the back-end kept it (then the rings are checked to run).
     */
    static VhostUserException attempt(Attack attack) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults().withPacked(false));
                Connection c = p[1];
             Fd mem = MemFd.create("rlvurun-mem", MEM);
             EventFd k0 = EventFd.create(); EventFd k1 = EventFd.create()) {
            raw(c, Request.SET_FEATURES, Message.ofU64(FEATURES));
            raw(c, Request.SET_PROTOCOL_FEATURES, Message.ofU64(PROTOCOL));
            raw(c, Request.SET_MEM_TABLE, VhostUserHostileTest.memTable(0, MEM, UADDR, 0), mem);
            for (int q = 0; q < 2; q++) {
                raw(c, Request.SET_VRING_NUM, Message.state(q, QS));
                raw(c, Request.SET_VRING_ADDR, vringAddr(q, ring(q), ring(q) + 12288, ring(q) + 8192));
                raw(c, Request.SET_VRING_KICK, Message.ofU64(q), (q == 0 ? k0 : k1).fd());
                raw(c, Request.SET_VRING_ENABLE, Message.state(q, 1));
            }
            assertTrue(be.awaitReady(1, 5000), () -> "not started: " + be.lastError());
            try {
                attack.run(c, be);
            } catch (VhostUserException e) {
                // the back-end may hang up while we are still sending
            }
            // A GET_ message the back-end answered, then whether it hangs up.
            long end = System.currentTimeMillis() + 2000;
            boolean eof = false;
            while (System.currentTimeMillis() < end && !eof) {
                // Only read when something is there: a back-end that keeps the connection sends nothing.
                if (ringlink.sys.PollSet.pollOne(c.socket().fd(), ringlink.sys.PollfdLayout.POLLIN, 50) <= 0) continue;
                try {
                    c.receive().closeFds();
                } catch (VhostUserException.Disconnect | VhostUserException.SocketBroken
                        | VhostUserException.PartialMessage e) {
                    eof = true;
                }
            }
            if (!eof) {
                assertNull(be.lastError(), () -> "error without hang-up: " + be.lastError());
                assertTrue(be.vrings[0].started() && be.vrings[1].started(), "the rings still run");
                try (PacketBatch b = new PacketBatch(8, 2048)) {
                    assertEquals(0, be.link(0).receive(b)); // usable, nothing posted
                }
                return null;
            }
            while (be.lastError() == null && System.currentTimeMillis() < end + 3000) Thread.sleep(5);
            assertNotNull(be.lastError());
            assertFalse(be.vrings[0].started() || be.vrings[1].started(), "rings stopped with the connection");
            return be.lastError();
        }
    }

    static <T extends VhostUserException> T expect(Class<T> type, String text, Attack a) throws Exception {
        VhostUserException e = attempt(a);
        assertNotNull(e, "the back-end accepted it");
        assertInstanceOf(type, e, () -> "got " + e);
        assertTrue(e.getMessage().contains(text), e.getMessage());
        return type.cast(e);
    }

    static byte[] inflightRequest(int queues, int size) {
        byte[] q = new byte[24];
        MemorySegment s = MemorySegment.ofArray(q);
        s.set(U16, 16, (short) queues);
        s.set(U16, 18, (short) size);
        return q;
    }

    @Test
    void getInflightFdOnRunningRingsIsRefused() throws Exception {
        // The old code re-pointed the running split ring's tracking into the new buffer (sized
        // for 16 entries, not 256): IndexOutOfBounds on the next chain, after it was popped.
        expect(VhostUserException.InvalidOperation.class, "while vring 0 is running",
                (c, be) -> raw(c, Request.GET_INFLIGHT_FD, inflightRequest(2, 16)));
    }

    @Test
    void setInflightFdOnRunningRingsIsRefused() throws Exception {
        try (Fd f = MemFd.create("rlvurun-infl", 1 << 16)) {
            byte[] q = inflightRequest(2, QS);
            MemorySegment.ofArray(q).set(U64, 0, 1 << 16);
            expect(VhostUserException.InvalidOperation.class, "SET_INFLIGHT_FD while vring",
                    (c, be) -> raw(c, Request.SET_INFLIGHT_FD, q, f));
        }
    }

    @Test
    void memTableWithoutTheRingsIsATypedError() throws Exception {
        try (Fd other = MemFd.create("rlvurun-other", MEM)) {
            expect(VhostUserException.InvalidParam.class, "no longer holds running vring",
                    (c, be) -> raw(c, Request.SET_MEM_TABLE,
                            VhostUserHostileTest.memTable(0, MEM, UADDR + (64L << 20), 0), other));
        }
    }

    @Test
    void memTableThatStillHoldsTheRingsRestartsThemChecked() throws Exception {
        try (Fd again = MemFd.create("rlvurun-again", 2 * MEM)) {
            assertNull(attempt((c, be) ->
                    raw(c, Request.SET_MEM_TABLE, VhostUserHostileTest.memTable(0, 2 * MEM, UADDR, 0), again)));
        }
    }

    @Test
    void removingTheRegionOfRunningRingsIsATypedError() throws Exception {
        expect(VhostUserException.InvalidParam.class, "no longer holds running vring",
                (c, be) -> raw(c, Request.REM_MEM_REG, region(0, MEM, UADDR)));
    }

    @Test
    void addingARegionKeepsTheRingsRunning() throws Exception {
        try (Fd more = MemFd.create("rlvurun-more", MEM)) {
            byte[] r = region(64L << 20, MEM, UADDR + (64L << 20));
            assertNull(attempt((c, be) -> raw(c, Request.ADD_MEM_REG, r, more)));
        }
    }

    @Test
    void layoutFeatureChangesAreRefused() throws Exception {
        for (long bit : new long[] {1L << 29 /* EVENT_IDX */, 1L << 35 /* IN_ORDER */, 1L << 28 /* INDIRECT_DESC */}) {
            expect(VhostUserException.InvalidOperation.class, "while vring",
                    (c, be) -> raw(c, Request.SET_FEATURES, Message.ofU64(FEATURES | bit)));
        }
    }

    @Test
    void offloadFeatureChangesApplyOnTheFly() throws Exception {
        assertNull(attempt((c, be) -> raw(c, Request.SET_FEATURES, Message.ofU64(FEATURES | 1L << 0 /* CSUM */))));
    }

    @Test
    void ringGeometryCannotChangeUnderARunningRing() throws Exception {
        expect(VhostUserException.InvalidOperation.class, "SET_VRING_NUM on running vring 1",
                (c, be) -> raw(c, Request.SET_VRING_NUM, Message.state(1, 16)));
        expect(VhostUserException.InvalidOperation.class, "SET_VRING_BASE on running vring 1",
                (c, be) -> raw(c, Request.SET_VRING_BASE, Message.state(1, 5)));
        expect(VhostUserException.InvalidOperation.class, "moves running vring 0",
                (c, be) ->
                        raw(c, Request.SET_VRING_ADDR, vringAddr(0, ring(0) + 4096, ring(0) + 12288, ring(0) + 8192)));
    }

    @Test
    void logBaseBeyondItsFileIsRefusedOnRunningRings() throws Exception {
        try (Fd log = MemFd.create("rlvurun-log", 4096)) {
            byte[] b = new byte[16];
            MemorySegment.ofArray(b).set(U64, 0, 1 << 20); // claims 1 MiB in a 4 KiB file
            expect(VhostUserException.InvalidParam.class, "beyond its file",
                    (c, be) -> raw(c, Request.SET_LOG_BASE, b, log));
        }
    }
}
