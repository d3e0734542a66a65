package ringlink.link;

/**
 * The peer broke the protocol (a hostile or buggy guest, frontend, kernel or process): the link
 * (or the one queue) was stopped. Other links are unaffected. The message says what was wrong.
 */
public class LinkFailedException extends LinkException {
    private static final long serialVersionUID = 1L;

    /** @param message what happened, naming the link */
    public LinkFailedException(String message) { super(message); }

    /**
     * @param message what happened, naming the link
     * @param cause the underlying failure
     */
    public LinkFailedException(String message, Throwable cause) { super(message, cause); }
}
