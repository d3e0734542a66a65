package ringlink.link;

import java.io.IOException;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** Opens links from specs through the registered {@link LinkProvider}s. */
public final class Links {
    private Links() {}

    private static volatile Map<String, LinkProvider> providers;

    /** Every registered provider by scheme. */
    public static Map<String, LinkProvider> providers() {
        Map<String, LinkProvider> p = providers;
        if (p == null) {
            Map<String, LinkProvider> m = new TreeMap<>();
            for (LinkProvider lp : ServiceLoader.load(LinkProvider.class, Links.class.getClassLoader())) {
                m.put(lp.scheme(), lp);
            }
            providers = p = java.util.Collections.unmodifiableMap(m);
        }
        return p;
    }

    /** Opens {@code spec}. */
    public static Link open(String spec) throws IOException {
        return open(LinkSpec.parse(spec));
    }

    /** Opens the link {@code spec} names, through the provider of its scheme; see {@link #open(String)}. */
    public static Link open(LinkSpec spec) throws IOException {
        Link l = provider(spec).open(spec);
        LinkCountersEvent.register(l); // its counters in JFR recordings (ringlink.LinkCounters)
        return l;
    }

    /**
     * Opens the device {@code spec} names with all its queues ({@link LinkDevice}): for a
     * multi-queue spec (e.g. {@code vhost-user:/x.sock?queues=2}, {@code tap:rl0?queues=4}) every
     * queue, where {@link #open(String)} gives only the first; one queue for the others.
     */
    public static LinkDevice openDevice(String spec) throws IOException {
        return openDevice(LinkSpec.parse(spec));
    }

    /** {@link #openDevice(String)} for a parsed spec. */
    public static LinkDevice openDevice(LinkSpec spec) throws IOException {
        return provider(spec).openDevice(spec);
    }

    private static LinkProvider provider(LinkSpec spec) {
        LinkProvider p = providers().get(spec.scheme());
        if (p == null) {
            throw new IllegalArgumentException("unknown link scheme '" + spec.scheme() + "' in '" + spec
                    + "' (known: " + String.join(", ", providers().keySet()) + ")");
        }
        return p;
    }
}
