package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/** {@code struct iovec { void *iov_base; size_t iov_len; }} (sys/uio.h). */
public final class IovecLayout {
    private IovecLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.ADDRESS.withName("iov_base"),
            ValueLayout.JAVA_LONG.withName("iov_len"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_IOV_BASE = 0, OFF_IOV_LEN = 8;
    public static final VarHandle IOV_BASE = LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("iov_base"));
    public static final VarHandle IOV_LEN = LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("iov_len"));
    /** IOV_MAX on Linux. */
    public static final int IOV_MAX = 1024;

    /** Points iovec {@code i} of the array {@code iov} at {@code len} bytes at {@code buf[off]}. */
    public static void set(MemorySegment iov, int i, MemorySegment buf, long off, long len) {
        if (!buf.isNative()) throw new IllegalArgumentException("iovec must point at native memory");
        if (off < 0 || len < 0 || off + len > buf.byteSize()) {
            throw new IndexOutOfBoundsException("iovec [" + off + ", +" + len + ") outside a buffer of "
                    + buf.byteSize());
        }
        long base = i * SIZE;
        iov.set(ValueLayout.JAVA_LONG, base + OFF_IOV_BASE, buf.address() + off);
        iov.set(ValueLayout.JAVA_LONG, base + OFF_IOV_LEN, len);
    }

    /** Sets iovec {@code i}'s length only. */
    public static void setLen(MemorySegment iov, int i, long len) {
        iov.set(ValueLayout.JAVA_LONG, i * SIZE + OFF_IOV_LEN, len);
    }

    /** Allocates-free check that {@code iov} holds {@code count} iovecs. */
    static void check(MemorySegment iov, int count) {
        if (count < 0 || count > IOV_MAX || count * SIZE > iov.byteSize()) {
            throw new IndexOutOfBoundsException(count + " iovecs do not fit " + iov.byteSize() + " bytes");
        }
        if (!iov.isNative()) throw new IllegalArgumentException("iovec array must be native memory");
    }
}
