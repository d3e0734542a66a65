package ringlink.virtio;

/**
 * Named virtio feature bits (virtio 1.2 §6 "Reserved Feature Bits" for the transport, §5.1.3 for
 * virtio-net), plus the two vhost bits that share the feature word.
 *
 * <p>Bits 0–23 and 41–63 are device-type specific; the ones here are virtio-net's. Use
 * {@link FeatureSet} to hold a negotiated word.
 */
public enum VirtioFeature {
    // ---- virtio-net (§5.1.3) ----
    /** Device handles packets with partial checksum (driver → device offload). */
    NET_CSUM(0, Kind.NET),
    /** Driver handles packets with partial checksum (device → driver). */
    NET_GUEST_CSUM(1, Kind.NET),
    /** Control channel can set the driver's receive offloads. */
    NET_CTRL_GUEST_OFFLOADS(2, Kind.NET),
    /** Device reports its maximum MTU in the config space. */
    NET_MTU(3, Kind.NET),
    /** Device has a MAC address in the config space. */
    NET_MAC(5, Kind.NET),
    /** Driver can receive TSO over IPv4. */
    NET_GUEST_TSO4(7, Kind.NET),
    /** Driver can receive TSO over IPv6. */
    NET_GUEST_TSO6(8, Kind.NET),
    /** Driver can receive TSO with ECN. */
    NET_GUEST_ECN(9, Kind.NET),
    /** Driver can receive UFO. */
    NET_GUEST_UFO(10, Kind.NET),
    /** Device can receive TSO over IPv4 (driver → device). */
    NET_HOST_TSO4(11, Kind.NET),
    /** Device can receive TSO over IPv6. */
    NET_HOST_TSO6(12, Kind.NET),
    /** Device can receive TSO with ECN. */
    NET_HOST_ECN(13, Kind.NET),
    /** Device can receive UFO. */
    NET_HOST_UFO(14, Kind.NET),
    /** Driver can merge receive buffers: one packet over several chains, {@code num_buffers} set. */
    NET_MRG_RXBUF(15, Kind.NET),
    /** Link status is in the config space. */
    NET_STATUS(16, Kind.NET),
    /** Control virtqueue available. */
    NET_CTRL_VQ(17, Kind.NET),
    /** Control channel receive modes (promiscuous, all-multicast). */
    NET_CTRL_RX(18, Kind.NET),
    /** Control channel VLAN filtering. */
    NET_CTRL_VLAN(19, Kind.NET),
    /** Control channel extra receive modes (all-unicast, no-multicast, ...). */
    NET_CTRL_RX_EXTRA(20, Kind.NET),
    /** Driver can send gratuitous announcements when the device asks. */
    NET_GUEST_ANNOUNCE(21, Kind.NET),
    /** Several queue pairs with automatic receive steering. */
    NET_MQ(22, Kind.NET),
    /** Control channel can set the MAC address. */
    NET_CTRL_MAC_ADDR(23, Kind.NET),
    /** Per-virtqueue notification coalescing. */
    NET_VQ_NOTF_COAL(52, Kind.NET),
    /** Notification coalescing. */
    NET_NOTF_COAL(53, Kind.NET),
    /** Driver can receive USO over IPv4. */
    NET_GUEST_USO4(54, Kind.NET),
    /** Driver can receive USO over IPv6. */
    NET_GUEST_USO6(55, Kind.NET),
    /** Device can receive USO (UDP segmentation offload). */
    NET_HOST_USO(56, Kind.NET),
    /** Device can report each packet's hash value and type. */
    NET_HASH_REPORT(57, Kind.NET),
    /** Driver sets {@code hdr_len} exactly (the headers' length). */
    NET_GUEST_HDRLEN(59, Kind.NET),
    /** Receive-side scaling with the Toeplitz hash. */
    NET_RSS(60, Kind.NET),
    /** Device can report coalesced segments and duplicate ACKs (RSC). */
    NET_RSC_EXT(61, Kind.NET),
    /** Device may act as a standby for a primary device with the same MAC. */
    NET_STANDBY(62, Kind.NET),
    /** Device reports link speed and duplex. */
    NET_SPEED_DUPLEX(63, Kind.NET),

