package ringlink.sys;

import static ringlink.sys.Endian.BE16;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct sockaddr_in6 { sa_family_t sin6_family; in_port_t sin6_port; uint32_t
 * sin6_flowinfo; struct in6_addr sin6_addr; uint32_t sin6_scope_id; }} (netinet/in.h): 28 bytes.
 */
public final class SockaddrIn6Layout {
    private SockaddrIn6Layout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sin6_family"),
            ValueLayout.JAVA_SHORT.withName("sin6_port"),
            ValueLayout.JAVA_INT.withName("sin6_flowinfo"),
            MemoryLayout.sequenceLayout(16, ValueLayout.JAVA_BYTE).withName("sin6_addr"),
            ValueLayout.JAVA_INT.withName("sin6_scope_id"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_SIN6_FAMILY = 0, OFF_SIN6_PORT = 2, OFF_SIN6_FLOWINFO = 4, OFF_SIN6_ADDR = 8,
            OFF_SIN6_SCOPE_ID = 24;


    /** Writes an AF_INET6 address (16 bytes, network order), port and scope id at {@code off}. */
    public static void write(MemorySegment seg, long off, byte[] addr, int port, int scopeId) {
        if (addr.length != 16) throw new IllegalArgumentException("an IPv6 address has 16 bytes, not " + addr.length);
        seg.asSlice(off, SIZE).fill((byte) 0);
        seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, off + OFF_SIN6_FAMILY, (short) Sockets.AF_INET6);
        seg.set(BE16, off + OFF_SIN6_PORT, (short) port);
        MemorySegment.copy(addr, 0, seg, ValueLayout.JAVA_BYTE, off + OFF_SIN6_ADDR, 16);
        seg.set(ValueLayout.JAVA_INT_UNALIGNED, off + OFF_SIN6_SCOPE_ID, scopeId);
    }

    /** The port (host order) of the sockaddr_in6 at {@code off}. */
    public static int port(MemorySegment seg, long off) {
        return seg.get(BE16, off + OFF_SIN6_PORT) & 0xffff;
    }
}
