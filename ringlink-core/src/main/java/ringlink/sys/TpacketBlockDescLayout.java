package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct tpacket_block_desc} with its {@code struct tpacket_hdr_v1} (linux/if_packet.h):
 * the header at the start of each block of a TPACKET_V3 receive ring. The kernel owns a block
 * until it sets TP_STATUS_USER in {@code block_status}; user space hands it back by writing
 * TP_STATUS_KERNEL.
 */
public final class TpacketBlockDescLayout {
    private TpacketBlockDescLayout() {}

    /** {@code struct tpacket_bd_ts}. */
    public static final StructLayout BD_TS = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("ts_sec"),
            ValueLayout.JAVA_INT.withName("ts_usec"));

    /** {@code struct tpacket_hdr_v1}. */
    public static final StructLayout HDR_V1 = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("block_status"),
            ValueLayout.JAVA_INT.withName("num_pkts"),
            ValueLayout.JAVA_INT.withName("offset_to_first_pkt"),
            ValueLayout.JAVA_INT.withName("blk_len"),
            ValueLayout.JAVA_LONG.withName("seq_num"),
            BD_TS.withName("ts_first_pkt"),
            BD_TS.withName("ts_last_pkt"));

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("version"),
            ValueLayout.JAVA_INT.withName("offset_to_priv"),
            HDR_V1.withName("hdr"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_VERSION = 0, OFF_OFFSET_TO_PRIV = 4, OFF_HDR = 8;
    /** Offsets of the {@code hdr.bh1} fields from the start of the block. */
    public static final long OFF_BLOCK_STATUS = 8, OFF_NUM_PKTS = 12, OFF_OFFSET_TO_FIRST_PKT = 16, OFF_BLK_LEN = 20,
            OFF_SEQ_NUM = 24, OFF_TS_FIRST_PKT = 32, OFF_TS_LAST_PKT = 40;
}
