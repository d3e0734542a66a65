package ringlink.xdp;

import ringlink.link.LinkException;

/**
 * Setting up an AF_XDP socket or its XDP program failed. The message says what was attempted,
 * what the kernel answered and, where the cause is known, what to do about it (raise
 * RLIMIT_MEMLOCK, free the queue, pick copy mode, ...). The underlying
 * {@link ringlink.sys.SysException} is the cause.
 */
public class XdpException extends LinkException {
    private static final long serialVersionUID = 1L;

    /** A set-up failure described by {@code message}. */
    public XdpException(String message) { super(message); }

    /** A set-up failure described by {@code message}, caused by {@code cause}. */
    public XdpException(String message, Throwable cause) { super(message, cause); }
}
