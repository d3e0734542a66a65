package ringlink.xdp;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code struct xdp_options} (linux/if_xdp.h): getsockopt(XDP_OPTIONS), the mode the kernel chose. */
public final class XdpOptionsLayout {
    private XdpOptionsLayout() {}

    /** The C struct (one u32). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(ValueLayout.JAVA_INT.withName("flags"));
    /** sizeof(struct xdp_options). */
    public static final long SIZE = LAYOUT.byteSize();
    /** Offset of {@code flags}. */
    public static final long OFF_FLAGS = 0;
    /** Flag: the socket is bound in zero-copy mode. */
    public static final int XDP_OPTIONS_ZEROCOPY = 1;
}
