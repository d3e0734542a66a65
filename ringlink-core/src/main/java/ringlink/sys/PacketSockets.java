package ringlink.sys;

/**
 * AF_PACKET constants (linux/if_packet.h, linux/if_ether.h, linux/socket.h) for the packet
 * socket transport; the calls themselves are the generic ones in {@link Sockets}.
 */
public final class PacketSockets {
    private PacketSockets() {}

    /** Socket level of the PACKET_* options. */
    public static final int SOL_PACKET = 263;
    /** Every protocol (host byte order; bind and socket want {@link #htons}). */
    public static final int ETH_P_ALL = 0x0003;

    /** setsockopt/getsockopt option names. */
    public static final int PACKET_ADD_MEMBERSHIP = 1, PACKET_DROP_MEMBERSHIP = 2, PACKET_RX_RING = 5,
            PACKET_STATISTICS = 6, PACKET_VERSION = 10, PACKET_HDRLEN = 11, PACKET_RESERVE = 12, PACKET_TX_RING = 13,
            PACKET_LOSS = 14, PACKET_VNET_HDR = 15, PACKET_TX_TIMESTAMP = 16, PACKET_TIMESTAMP = 17, PACKET_FANOUT = 18,
            PACKET_TX_HAS_OFF = 19, PACKET_QDISC_BYPASS = 20, PACKET_IGNORE_OUTGOING = 23;

    /** PACKET_FANOUT modes (low 16 bits of the option value are the group id, these the high 16). */
    public static final int PACKET_FANOUT_HASH = 0, PACKET_FANOUT_LB = 1, PACKET_FANOUT_CPU = 2;

    /** enum tpacket_versions. */
    public static final int TPACKET_V1 = 0, TPACKET_V2 = 1, TPACKET_V3 = 2;

    /** tp_status / block_status bits. */
    public static final int TP_STATUS_KERNEL = 0, TP_STATUS_USER = 1, TP_STATUS_COPY = 1 << 1,
            TP_STATUS_LOSING = 1 << 2, TP_STATUS_CSUMNOTREADY = 1 << 3, TP_STATUS_VLAN_VALID = 1 << 4,
            TP_STATUS_BLK_TMO = 1 << 5, TP_STATUS_VLAN_TPID_VALID = 1 << 6, TP_STATUS_CSUM_VALID = 1 << 7;
    /** TX ring tp_status values. */
    public static final int TP_STATUS_AVAILABLE = 0, TP_STATUS_SEND_REQUEST = 1, TP_STATUS_SENDING = 2,
            TP_STATUS_WRONG_FORMAT = 4;

    /** The 16-bit {@code x} in network byte order, as a host int (what sll_protocol and socket() take). */
    public static int htons(int x) {
        if (java.nio.ByteOrder.nativeOrder() == java.nio.ByteOrder.BIG_ENDIAN) return x & 0xffff;
        return ((x & 0xff) << 8) | ((x >> 8) & 0xff);
    }
}
