package ringlink.vhostuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Fd;
import ringlink.sys.SysException;
import ringlink.sys.UnixSocket;

/**
 * One vhost-user connection: a stream AF_UNIX socket carrying messages with descriptors.
 * {@link #receive()} reads exactly one message (header with its descriptors, then the payload,
 * across as many reads as the stream needs) and {@link #send} writes one. Receive from one thread,
 * send from any (sends are serialised by the socket).
 */
public final class Connection implements AutoCloseable {
    /**
     * Default bound (ms) on the rest of a message once its first byte arrived, and on sending
     * one: a peer that stops mid-message or stops reading is dropped after it. Knob: system
     * property {@code ringlink.vhostuser.messageTimeoutMs}.
     */
    public static final int DEFAULT_MESSAGE_TIMEOUT_MS = 5_000;
    /**
     * Default bound (ms) on a listening back-end's wait for the first message of a new
     * connection to begin (the rest then has {@link #DEFAULT_MESSAGE_TIMEOUT_MS}), so a client
     * that connects and says nothing does not hold the listener (later front-ends queue behind
     * the one being served). Knob: system property
     * {@code ringlink.vhostuser.firstMessageTimeoutMs}.
     */
    public static final int DEFAULT_FIRST_MESSAGE_TIMEOUT_MS = 10_000;
    /**
     * Default bound (ms) on our front-end's wait for a back-end's reply. Knob: system property
     * {@code ringlink.vhostuser.replyTimeoutMs}.
     */
    public static final int DEFAULT_REPLY_TIMEOUT_MS = 10_000;

    static int messageTimeoutMillis() {
        return Integer.getInteger("ringlink.vhostuser.messageTimeoutMs", DEFAULT_MESSAGE_TIMEOUT_MS);
    }

    static int firstMessageTimeoutMillis() {
        return Integer.getInteger("ringlink.vhostuser.firstMessageTimeoutMs", DEFAULT_FIRST_MESSAGE_TIMEOUT_MS);
    }

    static int replyTimeoutMillis() {
        return Integer.getInteger("ringlink.vhostuser.replyTimeoutMs", DEFAULT_REPLY_TIMEOUT_MS);
    }

    private final UnixSocket socket;
    private final String what;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment buf = arena.allocate(MessageCodec.HEADER_SIZE + MessageCodec.MAX_PAYLOAD, 8);
    private volatile boolean closed;

    /** A connection over a connected stream socket (owned from now on). */
    public Connection(UnixSocket socket) {
        this.socket = socket;
        this.what = socket.what();
    }

    /** Connects to a listening peer at {@code path}. */
    public static Connection connect(Path path) throws VhostUserException {
        try {
            return new Connection(UnixSocket.connect(path, UnixSocket.SOCK_STREAM));
        } catch (SysException e) {
            throw switch (VhostUserException.fromSys("connect to " + path, e)) {
                case VhostUserException.SocketRetry r -> r;
                case VhostUserException.SocketBroken b -> b;
                default -> new VhostUserException.SocketConnect("connect to " + path + ": " + e.getMessage(), e);
            };
        }
    }

    /** A connected pair over socketpair(2), for tests and in-process use. */
    public static Connection[] pair() throws SysException {
        UnixSocket[] p = UnixSocket.pair(UnixSocket.SOCK_STREAM);
        return new Connection[] {new Connection(p[0]), new Connection(p[1])};
    }

    /** The underlying socket. */
    public UnixSocket socket() { return socket; }

    /** What the socket is, for messages. */
    public String what() { return what; }

    /**
     * Receives one message. Descriptors arrive with the header; any that arrive later, more than
     * {@link MessageCodec#MAX_FDS}, or a header announcing an oversized payload fail the
     * connection (the stream cannot be resynchronised).
     *
     * @throws VhostUserException.Disconnect if the peer closed between messages
     * @throws VhostUserException.PartialMessage if it closed inside one
     */
    public Message receive() throws VhostUserException {
        return receive(-1);
    }

