package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct msghdr} and {@code struct cmsghdr} (sys/socket.h, x86-64), plus the CMSG_*
 * arithmetic used for SCM_RIGHTS.
 */
public final class MsghdrLayout {
    private MsghdrLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.ADDRESS.withName("msg_name"),
            ValueLayout.JAVA_INT.withName("msg_namelen"),
            MemoryLayout.paddingLayout(4),
            ValueLayout.ADDRESS.withName("msg_iov"),
            ValueLayout.JAVA_LONG.withName("msg_iovlen"),
            ValueLayout.ADDRESS.withName("msg_control"),
            ValueLayout.JAVA_LONG.withName("msg_controllen"),
            ValueLayout.JAVA_INT.withName("msg_flags"),
            MemoryLayout.paddingLayout(4));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_MSG_NAME = 0, OFF_MSG_NAMELEN = 8, OFF_MSG_IOV = 16, OFF_MSG_IOVLEN = 24,
            OFF_MSG_CONTROL = 32, OFF_MSG_CONTROLLEN = 40, OFF_MSG_FLAGS = 48;

    /** {@code struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }}: 16 bytes. */
    public static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("cmsg_len"),
            ValueLayout.JAVA_INT.withName("cmsg_level"),
            ValueLayout.JAVA_INT.withName("cmsg_type"));
    public static final long CMSGHDR_SIZE = CMSGHDR.byteSize();
    public static final long OFF_CMSG_LEN = 0, OFF_CMSG_LEVEL = 8, OFF_CMSG_TYPE = 12;

    public static final int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    public static final int MSG_PEEK = 2, MSG_CTRUNC = 8, MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40,
            MSG_EOR = 0x80, MSG_WAITALL = 0x100, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;

    /** CMSG_ALIGN. */
    public static long cmsgAlign(long n) { return (n + 7) & ~7L; }

    /** CMSG_SPACE(n). */
    public static long cmsgSpace(long n) { return CMSGHDR_SIZE + cmsgAlign(n); }

    /** CMSG_LEN(n). */
    public static long cmsgLen(long n) { return CMSGHDR_SIZE + n; }
}
