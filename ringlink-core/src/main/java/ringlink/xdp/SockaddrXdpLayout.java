package ringlink.xdp;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct sockaddr_xdp} (linux/if_xdp.h): the address an AF_XDP socket binds to, plus the
 * bind flags.
 */
public final class SockaddrXdpLayout {
    private SockaddrXdpLayout() {}

    /** The C struct (16 bytes, naturally aligned). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sxdp_family"),
            ValueLayout.JAVA_SHORT.withName("sxdp_flags"),
            ValueLayout.JAVA_INT.withName("sxdp_ifindex"),
            ValueLayout.JAVA_INT.withName("sxdp_queue_id"),
            ValueLayout.JAVA_INT.withName("sxdp_shared_umem_fd"));
    /** sizeof(struct sockaddr_xdp). */
    public static final long SIZE = LAYOUT.byteSize();
    /**
     * Offsets of {@code sxdp_family}, {@code sxdp_flags}, {@code sxdp_ifindex}, {@code sxdp_queue_id} and
     * {@code sxdp_shared_umem_fd}.
     */
    public static final long OFF_SXDP_FAMILY = 0, OFF_SXDP_FLAGS = 2, OFF_SXDP_IFINDEX = 4,
            OFF_SXDP_QUEUE_ID = 8, OFF_SXDP_SHARED_UMEM_FD = 12;

    /** sxdp_flags. */
    public static final int XDP_SHARED_UMEM = 1, XDP_COPY = 1 << 1, XDP_ZEROCOPY = 1 << 2, XDP_USE_NEED_WAKEUP = 1 << 3;
}
