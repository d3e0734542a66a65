package ringlink.packet;

/** What a packet starts with: the link type of the transport it came from or goes to. */
public enum Framing {
    /** The packet starts with the IP header (TUN, {@code IFF_TUN}; pcap link type RAW). */
    IP,
    /** The packet starts with an Ethernet header, possibly VLAN tagged (TAP, virtio-net, vhost, AF_XDP). */
    ETHERNET
}
