package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** {@code struct sockaddr_un { sa_family_t sun_family; char sun_path[108]; }}. */
public final class SockaddrUnLayout {
    private SockaddrUnLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("sun_family"),
            MemoryLayout.sequenceLayout(108, ValueLayout.JAVA_BYTE).withName("sun_path"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_SUN_FAMILY = 0, OFF_SUN_PATH = 2;
    public static final int AF_UNIX = 1;

    /** Fills {@code sa} for {@code path}; returns the address length to pass to the kernel. */
    public static int fill(MemorySegment sa, String path) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        if (p.length >= 108) {
            throw new IllegalArgumentException("unix socket path longer than 107 bytes: " + path);
        }
        sa.fill((byte) 0);
        sa.set(ValueLayout.JAVA_SHORT, OFF_SUN_FAMILY, (short) AF_UNIX);
        MemorySegment.copy(p, 0, sa, ValueLayout.JAVA_BYTE, OFF_SUN_PATH, p.length);
        return (int) (OFF_SUN_PATH + p.length + 1);
    }

    /**
     * Fills {@code sa} for the abstract name {@code name} (Linux: sun_path starts with a NUL byte
     * and the name is the bytes after it, exactly as long as the address length says, no
     * terminator); returns the address length.
     */
    public static int fillAbstract(MemorySegment sa, String name) {
        byte[] p = name.getBytes(StandardCharsets.UTF_8);
        if (p.length > 107)
                throw new IllegalArgumentException("abstract unix socket name longer than 107 bytes: " + name);
        sa.fill((byte) 0);
        sa.set(ValueLayout.JAVA_SHORT, OFF_SUN_FAMILY, (short) AF_UNIX);
        MemorySegment.copy(p, 0, sa, ValueLayout.JAVA_BYTE, OFF_SUN_PATH + 1, p.length);
        return (int) (OFF_SUN_PATH + 1 + p.length);
    }
}
