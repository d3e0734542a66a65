package ringlink.sys;

import java.io.IOException;

/** An operation was attempted on an {@link Fd} that has been closed. */
public final class ClosedFdException extends IOException {
    private static final long serialVersionUID = 1L;

    public ClosedFdException(String what) {
        super(what + " is closed");
    }
}
