package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct packet_mreq} (linux/if_packet.h): PACKET_ADD_MEMBERSHIP, e.g. PACKET_MR_PROMISC.
 * A membership is the socket's: the kernel drops it (and the promiscuity count) when the socket closes.
 */
public final class PacketMreqLayout {
    private PacketMreqLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("mr_ifindex"),
            ValueLayout.JAVA_SHORT.withName("mr_type"),
            ValueLayout.JAVA_SHORT.withName("mr_alen"),
            MemoryLayout.sequenceLayout(8, ValueLayout.JAVA_BYTE).withName("mr_address"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_MR_IFINDEX = 0, OFF_MR_TYPE = 4, OFF_MR_ALEN = 6, OFF_MR_ADDRESS = 8;

    /** mr_type values. */
    public static final int PACKET_MR_MULTICAST = 0, PACKET_MR_PROMISC = 1, PACKET_MR_ALLMULTI = 2;
}