    // ---- transport / ring (§6) ----
    /** Legacy: device notifies when the available ring runs empty, even with notifications suppressed. */
    NOTIFY_ON_EMPTY(24, Kind.TRANSPORT),
    /** vhost: dirty-page logging (VHOST_F_LOG_ALL). */
    VHOST_LOG_ALL(26, Kind.VHOST),
    /** Legacy: device accepts any split of the header and the packet over descriptors. */
    ANY_LAYOUT(27, Kind.TRANSPORT),
    /** Descriptors may point at a table of descriptors (VIRTIO_F_INDIRECT_DESC / VIRTIO_RING_F_INDIRECT_DESC). */
    INDIRECT_DESC(28, Kind.TRANSPORT),
    /** used_event / avail_event notification suppression (VIRTIO_RING_F_EVENT_IDX). */
    EVENT_IDX(29, Kind.TRANSPORT),
    /** vhost-user: the protocol-features handshake is available (VHOST_USER_F_PROTOCOL_FEATURES). */
    VHOST_USER_PROTOCOL_FEATURES(30, Kind.VHOST),
    /** Virtio 1.0 or later (modern device; little-endian rings and header). */
    VERSION_1(32, Kind.TRANSPORT),
    /** Device accesses memory through the platform's IOMMU or other access restrictions. */
    ACCESS_PLATFORM(33, Kind.TRANSPORT),
    /** Packed virtqueue layout (instead of split). */
    RING_PACKED(34, Kind.TRANSPORT),
    /** Buffers are used in the order they were made available. */
    IN_ORDER(35, Kind.TRANSPORT),
    /** Device and driver order memory accesses as the platform requires (hardware devices). */
    ORDER_PLATFORM(36, Kind.TRANSPORT),
    /** Device supports SR-IOV. */
    SR_IOV(37, Kind.TRANSPORT),
    /** Driver passes extra data (ring position) in its notifications. */
    NOTIFICATION_DATA(38, Kind.TRANSPORT),
    /** Driver notifies with a value the device supplies instead of the queue index. */
    NOTIF_CONFIG_DATA(39, Kind.TRANSPORT),
    /** A single queue can be reset. */
    RING_RESET(40, Kind.TRANSPORT);

    /** Which part of the feature word a bit belongs to. */
    public enum Kind {
        /** A virtio-net device bit (§5.1.3). */
        NET,
        /** A transport or ring bit, the same for every device type (§6). */
        TRANSPORT,
        /** A bit of vhost's own in the feature word. */
        VHOST
    }

    private final int bit;
    private final Kind kind;

    VirtioFeature(int bit, Kind kind) {
        this.bit = bit;
        this.kind = kind;
    }

    /** Bit number in the 64-bit feature word. */
    public int bit() { return bit; }

    /** The single-bit mask {@code 1L << bit()}. */
    public long mask() { return 1L << bit; }

    /** Which part of the feature word the bit belongs to. */
    public Kind kind() { return kind; }

    /** The spec/kernel name, e.g. {@code VIRTIO_NET_F_MRG_RXBUF}, {@code VIRTIO_F_VERSION_1}. */
    public String specName() {
        return switch (kind) {
            case NET -> "VIRTIO_NET_F_" + name().substring(4);
            case VHOST -> this == VHOST_LOG_ALL ? "VHOST_F_LOG_ALL" : "VHOST_USER_F_PROTOCOL_FEATURES";
            case TRANSPORT -> (this == INDIRECT_DESC || this == EVENT_IDX ? "VIRTIO_RING_F_" : "VIRTIO_F_") + name();
        };
    }

    private static final VirtioFeature[] BY_BIT = new VirtioFeature[64];
    static {
        for (VirtioFeature f : values()) BY_BIT[f.bit] = f;
    }

    /** The named feature at {@code bit}, or null if this enum does not name it. */
    public static VirtioFeature ofBit(int bit) {
        return bit >= 0 && bit < 64 ? BY_BIT[bit] : null;
    }
}
