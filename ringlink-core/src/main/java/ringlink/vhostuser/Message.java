package ringlink.vhostuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import ringlink.sys.Fd;

/**
 * One vhost-user message: the 12-byte header (request, flags, size) and the payload, plus the
 * descriptors that came with it (SCM_RIGHTS). Numbers are in the machine's byte order, which
 * the protocol defines as native; Ringlink runs on little-endian hosts only.
 *
 * <p>A received message owns its descriptors: a handler takes the ones it keeps with
 * {@link #takeFd} and {@link #closeFds()} closes the rest.
 */
public final class Message {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int request;
    private final int flags;
    private final byte[] payload;
    private final MemorySegment view;
    private final Fd[] fds;

    /**
     * A message with header fields {@code request} and {@code flags}, the payload (its length is the header's size) and
     * attached descriptors (owned by the message).
     */
    public Message(int request, int flags, byte[] payload, Fd... fds) {
        this.request = request;
        this.flags = flags;
        this.payload = payload;
        this.view = MemorySegment.ofArray(payload);
        this.fds = fds == null ? new Fd[0] : fds;
    }

    /** A request to the back-end with protocol version 1 and the given payload. */
    public static Message request(Request r, byte[] payload, Fd... fds) {
        return new Message(r.code, MessageCodec.VERSION, payload, fds);
    }

    /** A reply to {@code r} carrying {@code payload}. */
    public static Message reply(int request, byte[] payload, Fd... fds) {
        return new Message(request, MessageCodec.VERSION | MessageCodec.FLAG_REPLY, payload, fds);
    }

    /** A payload of one u64. */
    public static byte[] ofU64(long v) {
        byte[] b = new byte[8];
        MemorySegment.ofArray(b).set(U64, 0, v);
        return b;
    }

    /** A vring state payload (index, num). */
    public static byte[] state(int index, int num) {
        return new Payload.VringState(index, num).encode();
    }

    /** The request code of the header. */
    public int requestCode() { return request; }
    /** The header's flags (version, REPLY, NEED_REPLY). */
    public int flags() { return flags; }
    /** Payload size in bytes. */
    public int size() { return payload.length; }
    /** The payload bytes (not copied). */
    public byte[] payload() { return payload; }
    /** The attached descriptors; taken ones are null. */
    public Fd[] fds() { return fds; }
    /** Number of attached descriptors not taken yet. */
    public int fdCount() {
        int n = 0;
        for (Fd f : fds) if (f != null) n++;
        return n;
    }

    /** The front-end request, or null if the code is not one. */
    public Request request() { return Request.of(request); }

    /** True if the REPLY flag is set. */
    public boolean isReply() { return (flags & MessageCodec.FLAG_REPLY) != 0; }
    /** True if the NEED_REPLY flag (REPLY_ACK) is set. */
    public boolean needsReply() { return (flags & MessageCodec.FLAG_NEED_REPLY) != 0; }

    /** The payload as a segment (decoding through the {@code *Layout} classes: {@link Payload}). */
    MemorySegment segment() { return view; }

    /** The little-endian u64 at payload offset {@code off}. */
    public long u64(int off) { return view.get(U64, off); }
    /** The little-endian u32 at payload offset {@code off} (as a Java int). */
    public int u32(int off) { return view.get(U32, off); }
    /** The little-endian u16 at payload offset {@code off}. */
    public int u16(int off) { return Short.toUnsignedInt(view.get(U16, off)); }
    /** The byte at payload offset {@code off}, unsigned. */
    public int u8(int off) { return Byte.toUnsignedInt(payload[off]); }

    /** Takes ownership of descriptor {@code i} (the message will not close it). */
    public Fd takeFd(int i) {
        Fd f = fds[i];
        fds[i] = null;
        return f;
    }

    /** Closes every descriptor not taken. Idempotent. */
    public void closeFds() {
        for (int i = 0; i < fds.length; i++) {
            if (fds[i] != null) {
                fds[i].close();
                fds[i] = null;
            }
        }
    }

    @Override
    public String toString() {
        Request r = request();
        String name = r != null ? r.name() : "request " + request;
        return name + (isReply() ? " reply" : "") + (needsReply() ? " need_reply" : "") + " size=" + payload.length
                + (fds.length > 0 ? " fds=" + fds.length : "")
                + (payload.length <= 16 && payload.length > 0 ? " " + Arrays.toString(payload) : "");
    }
}
