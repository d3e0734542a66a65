package ringlink.sys;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * {@code struct epoll_event { uint32_t events; epoll_data_t data; }}, which is packed on x86-64
 * (12 bytes, data at offset 4).
 */
public final class EpollEventLayout {
    private EpollEventLayout() {}

    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("events"),
            ValueLayout.JAVA_LONG_UNALIGNED.withName("data"));
    public static final long SIZE = LAYOUT.byteSize();
    public static final long OFF_EVENTS = 0, OFF_DATA = 4;

    public static final int EPOLLIN = 0x1, EPOLLPRI = 0x2, EPOLLOUT = 0x4, EPOLLERR = 0x8, EPOLLHUP = 0x10,
            EPOLLRDHUP = 0x2000, EPOLLET = 1 << 31, EPOLLONESHOT = 1 << 30;
    public static final int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
}
