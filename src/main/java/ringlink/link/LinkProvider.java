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
}
