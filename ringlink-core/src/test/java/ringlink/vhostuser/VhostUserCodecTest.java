package ringlink.vhostuser;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import ringlink.sys.Errno;
import ringlink.sys.SysException;

/** The codec without sockets: encode/decode, the request table, reply checks, errno classification. */
class VhostUserCodecTest {

    @Test
    void everyRequestOfTheSpecIsKnownOnce() {
        Set<Integer> codes = new HashSet<>();
        for (Request r : Request.values()) {
            assertTrue(codes.add(r.code), "duplicate code " + r.code);
            assertSame(r, Request.of(r.code));
            assertTrue(r.minSize <= r.maxSize && r.maxSize <= MessageCodec.MAX_PAYLOAD, r.name());
        }
        for (int c = 1; c <= 43; c++) assertNotNull(Request.of(c), "request " + c);
        assertNull(Request.of(0));
        assertNull(Request.of(44));
        for (int c = 1; c <= 8; c++) assertNotNull(Request.Backend.of(c), "back-end request " + c);
        assertEquals(Request.GET_FEATURES, Request.of(1));
        assertEquals(Request.SET_STATUS, Request.of(39));
        assertEquals(Request.Backend.VRING_CALL, Request.Backend.of(4));
    }

    @Test
    void encodeDecodeRoundTrip() throws Exception {
        Message m = new Message(Request.SET_VRING_NUM.code, MessageCodec.VERSION | MessageCodec.FLAG_NEED_REPLY,
                Message.state(3, 512));
        byte[] wire = MessageCodec.encode(m);
        assertEquals(20, wire.length);
        Message d = MessageCodec.decode(wire);
        assertEquals(Request.SET_VRING_NUM, MessageCodec.validateRequest(d));
        assertTrue(d.needsReply());
        assertEquals(3, d.u32(0));
        assertEquals(512, d.u32(4));
        assertThrows(VhostUserException.PartialMessage.class,
                () -> MessageCodec.decode(java.util.Arrays.copyOf(wire, 15)));
        assertThrows(VhostUserException.PartialMessage.class, () -> MessageCodec.decode(new byte[5]));
        assertThrows(VhostUserException.InvalidMessage.class,
                () -> MessageCodec.decode(java.util.Arrays.copyOf(wire, 24)));
    }

    @Test
    void replyChecks() throws Exception {
        Message ok = Message.reply(Request.GET_FEATURES.code, Message.ofU64(7));
        MessageCodec.validateReply(ok, Request.GET_FEATURES.code, 8);
        assertThrows(VhostUserException.InvalidMessage.class,
                () -> MessageCodec.validateReply(ok, Request.GET_STATUS.code, 8));
        assertThrows(VhostUserException.RecvBufferTooSmall.class,
                () -> MessageCodec.validateReply(ok, Request.GET_FEATURES.code, 4));
        Message notReply = Message.request(Request.GET_FEATURES, Message.ofU64(7));
        assertThrows(VhostUserException.InvalidMessage.class,
                () -> MessageCodec.validateReply(notReply, Request.GET_FEATURES.code, 8));
    }

    @Test
    void errnoClassificationFollowsTheReference() {
        assertInstanceOf(VhostUserException.SocketRetry.class,
                VhostUserException.fromSys("x", new SysException("recvmsg", Errno.EAGAIN, "s")));
        assertInstanceOf(VhostUserException.SocketRetry.class,
                VhostUserException.fromSys("x", new SysException("recvmsg", Errno.EINTR, "s")));
        assertInstanceOf(VhostUserException.SocketRetry.class,
                VhostUserException.fromSys("x", new SysException("sendmsg", Errno.ENOBUFS, "s")));
        assertInstanceOf(VhostUserException.SocketRetry.class,
                VhostUserException.fromSys("x", new SysException("sendmsg", Errno.ENOMEM, "s")));
        assertInstanceOf(VhostUserException.SocketBroken.class,
                VhostUserException.fromSys("x", new SysException("recvmsg", Errno.ECONNRESET, "s")));
        assertInstanceOf(VhostUserException.SocketBroken.class,
                VhostUserException.fromSys("x", new SysException("sendmsg", Errno.EPIPE, "s")));
        assertInstanceOf(VhostUserException.SocketConnect.class,
                VhostUserException.fromSys("x", new SysException("connect", Errno.EACCES, "s")));
        assertInstanceOf(VhostUserException.SocketError.class,
                VhostUserException.fromSys("x", new SysException("recvmsg", Errno.EBADF, "s")));
        assertTrue(VhostUserException.fromSys("x", new SysException("recvmsg", Errno.EAGAIN, "s")).isRetryable());
        assertTrue(new VhostUserException.Disconnect("gone").isDisconnect());
        assertTrue(new VhostUserException.ClientExit("bye").isDisconnect());
    }

    @Test
    void localCloseIsAClientExit() throws Exception {
        Connection[] p = Connection.pair();
        try (Connection b = p[1]) {
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ignored) {
                    // closing anyway
                }
                p[0].close();
            });
            t.start();
            assertThrows(VhostUserException.ClientExit.class, p[0]::receive);
            t.join();
            assertThrows(VhostUserException.Disconnect.class, b::receive);
        }
    }
}
