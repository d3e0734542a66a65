package ringlink.memif;

import static ringlink.memif.MemifMsgLayout.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import ringlink.sys.Fd;
import ringlink.sys.PollSet;
import ringlink.sys.PollfdLayout;
import ringlink.sys.SysException;
import ringlink.sys.UnixSocket;

/**
 * A {@link MemifInterface}'s control messages on the wire: the one 128-byte message buffer,
 * receiving a message (size, the one descriptor it may carry, DISCONNECT turned into a refusal)
 * within a deadline, and building and sending one. The handshakes (the protocol's order and
 * checks) stay in the interface. Control thread only.
 */
final class MemifMessages {
    private final MemifInterface owner;
    private final String name;
    private final long timeoutMillis;
    final MemorySegment msg;

    MemifMessages(MemifInterface owner, String name, long timeoutMillis, Arena arena) {
        this.owner = owner;
        this.name = name;
        this.timeoutMillis = timeoutMillis;
        this.msg = arena.allocate(MemifMsgLayout.SIZE, 8);
    }

    MemifException refuse(String reason, String detail) {
        MemifInterface.HandshakeException e = new MemifInterface.HandshakeException(reason, name + ": " + detail);
        return e;
    }

    // The received message: type and the one descriptor it may carry.
    int rxType;
    Fd rxFd;

    /** Receives one message (exactly 128 bytes, at most one fd) within {@code deadline} (nanoTime). */
    void receive(UnixSocket conn, long deadline) throws IOException {
        rxFd = null;
        while (true) {
            if (owner.isClosing()) throw new IOException(name + ": closed");
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (left <= 0) throw refuse("Timeout", "no message from the peer within " + timeoutMillis + " ms");
            if (PollSet.pollOne(conn.fd(), PollfdLayout.POLLIN, (int) Math.min(left, 200)) > 0) break;
        }
        msg.fill((byte) 0);
        UnixSocket.Received r;
        try {
            r = conn.receive(msg, MemifMsgLayout.SIZE, 1);
        } catch (SysException e) {
            throw refuse("Invalid message", "bad message from the peer: " + e.getMessage());
        }
        if (r.closed()) throw refuse("", "the peer closed the connection");
        if (r.bytes() != MemifMsgLayout.SIZE) {
            for (Fd f : r.fds()) f.close();
            throw refuse("Invalid message size",
                    "message of " + r.bytes() + " bytes (memif messages are " + MemifMsgLayout.SIZE + ")");
        }
        rxType = msg.get(ValueLayout.JAVA_SHORT, OFF_TYPE) & 0xffff;
        rxFd = r.fds().length > 0 ? r.fds()[0] : null;
        if (rxType == MEMIF_MSG_TYPE_DISCONNECT) {
            closeRxFd();
            String why = string(OFF_BODY + MemifMsgDisconnectLayout.OFF_STRING, MemifMsgDisconnectLayout.STRING_SIZE);
            int code = msg.get(ValueLayout.JAVA_INT_UNALIGNED, OFF_BODY + MemifMsgDisconnectLayout.OFF_CODE);
            throw refuse("", "the peer disconnected: " + why + (code != 0 ? " (code " + code + ")" : ""));
        }
    }

    void closeRxFd() {
        if (rxFd != null) rxFd.close();
        rxFd = null;
    }

    void expect(UnixSocket conn, long deadline, int type) throws IOException {
        receive(conn, deadline);
        if (rxType != type) {
            closeRxFd();
            throw refuse("Unexpected message", "expected " + typeName(type) + ", got " + typeName(rxType));
        }
        closeRxFd();
    }

    String string(long off, int max) {
        int n = 0;
        while (n < max && msg.get(ValueLayout.JAVA_BYTE, off + n) != 0) n++;
        byte[] b = new byte[n];
        MemorySegment.copy(msg, ValueLayout.JAVA_BYTE, off, b, 0, n);
        return new String(b, StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", "?");
    }

    void putString(long off, byte[] s, int max) {
        MemorySegment.copy(s, 0, msg, ValueLayout.JAVA_BYTE, off, Math.min(s.length, max - 1));
    }

    void begin(int type) {
        msg.fill((byte) 0);
        msg.set(ValueLayout.JAVA_SHORT, OFF_TYPE, (short) type);
    }

    void send(UnixSocket conn, Fd... fds) throws IOException {
        conn.send(msg, MemifMsgLayout.SIZE, fds);
    }

    void sendDisconnect(UnixSocket conn, String reason) {
        if (reason == null || reason.isEmpty()) return;
        try {
            begin(MEMIF_MSG_TYPE_DISCONNECT);
            putString(OFF_BODY + MemifMsgDisconnectLayout.OFF_STRING, reason.getBytes(StandardCharsets.UTF_8),
                    MemifMsgDisconnectLayout.STRING_SIZE);
            send(conn);
        } catch (IOException | RuntimeException ignored) {
            // the peer is gone already
        }
    }
}
