package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct tpacket_req3} (linux/if_packet.h): the geometry of a TPACKET_V3 ring
 * (PACKET_RX_RING / PACKET_TX_RING). For a TX ring the last three fields must be 0.
 */
public final class TpacketReq3Layout {
    private TpacketReq3Layout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("tp_block_size"),
            ValueLayout.JAVA_INT.withName("tp_block_nr"),
            ValueLayout.JAVA_INT.withName("tp_frame_size"),
            ValueLayout.JAVA_INT.withName("tp_frame_nr"),
            ValueLayout.JAVA_INT.withName("tp_retire_blk_tov"),
            ValueLayout.JAVA_INT.withName("tp_sizeof_priv"),
            ValueLayout.JAVA_INT.withName("tp_feature_req_word"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_TP_BLOCK_SIZE = 0, OFF_TP_BLOCK_NR = 4, OFF_TP_FRAME_SIZE = 8, OFF_TP_FRAME_NR = 12,
            OFF_TP_RETIRE_BLK_TOV = 16, OFF_TP_SIZEOF_PRIV = 20, OFF_TP_FEATURE_REQ_WORD = 24;
}
