package ringlink.link;

/** What a link's packets start with. */
public enum Layer {
    /** Ethernet frames (TAP, vhost, virtio-net, AF_XDP, shm with an Ethernet header). */
    L2,
    /** IP packets, version from the first nibble (TUN, shm without an Ethernet header). */
    L3,
    /**
     * Opaque datagram payloads: no header Ringlink interprets (the {@code udp:} link, where a
     * packet is one UDP datagram's payload and its peer is {@code PacketBatch.peer}). Carries no
     * offloads; a switch refuses such a link as a port (there is no MAC address to learn).
     */
    DATAGRAM
}
