package ringlink.sw;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import ringlink.packet.Ethernet;

/**
 * Port security ({@link Switch.Builder#portSecurity}): which source addresses may enter at which
 * port. A port with a list takes in only those sources; an address on some port's list belongs to
 * that port alone, so no other port may use it as a source. Fixed when the switch is built (ports
 * added at run time have no list). Read by the pollers only when some port has a list, and then
 * only once per new source in a batch: a binary search, no allocation.
 */
final class PortSecurity {
    /** Addresses configured on some port (sorted) and their ports: port security's ownership. */
    private final long[] securedMacs;
    private final int[] securedPorts;

    /**
     * From the builder's lists ({@code allowed}: port index to its sorted addresses).
     *
     * @throws IllegalArgumentException an address is on the lists of two ports
     */
    PortSecurity(Map<Integer, long[]> allowed) {
        // Every address some port is configured with, and that port: no other port may use it.
        TreeMap<Long, Integer> owned = new TreeMap<>();
        for (var e : allowed.entrySet()) {
            for (long mac : e.getValue()) {
                Integer was = owned.put(mac, e.getKey());
                if (was != null && was != e.getKey().intValue()) {
                    throw new IllegalArgumentException("address " + Ethernet.formatMac(mac)
                            + " is allowed on ports " + was + " and " + e.getKey());
                }
            }
        }
        this.securedMacs = owned.keySet().stream().mapToLong(Long::longValue).toArray();
        this.securedPorts = owned.values().stream().mapToInt(Integer::intValue).toArray();
    }

    /** True if frames from {@code src} may enter at {@code in} (only called when {@link #any()}). */
    boolean sourceAllowed(Port in, long src) {
        if (in.allowed != null) return in.allows(src);
        int k = Arrays.binarySearch(securedMacs, src);
        return k < 0 || securedPorts[k] == in.index;
    }

    /** True if any port has port security (the poller checks sources only then). */
    boolean any() {
        return securedMacs.length > 0;
    }
}
