package ringlink.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import ringlink.testing.CProbe;

/** The hand-written layouts and constants of ringlink.sys, checked against the C headers. */
class HeaderLayoutTest {
    @Test
    void layoutsMatchTheCHeaders() {
        Map<String, Long> c = CProbe.run("""
                #include <sys/uio.h>
                #include <sys/socket.h>
                #include <sys/un.h>
                #include <sys/epoll.h>
                #include <sys/eventfd.h>
                #include <sys/mman.h>
                #include <poll.h>
                #include <fcntl.h>
                #include <sys/resource.h>
                #include <linux/if_xdp.h>
                """, """
                P(sizeof(struct iovec)); P(offsetof(struct iovec, iov_len));
                P(sizeof(struct msghdr)); P(offsetof(struct msghdr, msg_namelen)); P(offsetof(struct msghdr, msg_iov));
                P(offsetof(struct msghdr, msg_iovlen)); P(offsetof(struct msghdr, msg_control));
                P(offsetof(struct msghdr, msg_controllen)); P(offsetof(struct msghdr, msg_flags));
                P(sizeof(struct cmsghdr)); P(CMSG_SPACE(12)); P(CMSG_LEN(12));
                P(sizeof(struct sockaddr_un)); P(offsetof(struct sockaddr_un, sun_path));
                P(sizeof(struct epoll_event)); P(offsetof(struct epoll_event, data));
                P(sizeof(struct pollfd)); P(offsetof(struct pollfd, revents));
                P(O_NONBLOCK); P(O_CLOEXEC); P(O_CREAT); P(EFD_NONBLOCK); P(MAP_ANONYMOUS); P(MAP_POPULATE);
                P(MSG_NOSIGNAL); P(MSG_CMSG_CLOEXEC); P(MSG_CTRUNC); P(SOCK_SEQPACKET); P(RLIMIT_MEMLOCK);
                P(AF_XDP); P(SOL_XDP); P(EPOLLET); P(POLLRDHUP);
                """);
        assertEquals(c.get("sizeof(struct iovec)"), IovecLayout.SIZE);
        assertEquals(c.get("offsetof(struct iovec, iov_len)"), IovecLayout.OFF_IOV_LEN);
        assertEquals(c.get("sizeof(struct msghdr)"), MsghdrLayout.SIZE);
        assertEquals(c.get("offsetof(struct msghdr, msg_namelen)"), MsghdrLayout.OFF_MSG_NAMELEN);
        assertEquals(c.get("offsetof(struct msghdr, msg_iov)"), MsghdrLayout.OFF_MSG_IOV);
        assertEquals(c.get("offsetof(struct msghdr, msg_iovlen)"), MsghdrLayout.OFF_MSG_IOVLEN);
        assertEquals(c.get("offsetof(struct msghdr, msg_control)"), MsghdrLayout.OFF_MSG_CONTROL);
        assertEquals(c.get("offsetof(struct msghdr, msg_controllen)"), MsghdrLayout.OFF_MSG_CONTROLLEN);
        assertEquals(c.get("offsetof(struct msghdr, msg_flags)"), MsghdrLayout.OFF_MSG_FLAGS);
        assertEquals(c.get("sizeof(struct cmsghdr)"), MsghdrLayout.CMSGHDR_SIZE);
        assertEquals(c.get("CMSG_SPACE(12)"), MsghdrLayout.cmsgSpace(12));
        assertEquals(c.get("CMSG_LEN(12)"), MsghdrLayout.cmsgLen(12));
        assertEquals(c.get("sizeof(struct sockaddr_un)"), SockaddrUnLayout.SIZE);
        assertEquals(c.get("offsetof(struct sockaddr_un, sun_path)"), SockaddrUnLayout.OFF_SUN_PATH);
        assertEquals(c.get("sizeof(struct epoll_event)"), EpollEventLayout.SIZE);
        assertEquals(c.get("offsetof(struct epoll_event, data)"), EpollEventLayout.OFF_DATA);
        assertEquals(c.get("sizeof(struct pollfd)"), PollfdLayout.SIZE);
        assertEquals(c.get("offsetof(struct pollfd, revents)"), PollfdLayout.OFF_REVENTS);
        assertEquals(c.get("O_NONBLOCK"), (long) Fd.O_NONBLOCK);
        assertEquals(c.get("O_CLOEXEC"), (long) Fd.O_CLOEXEC);
        assertEquals(c.get("O_CREAT"), (long) Fd.O_CREAT);
        assertEquals(c.get("EFD_NONBLOCK"), (long) EventFd.EFD_NONBLOCK);
        assertEquals(c.get("MAP_ANONYMOUS"), (long) Mapping.MAP_ANONYMOUS);
        assertEquals(c.get("MAP_POPULATE"), (long) Mapping.MAP_POPULATE);
        assertEquals(c.get("MSG_NOSIGNAL"), (long) MsghdrLayout.MSG_NOSIGNAL);
        assertEquals(c.get("MSG_CMSG_CLOEXEC"), (long) MsghdrLayout.MSG_CMSG_CLOEXEC);
        assertEquals(c.get("MSG_CTRUNC"), (long) MsghdrLayout.MSG_CTRUNC);
        assertEquals(c.get("SOCK_SEQPACKET"), (long) UnixSocket.SOCK_SEQPACKET);
        assertEquals(c.get("RLIMIT_MEMLOCK"), (long) Rlimit.RLIMIT_MEMLOCK);
        assertEquals(c.get("AF_XDP"), (long) Sockets.AF_XDP);
        assertEquals(c.get("SOL_XDP"), (long) Sockets.SOL_XDP);
        assertEquals(c.get("EPOLLET"), EpollEventLayout.EPOLLET & 0xffffffffL);
        assertEquals(c.get("POLLRDHUP"), (long) PollfdLayout.POLLRDHUP);
    }
}
