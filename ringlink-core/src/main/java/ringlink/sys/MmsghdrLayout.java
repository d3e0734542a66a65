package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; }} (sys/socket.h, x86-64):
 * the element of the arrays {@code sendmmsg(2)} and {@code recvmmsg(2)} take. {@code msg_len}
 * is where the kernel reports the bytes sent or received for that message.
 */
public final class MmsghdrLayout {
    private MmsghdrLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            MsghdrLayout.LAYOUT.withName("msg_hdr"),
            ValueLayout.JAVA_INT.withName("msg_len"),
            MemoryLayout.paddingLayout(4));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_MSG_HDR = 0, OFF_MSG_LEN = 56;
}
