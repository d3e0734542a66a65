package ringlink.link;

import java.io.IOException;

/**
 * A transport that opens links from specs of one scheme. Implementations register in
 * {@code META-INF/services/ringlink.link.LinkProvider}.
 */
public interface LinkProvider {
    /** The spec scheme, e.g. {@code "tap"}. */
    String scheme();

    /** One line for --help: the spec form and its parameters. */
    String usage();

    /** Opens the link (creating kernel objects as needed; {@link Link#close()} removes them). */
    Link open(LinkSpec spec) throws IOException;

    /**
     * Opens the whole device the spec names, with all its queues. The default is a device of the
     * one link {@link #open} returns; multi-queue transports (vhost-user {@code queues=N}, TAP
     * {@code queues=N}) override it and return every queue.
     */
    default LinkDevice openDevice(LinkSpec spec) throws IOException {
        return LinkDevice.of(open(spec));
    }
}
