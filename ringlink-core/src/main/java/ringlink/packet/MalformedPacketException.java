package ringlink.packet;

/**
 * A packet (or its offload metadata) is not what it claims to be: a header is truncated, a length
 * field lies, a GSO request is inconsistent, and so on.
 *
 * <p>Packets come from hostile sources (a guest, a vhost-user frontend, the kernel forwarding a
 * peer's traffic), so every parser in {@code ringlink.packet} checks bounds against the packet's
 * own length and throws this instead of reading past it; callers drop the packet (and count it)
 * and carry on with the rest of the batch. It is unchecked so that the static accessors stay
 * usable in expressions, and it carries no stack trace: a peer can make us throw it at line rate,
 * and the message already says what was wrong.
 */
public class MalformedPacketException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** A malformed packet described by {@code message} (no cause, no stack trace). */
    public MalformedPacketException(String message) {
        super(message, null, false, false);
    }

    /** Throws unless {@code [off, off + need)} lies within a packet of {@code len} bytes. */
    static void require(long off, long need, long len, String what) {
        if (off < 0 || need < 0 || off + need > len) {
            throw new MalformedPacketException(what + ": needs bytes [" + off + ", " + (off + need)
                    + ") but the packet has " + len);
        }
    }
}
