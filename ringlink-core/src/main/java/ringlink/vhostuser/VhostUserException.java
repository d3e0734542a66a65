package ringlink.vhostuser;

import ringlink.link.LinkException;
import ringlink.sys.ClosedFdException;
import ringlink.sys.Errno;
import ringlink.sys.SysException;

/**
 * Everything that can go wrong on a vhost-user connection, as a closed family so callers can
 * switch over it exhaustively. The kinds mirror the reference taxonomy (crosvm/rust-vmm
 * {@code vhost_user::Error}): the peer left ({@link Disconnect}, {@link ClientExit}), the peer
 * broke the protocol ({@link FeatureMismatch}, {@link IncorrectFds}, {@link InvalidMessage},
 * {@link InvalidOperation}, {@link InvalidParam}, {@link OversizedMessage},
 * {@link PartialMessage}, {@link RecvBufferTooSmall}), or the socket failed
 * ({@link SocketBroken}, {@link SocketConnect}, {@link SocketRetry}, {@link SocketError}), or it
 * was too slow ({@link Timeout}: not in the reference, which has no bounds on its waits).
 *
 * <p>Any of them stops that one connection; other connections and links keep running.
 */
public abstract sealed class VhostUserException extends LinkException {
    private static final long serialVersionUID = 1L;

    VhostUserException(String message) { super(message); }

    VhostUserException(String message, Throwable cause) { super(message, cause); }

    /** True for errors that mean "try the same operation again" (EAGAIN, EINTR, ENOBUFS, ENOMEM). */
    public boolean isRetryable() { return this instanceof SocketRetry; }

    /** True if the peer is gone (orderly or not): a server backend waits for the next frontend. */
    public boolean isDisconnect() {
        return this instanceof Disconnect || this instanceof ClientExit || this instanceof SocketBroken;
    }

    /** We (or our user) closed the connection on purpose. */
    public static final class ClientExit extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** An exit described by {@code m}. */
        public ClientExit(String m) { super(m); }
    }

    /** The peer closed the socket between two messages. */
    public static final class Disconnect extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A disconnect described by {@code m}. */
        public Disconnect(String m) { super(m); }
    }

    /** Features or protocol features acked that were never offered, or a required one missing. */
    public static final class FeatureMismatch extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A feature mismatch described by {@code m}. */
        public FeatureMismatch(String m) { super(m); }
    }

    /** A message carried more or fewer file descriptors than its request allows. */
    public static final class IncorrectFds extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A descriptor count error described by {@code m}. */
        public IncorrectFds(String m) { super(m); }
    }

    /** Bad header (version, flags, unknown request) or a payload of the wrong size or content. */
    public static final class InvalidMessage extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A bad message described by {@code m}. */
        public InvalidMessage(String m) { super(m); }
        /** A bad message described by {@code m}, found through {@code cause}. */
        public InvalidMessage(String m, Throwable cause) { super(m, cause); }
    }

    /** A request that is not allowed now: feature not negotiated, ring running, unsupported. */
    public static final class InvalidOperation extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A request not allowed now, described by {@code m}. */
        public InvalidOperation(String m) { super(m); }
    }

    /** A well-formed request with an impossible value: queue index, ring address, region. */
    public static final class InvalidParam extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** An impossible value described by {@code m}. */
        public InvalidParam(String m) { super(m); }
        /** An impossible value described by {@code m}, found through {@code cause}. */
        public InvalidParam(String m, Throwable cause) { super(m, cause); }
    }

    /** A header announcing a payload larger than any request has. */
    public static final class OversizedMessage extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** An oversized header described by {@code m}. */
        public OversizedMessage(String m) { super(m); }
    }

    /** The socket ended in the middle of a message. */
    public static final class PartialMessage extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A truncated message described by {@code m}. */
        public PartialMessage(String m) { super(m); }
    }

    /** A reply larger than the buffer the request expected. */
    public static final class RecvBufferTooSmall extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** Bytes the reply had, and bytes of room the request expected. */
        private final int got, want;
        /**
         * A reply of {@code got} bytes for a request expecting at most {@code want}; the message adds both numbers to
         * {@code m}.
         */
        public RecvBufferTooSmall(String m, int got, int want) {
            super(m + " (got " + got + " bytes, room for " + want + ")");
            this.got = got;
            this.want = want;
        }
        /** Bytes the reply had. */
        public int got() { return got; }
        /** Bytes of room the request expected. */
        public int want() { return want; }
    }

    /** The socket is broken (ECONNRESET, EPIPE) or closed under us. */
    public static final class SocketBroken extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A broken socket, described by {@code m}, with the failed call's exception as {@code cause}. */
        public SocketBroken(String m, Throwable cause) { super(m, cause); }
    }

    /** connect/bind failed (EACCES, ENOENT, ECONNREFUSED, ...). */
    public static final class SocketConnect extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A failed connect or bind, described by {@code m}, with the failed call's exception as {@code cause}. */
        public SocketConnect(String m, Throwable cause) { super(m, cause); }
    }

    /** A transient failure: EAGAIN, EINTR, ENOBUFS, ENOMEM. */
    public static final class SocketRetry extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A transient failure, described by {@code m}, with the failed call's exception as {@code cause}. */
        public SocketRetry(String m, Throwable cause) { super(m, cause); }
    }

    /**
     * The peer did not finish a message, take ours, or answer a request within its bound
     * ({@link Connection}'s timeouts): a silent or stalled peer is dropped rather than waited for.
     */
    public static final class Timeout extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** A peer too slow, described by {@code m}. */
        public Timeout(String m) { super(m); }
    }

    /** Any other socket error. */
    public static final class SocketError extends VhostUserException {
        private static final long serialVersionUID = 1L;
        /** Any other socket failure, described by {@code m}, with the failed call's exception as {@code cause}. */
        public SocketError(String m, Throwable cause) { super(m, cause); }
    }

    /**
     * Classifies a failed socket call by errno the way the reference does: EAGAIN/EINTR/ENOBUFS/
     * ENOMEM retry, ECONNRESET/EPIPE broken, EACCES (and the other connect errors) connect,
     * EMSGSIZE (too many descriptors) incorrect fds, everything else a socket error.
     */
    public static VhostUserException fromSys(String what, SysException e) {
        return switch (e.errno()) {
            case Errno.EAGAIN, Errno.EINTR, Errno.ENOBUFS,
                    Errno.ENOMEM -> new SocketRetry(what + ": " + e.getMessage(), e);
            case Errno.ECONNRESET, Errno.EPIPE, Errno.ENOTCONN -> new SocketBroken(what + ": " + e.getMessage(), e);
            case Errno.EACCES, Errno.ENOENT, Errno.ECONNREFUSED,
                    Errno.EPERM -> new SocketConnect(what + ": " + e.getMessage(), e);
            case Errno.EMSGSIZE -> new IncorrectFds(what + ": " + e.getMessage());
            case Errno.ETIMEDOUT -> new Timeout(what + ": " + e.getMessage());
            default -> new SocketError(what + ": " + e.getMessage(), e);
        };
    }

    /** A socket closed locally while in use. */
    public static VhostUserException fromClosed(String what, ClosedFdException e) {
        return new SocketBroken(what + ": socket closed", e);
    }
}