    /**
     * Receives one message, waiting at most {@code firstByteMillis} for it to begin (−1: for
     * ever, the idle wait between messages); once it has begun, the rest must arrive within
     * {@link #DEFAULT_MESSAGE_TIMEOUT_MS} (knob {@code ringlink.vhostuser.messageTimeoutMs}).
     *
     * @throws VhostUserException.Timeout if either bound passes
     */
    public Message receive(int firstByteMillis) throws VhostUserException {
        List<Fd> fds = new ArrayList<>(0);
        try {
            long got = 0;
            long deadline = 0;
            int bound = 0;
            if (firstByteMillis >= 0) {
                bound = firstByteMillis;
                deadline = System.nanoTime() + firstByteMillis * 1_000_000L;
                awaitData(deadline, bound, "start of a message", 0);
            }
            while (got < MessageCodec.HEADER_SIZE) {
                if (got > 0) awaitData(deadline, bound, "rest of a message header", got);
                UnixSocket.Received r = socket.receive(buf.asSlice(got), MessageCodec.HEADER_SIZE - got,
                        got == 0 ? MessageCodec.MAX_FDS : 0);
                for (Fd f : r.fds()) fds.add(f);
                if (r.bytes() == 0) {
                    if (got == 0 && fds.isEmpty())
                            throw new VhostUserException.Disconnect(what + ": peer closed the connection");
                    throw new VhostUserException.PartialMessage(what + ": connection closed after " + got
                            + " header bytes");
                }
                if (r.bytes() < 0) continue; // non-blocking socket with nothing yet: not used, but harmless
                if (got == 0) {
                    // The message began: the rest is bounded from here (a peer may idle between
                    // messages for ever, but not inside one).
                    bound = messageTimeoutMillis();
                    deadline = System.nanoTime() + bound * 1_000_000L;
                }
                got += r.bytes();
            }
            int request = buf.get(Message.U32, VhostUserHeaderLayout.OFF_REQUEST);
            int flags = buf.get(Message.U32, VhostUserHeaderLayout.OFF_FLAGS);
            int size = buf.get(Message.U32, VhostUserHeaderLayout.OFF_SIZE);
            MessageCodec.checkHeader(request, flags, size);
            long p = 0;
            while (p < size) {
                awaitData(deadline, bound, "rest of the payload (" + size + " bytes) of request " + request,
                        MessageCodec.HEADER_SIZE + p);
                UnixSocket.Received r = socket.receive(buf.asSlice(MessageCodec.HEADER_SIZE + p), size - p, 0);
                if (r.bytes() == 0) {
                    throw new VhostUserException.PartialMessage(what + ": connection closed after " + p + " of "
                            + size + " payload bytes of request " + request);
                }
                if (r.bytes() < 0) continue;
                p += r.bytes();
            }
            byte[] payload =
                    buf.asSlice(MessageCodec.HEADER_SIZE, size).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            return new Message(request, flags, payload, fds.toArray(new Fd[0]));
        } catch (VhostUserException e) {
            for (Fd f : fds) f.close();
            if (closed) throw new VhostUserException.ClientExit(what + ": closed locally");
            throw e;
        } catch (SysException e) {
            for (Fd f : fds) f.close();
            if (closed) throw new VhostUserException.ClientExit(what + ": closed locally");
            throw VhostUserException.fromSys(what + ": receive", e);
        } catch (ClosedFdException | IllegalStateException e) {
            for (Fd f : fds) f.close();
            if (closed) throw new VhostUserException.ClientExit(what + ": closed locally");
            throw new VhostUserException.SocketBroken(what + ": connection closed", e);
        }
    }

    /**
     * Waits until the socket has data or {@code deadline} passes ({@link VhostUserException.Timeout}
     * naming what was awaited). Only this thread reads the socket, so data poll saw stays there
     * for the recvmsg that follows: it cannot block.
     */
    private void awaitData(long deadline, int bound, String what, long received) throws SysException, ClosedFdException,
            VhostUserException {
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new VhostUserException.Timeout(this.what + ": no " + what + " from the peer within " + bound
                        + " ms ("
                        + received + " bytes of the message received)");
            }
            int ms = (int) Math.min(Integer.MAX_VALUE, Math.max(1, left / 1_000_000));
            if (ringlink.sys.PollSet.pollOne(socket.fd(), ringlink.sys.PollfdLayout.POLLIN, ms) != 0) return;
        }
    }

    /** Sends {@code m} with its descriptors, within {@link #DEFAULT_MESSAGE_TIMEOUT_MS} (the message knob). */
    public void send(Message m) throws VhostUserException {
        byte[] bytes = MessageCodec.encode(m);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, bytes.length);
            List<Fd> fds = new ArrayList<>();
            for (Fd f : m.fds()) if (f != null) fds.add(f);
            socket.send(s, bytes.length, messageTimeoutMillis(), fds.toArray(new Fd[0]));
        } catch (SysException e) {
            throw VhostUserException.fromSys(what + ": send " + m, e);
        } catch (ClosedFdException | IllegalStateException e) {
            throw new VhostUserException.SocketBroken(what + ": connection closed", e);
        }
    }

    /** True once {@link #close()} was called here. */
    public boolean isClosed() { return closed; }

    /** Closes the socket; a thread blocked in {@link #receive()} wakes with an exception. */
    @Override
    public void close() {
        closed = true;
        socket.close();
    }
}
