package ringlink.sys;

import static ringlink.sys.Endian.BE16;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct sockaddr_in { sa_family_t sin_family; in_port_t sin_port; struct in_addr sin_addr;
 * unsigned char sin_zero[8]; }} (netinet/in.h): 16 bytes, port and address in network order.
 */
public final class SockaddrInLayout {
    private SockaddrInLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sin_family"),
            ValueLayout.JAVA_SHORT.withName("sin_port"),
            ValueLayout.JAVA_INT.withName("sin_addr"),
            MemoryLayout.sequenceLayout(8, ValueLayout.JAVA_BYTE).withName("sin_zero"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_SIN_FAMILY = 0, OFF_SIN_PORT = 2, OFF_SIN_ADDR = 4, OFF_SIN_ZERO = 8;


    /** Writes an AF_INET address ({@code addr} as 4 bytes in network order) and port at {@code off}. */
    public static void write(MemorySegment seg, long off, byte[] addr, int port) {
        if (addr.length != 4) throw new IllegalArgumentException("an IPv4 address has 4 bytes, not " + addr.length);
        seg.asSlice(off, SIZE).fill((byte) 0);
        seg.set(ValueLayout.JAVA_SHORT_UNALIGNED, off + OFF_SIN_FAMILY, (short) Sockets.AF_INET);
        seg.set(BE16, off + OFF_SIN_PORT, (short) port);
        MemorySegment.copy(addr, 0, seg, ValueLayout.JAVA_BYTE, off + OFF_SIN_ADDR, 4);
    }

    /** The port (host order) of the sockaddr_in at {@code off}. */
    public static int port(MemorySegment seg, long off) {
        return seg.get(BE16, off + OFF_SIN_PORT) & 0xffff;
    }
}
