package ringlink.link;

import java.io.IOException;

/** A link-level failure. Subclasses say whether the link is closed or was stopped by bad input. */
public class LinkException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message what happened, naming the link */
    public LinkException(String message) { super(message); }

    /**
     * @param message what happened, naming the link
     * @param cause the underlying failure
     */
    public LinkException(String message, Throwable cause) { super(message, cause); }
}
