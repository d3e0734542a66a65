package ringlink.link;

/** The link was closed (by its owner, or because its peer went away). */
public class LinkClosedException extends LinkException {
    private static final long serialVersionUID = 1L;

    /** @param message what happened, naming the link */
    public LinkClosedException(String message) { super(message); }

    /**
     * @param message what happened, naming the link
     * @param cause the underlying failure
     */
    public LinkClosedException(String message, Throwable cause) { super(message, cause); }
}
