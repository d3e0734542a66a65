package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct tpacket_stats_v3} (linux/if_packet.h): getsockopt(PACKET_STATISTICS) on a
 * TPACKET_V3 socket. Reading resets the kernel's counters, so callers accumulate.
 */
public final class TpacketStatsV3Layout {
    private TpacketStatsV3Layout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("tp_packets"),
            ValueLayout.JAVA_INT.withName("tp_drops"),
            ValueLayout.JAVA_INT.withName("tp_freeze_q_cnt"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_TP_PACKETS = 0, OFF_TP_DROPS = 4, OFF_TP_FREEZE_Q_CNT = 8;
}
