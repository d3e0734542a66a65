package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct sockaddr_ll} (linux/if_packet.h): the link-level address an AF_PACKET socket
 * binds to (protocol in network byte order, interface index).
 */
public final class SockaddrLlLayout {
    private SockaddrLlLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sll_family"),
            ValueLayout.JAVA_SHORT.withName("sll_protocol"),
            ValueLayout.JAVA_INT.withName("sll_ifindex"),
            ValueLayout.JAVA_SHORT.withName("sll_hatype"),
            ValueLayout.JAVA_BYTE.withName("sll_pkttype"),
            ValueLayout.JAVA_BYTE.withName("sll_halen"),
            MemoryLayout.sequenceLayout(8, ValueLayout.JAVA_BYTE).withName("sll_addr"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_SLL_FAMILY = 0, OFF_SLL_PROTOCOL = 2, OFF_SLL_IFINDEX = 4, OFF_SLL_HATYPE = 8,
            OFF_SLL_PKTTYPE = 10, OFF_SLL_HALEN = 11, OFF_SLL_ADDR = 12;
}
