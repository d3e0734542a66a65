package ringlink.afpacket;

import java.util.Set;
import ringlink.link.LinkSpec;
import ringlink.sys.Net;

/**
 * The settings of a {@code packet:IFACE?...} link.
 *
 * @param ifname       the interface to attach to (must exist)
 * @param promisc      PACKET_MR_PROMISC membership (held by the socket, dropped when it closes)
 * @param outgoing     also receive frames the host sends out of the interface (PACKET_IGNORE_OUTGOING off)
 * @param qdiscBypass  PACKET_QDISC_BYPASS: transmit straight to the driver, skipping the qdisc layer
 * @param blockSize    bytes per TPACKET_V3 receive block (power of two, at least a page)
 * @param blocks       receive blocks
 * @param timeoutMillis how long the kernel keeps a partly filled receive block before handing it over
 * @param txFrames     transmit ring slots
 * @param vnetHdr      PACKET_VNET_HDR: a virtio-net header before each frame, so checksum offload and
 *                     TCP/UDP superpackets pass both ways
 * @param fanout       PACKET_FANOUT group id (hash mode) shared by several links on one interface,
 *                     each taking a share of the flows (several queues); -1 for none
 */
public record PacketConfig(String ifname, boolean promisc, boolean outgoing, boolean qdiscBypass, int blockSize,
                           int blocks, int timeoutMillis, int txFrames, boolean vnetHdr, int fanout) {
    static final Set<String> PARAMS = Set.of("promisc", "outgoing", "qdisc-bypass", "block-size", "blocks", "timeout",
            "tx-frames", "vnethdr", "fanout");

    /**
     * Parses {@code packet:IFACE?promisc=true&outgoing=false&qdisc-bypass=false&vnethdr=true&block-size=262144
     * &blocks=16&timeout=1&tx-frames=128} (tx-frames defaults to 512 with vnethdr=false).
     */
    public static PacketConfig parse(LinkSpec spec) {
        spec.checkParams(PARAMS);
        String ifname = spec.requireTarget("interface name");
        Net.checkName(ifname);
        int blockSize = spec.intParam("block-size", 1 << 18, 4096, 1 << 24);
        if (Integer.bitCount(blockSize) != 1)
                throw new IllegalArgumentException(spec + ": block-size must be a power of two");
        boolean vnet = spec.boolParam("vnethdr", true);
        // With the header a slot must hold a 64 KiB superpacket: fewer, bigger slots by default.
        int txFrames = spec.intParam("tx-frames", vnet ? 128 : 512, 8, 1 << 16);
        if (Integer.bitCount(txFrames) != 1)
                throw new IllegalArgumentException(spec + ": tx-frames must be a power of two");
        return new PacketConfig(ifname, spec.boolParam("promisc", true), spec.boolParam("outgoing", false),
                spec.boolParam("qdisc-bypass", false), blockSize, spec.intParam("blocks", 16, 2, 4096),
                spec.intParam("timeout", 1, 1, 1000), txFrames, vnet,
                spec.intParam("fanout", -1, 0, 0xffff));
    }

    /** Defaults for {@code ifname}. */
    public static PacketConfig of(String ifname) {
        return parse(LinkSpec.parse("packet:" + ifname));
    }
}
