package ringlink.sw;

/** Why the switch dropped a packet (counted per port, reported in {@link DropEvent}s). */
public enum DropReason {
    /** Shorter than an Ethernet header, or a multicast source address. */
    MALFORMED,
    /** Not allowed in or out of a port by its VLAN membership. */
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
    TOO_BIG
}
