package ringlink.vhostuser;

import java.lang.foreign.MemorySegment;
import ringlink.sys.Fd;

/**
 * Header constants and validation of vhost-user messages: what a peer sends is checked here
 * before any handler reads it, so a handler may trust sizes and descriptor counts.
 */
public final class MessageCodec {
    private MessageCodec() {}

    /** Bytes of the header: request, flags, size (u32 each). */
    public static final int HEADER_SIZE = (int) VhostUserHeaderLayout.SIZE;
    /** Protocol version, the low two bits of flags. */
    public static final int VERSION = 1;
    /** The version bits of flags. */
    public static final int VERSION_MASK = 3;
    /** Set on every reply from the back-end. */
    public static final int FLAG_REPLY = 1 << 2;
    /** REPLY_ACK: the sender wants a u64 status reply. */
    public static final int FLAG_NEED_REPLY = 1 << 3;
    /** Every flag bit the protocol defines; others are invalid. */
    public static final int KNOWN_FLAGS = VERSION_MASK | FLAG_REPLY | FLAG_NEED_REPLY;
    /** The largest payload any request has (a full config space is 268 bytes; 4 KiB is generous). */
    public static final int MAX_PAYLOAD = 4096;
    /** Regions in one SET_MEM_TABLE (VHOST_MEMORY_BASELINE_NREGIONS). */
    public static final int MAX_TABLE_REGIONS = 8;
    /** Most descriptors one message may carry. */
    public static final int MAX_FDS = 8;
    /** Largest config-space access (VHOST_USER_MAX_CONFIG_SIZE). */
    public static final int MAX_CONFIG_SIZE = 256;
    /** SET_VRING_KICK/CALL/ERR: bit 8 of the u64 says "no descriptor" (poll instead). */
    public static final long VRING_NOFD_MASK = 1L << 8;
    /** SET_VRING_KICK/CALL/ERR: bits 0-7 of the u64 are the vring index. */
    public static final long VRING_IDX_MASK = 0xff;

    /**
     * Checks a header: version 1, only known flag bits, and a payload size no request exceeds.
     *
     * @throws VhostUserException.InvalidMessage on a bad version or flags
     * @throws VhostUserException.OversizedMessage if {@code size} is larger than {@link #MAX_PAYLOAD}
     */
    public static void checkHeader(int request, int flags, int size) throws VhostUserException {
        if ((flags & VERSION_MASK) != VERSION) {
            throw new VhostUserException.InvalidMessage("message " + request + " has protocol version "
                    + (flags & VERSION_MASK) + ", expected " + VERSION);
        }
        if ((flags & ~KNOWN_FLAGS) != 0) {
            throw new VhostUserException.InvalidMessage("message " + request + " has unknown flag bits 0x"
                    + Integer.toHexString(flags & ~KNOWN_FLAGS));
        }
        if (size < 0 || size > MAX_PAYLOAD) {
            throw new VhostUserException.OversizedMessage("message " + request + " announces a payload of "
                    + Integer.toUnsignedString(size) + " bytes (at most " + MAX_PAYLOAD + ")");
        }
    }

