package ringlink.sys;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Native pointers made from segments, for the structures a package fills for the kernel itself
 * (msghdr, bpf_attr, xdp_umem_reg): the one place outside the layouts of {@code sys} where a
 * segment's {@code address()} becomes a pointer, and it checks that the pointer lies in the
 * segment ({@code PackageRulesTest} keeps it that way).
 */
public final class Pointers {
    private Pointers() {}

    /**
     * The address of byte {@code offset} of {@code target} ({@code offset == byteSize()} is the
     * end, for an empty range).
     *
     * @throws IllegalArgumentException if {@code target} is not native memory
     * @throws IndexOutOfBoundsException if {@code offset} is outside it
     */
    public static long of(MemorySegment target, long offset) {
        if (!target.isNative()) throw new IllegalArgumentException("a pointer must point at native memory");
        if (offset < 0 || offset > target.byteSize()) {
            throw new IndexOutOfBoundsException("pointer to offset " + offset + " of a segment of "
                    + target.byteSize());
        }
        return target.address() + offset;
    }

    /** Stores the address of byte {@code offset} of {@code target} as a 64-bit pointer at {@code at} in {@code dst}. */
    public static void store(MemorySegment dst, long at, MemorySegment target, long offset) {
        dst.set(ValueLayout.JAVA_LONG_UNALIGNED, at, of(target, offset));
    }

    /** Stores the address of {@code target}'s first byte as a 64-bit pointer at {@code at} in {@code dst}. */
    public static void store(MemorySegment dst, long at, MemorySegment target) {
        store(dst, at, target, 0);
    }
}
