package ringlink.sys;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The value layouts with a fixed byte order, defined once for the whole library: network order
 * ({@code BE*}) for wire headers and socket addresses, little-endian ({@code LE*}) for virtio,
 * vhost-user and gVisor sharedmem structures, whatever the host's order. The plain ones are
 * unaligned (a header inside a packet sits at any offset); the {@code ALIGNED_*} ones are for
 * {@code VarHandle}s with atomic or ordered access modes, which need natural alignment.
 */
public final class Endian {
    private Endian() {}

    public static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfLong BE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    public static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static final ValueLayout.OfShort ALIGNED_LE16 = ValueLayout.JAVA_SHORT.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfInt ALIGNED_LE32 = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfLong ALIGNED_LE64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
}
