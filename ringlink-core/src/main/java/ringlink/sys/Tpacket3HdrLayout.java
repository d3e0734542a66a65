package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct tpacket3_hdr} (linux/if_packet.h) with its {@code struct tpacket_hdr_variant1}:
 * the header of each packet in a TPACKET_V3 block (receive) and of each frame of a TPACKET_V3
 * transmit ring. Packets of a block are chained by {@code tp_next_offset}; the frame starts
 * {@code tp_mac} bytes after the header.
 */
public final class Tpacket3HdrLayout {
    private Tpacket3HdrLayout() {}

    /** {@code struct tpacket_hdr_variant1}. */
    public static final StructLayout VARIANT1 = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("tp_rxhash"),
            ValueLayout.JAVA_INT.withName("tp_vlan_tci"),
            ValueLayout.JAVA_SHORT.withName("tp_vlan_tpid"),
            ValueLayout.JAVA_SHORT.withName("tp_padding"));

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("tp_next_offset"),
            ValueLayout.JAVA_INT.withName("tp_sec"),
            ValueLayout.JAVA_INT.withName("tp_nsec"),
            ValueLayout.JAVA_INT.withName("tp_snaplen"),
            ValueLayout.JAVA_INT.withName("tp_len"),
            ValueLayout.JAVA_INT.withName("tp_status"),
            ValueLayout.JAVA_SHORT.withName("tp_mac"),
            ValueLayout.JAVA_SHORT.withName("tp_net"),
            VARIANT1.withName("hv1"),
            MemoryLayout.sequenceLayout(8, ValueLayout.JAVA_BYTE).withName("tp_padding"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_TP_NEXT_OFFSET = 0, OFF_TP_SEC = 4, OFF_TP_NSEC = 8, OFF_TP_SNAPLEN = 12,
            OFF_TP_LEN = 16,
            OFF_TP_STATUS = 20, OFF_TP_MAC = 24, OFF_TP_NET = 26, OFF_HV1 = 28, OFF_TP_RXHASH = 28,
                    OFF_TP_VLAN_TCI = 32,
            OFF_TP_VLAN_TPID = 36;

    /** TPACKET_ALIGNMENT: frames and packet data are aligned to it. */
    public static final int TPACKET_ALIGNMENT = 16;

    /** TPACKET_ALIGN(x). */
    public static long align(long x) {
        return (x + TPACKET_ALIGNMENT - 1) & ~(long) (TPACKET_ALIGNMENT - 1);
    }

    /**
     * TPACKET3_HDRLEN − sizeof(struct sockaddr_ll): where the kernel reads the frame of a TX ring
     * slot when PACKET_TX_HAS_OFF is off (af_packet.c tpacket_parse_header).
     */
    public static final long TX_DATA_OFFSET = align(SIZE);
}