    /**
     * Validates a request from a front-end: known request code, no REPLY flag, payload size in the
     * request's range, and the descriptor count the request needs.
     *
     * @return the request
     */
    public static Request validateRequest(Message m) throws VhostUserException {
        checkHeader(m.requestCode(), m.flags(), m.size());
        Request r = m.request();
        if (r == null) throw new VhostUserException.InvalidMessage("unknown request code " + m.requestCode());
        if (m.isReply()) throw new VhostUserException.InvalidMessage(r + " from the front-end has the REPLY flag set");
        if (m.size() < r.minSize || m.size() > r.maxSize) {
            throw new VhostUserException.InvalidMessage(r + " payload is " + m.size() + " bytes, expected "
                    + (r.minSize == r.maxSize ? String.valueOf(r.minSize) : r.minSize + ".." + r.maxSize));
        }
        int fds = m.fdCount();
        switch (r.fds) {
            case -1 -> { // one per region
                long n = Integer.toUnsignedLong(m.segment()
                        .get(Message.U32, ringlink.vhost.VhostMemoryLayout.OFF_NREGIONS));
                if (n == 0 || n > MAX_TABLE_REGIONS) {
                    throw new VhostUserException.InvalidParam(r + " with " + n + " regions (1.." + MAX_TABLE_REGIONS
                            + " allowed)");
                }
                long want = ringlink.vhost.VhostMemoryLayout.SIZE + VhostUserMemoryRegionLayout.SIZE * n;
                if (m.size() != want) {
                    throw new VhostUserException.InvalidMessage(r + " of " + n + " regions must be " + want
                            + " bytes, got " + m.size());
                }
                if (fds != n)
                        throw new VhostUserException.IncorrectFds(r + " has " + n + " regions but " + fds + " fds");
            }
            case -2 -> {
                if (fds > 1) throw new VhostUserException.IncorrectFds(r + " carries " + fds + " fds (at most 1)");
            }
            case -3 -> {
                long v = Payload.u64(m);
                boolean noFd = (v & VRING_NOFD_MASK) != 0;
                int want = noFd ? 0 : 1;
                if (fds != want) {
                    throw new VhostUserException.IncorrectFds(r + " "
                            + (noFd ? "with the no-fd bit" : "without the no-fd bit")
                            + " must carry " + want + " fd, got " + fds);
                }
                if ((v & ~(VRING_NOFD_MASK | VRING_IDX_MASK)) != 0) {
                    throw new VhostUserException.InvalidMessage(r + " payload 0x" + Long.toHexString(v)
                            + " has unknown bits");
                }
            }
            default -> {
                if (fds != r.fds)
                        throw new VhostUserException.IncorrectFds(r + " must carry " + r.fds + " fds, got " + fds);
            }
        }
        if (r == Request.GET_CONFIG || r == Request.SET_CONFIG) {
            long cfgSize = Integer.toUnsignedLong(Payload.ConfigRange.decode(m).size());
            if (cfgSize > MAX_CONFIG_SIZE || m.size() != VhostUserConfigLayout.SIZE + cfgSize) {
                throw new VhostUserException.InvalidMessage(r + " declares " + cfgSize + " config bytes in a "
                        + m.size() + "-byte payload");
            }
        }
        return r;
    }

    /**
     * Validates a reply to {@code expected}: REPLY flag, same request code, payload no larger
     * than {@code maxSize}.
     */
    public static void validateReply(Message m, int expected, int maxSize) throws VhostUserException {
        checkHeader(m.requestCode(), m.flags(), m.size());
        if (!m.isReply())
                throw new VhostUserException.InvalidMessage("expected a reply to request " + expected + ", got " + m);
        if (m.requestCode() != expected) {
            throw new VhostUserException.InvalidMessage("reply to request " + m.requestCode() + " while waiting for "
                    + expected);
        }
        if (m.size() > maxSize)
                throw new VhostUserException.RecvBufferTooSmall("reply to request " + expected, m.size(), maxSize);
    }

    /**
     * Decodes one whole message from bytes (header + payload), for tests and the fuzz harness:
     * the same checks as on a socket.
     */
    public static Message decode(byte[] bytes, Fd... fds) throws VhostUserException {
        if (bytes.length < HEADER_SIZE) {
            throw new VhostUserException.PartialMessage("message of " + bytes.length
                    + " bytes is shorter than the header");
        }
        MemorySegment s = MemorySegment.ofArray(bytes);
        int request = s.get(Message.U32, VhostUserHeaderLayout.OFF_REQUEST);
        int flags = s.get(Message.U32, VhostUserHeaderLayout.OFF_FLAGS);
        int size = s.get(Message.U32, VhostUserHeaderLayout.OFF_SIZE);
        checkHeader(request, flags, size);
        if (bytes.length - HEADER_SIZE < size) {
            throw new VhostUserException.PartialMessage("payload of " + (bytes.length - HEADER_SIZE)
                    + " bytes, header says " + size);
        }
        if (bytes.length - HEADER_SIZE > size) {
            throw new VhostUserException.InvalidMessage((bytes.length - HEADER_SIZE - size)
                    + " bytes after the payload");
        }
        byte[] payload = java.util.Arrays.copyOfRange(bytes, HEADER_SIZE, HEADER_SIZE + size);
        return new Message(request, flags, payload, fds);
    }

    /** Encodes a message's header and payload (descriptors travel separately). */
    public static byte[] encode(Message m) {
        byte[] out = new byte[HEADER_SIZE + m.size()];
        MemorySegment s = MemorySegment.ofArray(out);
        s.set(Message.U32, VhostUserHeaderLayout.OFF_REQUEST, m.requestCode());
        s.set(Message.U32, VhostUserHeaderLayout.OFF_FLAGS, m.flags());
        s.set(Message.U32, VhostUserHeaderLayout.OFF_SIZE, m.size());
        System.arraycopy(m.payload(), 0, out, HEADER_SIZE, m.size());
        return out;
    }
}
