package ringlink.virtio.net;

import ringlink.packet.VirtioNetHdr;
import ringlink.virtio.FeatureSet;
import ringlink.virtio.VirtioFeature;

/** Which virtio-net header a queue carries, from the negotiated features. */
public final class NetHeader {
    private NetHeader() {}

    /**
     * 12 bytes ({@code virtio_net_hdr_mrg_rxbuf}, with {@code num_buffers}) with VERSION_1 or
     * MRG_RXBUF, else the legacy 10-byte {@code virtio_net_hdr} (virtio 1.2 §5.1.6).
     */
    public static int size(FeatureSet features) {
        return features.has(VirtioFeature.VERSION_1) || features.has(VirtioFeature.NET_MRG_RXBUF)
                ? VirtioNetHdr.SIZE_MRG : VirtioNetHdr.SIZE;
    }
}
