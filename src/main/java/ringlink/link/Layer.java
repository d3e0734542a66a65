package ringlink.link;

/** What a link's packets start with. */
public enum Layer {
    /** Ethernet frames (TAP, vhost, virtio-net, AF_XDP, shm with an Ethernet header). */
    L2,
    /** IP packets, version from the first nibble (TUN, shm without an Ethernet header). */
    L3
}
