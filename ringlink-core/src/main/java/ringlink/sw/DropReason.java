package ringlink.sw;

/** Why the switch dropped a packet (counted per port, reported in {@link DropEvent}s). */
public enum DropReason {
    /** Shorter than an Ethernet header, or a multicast source address. */
    MALFORMED,
    /**
     * Not allowed in or out of a port by its VLAN membership, or a VLAN-hopping attempt: a tag
     * inside the one the switch removed (or behind a priority tag), or an 802.1ad/QinQ tag, on an
     * access port or in a trunk's native VLAN.
     */
    VLAN,
    /** Needed an offload the destination lacks and could not be fixed in software. */
    OFFLOAD,
    /** The destination's queue was full. */
    BACKPRESSURE,
    /** The destination port is down. */
    PORT_DOWN,
    /** The destination's transmit failed for these packets (an error that did not stop the link). */
    TX_ERROR,
    /** Too big for the destination (larger than its MTU allows, not a superpacket). */
    TOO_BIG,
    /**
     * Port security: the source address is not among those allowed on the arrival port, or it
     * is an address another port is configured with.
     */
    PORT_SECURITY,
    /** Refused by the switch's {@link PacketFilter} ({@link Switch.Builder#filter}), or the filter threw. */
    FILTERED
}
