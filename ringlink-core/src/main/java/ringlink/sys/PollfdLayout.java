package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/** {@code struct pollfd { int fd; short events; short revents; }} (poll.h). */
public final class PollfdLayout {
    private PollfdLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("fd"),
            ValueLayout.JAVA_SHORT.withName("events"),
            ValueLayout.JAVA_SHORT.withName("revents"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_FD = 0, OFF_EVENTS = 4, OFF_REVENTS = 6;

    public static final short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10,
            POLLNVAL = 0x20, POLLRDHUP = 0x2000;
}
