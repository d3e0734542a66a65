package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import ringlink.link.LinkStats;
import ringlink.packet.PacketBatch;
import ringlink.sys.Fd;
import ringlink.sys.MemFd;
import ringlink.sys.UnixSocket;
import ringlink.virtio.VirtioFeature;
import ringlink.testing.LinkTraffic;

/**
 * Message-by-message behaviour of our back-end, driven by our front-end plus raw messages: ring
 * state semantics (disabled rings discard TX, GET_VRING_BASE stops a ring and reports where to
 * resume, SET_FEATURES does not touch the enabled state), and the informational requests.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserProtocolTest {

    /** Sends {@code m} with NEED_REPLY and returns the ack value (the back-end has applied it then). */
    static long ack(VhostUserFrontend fe, Request r, byte[] payload, Fd... fds) throws Exception {
        fe.sendRaw(new Message(r.code, MessageCodec.VERSION | MessageCodec.FLAG_NEED_REPLY, payload, fds));
        Message rep = fe.connection().receive();
        assertTrue(rep.isReply());
        assertEquals(r.code, rep.requestCode());
        return rep.u64(0);
    }

    static Message call(VhostUserFrontend fe, Request r, byte[] payload) throws Exception {
        fe.sendRaw(Message.request(r, payload));
        Message rep = fe.connection().receive();
        MessageCodec.validateReply(rep, r.code, MessageCodec.MAX_PAYLOAD);
        return rep;
    }

    static long drain(BackendLink be, PacketBatch b, long quietMs) throws Exception {
        long got = 0, last = System.currentTimeMillis();
        while (System.currentTimeMillis() - last < quietMs) {
            b.clear();
            int n = be.receive(b);
            if (n > 0) {
                got += n;
                last = System.currentTimeMillis();
            }
        }
        return got;
    }

    @ParameterizedTest(name = "packed={0}")
    @ValueSource(booleans = {false, true})
    void ringStates(boolean packed) throws Exception {
        Connection[] p = Connection.pair();
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], BackendConfig.defaults());
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults().withPacked(packed));
             PacketBatch b = new PacketBatch(64, PacketBatch.SUPERPACKET_BUFFER)) {
            assertTrue(be.awaitReady(1, 5000));
            BackendLink bl = be.link(0);
            FrontendLink fl = fe.link(0);

            // Started but disabled: TX is processed and discarded, RX gets nothing.
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(1, 0)));
            assertEquals(100, LinkTraffic.send(fl, 100, 64, 5000));
            assertEquals(0, drain(bl, b, 200));
            assertEquals(100, bl.counters().snapshot().rxDrops());
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(0, 0)));
            assertEquals(10, LinkTraffic.send(bl, 10, 64, 5000));
            assertEquals(10, bl.counters().snapshot().txDrops());
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(0, 1)));

            // SET_FEATURES (same value) must not re-enable the disabled TX ring.
            assertEquals(0, ack(fe, Request.SET_FEATURES, Message.ofU64(fe.features().bits())));
            assertEquals(20, LinkTraffic.send(fl, 20, 64, 5000));
            assertEquals(0, drain(bl, b, 200));

            // Enabled: packets flow.
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(1, 1)));
            assertEquals(100, LinkTraffic.send(fl, 100, 64, 5000));
            assertEquals(100, drain(bl, b, 200));

            // GET_VRING_BASE stops the ring and says where the driver is: 220 chains consumed.
            int base = fe.getVringBase(1);
            if (packed) {
                assertEquals(220 | 1 << 15, base & 0xffff, Integer.toHexString(base));
            } else {
                assertEquals(220, base);
            }
            assertEquals(50, LinkTraffic.send(fl, 50, 64, 5000));
            assertEquals(0, drain(bl, b, 200), "a stopped ring is not processed");

            // Restart at the reported base: exactly the 50 pending packets arrive, none lost or repeated.
            assertEquals(0, ack(fe, Request.SET_VRING_BASE, Message.state(1, base)));
            assertEquals(0, ack(fe, Request.SET_VRING_KICK, Message.ofU64(1), fe.kickFd(1).fd()));
            assertEquals(50, drain(bl, b, 300));
            LinkStats s = bl.counters().snapshot();
            assertEquals(150, s.rxPackets());
            assertEquals(120, s.rxDrops());
        }
    }

    @Test
    void informationalRequests() throws Exception {
        Connection[] p = Connection.pair();
        BackendConfig cfg = BackendConfig.defaults().withQueuePairs(2).withMtu(9000);
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], cfg);
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults().withQueuePairs(2))) {
            assertTrue(be.awaitReady(2, 5000));
            long f = call(fe, Request.GET_FEATURES, new byte[0]).u64(0);
            assertTrue((f & ProtocolFeature.F_PROTOCOL_FEATURES) != 0);
            assertTrue((f & VirtioFeature.RING_PACKED.mask()) != 0);
            assertTrue((f & VirtioFeature.NET_MQ.mask()) != 0);
            long pf = call(fe, Request.GET_PROTOCOL_FEATURES, new byte[0]).u64(0);
            assertTrue((pf & ProtocolFeature.bit(ProtocolFeature.REPLY_ACK)) != 0);
            // Negotiate everything we are about to use.
            assertEquals(0, ack(fe, Request.SET_PROTOCOL_FEATURES, Message.ofU64(pf)));
            assertEquals(2, call(fe, Request.GET_QUEUE_NUM, new byte[0]).u64(0));
            assertEquals(VhostUserBackend.MAX_MEM_SLOTS, call(fe, Request.GET_MAX_MEM_SLOTS, new byte[0]).u64(0));
            assertEquals(0, ack(fe, Request.SET_STATUS, Message.ofU64(0x0f)));
            assertEquals(0x0f, call(fe, Request.GET_STATUS, new byte[0]).u64(0));
            byte[] q = new byte[12 + 12];
            q[4] = 12;
            Message cfgRep = call(fe, Request.GET_CONFIG, q);
            assertEquals(24, cfgRep.size());
            assertEquals(0x02, cfgRep.payload()[12]);                       // our MAC
            assertEquals(9000, cfgRep.u16(12 + 10));                         // MTU
            assertEquals(2, cfgRep.u16(12 + 8));                             // queue pairs
            byte[] bad = new byte[12 + 8];
            bad[0] = 8;
            bad[4] = 8;
            assertEquals(0, call(fe, Request.GET_CONFIG, bad).size(), "out-of-range config read is an empty reply");
            assertEquals(0, ack(fe, Request.NET_SET_MTU, Message.ofU64(4000)));
            assertEquals(4000, be.link(0).mtu());
            UnixSocket[] ch = UnixSocket.pair(UnixSocket.SOCK_STREAM);
            try {
                assertEquals(0, ack(fe, Request.SET_BACKEND_REQ_FD, new byte[0], ch[0].fd()));
            } finally {
                ch[0].close();
                ch[1].close();
            }
            assertEquals(0, ack(fe, Request.SEND_RARP, new byte[8]));
            // ADD/REM_MEM_REG grow and shrink the table while the rings keep running.
            try (Fd extra = MemFd.create("rlvu-extra", 1 << 20)) {
                byte[] reg = new byte[40];
                var s = java.lang.foreign.MemorySegment.ofArray(reg);
                s.set(Message.U64, 8, 0x1_0000_0000_0L);
                s.set(Message.U64, 16, 1 << 20);
                s.set(Message.U64, 24, 0x5000_0000_0000L);
                assertEquals(0, ack(fe, Request.ADD_MEM_REG, reg, extra));
                assertEquals(0, ack(fe, Request.REM_MEM_REG, reg));
            }
            VhostUserLoopTest.exchange(fe.link(1), be.link(1), 1000, 64);
            VhostUserLoopTest.exchange(fe.link(0), be.link(0), 1000, 64);
        }
    }

    static byte[] region(long gpa, long size, long uaddr) {
        byte[] reg = new byte[40];
        var s = java.lang.foreign.MemorySegment.ofArray(reg);
        s.set(Message.U64, 8, gpa);
        s.set(Message.U64, 16, size);
        s.set(Message.U64, 24, uaddr);
        return reg;
    }

    /**
     * What QEMU 7.2 sends for a multi-queue device (one vhost device per queue pair on one
     * connection, each with its own copy of the memory table): every ADD_MEM_REG and REM_MEM_REG
     * once per pair, queue pairs enabled and disabled at any time. Identical repeats are no-ops;
     * a region overlapping without being identical is still refused.
     */
    @Test
    void multiQueueRepeatsOfQemu() throws Exception {
        Connection[] p = Connection.pair();
        BackendConfig cfg = BackendConfig.defaults().withQueuePairs(2);
        try (VhostUserBackend be = VhostUserBackend.serve(p[0], cfg);
             VhostUserFrontend fe = VhostUserFrontend.over(p[1], FrontendConfig.defaults().withQueuePairs(2));
             Fd extra = MemFd.create("rlvu-mq", 2 << 20)) {
            assertTrue(be.awaitReady(2, 5000));
            long pf = call(fe, Request.GET_PROTOCOL_FEATURES, new byte[0]).u64(0);
            assertEquals(0, ack(fe, Request.SET_PROTOCOL_FEATURES, Message.ofU64(pf)));
            byte[] reg = region(0x1_0000_0000_0L, 1 << 20, 0x5000_0000_0000L);
            assertEquals(0, ack(fe, Request.ADD_MEM_REG, reg, extra));
            assertEquals(0, ack(fe, Request.ADD_MEM_REG, reg, extra), "the second queue pair's identical region");
            VhostUserLoopTest.exchange(fe.link(1), be.link(1), 500, 64);
            assertEquals(0, ack(fe, Request.REM_MEM_REG, reg));
            assertEquals(0, ack(fe, Request.REM_MEM_REG, reg), "the second queue pair removes it too");
            assertEquals(0, ack(fe, Request.ADD_MEM_REG, reg, extra), "gone, so it can come back");
            // Queue pair 1 off and on again (ethtool -L combined 1 / 2), traffic on both afterwards.
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(2, 0)));
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(3, 0)));
            assertFalse(be.link(1).isRunning());
            VhostUserLoopTest.exchange(fe.link(0), be.link(0), 500, 64);
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(2, 1)));
            assertEquals(0, ack(fe, Request.SET_VRING_ENABLE, Message.state(3, 1)));
            assertTrue(be.link(1).isRunning());
            VhostUserLoopTest.exchange(fe.link(1), be.link(1), 500, 64);
            assertNull(be.lastError());
            // Same guest address, other size: a conflict, not a repeat.
            assertEquals(1, ack(fe, Request.ADD_MEM_REG, region(0x1_0000_0000_0L, 2 << 20, 0x5000_0000_0000L), extra));
            assertInstanceOf(VhostUserException.InvalidParam.class, be.lastError());
        }
    }
}
