package ringlink.link;

/** The link was closed (by its owner, or because its peer went away). */
public class LinkClosedException extends LinkException {
    private static final long serialVersionUID = 1L;

    public LinkClosedException(String message) { super(message); }

    public LinkClosedException(String message, Throwable cause) { super(message, cause); }
}
