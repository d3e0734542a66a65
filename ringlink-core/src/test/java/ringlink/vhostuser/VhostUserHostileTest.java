package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import ringlink.link.LinkFailedException;
import ringlink.packet.PacketBatch;
import ringlink.sys.EventFd;
import ringlink.sys.Fd;
import ringlink.sys.Mapping;
import ringlink.sys.MemFd;
import ringlink.virtio.SplitRing;

/**
 * A hostile front-end: malformed headers, wrong payload sizes and fd counts, regions that
 * overlap or lie beyond their file, rings outside the memory table, corrupt descriptors. Each
 * gets the right {@link VhostUserException}, its connection closed, and a healthy pair running
 * beside them keeps working.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserHostileTest {
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static VhostUserBackend healthyBe;
    static VhostUserFrontend healthyFe;

    @BeforeAll
    static void healthyPair() throws Exception {
        Connection[] p = Connection.pair();
        healthyBe = VhostUserBackend.serve(p[0], BackendConfig.defaults());
        healthyFe = VhostUserFrontend.over(p[1], FrontendConfig.defaults());
        assertTrue(healthyBe.awaitReady(1, 5000));
    }

    @AfterAll
    static void healthyPairStillWorks() throws Exception {
        try {
            VhostUserLoopTest.exchange(healthyFe.link(0), healthyBe.link(0), 1000, 64);
        } finally {
            healthyFe.close();
            healthyBe.close();
        }
    }

    interface Script {
        void run(Connection c) throws Exception;
    }

    /** Runs {@code script} as the front-end; expects the back-end to fail with {@code expected} and hang up. */
    static VhostUserException expect(Class<? extends VhostUserException> expected, Script script) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults()); Connection fe = p[1]) {
            try {
                script.run(fe);
            } catch (VhostUserException e) {
                // the back-end may hang up while we are still sending
            }
            // The back-end closes the connection: we read EOF (after any reply it sent).
            long end = System.currentTimeMillis() + 5000;
            boolean eof = false;
            while (System.currentTimeMillis() < end && !eof) {
                try {
                    fe.receive().closeFds();
                } catch (VhostUserException.Disconnect | VhostUserException.SocketBroken
                        | VhostUserException.PartialMessage e) {
                    eof = true;
                }
            }
            assertTrue(eof, "back-end did not close the connection");
            while (be.lastError() == null && System.currentTimeMillis() < end) Thread.sleep(5);
            VhostUserException err = be.lastError();
            assertNotNull(err, "no error recorded");
            assertInstanceOf(expected, err, () -> "got " + err);
            assertFalse(err.getMessage().isBlank());
            return err;
        }
    }

    static void raw(Connection c, int request, int flags, byte[] payload, Fd... fds) throws VhostUserException {
        c.send(new Message(request, flags, payload, fds));
    }

    /**
     * Sets up a VERSION_1 session over one 1 MiB region at {@code base} (guest addresses =
     * offsets) with two split rings of {@code qs}: queue q's descriptors at 16384·q, avail at
     * +4096, used at +8192, kicked through {@code k0}/{@code k1}.
     */
    static void twoSplitRings(Connection c, Fd mem, long base, int qs, EventFd k0, EventFd k1)
            throws VhostUserException {
        raw(c, Request.SET_FEATURES.code, 1, Message.ofU64(1L << 32)); // VERSION_1 only
        raw(c, Request.SET_MEM_TABLE.code, 1, memTable(0, 1 << 20, base, 0), mem);
        for (int q = 0; q < 2; q++) {
            long off = q * 16384L;
            raw(c, Request.SET_VRING_NUM.code, 1, Message.state(q, qs));
            byte[] addr = new byte[40];
            MemorySegment s = MemorySegment.ofArray(addr);
            s.set(U32, 0, q);
            s.set(U64, 8, base + off);
            s.set(U64, 16, base + off + 8192);
            s.set(U64, 24, base + off + 4096);
            raw(c, Request.SET_VRING_ADDR.code, 1, addr);
            raw(c, Request.SET_VRING_KICK.code, 1, Message.ofU64(q), (q == 0 ? k0 : k1).fd());
        }
    }

    static byte[] memTable(long... regions) {
        int n = regions.length / 4;
        byte[] b = new byte[8 + 32 * n];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(U32, 0, n);
        for (int i = 0; i < regions.length; i++) s.set(U64, 8 + 8L * i, regions[i]);
        return b;
    }

    @Test
    void badVersion() throws Exception {
        expect(VhostUserException.InvalidMessage.class, c -> raw(c, Request.GET_FEATURES.code, 2, new byte[0]));
    }

    @Test
    void unknownFlags() throws Exception {
        expect(VhostUserException.InvalidMessage.class, c -> raw(c, Request.GET_FEATURES.code, 1 | 0x100, new byte[0]));
    }

    @Test
    void replyFlagFromFrontend() throws Exception {
        expect(VhostUserException.InvalidMessage.class, c -> raw(c, Request.GET_FEATURES.code, 1 | 4, new byte[0]));
    }

    @Test
    void unknownRequest() throws Exception {
        expect(VhostUserException.InvalidMessage.class, c -> raw(c, 999, 1, new byte[0]));
    }

    @Test
    void oversizedHeader() throws Exception {
        expect(VhostUserException.OversizedMessage.class, c -> {
            byte[] h = new byte[12];
            MemorySegment s = MemorySegment.ofArray(h);
            s.set(U32, 0, Request.SET_FEATURES.code);
            s.set(U32, 4, 1);
            s.set(U32, 8, 1 << 30);
            c.socket().send(h);
        });
    }

    @Test
    void partialMessage() throws Exception {
        expect(VhostUserException.PartialMessage.class, c -> {
            byte[] h = new byte[12 + 4];
            MemorySegment s = MemorySegment.ofArray(h);
            s.set(U32, 0, Request.SET_FEATURES.code);
            s.set(U32, 4, 1);
            s.set(U32, 8, 8);
            c.socket().send(h);
            c.socket().shutdown();
        });
    }

    @Test
    void wrongPayloadSize() throws Exception {
        expect(VhostUserException.InvalidMessage.class, c -> raw(c, Request.SET_FEATURES.code, 1, new byte[4]));
    }

    @Test
    void kickWithoutFd() throws Exception {
        expect(VhostUserException.IncorrectFds.class, c -> raw(c, Request.SET_VRING_KICK.code, 1, Message.ofU64(0)));
    }

    @Test
    void fdWhereNoneBelongs() throws Exception {
        try (EventFd e = EventFd.create()) {
            expect(VhostUserException.IncorrectFds.class,
                    c -> raw(c, Request.SET_FEATURES.code, 1, Message.ofU64(0), e.fd()));
        }
    }

    @Test
    void tooManyFds() throws Exception {
        EventFd[] e = new EventFd[9];
        for (int i = 0; i < e.length; i++) e[i] = EventFd.create();
        try {
            Fd[] fds = new Fd[e.length];
            for (int i = 0; i < e.length; i++) fds[i] = e[i].fd();
            expect(VhostUserException.IncorrectFds.class, c -> raw(c, Request.SET_OWNER.code, 1, new byte[0], fds));
        } finally {
            for (EventFd x : e) x.close();
        }
    }

    @Test
    void memTableFdCountMismatch() throws Exception {
        try (Fd m = MemFd.create("rlvu-t", 1 << 20)) {
            expect(VhostUserException.IncorrectFds.class, c -> raw(c, Request.SET_MEM_TABLE.code, 1,
                    memTable(0, 4096, 0x10000, 0, 8192, 4096, 0x20000, 0), m));
        }
    }

    @Test
    void overlappingRegions() throws Exception {
        try (Fd a = MemFd.create("rlvu-a", 1 << 20); Fd b = MemFd.create("rlvu-b", 1 << 20)) {
            var e = expect(VhostUserException.InvalidParam.class, c -> raw(c, Request.SET_MEM_TABLE.code, 1,
                    memTable(0, 1 << 20, 0x7000_0000L, 0, 4096, 1 << 16, 0x7100_0000L, 0), a, b));
            assertTrue(e.getMessage().contains("overlap"), e.getMessage());
        }
    }

    @Test
    void regionBeyondItsFile() throws Exception {
        try (Fd a = MemFd.create("rlvu-a", 1 << 16)) {
            // Touching a mapping past the end of its file would SIGBUS the JVM: refused up front.
            var e = expect(VhostUserException.InvalidParam.class, c -> raw(c, Request.SET_MEM_TABLE.code, 1,
                    memTable(0, 1 << 20, 0x7000_0000L, 0), a));
            assertTrue(e.getMessage().contains("beyond"), e.getMessage());
        }
    }

    @Test
    void regionWithHugeOffset() throws Exception {
        try (Fd a = MemFd.create("rlvu-a", 1 << 16)) {
            expect(VhostUserException.InvalidParam.class, c -> raw(c, Request.SET_MEM_TABLE.code, 1,
                    memTable(0, 4096, 0x7000_0000L, -4096L), a));
        }
    }

    @Test
    void featureNotOffered() throws Exception {
        expect(VhostUserException.FeatureMismatch.class,
                c -> raw(c, Request.SET_FEATURES.code, 1, Message.ofU64(1L << 63 | 1L << 41)));
    }

    @Test
    void vringIndexOutOfRange() throws Exception {
        expect(VhostUserException.InvalidParam.class,
                c -> raw(c, Request.SET_VRING_NUM.code, 1, Message.state(7, 256)));
    }

    @Test
    void vringSizeNotPowerOfTwo() throws Exception {
        expect(VhostUserException.InvalidParam.class,
                c -> raw(c, Request.SET_VRING_NUM.code, 1, Message.state(0, 300)));
    }

    @Test
    void enableWithBadValue() throws Exception {
        expect(VhostUserException.InvalidParam.class,
                c -> raw(c, Request.SET_VRING_ENABLE.code, 1, Message.state(0, 2)));
    }

    @Test
    void kickBeforeMemTable() throws Exception {
        try (EventFd k = EventFd.create()) {
            expect(VhostUserException.InvalidOperation.class, c -> {
                raw(c, Request.SET_VRING_NUM.code, 1, Message.state(0, 256));
                raw(c, Request.SET_VRING_ADDR.code, 1, new byte[40]);
                raw(c, Request.SET_VRING_KICK.code, 1, Message.ofU64(0), k.fd());
            });
        }
    }

    @Test
    void vringOutsideMemoryTable() throws Exception {
        try (Fd a = MemFd.create("rlvu-a", 1 << 20); EventFd k = EventFd.create()) {
            var e = expect(VhostUserException.InvalidParam.class, c -> {
                raw(c, Request.SET_MEM_TABLE.code, 1, memTable(0, 1 << 20, 0x7000_0000L, 0), a);
                raw(c, Request.SET_VRING_NUM.code, 1, Message.state(0, 256));
                byte[] addr = new byte[40];
                MemorySegment s = MemorySegment.ofArray(addr);
                s.set(U64, 8, 0x7000_0000L + (1 << 20) - 64); // descriptor table runs off the region
                s.set(U64, 16, 0x7000_0000L);
                s.set(U64, 24, 0x7000_1000L);
                raw(c, Request.SET_VRING_ADDR.code, 1, addr);
                raw(c, Request.SET_VRING_KICK.code, 1, Message.ofU64(0), k.fd());
            });
            assertTrue(e.getMessage().contains("vring 0"), e.getMessage());
        }
    }

    /** SET_LOG_BASE before LOG_SHMFD was negotiated (the log would be a pointer into the front-end). */
    @Test
    void logBaseWithoutLogShmfd() throws Exception {
        expect(VhostUserException.InvalidOperation.class, c -> raw(c, Request.SET_LOG_BASE.code, 1, new byte[16]));
    }

    @Test
    void replyAckReportsFailure() throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults()); Connection c = p[1]) {
            raw(c, Request.SET_PROTOCOL_FEATURES.code, 1,
                    Message.ofU64(ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)));
            raw(c, Request.SET_VRING_NUM.code, 1 | MessageCodec.FLAG_NEED_REPLY, Message.state(0, 256));
            Message ok = c.receive();
            assertTrue(ok.isReply());
            assertEquals(0, ok.u64(0));
            raw(c, Request.SET_VRING_NUM.code, 1 | MessageCodec.FLAG_NEED_REPLY, Message.state(0, 3));
            Message bad = c.receive();
            assertNotEquals(0, bad.u64(0));
            assertThrows(VhostUserException.Disconnect.class, c::receive);
            assertInstanceOf(VhostUserException.InvalidParam.class, be.lastError());
        }
    }

    /** A front-end that sets up a real ring and then writes a descriptor pointing outside its memory. */
    @Test
    void corruptDescriptorFailsOnlyThatConnection() throws Exception {
        Connection[] p = Connection.pair();
        int qs = 16;
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults()); Connection c = p[1];
             Fd mem = MemFd.create("rlvu-mem", 1 << 20);
             Mapping map =
                     Mapping.map(mem, 1 << 20, Mapping.PROT_READ | Mapping.PROT_WRITE, Mapping.MAP_SHARED, 0, "test");
             EventFd k0 = EventFd.create(); EventFd k1 = EventFd.create();
             PacketBatch b = new PacketBatch(8, PacketBatch.SUPERPACKET_BUFFER)) {
            long base = map.address();
            twoSplitRings(c, mem, base, qs, k0, k1);
            assertTrue(be.awaitReady(1, 5000), () -> "not started: " + be.lastError());
            MemorySegment m = map.segment();
            long txDesc = 16384, txAvail = 16384 + 4096;
            m.set(U64, txDesc + SplitRing.DESC_ADDR, 0x7fff_0000_0000L); // far outside the table
            m.set(U32, txDesc + SplitRing.DESC_LEN, 100);
            m.set(ValueLayout.JAVA_SHORT_UNALIGNED, txAvail + SplitRing.AVAIL_RING, (short) 0);
            m.set(ValueLayout.JAVA_SHORT_UNALIGNED, txAvail + SplitRing.AVAIL_IDX, (short) 1);
            LinkFailedException e = assertThrows(LinkFailedException.class, () -> be.link(0).receive(b));
            assertTrue(e.getMessage().contains("vring 1"), e.getMessage());
            assertThrows(VhostUserException.class, () -> {
                while (true) c.receive().closeFds();
            });
            assertInstanceOf(VhostUserException.InvalidParam.class, be.lastError());
            // The link itself survives, idle, for the next front-end.
            assertEquals(0, be.link(0).receive(b));
        }
    }
}
