package ringlink.vhostuser;

import ringlink.link.Offloads;

/**
 * What a vhost-user back-end offers.
 *
 * @param queuePairs number of RX/TX queue pairs (VIRTIO_NET_F_MQ when more than one)
 * @param packed     whether VIRTIO_F_RING_PACKED is offered (the front-end decides)
 * @param offloads   checksum/TSO/USO offloads offered in both directions
 * @param mtu        MTU reported to the guest (VIRTIO_NET_F_MTU) and used for {@code maxReceiveSize}
 * @param mac        MAC address in the config space (GET_CONFIG)
 */
public record BackendConfig(int queuePairs, boolean packed, Offloads offloads, int mtu, byte[] mac) {
    /** Checks the values. */
    public BackendConfig {
        if (queuePairs < 1 || queuePairs > 128)
                throw new IllegalArgumentException("queue pairs must be in [1, 128]: " + queuePairs);
        if (mtu < 68 || mtu > 65535) throw new IllegalArgumentException("mtu must be in [68, 65535]: " + mtu);
        if (mac == null || mac.length != 6) throw new IllegalArgumentException("mac must be 6 bytes");
    }

    /** One queue pair, packed offered, every offload, MTU 1500, a locally administered MAC. */
    public static BackendConfig defaults() {
        return new BackendConfig(1, true, Offloads.ALL, 1500, new byte[] {0x02, 0x52, 0x4c, 0x56, 0x55, 0x01});
    }

    /** A copy with {@code queuePairs} changed. */
    public BackendConfig withQueuePairs(int n) { return new BackendConfig(n, packed, offloads, mtu, mac); }
    /** A copy with {@code packed} changed. */
    public BackendConfig withPacked(boolean p) { return new BackendConfig(queuePairs, p, offloads, mtu, mac); }
    /** A copy with {@code offloads} changed. */
    public BackendConfig withOffloads(Offloads o) { return new BackendConfig(queuePairs, packed, o, mtu, mac); }
    /** A copy with {@code mtu} changed. */
    public BackendConfig withMtu(int m) { return new BackendConfig(queuePairs, packed, offloads, m, mac); }
}
