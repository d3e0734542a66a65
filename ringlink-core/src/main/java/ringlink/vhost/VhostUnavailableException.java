package ringlink.vhost;

import ringlink.sys.SysException;

/** The vhost device cannot be used on this machine (missing module, no permission); the message says why. */
public final class VhostUnavailableException extends SysException {
    private static final long serialVersionUID = 1L;

    /** Why the device cannot be used, put in front of the system call's message. */
    private final String explanation;

    VhostUnavailableException(String explanation, SysException cause) {
        super(cause.call(), cause.errno(), cause.object());
        this.explanation = explanation;
        initCause(cause);
    }

    @Override
    public String getMessage() {
        return explanation + " [" + super.getMessage() + "]";
    }
}
